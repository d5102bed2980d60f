"""The ordered stage list: each statement is offered to the stages in turn; the first that
wants it answers it.

A stage is a small object with one job: `kinds` names the statement kinds it
may take (None: any), `wants(ctx)` decides on the statement at hand, `run(ctx)`
answers it. The list is grouped by kind once, so a SELECT is offered only to
the stages that can take a SELECT; a stage whose `wants` reads only the
statement (and the backend's capabilities) says `per_statement`, and is asked
once per statement, not on every run of it. The last stage, the backend (with
the query cache in front of it), takes anything. Add a stage by adding an object
to the list `build` returns (or `Stages.insert`, as a plugin would).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Protocol

import dialects
from pgproxy import advisory, calls, cursors, errors, notify
from pgproxy import prepared as sql_prepared
from pgproxy.backends.base import Column
from pgproxy.catalog import Catalog
from pgproxy.commands import LOCAL_KINDS, run_local
from pgproxy.copy import stage as copy_stage
from pgproxy.core.context import StatementContext
from pgproxy.results import BackendResult, RowsResult

Kind = dialects.Kind

# What may still run in a failed transaction block.
ENDS_FAILED = frozenset({Kind.ROLLBACK, Kind.ROLLBACK_TO, Kind.COMMIT})
CURSOR_TAGS = frozenset({"DECLARE CURSOR", "FETCH", "MOVE", "CLOSE CURSOR"})
_FAILED = attrgetter("failed")  # a context's session is in a failed transaction block
_PREPARED_TAGS = frozenset({"PREPARE", "EXECUTE", "DEALLOCATE", "DEALLOCATE ALL"})
_TWO_PHASE = frozenset({"PREPARE TRANSACTION", "COMMIT PREPARED", "ROLLBACK PREPARED"})
_SAVEPOINT_KINDS = frozenset({Kind.SAVEPOINT, Kind.RELEASE, Kind.ROLLBACK_TO})
_TX_KINDS = frozenset({Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK}) | _SAVEPOINT_KINDS
ROLLBACK = dialects.Statement("ROLLBACK", Kind.ROLLBACK, "ROLLBACK")


class Backend(Protocol):
    """What the stages use of the backend path (pgproxy.pipeline.Pipeline)."""

    catalog: Catalog

    def parse(self, sql: str) -> list[dialects.Statement]: ...

    def generate(self, stmt: dialects.Statement, target: dialects.Target) -> dialects.Generated:
        ...

    def run(self, ctx: StatementContext) -> Awaitable[Any]: ...

    async def describe_statement(self, ctx: StatementContext) -> Sequence[Column] | None: ...

    async def backend_rows(self, ctx: StatementContext) -> Any: ...

    async def backend(
        self, ctx: StatementContext, stmt: dialects.Statement, params: Sequence[Any] = (),
        param_types: Sequence[int] = (),
    ) -> BackendResult | RowsResult: ...

    async def declare(self, ctx: StatementContext, stmt: dialects.Statement
                      ) -> BackendResult: ...


class Stage(ABC):
    """One job on the statement path."""

    __slots__ = ()
    kinds: frozenset[Kind] | None = None  # the statement kinds this stage may take; None: any

    # Whether this stage answers the statement (kinds already matched); None: always.
    wants: Any = None
    # True when `wants` reads only the statement and the route's backend capabilities:
    # it is then asked once per (statement, backend), not once per run.
    per_statement = False

    def wants_of(self, stmt: dialects.Statement) -> Any:
        """What each run of `stmt` asks (a stage not per_statement): `wants`, or a narrower
        test the statement allows (False: it never wants it), chosen once per statement."""
        return self.wants

    @abstractmethod
    def run(self, ctx: StatementContext) -> Awaitable[Any]:
        """The statement's result (an `async def`; or a plain one handing back another's
        awaitable, which spares the hot path a frame)."""


class OnPath(Stage):
    """A stage that hands statements back to the pipeline (`path`: parse, run, declare)."""

    __slots__ = ("_path",)

    def __init__(self, path: Backend) -> None:
        self._path = path


class FailedTransaction(Stage):
    """In an aborted transaction block only its end may run."""

    __slots__ = ()

    def wants(self, ctx: StatementContext) -> bool:
        return ctx.failed and ctx.stmt.kind not in ENDS_FAILED

    def wants_of(self, stmt: dialects.Statement) -> Any:
        # A statement that may end the transaction is never refused; any other only in a
        # failed one (the session's flag, read by a C getter: no frame per run).
        return False if stmt.kind in ENDS_FAILED else _FAILED

    async def run(self, ctx: StatementContext) -> Any:
        raise errors.InFailedSqlTransaction(
            "current transaction is aborted, commands ignored until end of transaction block"
        )


class Copy(OnPath):
    """COPY FROM STDIN and COPY TO STDOUT (pgproxy/copy)."""

    per_statement = True
    kinds = frozenset({Kind.INSERT, Kind.OTHER})

    def wants(self, ctx: StatementContext) -> bool:
        return ctx.stmt.copy is not None

    async def run(self, ctx: StatementContext) -> Any:
        return await copy_stage.run(self._path, ctx, ctx.stmt)


class Local(Stage):
    """SET, RESET, SHOW and USE, answered from the session's settings (pgproxy/commands)."""

    __slots__ = ()
    kinds = LOCAL_KINDS

    async def run(self, ctx: StatementContext) -> Any:
        return run_local(ctx, ctx.stmt)


