"""Stage: a statement naming tables of several routes, answered by DuckDB over their parts.

Each part (pgproxy/federation/plan.py) runs on its route's backend through the
pipeline like any statement (translated by dialects/, parameters bound, never
from the query cache): the session's own route on the session's own connection
(inside a transaction block, in that transaction), other routes on sessions of
the proxy's own, kept idle between queries. A part with no filter of its own
joined by equality to one with filters is read after it, narrowed to that part's
keys (a semi-join). Their rows become Arrow batches, DuckDB joins them, and its
result streams back as row batches.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import dialects
from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.cache.stage import adopt_settings
from pgproxy.core.context import StatementContext
from pgproxy.core.stages import Backend, Stage
from pgproxy.core.statement import PreparedStatement
from pgproxy.federation import plan
from pgproxy.results import RowsResult
from pgproxy.router import Router

log = logging.getLogger("pgproxy.federation")
Kind = dialects.Kind

DEFAULT_MAX_ROWS = 1_000_000
_READ_BATCH = 20_000  # rows per fetch of a part: one thread hop, one Arrow batch
_IDLE_SESSIONS = 4  # per (route, user): sessions kept for the next federated query
_EXPLAIN = re.compile(r"\s*EXPLAIN\s+((\([^()]*\)|ANALY[SZ]E|VERBOSE)\s+)*", re.IGNORECASE)
# Semi-join keys: at most this many distinct values by default (one JSON / array
# parameter), of a column of one of these types (an element type the dialects'
# = ANY($n::t[]) binds).
DEFAULT_SEMI_JOIN_KEYS = 50_000
_KEY_TYPES = {
    pgtypes.INT2: "int2",
    pgtypes.INT4: "int4",
    pgtypes.INT8: "int8",
    pgtypes.TEXT: "text",
    pgtypes.VARCHAR: "varchar",
    pgtypes.BPCHAR: "text",
    pgtypes.DATE: "date",
    pgtypes.NUMERIC: "numeric",
    pgtypes.UUID: "uuid",
}
# Settings the other routes' sessions take from the client's besides RESULT_SETTINGS:
# its time travel, and how long a part may run.
_ADOPTED = ("pgproxy.as_of", "pgproxy.branch", "statement_timeout")
# Type names sqlglot's PostgreSQL dialect reads (for DuckDB's arithmetic and comparisons).
_SQL_TYPES = frozenset(
    {
        "bool",
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "numeric",
        "text",
        "varchar",
        "bpchar",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "interval",
        "json",
        "jsonb",
        "uuid",
        "bytea",
    }
)
_ONE = Column("one", pgtypes.INT4)  # a part the query needs no column of: its row count
_WRITES = frozenset({Kind.INSERT, Kind.UPDATE, Kind.DELETE})
_OTHER = Kind.OTHER


@dataclass(frozen=True, slots=True)
class Options:
    """The [federation] section."""

    max_rows: int = DEFAULT_MAX_ROWS  # rows one part may bring; more stops the query (54000)
    # Distinct keys a semi-join may carry to the part it narrows; 0: no semi-joins.
    semi_join_keys: int = DEFAULT_SEMI_JOIN_KEYS

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> Options:
        unknown = set(section) - {"max_rows", "semi_join_keys"}
        if unknown:
            raise ValueError(f"[federation] has no setting {', '.join(sorted(unknown))}")
        max_rows = _count(section, "max_rows", DEFAULT_MAX_ROWS, 1)
        return cls(max_rows, _count(section, "semi_join_keys", DEFAULT_SEMI_JOIN_KEYS, 0))


def _count(section: dict[str, Any], key: str, default: int, low: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"[federation] {key} must be an integer of at least {low}, not {value!r}")
    return value


class Federation(Stage):
    """Statements that name a route other than the session's own."""

    __slots__ = ("_idle", "_named", "_options", "_path", "_router")
    # DDL too: CREATE / DROP of another route's table is a write there, refused.
    kinds = frozenset({Kind.SELECT, Kind.OTHER, Kind.DDL}) | _WRITES

    def __init__(self, path: Backend, router: Router, options: Options) -> None:
        self._path = path
        self._router = router
        self._options = options
        # A statement's table names -> the route names that qualify them (mostly none).
        self._named: dict[frozenset[str], frozenset[str]] = {}
        self._idle: dict[tuple[str, str], list[StatementContext]] = {}

    # ------------------------------------------------------------ recognising

    def wants(self, ctx: StatementContext) -> bool:
        # On every SELECT and write: one dict lookup by a frozenset whose hash it keeps.
        stmt = ctx.stmt
        if stmt.tables_written or stmt.kind is _OTHER:
            return self._wants_other(ctx)
        named = self._named.get(stmt.tables_read)
        if named is None:
            named = self._qualifiers(stmt.tables_read)
        return bool(named) and plan.routed(named, ctx.route.name)

    def _wants_other(self, ctx: StatementContext) -> bool:
        stmt = ctx.stmt
        if stmt.kind is Kind.OTHER:
            return stmt.tag == "EXPLAIN" and self._explained(ctx) is not None
        return self.routed(stmt, ctx.route.name)

    def routed(self, stmt: dialects.Statement, own: str) -> bool:
        """Whether `stmt` names a route other than `own`."""
        tables = stmt.tables_read | stmt.tables_written if stmt.tables_written else stmt.tables_read
        named = self._named.get(tables)
        if named is None:
            named = self._qualifiers(tables)
        return plan.routed(named, own)

    def _qualifiers(self, tables: frozenset[str]) -> frozenset[str]:
        """The route names among the qualifiers of `tables`, kept per distinct table set."""
        if len(self._named) > 4096:
            self._named.clear()
        routes = self._routes()
        named = self._named[tables] = frozenset(
            first for first, dot, _ in (t.partition(".") for t in tables) if dot and first in routes
        )
        return named

    def _routes(self) -> Collection[str]:
        return self._router.backends.keys()

    def _explained(self, ctx: StatementContext) -> dialects.Statement | None:
        """EXPLAIN's statement, when it is one for this stage."""
        match = _EXPLAIN.match(ctx.stmt.sql)
        if match is None:
            return None
        try:
            inner = self._path.parse(ctx.stmt.sql[match.end() :])
        except errors.PgError:
            return None
        if len(inner) == 1 and self.routed(inner[0], ctx.route.name):
            return inner[0]
        return None

    # ------------------------------------------------------------ answering

    async def run(self, ctx: StatementContext) -> Any:
        stmt = ctx.stmt
        if stmt.kind is Kind.OTHER:
            inner = self._explained(ctx)
            assert inner is not None
            return await self.answer(ctx, inner, explain=True)
        return await self.answer(ctx, stmt)

    async def answer(
        self, ctx: StatementContext, stmt: dialects.Statement, explain: bool = False
    ) -> Any:
        """`stmt`'s result (a DECLAREd cursor's query comes here too), or its EXPLAIN."""
        engine = _engine(stmt, ctx.route.name)
        sessions = _Sessions(self, ctx)
        cancel = engine.Cancel()
        # A cancel request stops the other routes' parts and DuckDB's work too.
        forget = ctx.on_cancel(lambda: cancel.stop(sessions.opened()))
        try:
            split, described = await self._plan(stmt, sessions)
            params = [ctx.params[i] if i < len(ctx.params) else None for i in split.params]
            if explain:
                return await self._explain(ctx, sessions, split, described, params)
            columns, tables = await self._fetch(ctx, sessions, split, described, cancel)
            return await engine.run(ctx, split, tables, columns, params, cancel)
        finally:
            forget()
            await sessions.release()

    async def describe(self, ctx: StatementContext) -> list[Column]:
        """The result's columns for a Describe: DuckDB's query over empty parts."""
        stmt = ctx.stmt
        engine = _engine(stmt, ctx.route.name)
        sessions = _Sessions(self, ctx)
        try:
            split, described = await self._plan(stmt, sessions)
        finally:
            await sessions.release()
        params = [None] * len(split.params)
        parts = {p.key: _part_columns(p, described) for p in split.parts}
        return await ctx.in_worker(engine.describe, split, parts, params)

    async def param_types(self, ctx: StatementContext, stmt: dialects.Statement) -> list[int]:
        """A type per $n bound to a column of one of the tables (0 where none is known)."""
        types = [0] * stmt.nparams
        if not stmt.param_columns or stmt.expression is None:
            return types
        sessions = _Sessions(self, ctx)
        try:
            sources = plan.sources(stmt.expression, self._routes(), ctx.route.name)
            for index, table, column in stmt.param_columns:
                source = next((s for s in sources if s.table.name.lower() == table), None)
                if source is None or index >= len(types):
                    continue
                columns = await self._describe(sessions.get(source.route), source)
                types[index] = next((c.type_oid for c in columns if c.name.lower() == column), 0)
        finally:
            await sessions.release()
        return types

    async def _plan(
        self, stmt: dialects.Statement, sessions: _Sessions
    ) -> tuple[plan.Split, list[list[Column]]]:
        routes, own = self._routes(), sessions.own
        sources = plan.sources(stmt.expression, routes, own)
        hints = _hint_comment(stmt.hints)
        described = [await self._describe(sessions.get(s.route), s, hints) for s in sources]
        split = plan.split(
            stmt.expression,
            routes,
            own,
            [[c.name for c in cols] for cols in described],
            hints,
            [[_sql_type(c) for c in cols] for cols in described],
        )
        return split, described

    async def _describe(
        self, pctx: StatementContext, source: plan.Source, hints: str = ""
    ) -> list[Column]:
        """A table's columns, from its backend's description of SELECT * (nothing runs):
        at the version the statement reads, when it travels in time."""
        stmt = self._path.parse(f"{hints}SELECT * FROM {source.bare}")[0]
        columns = await self._path.describe_statement(pctx.sub(_prepared(stmt), (), ()))
        return list(columns or ())

    async def _fetch(
        self,
        ctx: StatementContext,
        sessions: _Sessions,
        split: plan.Split,
        described: list[list[Column]],
        cancel: Any,
    ) -> tuple[dict[str, list[Column]], dict[str, Any]]:
        """Every part's rows as an Arrow table: routes side by side, one route's in turn;
        a part a semi-join narrows after the part whose keys it takes."""
        columns: dict[str, list[Column]] = {}
        tables: dict[str, Any] = {}
        semi = _semi_joins(split, described) if self._options.semi_join_keys else {}
        await self._fetch_parts(
            ctx, sessions, [p for p in split.parts if p.key not in semi], columns, tables, {}
        )
        cancel.check()
        if semi:
            from pgproxy.federation.engine import distinct_keys

            keys = {}
            for key, (link, type_name) in semi.items():
                values = await ctx.in_worker(
                    distinct_keys, tables[link.source], link.column, self._options.semi_join_keys
                )
                keys[key] = None if values is None else (link.target_column, type_name, values)
            await self._fetch_parts(
                ctx, sessions, [p for p in split.parts if p.key in semi], columns, tables, keys
            )
        return columns, tables

    async def _fetch_parts(
        self,
        ctx: StatementContext,
        sessions: _Sessions,
        parts: list[plan.Part],
        columns: dict[str, list[Column]],
        tables: dict[str, Any],
        keys: dict[str, tuple[str, str, list[Any]] | None],
    ) -> None:
        by_route: dict[str, list[plan.Part]] = {}
        for part in parts:
            by_route.setdefault(part.source.route, []).append(part)

        async def route_parts(parts: list[plan.Part]) -> list[tuple[Any, ...]]:
            pctx = sessions.get(parts[0].source.route)
            return [await self._read(ctx, pctx, part, keys.get(part.key)) for part in parts]

        # Every route's reads end before an error leaves: their sessions are released next.
        done = await asyncio.gather(
            *(route_parts(p) for p in by_route.values()), return_exceptions=True
        )
        for failed in done:
            if isinstance(failed, BaseException):
                raise failed
        for parts_, results in zip(by_route.values(), done, strict=True):
            for part, (cols, table) in zip(parts_, results, strict=True):
                columns[part.key], tables[part.key] = cols, table

    async def _read(
        self,
        ctx: StatementContext,
        pctx: StatementContext,
        part: plan.Part,
        keys: tuple[str, str, list[Any]] | None = None,
    ) -> tuple[list[Column], Any]:
        """One part's rows; with `keys`, (column, element type, values): only the rows whose
        column is one of the values (a semi-join), bound as one array parameter."""
        from pgproxy.federation.duck_types import renamed
        from pgproxy.types.arrow import BatchBuilder

        started = time.perf_counter()
        params: Sequence[Any] = ctx.params
        sql = part.sql
        if keys is not None:
            column, type_name, values = keys
            sql = part.keyed_sql(column, type_name, len(params) + 1)
            params = [*params, values]
        stmt = self._path.parse(sql)[0]
        if stmt.result_columns:
            # The catalog's types for the part, read now: read while the part's result is
            # open (its first build), they would end that result on a backend that keeps
            # one open at a time (SQLite), leaving the part its first batch only.
            await self._path.catalog.result_types(pctx, stmt, len(part.columns))
        # Never from the query cache (its hits may be encoded frames): declare's path.
        result = await self._path.declare(pctx.sub(_prepared(stmt), params, ()), stmt)
        limit = self._options.max_rows
        try:
            columns = [
                renamed(c, n) for c, n in zip(result.columns or (), part.columns, strict=False)
            ] or [_ONE]
            builder = BatchBuilder(columns, ctx.settings.style())
            batches = []
            count = 0
            while not result.done:
                rows = await result.fetch_rows(_READ_BATCH)
                if not rows:
                    break
                count += len(rows)
                if count > limit:
                    what = "the join of" if len(part.sources) > 1 else "table"
                    raise errors.ProgramLimitExceeded(
                        f'{what} "{part.name}" of route "{part.source.route}" gives more '
                        f"than federation.max_rows = {limit} rows to a query across routes",
                        hint="Filter it further, or raise max_rows in [federation].",
                    )
                batches.append(await ctx.in_worker(builder.build, rows))
        finally:
            await result.close()
        log.debug(
            "part %s of route %s: %d rows in %.3f s%s",
            part.name,
            part.source.route,
            count,
            time.perf_counter() - started,
            f", {len(keys[2])} semi-join keys" if keys is not None else "",
        )
        return columns, await ctx.in_worker(_arrow_table, batches, builder.schema, columns)

    async def _explain(
        self,
        ctx: StatementContext,
        sessions: _Sessions,
        split: plan.Split,
        described: list[list[Column]],
        params: Sequence[Any],
    ) -> RowsResult:
        from pgproxy.federation import engine

        routes = ", ".join(sorted({p.source.route for p in split.parts}))
        lines = [f"Federated query over routes {routes}"]
        schemas = {}
        keys = self._options.semi_join_keys
        semi = _semi_joins(split, described) if keys else {}
        parts = {p.key: p for p in split.parts}
        for part in split.parts:
            pctx = sessions.get(part.source.route)
            sql = part.sql
            if part.key in semi:
                link, type_name = semi[part.key]
                sql = part.keyed_sql(link.target_column, type_name, len(ctx.params) + 1)
            generated = self._path.generate(self._path.parse(sql)[0], pctx.target())
            backend = pctx.target().backend
            lines.append(
                f'  Part {_number(part)}: "{part.name}" on route '
                f"{part.source.route} ({backend}), conditions pushed down: {part.pushed}"
            )
            if part.key in semi:
                link = semi[part.key][0]
                lines.append(
                    f'    Semi-join: rows whose "{link.target_column}" is among the '
                    f'"{link.column}" values of part {_number(parts[link.source])}, read '
                    f"first (up to {keys} distinct; past that, the whole table)"
                )
            lines.append(f"    Backend SQL: {generated.sql}")
            schemas[part.key] = _part_columns(part, described)
        lines.append(f"  DuckDB SQL: {split.sql}")
        lines.append("  DuckDB plan:")
        plan_text = await ctx.in_worker(engine.explain, split.sql, schemas, params)
        lines.extend("    " + line for line in plan_text.splitlines() if line.strip())
        return RowsResult(
            "EXPLAIN", [Column("QUERY PLAN", pgtypes.TEXT)], [(line,) for line in lines]
        )

    # ------------------------------------------------------------ sessions on other routes

    def _session(self, ctx: StatementContext, route: str) -> StatementContext:
        idle = self._idle.get((route, ctx.user))
        if idle:
            return idle.pop()
        return ctx.internal(self._router.resolve(route), ctx.user, "federated query")

    async def _done_with(self, route: str, user: str, pctx: StatementContext, ok: bool) -> None:
        idle = self._idle.setdefault((route, user), [])
        if ok and not pctx.in_transaction and len(idle) < _IDLE_SESSIONS:
            idle.append(pctx)
        else:
            await pctx.drop()


