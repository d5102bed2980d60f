"""pg_catalog and information_schema emulation: the pipeline stage that answers catalog queries.

A statement that reads only catalog relations (or only asks catalog
functions such as pg_is_in_recovery()) is answered here, from an in-memory
SQLite engine built from the backend's real schema, and never reaches the
backend. The engine is cached per backend and rebuilt when the schema
changes: after DDL through the proxy (`invalidate`), when SQLite's
schema_version moves, or after a time limit for changes made elsewhere.
On the PostgreSQL pass-through backend the real catalog answers instead.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from lru import LRU
from sqlglot import exp

import dialects
from dialects.sequences import is_qualified_call
from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.catalog import translate
from pgproxy.catalog.builtins import FIRST_NORMAL_OID
from pgproxy.catalog.common import Context, format_type
from pgproxy.catalog.engine import CatalogDB, type_oid
from pgproxy.catalog.functions import FUNCTIONS
from pgproxy.catalog.introspect import fingerprint, fingerprinted
from pgproxy.catalog.readers import introspect
from pgproxy.catalog.relations import INFORMATION_SCHEMA, PG_CATALOG, PG_VIEWS, columns_of
from pgproxy.core.context import StatementContext
from pgproxy.results import RowsResult
from pgproxy.types import CODECS, encode

log = logging.getLogger("pgproxy.catalog")

# How long a schema read stays trusted when the backend cannot say cheaply
# whether it changed (MySQL); DDL through the proxy invalidates at once.
REFRESH_SECONDS = 10.0

# Functions only the catalog engine answers; a table-less SELECT calling one comes here.
CATALOG_FUNCTIONS = frozenset(name for name, fn in FUNCTIONS.items() if fn.only_here)
_REG_OUT = pgtypes.TEXT  # a reg* value read by a client: its name (as text)
INVALIDATE_FRAME = 2  # the code of a worker-to-worker "DDL ran: forget the schema" (wire/peers.py)


# Read once: naming an enum member is a class lookup each time (handles runs per statement).
_SELECT = dialects.Kind.SELECT


class Catalog:
    """Answers catalog statements from a per-backend engine; shared by every ctx."""

    def __init__(self) -> None:
        self.forward: Callable[[int, bytes], None] | None = None  # to the other workers
        # Counts the schemas forgotten (DDL here or in another worker): what was learned
        # from a schema before a change is not used after it (wire_reads.py).
        self.version = 0
        self._engines: dict[int, tuple[CatalogDB, Any, float]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._wanted: LRU = LRU(4096)
        self._translated: LRU = LRU(4096)
        # Types inferred from columns: (statement text, backend id, of results) -> OIDs.
        self._param_types: LRU = LRU(4096)
        # (statement text, backend id) -> the engine read anew for it before it ran
        # (before_execute): the typing of its result does not read the schema again.
        self._read_for: LRU = LRU(4096)
        # backend id -> (engine, {table: {column or '#position': type OID}})
        # (and {table: {column: typmod}})
        self._columns: dict[int, tuple[CatalogDB, dict[str, dict[str, int]],
                                       dict[str, dict[str, int]]]] = {}

    # ------------------------------------------------------------ the pipeline's interface

    def handles(self, ctx: StatementContext, stmt: dialects.Statement) -> bool:
        """Whether this stage answers `stmt` (never a user query, never on PostgreSQL)."""
        if ctx.route.backend.capabilities.passthrough:
            return False
        if stmt.catalog_only:
            return True
        if stmt.kind is not _SELECT:
            return False
        if stmt.tables_read:
            return bool(self._sequences_read(ctx, stmt))
        wanted = self._wanted.get(stmt.sql)
        if wanted is None:
            tree = stmt.expression
            wanted = tree is not None and (any(
                (f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower()
                in CATALOG_FUNCTIONS
                for f in tree.find_all(exp.Func)
            ) or any(  # pg_catalog.version(): a qualified call only PostgreSQL has
                isinstance(d.this, exp.Identifier) and d.this.name.lower() == "pg_catalog"
                and not is_qualified_call(d)  # pg_catalog.setval(): the backend's
                for d in tree.find_all(exp.Dot)
            ))
            self._wanted[stmt.sql] = wanted
        return wanted

    def _sequences_read(self, ctx: StatementContext, stmt: dialects.Statement) -> frozenset[str]:
        """The sequences a SELECT reads when it reads nothing else (pg_dump's `SELECT
        last_value, is_called FROM public.s`): the catalog knows them, the backend may not."""
        cached = self._engines.get(id(ctx.route.backend))
        if cached is None or cached[0].sequence_names.isdisjoint(stmt.tables_read):
            return frozenset()  # most SELECTs: no name of theirs is a sequence's
        if any("." in n and not n.startswith("public.") for n in stmt.tables_read):
            return frozenset()  # a relation of another schema
        names = frozenset(n for n in stmt.tables_read if "." not in n)
        return names if names and names <= cached[0].sequence_names else frozenset()

    def typed_columns(self, key: tuple[Any, ...]) -> list[Column] | None:
        """Result columns the pipeline typed from this schema (keep_typed_columns)."""
        return self._param_types.get(key)

    def keep_typed_columns(self, key: tuple[Any, ...], columns: list[Column]) -> None:
        """Remember typed result columns until the schema is next invalidated."""
        self._param_types[key] = columns

    def invalidate(self, backend: Any = None) -> None:
        """Forget the cached schema (one backend's, or all): the next query reads it anew.
        With --workers the others forget theirs too (their backend objects are their own)."""
        self.forget(backend)
        if self.forward is not None:
            self.forward(INVALIDATE_FRAME, b"")

    def forget(self, backend: Any = None) -> None:
        self.version += 1
        if backend is None:
            self._engines.clear()
            self._columns.clear()
        else:
            self._engines.pop(id(backend), None)
            self._columns.pop(id(backend), None)
        self._param_types.clear()

    async def param_types(self, ctx: StatementContext, stmt: dialects.Statement) -> list[int]:
        """An OID per $n of `stmt` from the column it is bound to (0 where none is known).

        Uses the backend's cached schema and builds it only when there is none,
        so a Parse costs no backend round trip; answers are cached per statement
        text and backend until the next invalidate.
        """
        return await self._schema_types(ctx, stmt, stmt.param_columns, stmt.nparams, "p")

    async def type_oids(self, ctx: StatementContext, names: Sequence[str]) -> list[int]:
        """The OID of each user-defined type name ('mood', 'mood[]' for its array), 0 for a
        built-in type's name; the schema is read anew once when a name is missing (a type
        made since), and a name still missing is 42704, as PostgreSQL's."""
        if not ctx.route.backend.capabilities.schema_source:
            return [0] * len(names)
        cached = self._engines.get(id(ctx.route.backend))
        engine = cached[0] if cached is not None else await self._engine(ctx)
        oids = [_type_oid(engine, n) for n in names]
        if None in oids and cached is not None:
            engine = await self._engine(ctx)
            oids = [_type_oid(engine, n) for n in names]
        for name, oid in zip(names, oids, strict=True):
            if oid is None:
                raise errors.UndefinedObject(f'type "{name.removesuffix("[]")}" does not exist')
            if oid < FIRST_NORMAL_OID and oid not in CODECS:
                # PostgreSQL's type, which neither the backend nor the proxy has: refused
                # rather than answered as unchecked text.
                raise errors.FeatureNotSupported(
                    f'type "{name}" is not supported on the {ctx.route.backend.name} backend')
        return [oid if oid >= FIRST_NORMAL_OID else 0 for oid in oids]

    async def named_param_types(self, ctx: StatementContext, stmt: dialects.Statement,
                                inferred: Sequence[int]) -> list[int]:
        """`inferred` with each $n cast to an enum (`$1::mood`) given the enum's OID."""
        out = [*inferred, *[0] * (stmt.nparams - len(inferred))]
        names = stmt.param_type_names
        for (i, _), oid in zip(names, await self.type_oids(ctx, [n for _, n in names]),
                               strict=True):
            if i < len(out) and oid:
                out[i] = oid
        return out

    async def before_execute(self, ctx: StatementContext, stmt: dialects.Statement) -> None:
        """Read now the schema that typing `stmt`'s result needs. The typing runs while the
        result is open, and reading the schema then would run other statements on the
        connection: on a backend that streams one result at a time (MySQL's unbuffered
        one), that ends the result after its first batch, and the client gets only those
        rows."""
        caps = ctx.route.backend.capabilities
        if not caps.schema_source or caps.open_results:
            return
        bindings = stmt.result_columns + stmt.zoned_columns
        if not (bindings or stmt.summed_columns or stmt.result_type_names):
            return
        try:
            columns = await self._column_types(ctx, refresh=False)
            if any(table and table not in columns for _, table, _ in bindings):
                # A table the cached schema does not have (made outside the proxy): once,
                # now, and not again for this statement while its result is open.
                await self._column_types(ctx, refresh=True)
                self._read_for[(stmt.sql, id(ctx.route.backend))] = \
                    self._engines[id(ctx.route.backend)][0]
            if stmt.result_type_names:
                await self.type_oids(ctx, [n for _, n in stmt.result_type_names])
        except errors.PgError as exc:
            log.debug("schema not read before the statement (%s): %s", exc, stmt.sql)

    async def result_types(self, ctx: StatementContext, stmt: dialects.Statement,
                           ncolumns: int, zoned: bool = False) -> list[int]:
        """An OID per result column of `stmt` from the column it shows (0 where none);
        with `zoned`, the type of the column each `<column> AT TIME ZONE` reads."""
        bindings = stmt.zoned_columns if zoned else stmt.result_columns
        return await self._schema_types(ctx, stmt, bindings, ncolumns, "z" if zoned else "r")

    async def sum_scales(self, ctx: StatementContext, stmt: dialects.Statement,
                         ncolumns: int) -> list[int | None]:
        """Per result column, the scale of the numeric column a sum() adds up (else None):
        PostgreSQL's sum keeps its argument's scale (sum of numeric(10,2) prints 1500.00)."""
        if not ctx.route.backend.capabilities.schema_source:
            return [None] * ncolumns
        try:
            columns = await self._column_types(ctx, refresh=False)
        except errors.PgError:
            return [None] * ncolumns
        typmods = self._columns[id(ctx.route.backend)][2]
        out: list[int | None] = [None] * ncolumns
        for position, table, column in stmt.summed_columns:
            if position < ncolumns and columns.get(table, {}).get(column) == pgtypes.NUMERIC:
                mod = typmods.get(table, {}).get(column, -1)
                out[position] = ((mod - 4) & 0xFFFF) if mod >= 4 else None
        return out

    async def literal_types(self, ctx: StatementContext, stmt: dialects.Statement,
                            nliterals: int) -> list[int]:
        """An OID per literal a shape lifted out of `stmt`, from the column it meets."""
        return await self._schema_types(ctx, stmt, stmt.literal_columns, nliterals, "l")

    async def _schema_types(
        self, ctx: StatementContext, stmt: dialects.Statement,
        bindings: tuple[tuple[int, str, str], ...], n: int, tag: str,
    ) -> list[int]:
        key = (stmt.sql, id(ctx.route.backend), tag)
        hit = self._param_types.get(key)
        if hit is not None:
            return hit
        if not ctx.route.backend.capabilities.schema_source:
            return [0] * n
        try:
            columns = await self._column_types(ctx, refresh=False)
            types, complete = _bind_types(stmt, bindings, n, columns)
            engine = self._engines.get(id(ctx.route.backend))
            read = self._read_for.get((stmt.sql, id(ctx.route.backend)))
            if not complete and (engine is None or read is not engine[0]):
                # A table the cached schema does not have: it may be newer than the cache
                # (made outside the proxy); check once, and do not remember the miss.
                columns = await self._column_types(ctx, refresh=True)
                types, complete = _bind_types(stmt, bindings, n, columns)
        except errors.PgError as exc:
            # The schema could not be read: the statement's own run reports what is wrong.
            log.debug("types not inferred from the schema (%s): %s", exc, stmt.sql)
            return [0] * n
        if not complete:
            return types
        self._param_types[key] = types
        return types

    async def _column_types(
        self, ctx: StatementContext, refresh: bool
    ) -> dict[str, dict[str, int]]:
        key = id(ctx.route.backend)
        cached = self._engines.get(key)
        engine = cached[0] if cached is not None and not refresh else await self._engine(ctx)
        known = self._columns.get(key)
        if known is not None and known[0] is engine:
            return known[1]
        index: dict[str, dict[str, int]] = {}
        typmods: dict[str, dict[str, int]] = {}
        for table in engine.schema.tables:
            cols = index.setdefault(table.name.lower(), {})
            mods = typmods.setdefault(table.name.lower(), {})
            for col in table.columns:
                cols.setdefault(col.name.lower(), col.type_oid)
                mods.setdefault(col.name.lower(), col.typmod)
            # SELECT * shows every column in order (paramcols' binding (0, t, "*")).
            for position, col in enumerate(table.columns, 1):
                cols[f"*{position}"] = col.type_oid
            # An INSERT without a column list fills the columns that are not generated.
            for position, col in enumerate((c for c in table.columns if not c.generated), 1):
                cols[f"#{position}"] = col.type_oid
        self._columns[key] = (engine, index, typmods)
        return index

    async def run(
        self, ctx: StatementContext, stmt: dialects.Statement, params: Sequence[Any]
    ) -> RowsResult:
        columns, rows = await self._query(ctx, stmt, params)
        return RowsResult("SELECT", columns, rows)

    async def describe(self, ctx: StatementContext, stmt: dialects.Statement,
                       nparams: int) -> list[Column]:
        columns, _ = await self._query(ctx, stmt, [None] * nparams, describe=True)
        return columns

    # ------------------------------------------------------------ inside

    async def _query(self, ctx: StatementContext, stmt: dialects.Statement,
                     params: Sequence[Any], describe: bool = False
                     ) -> tuple[list[Column], list[tuple]]:
        sequences = self._sequences_read(ctx, stmt) if stmt.tables_read and not \
            stmt.catalog_only else frozenset()
        # A sequence's value moves with every nextval (no schema change marks it): read anew.
        engine = await self._engine(ctx, rebuild=bool(sequences))
        sql, types = self._translate(stmt.sql, sequences)
        # The worker gets snapshots taken here, on the event loop, never the session:
        # set_config() changes the snapshot there, and the session here once it is done.
        settings = ctx.settings_snapshot()
        in_tx = ctx.in_transaction
        changes: list[dialects.Setting] = []

        def apply(name: str, value: str | None, local: bool) -> None:
            settings.set(name, value, local=local, in_transaction=in_tx)
            changes.append(dialects.Setting(name.lower(), value, local))

        who = Context(ctx.user, ctx.database, settings.get, ctx.pid, apply)
        started = time.perf_counter()
        try:
            values = [_array_text(p) if isinstance(p, list) else p for p in params]
            # Other worker processes' sessions (--workers), asked only when read.
            others = await ctx.activity_elsewhere() if "pg_stat_activity" in sql else []
            locks = await ctx.locks_elsewhere() if "pg_locks" in sql else []
            result = await ctx.in_worker(_run, engine, who, sql, values, types,
                                         session_tables(ctx, sql, others, locks))
        except errors.PgError as exc:
            # Each failure is a gap in the emulation: the log says which query to look at.
            log.warning("catalog query failed: %s\n  query: %s\n  as SQLite: %s", exc, stmt.sql,
                        sql)
            raise
        log.debug("catalog query in %.2f ms", (time.perf_counter() - started) * 1000)
        if not describe:  # set_config() changes nothing when the statement is only described
            for change in changes:
                ctx.apply_setting(change)
        return result

    def _translate(self, sql: str, sequences: frozenset[str] = frozenset()
                   ) -> tuple[str, list[int | None]]:
        cached = self._translated.get((sql, sequences))
        if cached is None:
            try:
                tree = translate.parse(sql)
                cached = (translate.to_sqlite(tree, sequences), projection_types(tree, sequences))
            except errors.PgError:
                raise
            except Exception as exc:  # sqlglot's many error types: the query is beyond us
                log.warning("catalog query not translated (%s): %s", exc, sql)
                raise errors.FeatureNotSupported(
                    f"pgproxy cannot answer this catalog query: {exc}") from None
            self._translated[(sql, sequences)] = cached
        return cached

    def _current(self, backend: Any, mark: Any) -> CatalogDB | None:
        """The cached engine if still true to `mark`, the backend's schema fingerprint
        (None: a backend without one, whose engine is rebuilt every REFRESH_SECONDS)."""
        cached = self._engines.get(id(backend))
        if cached is None:
            return None
        engine, seen, built = cached
        if mark is not None:
            return engine if seen == mark else None
        return engine if time.monotonic() - built < REFRESH_SECONDS else None

    async def _engine(self, ctx: StatementContext, rebuild: bool = False) -> CatalogDB:
        # rebuild: the engine is built anew whatever the fingerprint says (a
        # sequence's last_value moves without the schema changing).
        # Only a rebuild takes the lock: checks run on each session's own
        # connection, in parallel, so a thousand clients' first statements do
        # not queue behind one another's connects and hops.
        backend = ctx.route.backend
        mark = None
        schema = backend.capabilities.schema_source
        if fingerprinted(schema):
            mark = await ctx.call_backend(fingerprint, schema)
        current = None if rebuild else self._current(backend, mark)
        if current is not None:
            return current
        lock = self._locks.setdefault(id(backend), asyncio.Lock())
        async with lock:
            # Built while this session waited?
            current = None if rebuild else self._current(backend, mark)
            if current is not None:
                return current
            started = time.perf_counter()
            read = await ctx.call_backend(introspect, schema)
            engine = await ctx.in_worker(CatalogDB, read, backend.name)
            self._engines[id(backend)] = (engine, mark, time.monotonic())
            self._param_types.clear()  # typed from the schema it replaces
            log.debug("catalog of %s built in %.1f ms (%d relations)", backend.name,
                      (time.perf_counter() - started) * 1000, len(read.tables))
            return engine


def _type_oid(engine: CatalogDB, name: str) -> int | None:
    """The OID of a type name (a built-in one's values stay as the backend types them);
    None for a name the catalog does not have."""
    element = name.removesuffix("[]")
    return engine.names.type_by_name.get(element if element == name else f"_{element}")


def _bind_types(
    stmt: dialects.Statement, bindings: tuple[tuple[int, str, str], ...], n: int,
    columns: dict[str, dict[str, int]],
) -> tuple[list[int], bool]:
    """(OID per binding's index, whether every named table was in `columns`)."""
    types = [0] * n
    complete = True
    tables: list[dict[str, int]] | None = None
    for index, table, column in bindings:
        if index >= len(types):
            continue
        cols = columns.get(table) if table else None
        if table and cols is None:
            complete = False
        if column == "*":  # SELECT * FROM table: its columns in order
            types = [cols.get(f"*{p + 1}", 0) for p in range(n)] if cols is not None else types
            continue
        oid = cols.get(column, 0) if cols is not None else 0
        if not oid and not column.startswith("#"):
            # Ambiguous, or an outer query's column: the one table of the statement having it.
            if tables is None:
                names = {n.rpartition(".")[2] for n in stmt.tables_read | stmt.tables_written}
                tables = [columns[n] for n in sorted(names) if n in columns]
            found = {t[column] for t in tables if column in t}
            oid = found.pop() if len(found) == 1 else 0
        types[index] = oid
    return types, complete


def session_tables(
    ctx: StatementContext, sql: str, others: Sequence[tuple] = (), locks: Sequence[tuple] = ()
) -> dict[str, list[tuple]]:
    """The rows of the relations `sql` reads that show session state, taken on the event
    loop (the worker that queries the engine gets the rows, never the Session);
    `others` and `locks`: the other worker processes' sessions and their advisory locks."""
    tables: dict[str, list[tuple]] = {}
    if "pg_settings" in sql:
        tables["pg_settings"] = [
            (name, value, None, "pgproxy", desc, None, "user", "string", "default", None,
             None, None, value, value, None, None, False)
            for name, value, desc in ctx.settings.all()
        ]
    if "pg_stat_activity" in sql:
        tables["pg_stat_activity"] = [
            (None, database, pid, None, None, user, application, "127.0.0.1", None, None, None,
             None, None, None, None, None, "active" if this else "idle", None, None, None,
             "", "client backend")
            for database, pid, user, application, this in [*ctx.activity(), *others]
        ]
    if "pg_cursors" in sql:
        tables["pg_cursors"] = [(*row[:5], _timestamptz(row[5]))
                                for row in ctx.cursor_rows()]
    if "pg_prepared_statements" in sql:
        tables["pg_prepared_statements"] = [
            (name, text, _timestamptz(at), types, from_sql, 0, 0)
            for name, text, at, types, from_sql in ctx.prepared_rows()
        ]
    if "pg_locks" in sql:
        tables["pg_locks"] = [*ctx.lock_rows(), *locks]
    return tables


def _timestamptz(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(" ")


def _run(
    engine: CatalogDB, ctx: Context, sql: str, params: list[Any], types: list[int | None],
    tables: dict[str, list[tuple]],
) -> tuple[list[Column], list[tuple]]:
    with engine.lock:
        engine.ctx = ctx
        engine.ensure_session(ctx.user, ctx.database)
        for name, rows in tables.items():
            if name == "pg_prepared_statements":  # parameter_types: OIDs, shown as regtype[]
                rows = [(*r[:3], "{" + ",".join(_regtype(engine, oid) for oid in r[3]) + "}",
                         *r[4:]) for r in rows]
            engine.replace_rows(name, rows)
        return engine.query(sql, params, types)


def _array_text(values: list[Any]) -> str:
    """An array parameter as the engine holds arrays: PostgreSQL's text ('{1,2}')."""
    return encode(values, pgtypes.TEXT_ARRAY).decode()


def _regtype(engine: CatalogDB, oid: int) -> str:
    name = format_type(oid, -1, engine.names)
    return f'"{name}"' if " " in name else name


# ---------------------------------------------------------------- result column types

_RELATION_TYPES: dict[str, dict[str, int]] = {}
for _rels in (PG_CATALOG, INFORMATION_SCHEMA):
    for _name, _spec in _rels.items():
        _RELATION_TYPES[_name] = {c: type_oid(t) for c, t in columns_of(_spec)}
for _name, (_spec, _) in PG_VIEWS.items():
    _RELATION_TYPES[_name] = {c: type_oid(t) for c, t in columns_of(_spec)}


_SEQUENCE_TYPES = {"last_value": pgtypes.INT8, "log_cnt": pgtypes.INT8, "is_called": pgtypes.BOOL}


def projection_types(tree: exp.Expr, sequences: frozenset[str] = frozenset()
                     ) -> list[int | None]:
    """Each output column's pg type, as far as the PostgreSQL AST says (None: ask the engine)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return []
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star)
           for e in select.expressions):
        return []  # the engine's own column origins type a star's columns
    sources = _sources(select, sequences)
    return [_expr_type(e, sources) for e in select.expressions]


def _sources(select: exp.Select, sequences: frozenset[str] = frozenset()
             ) -> dict[str, dict[str, int]]:
    """Relation alias -> its columns' types, for catalog tables and derived tables alike."""
    out: dict[str, dict[str, int]] = {}
    for table in select.find_all(exp.Table):
        if table.find_ancestor(exp.Select) is not select:
            continue
        cols = _RELATION_TYPES.get(table.name)
        if cols is None and table.name in sequences:
            cols = _SEQUENCE_TYPES  # a sequence read as a relation (Catalog._sequences_read)
        if cols is not None:
            out[table.alias_or_name] = cols
    for sub in select.find_all(exp.Subquery):
        if sub.parent_select is not select or not sub.alias:
            continue
        inner = sub.this
        while isinstance(inner, exp.SetOperation):
            inner = inner.this
        if isinstance(inner, exp.Select):
            inner_sources = _sources(inner)
            out[sub.alias] = {
                e.alias_or_name: t for e in inner.expressions
                if (t := _expr_type(e, inner_sources)) is not None
            }
    return out


def _expr_type(node: exp.Expr, sources: dict[str, dict[str, int]]) -> int | None:
    if isinstance(node, exp.Alias | exp.Paren):
        return _expr_type(node.this, sources)
    if isinstance(node, exp.Column):
        if node.table and node.table in sources:
            return sources[node.table].get(node.name)
        for cols in sources.values():
            if node.name in cols:
                return cols[node.name]
        return None
    if isinstance(node, exp.Cast):
        name = translate._type_name(node.to)
        if name in translate._REG_TYPES:
            return _REG_OUT
        if name == "array":
            return pgtypes.TEXT_ARRAY
        return pgtypes.BY_NAME.get(name, {"char": pgtypes.CHAR, '"char"': pgtypes.CHAR,
                                          "oid": pgtypes.OID, "name": pgtypes.NAME,
                                          "regproc": pgtypes.TEXT}.get(name))
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _expr_type(node.expression, sources)
    if isinstance(node, exp.Predicate | exp.Not | exp.And | exp.Or | exp.Boolean | exp.Exists):
        return pgtypes.BOOL
    if isinstance(node, exp.Count):
        return pgtypes.INT8
    if isinstance(node, exp.Case):
        for branch in node.args.get("ifs") or []:
            t = _expr_type(branch.args["true"], sources)
            if t is not None:
                return t
        return None
    if isinstance(node, exp.Literal):
        return pgtypes.TEXT if node.is_string else (
            pgtypes.INT4 if node.is_int else pgtypes.NUMERIC)
    if isinstance(node, exp.Subquery):
        inner = node.this
        if isinstance(inner, exp.Select) and inner.expressions:
            return _expr_type(inner.expressions[0], _sources(inner))
        return None
    if isinstance(node, exp.Array):
        return pgtypes.TEXT_ARRAY
    if isinstance(node, exp.CurrentUser | exp.CurrentSchema | exp.CurrentCatalog):
        return pgtypes.NAME
    if isinstance(node, exp.Coalesce | exp.Max | exp.Min):
        return _expr_type(node.this, sources)
    if isinstance(node, exp.ArrayAgg):
        inner = node.this.this if isinstance(node.this, exp.Order) else node.this
        element = _expr_type(inner, sources)
        array = pgtypes.TYPES[element].array_oid if element in pgtypes.TYPES else 0
        return array or pgtypes.TEXT_ARRAY
    if isinstance(node, exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
        fn = FUNCTIONS.get(name.lower())
        return (fn.returns or None) if fn is not None else None
    return None
