"""Hooks on the statement path: before, after and on error, for concerns that cut across stages.

Telemetry, the observers' watch, health accounting, and later access control
register here instead of wrapping the pipeline. A hook's `before` may refuse
the statement by raising a PgError (that is how access control plugs in); any
other exception a hook raises is a bug of that hook: it is logged and the
statement carries on, so an observer can never break a client's query. With
no hook registered a statement pays one tuple test.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from pgproxy import errors

log = logging.getLogger("pgproxy.hooks")


class Hook:
    """One concern on the statement path; override what it needs (each default does nothing)."""

    def before(self, ctx: Any) -> Any:
        """Called before the first stage; returns this hook's state for after / error.

        Raise a PgError to refuse the statement: no stage runs, error hooks are told.
        """
        return None

    def after(self, ctx: Any, state: Any, result: Any) -> Any:
        """Called with the stage's result; returns the result to send (it may wrap it)."""
        return result

    def error(self, ctx: Any, state: Any, exc: BaseException) -> None:
        """Called when the statement failed (a PgError, or a cancel: any exception)."""

    # A hook that can hear of a statement the wire answered without the stages (from the
    # query cache, pgproxy/cache/hits.py; run inline, pgproxy/wire_reads.py) sets this to
    # a callable `(session, statement, perf_counter start, tag, rows, hit=True)` (`hit`:
    # the event's cache_hit); while one is set, every hook with a before or after is that
    # one, and those answers stay on the fast path.
    answered: Any = None

    # True for a hook whose before and after never raise (they neither refuse a statement
    # nor let a bug of their own out): when it is the only wrapping hook, the pipeline
    # calls them directly, with no frame of Hooks' around each.
    guarded = False


class Step:
    """Timing of the named steps inside the stages (translate, cache lookup, backend execute)."""

    def enter(self, name: str) -> Any:
        return None

    def exit(self, token: Any, exc: BaseException | None) -> None:
        pass


class Hooks:
    """The hooks registered on one stage list, kept as tuples: iterating one is cheap."""

    __slots__ = ("_afters", "_befores", "_one", "after", "answered", "before", "full_path",
                 "statement", "steps", "wraps")

    def __init__(self) -> None:
        self.statement: tuple[Hook, ...] = ()
        self.steps: tuple[Step, ...] = ()
        # (position, hook) of the hooks with a before / an after of their own (the
        # afters last first): a hook's default no-op is never called.
        self._befores: tuple[tuple[int, Hook], ...] = ()
        self._afters: tuple[tuple[int, Hook], ...] = ()
        # Whether any hook has either: with only error hooks (health accounting) a
        # statement needs no states and no pass over the hooks when it works.
        self.wraps = False
        # The wrapping hook's `answered` when it is the only wrapping hook (see Hook).
        self.answered: Any = None
        # Whether every statement takes the full path: a step's timers, or a wrapping hook
        # that cannot hear of a statement answered at the wire (no `answered`).
        self.full_path = False
        # (position, hook) of the one hook with a before and an after, when no other has
        # either (the usual: the watch): its state is passed as it is, in no list.
        self._one: tuple[int, Hook] | None = None
        # `before(ctx) -> states` and `after(ctx, states, result) -> result`: Hooks' own,
        # or the one wrapping hook's when it is guarded (see Hook.guarded).
        self.before: Any = self._before
        self.after: Any = self._after

    def add(self, hook: Hook) -> None:
        """Hooks run in the order added before the statement, in reverse after it."""
        self.statement = (*self.statement, hook)
        self._changed()

    def add_step(self, step: Step) -> None:
        self.steps = (*self.steps, step)
        self._changed()

    def remove(self, hook: Hook | Step) -> None:
        self.statement = tuple(h for h in self.statement if h is not hook)
        self.steps = tuple(s for s in self.steps if s is not hook)
        self._changed()

    def _changed(self) -> None:
        hooks = list(enumerate(self.statement))
        self._befores = tuple((i, h) for i, h in hooks if type(h).before is not Hook.before)
        self._afters = tuple((i, h) for i, h in reversed(hooks) if type(h).after is not Hook.after)
        self.wraps = bool(self._befores or self._afters)
        wrapping = {h for _, h in (*self._befores, *self._afters)}
        self._one = self._befores[0] if len(wrapping) == 1 and len(self._befores) == 1 \
            and len(self._afters) == 1 else None
        self.answered = wrapping.pop().answered if len(wrapping) == 1 else None
        self.full_path = bool(self.steps) or (self.wraps and self.answered is None)
        one = self._one
        if one is not None and one[1].guarded:
            self.before, self.after = one[1].before, one[1].after
        else:
            self.before, self.after = self._before, self._after

    def _before(self, ctx: Any) -> Any:
        """Each hook's state (a hook without a before of its own: None), or with one
        wrapping hook its state alone. A PgError refuses the statement: the hooks before
        it are told through `error`, and it propagates."""
        one = self._one
        if one is not None:
            try:
                return one[1].before(ctx)
            except errors.PgError as exc:
                self._error(ctx, [None] * one[0], exc)
                raise
            except Exception:
                log.exception("hook %s failed before a statement", type(one[1]).__name__)
                return None
        states: list[Any] = [None] * len(self.statement)
        for i, hook in self._befores:
            try:
                states[i] = hook.before(ctx)
            except errors.PgError as exc:
                self._error(ctx, states[:i], exc)
                raise
            except Exception:
                log.exception("hook %s failed before a statement", type(hook).__name__)
        return states

    def _after(self, ctx: Any, states: Any, result: Any) -> Any:
        """The result to send, from before's states."""
        one = self._one
        if one is not None:
            try:
                return one[1].after(ctx, states, result)
            except Exception:
                log.exception("hook %s failed after a statement", type(one[1]).__name__)
                return result
        for i, hook in self._afters:
            try:
                result = hook.after(ctx, states[i], result)
            except Exception:
                log.exception("hook %s failed after a statement", type(hook).__name__)
        return result

    def error(self, ctx: Any, states: Any, exc: BaseException) -> None:
        """Tell the hooks that the statement failed, given before's states (None: without
        `wraps`, when every hook's state is Hook.before's None)."""
        one = self._one
        if one is not None and states is not None:
            spread = [None] * len(self.statement)
            spread[one[0]] = states
            states = spread
        self._error(ctx, states, exc)

    def _error(self, ctx: Any, states: list[Any] | None, exc: BaseException) -> None:
        """Tell the hooks whose `before` ran (len(states) of them) that the statement failed."""
        if states is None:
            states = [None] * len(self.statement)
        hooks = self.statement[: len(states)]
        for hook, state in zip(reversed(hooks), reversed(states), strict=True):
            try:
                hook.error(ctx, state, exc)
            except Exception:
                log.exception("hook %s failed on a statement's error", type(hook).__name__)


@contextlib.contextmanager
def _timed(steps: tuple[Step, ...], name: str) -> Iterator[None]:
    tokens = [s.enter(name) for s in steps]
    exc: BaseException | None = None
    try:
        yield
    except BaseException as e:
        exc = e
        raise
    finally:
        for s, token in zip(reversed(steps), reversed(tokens), strict=True):
            s.exit(token, exc)


def step(steps: tuple[Step, ...], name: str, fn: Any, *args: Any) -> Any:
    """`fn(*args)` timed as the step `name` by each Step (call only when there are any)."""
    with _timed(steps, name):
        return fn(*args)


async def step_async(steps: tuple[Step, ...], name: str, fn: Any, *args: Any) -> Any:
    """`await fn(*args)` timed as the step `name`, as step()."""
    with _timed(steps, name):
        return await fn(*args)