class _Sessions:
    """The contexts one federated query reads its routes through."""

    __slots__ = ("_ctx", "_opened", "_stage")

    def __init__(self, stage: Federation, ctx: StatementContext) -> None:
        self._stage = stage
        self._ctx = ctx
        self._opened: dict[str, StatementContext] = {}

    @property
    def own(self) -> str:
        return self._ctx.route.name

    def opened(self) -> list[StatementContext]:
        """The sessions of the proxy's own this query reads other routes through."""
        return list(self._opened.values())

    def get(self, route: str) -> StatementContext:
        if route == self._ctx.route.name:
            return self._ctx  # its own connection; inside a block, its transaction
        pctx = self._opened.get(route)
        if pctx is None:
            pctx = self._opened[route] = self._stage._session(self._ctx, route)
            settings = self._ctx.settings
            # The client's TimeZone, DateStyle, search_path …: what its reads depend on.
            adopt_settings(pctx, settings.result_key())
            # Its time travel too (a backend that cannot honour it refuses, 0A000, rather
            # than answer a question about the past with the present), and its timeout.
            for name in _ADOPTED:
                if pctx.settings.get(name) != (value := settings.get(name)):
                    pctx.apply_setting(dialects.Setting(name, value or None))
        return pctx

    async def release(self) -> None:
        for route, pctx in self._opened.items():
            await self._stage._done_with(route, self._ctx.user, pctx, not pctx.failed)


