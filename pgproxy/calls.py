"""Functions the proxy answers itself when a SELECT is nothing but their call, and `SELECT`.

pg_notify() (pgproxy/notify.py) and pg_cancel_backend() / pg_terminate_backend()
act on the proxy's own sessions, which no backend knows of: `SELECT f(args)`
with no FROM is run here, its arguments literals, bound parameters, casts of
those, or pg_backend_pid().
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import sqlglot.expressions as exp

import dialects
from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.core.context import StatementContext
from pgproxy.results import RowsResult


def bare_call(stmt: dialects.Statement) -> exp.Anonymous | None:
    """The call of `SELECT f(...)` when f is one of the proxy's functions, else None."""
    tree = stmt.expression
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1 or tree.args.get("from"):
        return None
    call = tree.expressions[0]
    if isinstance(call, exp.Alias):
        call = call.this
    if isinstance(call, exp.Anonymous) and str(call.this).lower() in _FUNCTIONS:
        return call
    return None


def no_columns(stmt: dialects.Statement) -> bool:
    """A bare `SELECT`: one row of no columns, which no backend but PostgreSQL can say."""
    tree = stmt.expression
    return isinstance(tree, exp.Select) and not any(tree.args.values())


def describe(call: exp.Anonymous) -> list[Column]:
    name = str(call.this).lower()
    column = call.parent.alias if isinstance(call.parent, exp.Alias) else name
    return [Column(column, _FUNCTIONS[name][1])]


async def run(
    ctx: StatementContext, call: exp.Anonymous, params: Sequence[Any]
) -> RowsResult:
    name = str(call.this).lower()
    nargs, _, fn = _FUNCTIONS[name]
    if len(call.expressions) != nargs:
        raise errors.UndefinedFunction(f"function {name}() takes {nargs} arguments")
    value = fn(ctx, *(_value(arg, params, ctx) for arg in call.expressions))
    if inspect.isawaitable(value):
        value = await value
    return RowsResult("SELECT", describe(call), [(value,)])


def _pg_notify(ctx: StatementContext, channel: Any, payload: Any) -> str:
    if channel is None:
        raise errors.InvalidParameterValue("channel name cannot be empty")
    ctx.notify(str(channel), "" if payload is None else str(payload))
    return ""  # void


def _signal(terminate: bool) -> Callable[[StatementContext, Any], Awaitable[bool]]:
    async def signal(ctx: StatementContext, pid: Any) -> bool:
        """As PostgreSQL for a role that is no superuser: only its own sessions."""
        if pid is None:
            return False
        target = ctx.session_by_pid(int(pid))
        if target is None:  # on another worker process (--workers), or nowhere
            answer = await ctx.signal_elsewhere(int(pid), terminate)
            if answer == "denied":
                raise _denied(terminate)
            # 'none': PostgreSQL warns that the PID is not a PostgreSQL backend process.
            return answer == "ok"
        if target.user != ctx.user:
            raise _denied(terminate)
        if not terminate:
            target.cancel()
        elif ctx.is_own(target):
            raise errors.AdminShutdown("terminating connection due to administrator command")
        else:
            target.terminate()
        return True

    return signal


def _denied(terminate: bool) -> errors.PgError:
    return errors.InsufficientPrivilege(
        "permission denied to " + ("terminate process" if terminate else "cancel query"),
        detail="Only roles with the same role as the backend may signal it.",
    )


_FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "pg_notify": (2, pgtypes.VOID, _pg_notify),
    "pg_cancel_backend": (1, pgtypes.BOOL, _signal(terminate=False)),
    "pg_terminate_backend": (1, pgtypes.BOOL, _signal(terminate=True)),
}


def _value(arg: exp.Expression, params: Sequence[Any], ctx: StatementContext) -> Any:
    while isinstance(arg, exp.Cast):  # pg_notify('c', $1::text)
        arg = arg.this
    if isinstance(arg, exp.Parameter | exp.Placeholder):
        index = int(str(arg.this.this if isinstance(arg.this, exp.Literal) else arg.this)) - 1
        return params[index]
    if isinstance(arg, exp.Literal):
        return arg.this
    if isinstance(arg, exp.Null):
        return None
    if isinstance(arg, exp.Anonymous) and str(arg.this).lower() == "pg_backend_pid":
        return ctx.pid
    raise errors.FeatureNotSupported(
        "through the proxy, the arguments of this function must be literals or parameters"
    )