class CatalogQuery(Stage):
    """pg_catalog and information_schema, from the catalog's emulation (pgproxy/catalog)."""

    __slots__ = ("_catalog",)

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def wants(self, ctx: StatementContext) -> bool:
        return self._catalog.handles(ctx, ctx.stmt)

    async def run(self, ctx: StatementContext) -> Any:
        return await self._catalog.run(ctx, ctx.stmt, ctx.params)


class Advisory(Stage):
    """pg_advisory_lock() and friends, kept by the proxy across sessions (pgproxy/advisory)."""

    __slots__ = ()
    per_statement = True
    kinds = frozenset({Kind.SELECT})

    def wants(self, ctx: StatementContext) -> bool:
        return advisory.calls(ctx.stmt, ctx.route.backend.capabilities) is not None

    async def run(self, ctx: StatementContext) -> Any:
        stmt = ctx.stmt
        locks = advisory.calls(stmt, ctx.route.backend.capabilities)
        return await advisory.run(ctx, stmt, locks, ctx.params)


class Cursors(OnPath):
    """DECLARE / FETCH / MOVE / CLOSE against the session's open cursors (pgproxy/cursors)."""

    per_statement = True
    kinds = frozenset({Kind.OTHER})

    def wants(self, ctx: StatementContext) -> bool:
        return ctx.stmt.tag in CURSOR_TAGS

    async def run(self, ctx: StatementContext) -> Any:
        stmt = ctx.stmt
        assert stmt is not None
        if stmt.tag == "DECLARE CURSOR":
            declare = cursors.parse_declare(stmt.sql)
            if declare.name in ctx.cursors:
                raise errors.DuplicateCursor(f'cursor "{declare.name}" already exists')
            if not declare.hold and not ctx.in_transaction:
                raise errors.NoActiveSqlTransaction(
                    "DECLARE CURSOR can only be used in transaction blocks", sqlstate="25P01"
                )
            inner = self._path.parse(declare.query)
            if len(inner) != 1 or not inner[0].returns_rows:
                raise errors.InvalidCursorDefinition("cursor query must be a single SELECT")
            # Never from the query cache: FETCH reads the backend's own open result.
            result = await self._path.declare(ctx, inner[0])
            ctx.keep_open(result)
            return await ctx.cursors.add(declare, stmt.sql, result, ctx.in_transaction)
        if stmt.tag == "CLOSE CURSOR":
            return await ctx.cursors.close(cursors.parse_close(stmt.sql))
        return ctx.cursors.fetch(cursors.parse_fetch(stmt.sql))


class PreparedSql(OnPath):
    """SQL-level PREPARE / EXECUTE / DEALLOCATE (pgproxy/prepared.py)."""

    per_statement = True
    kinds = frozenset({Kind.OTHER})

    def wants(self, ctx: StatementContext) -> bool:
        return ctx.stmt.tag in _PREPARED_TAGS

    async def run(self, ctx: StatementContext) -> Any:
        stmt = ctx.stmt
        assert stmt is not None
        if stmt.tag == "PREPARE":
            prepare = sql_prepared.parse_prepare(stmt.sql)
            if prepare.name in ctx.sql_statements:
                raise errors.DuplicatePreparedStatement(
                    f'prepared statement "{prepare.name}" already exists')
            statement = await ctx.prepare(prepare.query, prepare.param_types)
            statement.text = stmt.sql  # PostgreSQL shows the whole PREPARE
            ctx.sql_statements[prepare.name] = statement
            return RowsResult("PREPARE")
        if stmt.tag == "EXECUTE":
            name, args = sql_prepared.parse_execute(stmt.sql)
            statement = ctx.sql_statements.get(name)
            if statement is None:
                raise errors.InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
            if len(args) != len(statement.param_types):
                raise errors.SyntaxError(
                    f"wrong number of parameters for prepared statement \"{name}\"",
                    detail=f"Expected {len(statement.param_types)} parameters but got "
                           f"{len(args)}.", sqlstate="42601")
            values = ctx.decode_params(
                statement, [None if a is None else a.encode() for a in args], [0] * len(args))
            return await self._path.run(ctx.sub(statement, values, ctx.formats))
        # DEALLOCATE drops Parse statements too, as in PostgreSQL (psycopg evicts its
        # prepared statements so): the wire's dict, which the session holds.
        name = sql_prepared.parse_deallocate(stmt.sql)
        if name is None:
            ctx.sql_statements.clear()
            for n in [n for n in ctx.protocol_statements if n]:
                del ctx.protocol_statements[n]
        elif (ctx.sql_statements.pop(name, None) is None
              and ctx.protocol_statements.pop(name, None) is None):
            raise errors.InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
        return RowsResult(stmt.tag)