def _arrow_table(batches: list[Any], schema: Any, columns: list[Column]) -> Any:
    import pyarrow as pa

    from pgproxy.federation.engine import exact_numerics

    return exact_numerics(pa.Table.from_batches(batches, schema=schema), columns)


def _engine(stmt: dialects.Statement, own: str) -> Any:
    """The DuckDB engine module, for a SELECT; writes and the extra missing refused."""
    if stmt.kind in _WRITES or stmt.tables_written:
        raise errors.FeatureNotSupported(
            f'a statement that writes cannot name tables of another route (connected to "{own}")',
            hint="Write to one route at a time, connected to its database.",
        )
    if stmt.kind is not Kind.SELECT or stmt.expression is None:
        raise errors.FeatureNotSupported(
            f"{stmt.tag} cannot name tables of another route; only SELECT can"
        )
    try:
        from pgproxy.federation import engine
    except ImportError as exc:  # the optional extra is not installed
        raise errors.FeatureNotSupported(
            f"a query across routes needs DuckDB and pyarrow ({exc.name} is missing)",
            hint="pip install 'pgproxy[analytics]'",
        ) from None
    return engine


def _number(part: plan.Part) -> str:
    return part.key[len(plan.PREFIX) :]


def _semi_joins(
    split: plan.Split, described: list[list[Column]]
) -> dict[str, tuple[plan.Link, str]]:
    """The parts to narrow by a semi-join: a part with no filter of its own, joined by
    `a.x = b.y` to one that has filters (so likely few rows), on a column whose type
    an array parameter can carry; each with its link and element type name."""
    parts = {p.key: p for p in split.parts}
    types = {
        p.key: {c.name: c.type_oid for c in cols}
        for p in split.parts
        for cols in (_part_columns(p, described),)
    }
    chosen: dict[str, tuple[plan.Link, str]] = {}
    for link in split.links:
        source, target = parts[link.source], parts[link.target]
        type_name = _KEY_TYPES.get(types[target.key].get(link.target_column, 0))
        if (
            source.pushed
            and not target.pushed
            and len(target.sources) == 1
            and type_name
            and target.key not in chosen
            and source.key not in chosen
        ):
            chosen[target.key] = (link, type_name)
    return chosen