class Notify(Stage):
    """LISTEN / UNLISTEN / NOTIFY, kept by the proxy (pgproxy/notify)."""

    __slots__ = ()
    per_statement = True
    kinds = frozenset({Kind.OTHER})

    def wants(self, ctx: StatementContext) -> bool:
        return ctx.stmt.tag in notify.TAGS

    async def run(self, ctx: StatementContext) -> Any:
        return notify.run(ctx, ctx.stmt)


class TwoPhase(Stage):
    """Two-phase commit: refused as PostgreSQL with max_prepared_transactions = 0 refuses it,
    the value SHOW reports (no backend can keep a transaction across sessions for us)."""

    __slots__ = ()
    per_statement = True
    kinds = frozenset({Kind.OTHER})

    def wants(self, ctx: StatementContext) -> bool:
        return ctx.stmt.tag in _TWO_PHASE

    async def run(self, ctx: StatementContext) -> Any:
        stmt = ctx.stmt
        assert stmt is not None
        if stmt.tag == "PREPARE TRANSACTION":
            raise errors.ObjectNotInPrerequisiteState(
                "prepared transactions are disabled",
                hint='Set "max_prepared_transactions" to a nonzero value.',
            )
        gid = stmt.sql.strip().rstrip(";").split(None, 2)[-1].strip().strip("'")
        raise errors.UndefinedObject(
            f'prepared transaction with identifier "{gid}" does not exist')


class Calls(Stage):
    """`SELECT f(…)` of a function the proxy answers (pgproxy/calls), and `SELECT`."""

    __slots__ = ()
    per_statement = True
    kinds = frozenset({Kind.SELECT})

    def wants(self, ctx: StatementContext) -> bool:
        stmt = ctx.stmt
        return calls.bare_call(stmt) is not None or calls.no_columns(stmt)

    async def run(self, ctx: StatementContext) -> Any:
        call = calls.bare_call(ctx.stmt)
        if call is None:  # SELECT of no columns: one empty row
            return RowsResult("SELECT", [], [()])
        return await calls.run(ctx, call, ctx.params)


class SetConfig(OnPath):
    """set_config() in a SELECT: applied, then its new value bound by the backend's run."""

    per_statement = True
    kinds = frozenset({Kind.SELECT})

    def wants(self, ctx: StatementContext) -> bool:
        return ctx.stmt.setting is not None

    async def run(self, ctx: StatementContext) -> Any:
        stmt = ctx.stmt
        assert stmt is not None and stmt.setting is not None
        setting = ctx.resolve_setting(stmt.setting, ctx.params)
        ctx.apply_setting(setting)
        if setting.local and not ctx.in_transaction:
            # is_local outside a transaction block lasts only for this statement, as in
            # PostgreSQL.
            try:
                return await self._path.backend(ctx, stmt, ctx.params, ctx.param_types)
            finally:
                ctx.end_local_settings()
        return await self._path.backend(ctx, stmt, ctx.params, ctx.param_types)