def _hint_comment(hints: dialects.Hints) -> str:
    """The statement's time-travel hints (validated when parsed) for each part's text:
    every backend honours them or refuses the part."""
    if not (hints.as_of or hints.as_of_timestamp or hints.branch):
        return ""
    words = []
    if hints.as_of:
        words.append(f"as_of('{hints.as_of}')")
    elif hints.as_of_timestamp:
        words.append(f"as_of(TIMESTAMP '{hints.as_of_timestamp}')")
    if hints.branch:
        words.append(f"branch('{hints.branch}')")
    return f"/*+ {' '.join(words)} */ "


def _sql_type(column: Column) -> str:
    """A column's type as sqlglot reads it (an array, a user type: text)."""
    info = pgtypes.TYPES.get(column.type_oid)
    return info.name if info is not None and info.name in _SQL_TYPES else "text"


def _part_columns(part: plan.Part, described: list[list[Column]]) -> list[Column]:
    """A part's result columns as its tables' descriptions give them (named as the part
    names them: `<alias>__<column>` where it joins several)."""
    from pgproxy.federation.duck_types import renamed

    out = []
    for (index, column), name in zip(part.column_sources, part.columns, strict=True):
        by_name = {c.name: c for c in described[index]}
        out.append(renamed(by_name[column], name) if name != column else by_name[column])
    return out or [_ONE]


def _prepared(stmt: dialects.Statement) -> PreparedStatement:
    return PreparedStatement(stmt, [], False)


def install(pipeline: Any, router: Router, section: dict[str, Any]) -> None:
    """Put the stage before SET/transaction control and the backend (pgproxy/core/stages),
    and let the pipeline's Parse and Describe ask it."""
    from pgproxy.core.stages import SetConfig

    stage = Federation(pipeline, router, Options.from_section(section))
    stages = pipeline.stages
    index = next(i for i, s in enumerate(stages.stages) if isinstance(s, SetConfig))
    stages.insert(index, stage)
    pipeline.federation = stage