class TransactionControl(OnPath):
    """BEGIN, COMMIT, ROLLBACK and savepoints, with PostgreSQL's answers where the backend's
    would differ (a BEGIN inside a block, a COMMIT of a failed one)."""

    kinds = _TX_KINDS

    async def run(self, ctx: StatementContext) -> Any:
        stmt = ctx.stmt
        assert stmt is not None
        kind, path = stmt.kind, self._path
        if kind is Kind.BEGIN:
            if ctx.in_transaction:
                return RowsResult(stmt.tag)  # PostgreSQL warns and stays in the transaction
            result = await path.backend(ctx, stmt)
            if stmt.setting is not None and ctx.in_transaction:
                ctx.apply_setting(stmt.setting)  # BEGIN ISOLATION LEVEL …: this transaction's
            return result
        if kind in _SAVEPOINT_KINDS:
            # A reused name kept apart (pgproxy/savepoints).
            text = ctx.savepoints.backend_sql(stmt.kind, stmt.sql)
            run = stmt if text is None else path.parse(text)[0]
            result = await path.backend(ctx, run)
            ctx.savepoints.done(stmt.kind, stmt.sql)
            return result
        if not ctx.in_transaction:
            return RowsResult(stmt.tag)  # PostgreSQL warns: no transaction in progress
        if kind is Kind.ROLLBACK:
            return await path.backend(ctx, stmt)
        if ctx.failed:
            # COMMIT of a failed transaction rolls back, and says so.
            result = await path.backend(ctx, ROLLBACK)
            return RowsResult("ROLLBACK") if result.done else result
        # A COMMIT that fails ends the transaction all the same, as in PostgreSQL (SQLite
        # keeps it open after a deferred constraint fails at COMMIT).
        try:
            return await path.backend(ctx, stmt)
        except errors.PgError:
            if ctx.in_transaction and not ctx.lost_transaction:
                ctx.commit_failed()
                await (await path.backend(ctx, ROLLBACK)).close()
            raise


class Execute(OnPath):
    """Everything else runs on the backend, through the query cache (pgproxy/pipeline)."""


    def run(self, ctx: StatementContext) -> Awaitable[Any]:
        return self._path.backend(ctx, ctx.stmt, ctx.params, ctx.param_types)


def build(path: Backend) -> list[Stage]:
    """The stages in the order a statement is offered to them."""
    return [
        FailedTransaction(),
        Copy(path),
        Local(),
        CatalogQuery(path.catalog),
        Advisory(),
        Cursors(path),
        PreparedSql(path),
        Notify(),
        TwoPhase(),
        Calls(),
        SetConfig(path),
        TransactionControl(path),
        Execute(path),
    ]


# Plans kept, and the longest statement text whose plan is kept (the table holds the
# statement itself, so that its id is not reused while the plan is).
_PLANS = 1024
_PLAN_TEXT = 4096


class Stages:
    """The ordered stages, grouped once by the statement kinds each may take, and per
    statement once its per-statement stages have decided."""

    __slots__ = ("_by_kind", "_plans", "stages")

    def __init__(self, stages: Iterable[Stage]) -> None:
        self.stages = list(stages)
        self._by_kind: dict[Kind, tuple[Stage, ...]] = {}
        # id(statement) -> (statement, capabilities, plan): the (wants, run) pairs still
        # to ask at run time. The statement is kept so its id cannot be reused meanwhile.
        self._plans: dict[int, tuple[Any, Any, tuple[tuple[Any, Any], ...]]] = {}
        self._group()

    def _group(self) -> None:
        self._by_kind = {kind: tuple(self.for_kind(kind)) for kind in Kind}
        self._plans = {}

    def insert(self, index: int, stage: Stage) -> None:
        """Add a stage at `index` of the order."""
        self.stages.insert(index, stage)
        self._group()

    def for_kind(self, kind: Kind) -> list[Stage]:
        return [s for s in self.stages if s.kinds is None or kind in s.kinds]

    def offer(self, ctx: StatementContext) -> Awaitable[Any]:
        """The first stage that wants the statement answers it."""
        stmt = ctx.stmt
        caps = ctx.route.backend.capabilities
        known = self._plans.get(id(stmt))
        if known is None or known[0] is not stmt or known[1] is not caps:
            known = self._plan(ctx, stmt, caps)
        for wants, run in known[2]:
            if wants is None or wants(ctx):
                return run(ctx)
        raise errors.InternalError(f"no stage takes a {stmt.kind} statement")

    def _plan(
        self, ctx: StatementContext, stmt: dialects.Statement, caps: Any
    ) -> tuple[Any, Any, tuple[tuple[Any, Any], ...]]:
        """The stages left to ask of `stmt` once the per-statement ones have decided (bound
        methods, so offering looks nothing up)."""
        plan: list[tuple[Any, Any]] = []
        for stage in self._by_kind[stmt.kind]:
            if stage.wants is None or (stage.per_statement and stage.wants(ctx)):
                plan.append((None, stage.run))
                break  # it always answers: the stages after it are never asked
            if not stage.per_statement:
                wants = stage.wants_of(stmt)
                if wants is not False:
                    plan.append((wants, stage.run))
        known = (stmt, caps, tuple(plan))
        if len(stmt.sql) <= _PLAN_TEXT:  # a huge one-off statement is not kept alive here
            if len(self._plans) >= _PLANS:  # bound the table; the statements in use come back
                self._plans.clear()
            self._plans[id(stmt)] = known
        return known
