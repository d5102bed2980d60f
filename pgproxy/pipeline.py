"""The one path every statement takes: from the client's text to streamed rows.

parse (cached: an exact text seen before costs one lookup, a new one is scanned
for its literals and shares its shape's parse) -> the hooks' before -> the
ordered stages (pgproxy/core/stages: failed-transaction guard, COPY, local
commands, catalog, advisory locks, cursors, PREPARE, NOTIFY, the proxy's own
functions, set_config, transaction control) -> the backend: generate (cached,
and kept on the prepared statement for the session's target) -> bind -> query
cache -> execute in a worker -> a streamed result -> the hooks' after. This
module owns the backend end of it; the stages decide who answers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from operator import attrgetter
from typing import Any

from lru import LRU

import dialects
from dialects.cache import TranslationCache
from dialects.implicit_commit import undo_create
from dialects.returning import returning_select
from pgproxy import advisory, calls, errors, pgtypes, rescale, workers
from pgproxy.backends import constraints, steps
from pgproxy.backends.base import Column, Connection, Cursor
from pgproxy.cache import QueryCache
from pgproxy.catalog import Catalog
from pgproxy.commands import LOCAL_KINDS, show_columns
from pgproxy.core.context import StatementContext
from pgproxy.core.hooks import Hooks, step, step_async
from pgproxy.core.stages import CURSOR_TAGS, ENDS_FAILED, ROLLBACK, Stages, build
from pgproxy.core.statement import PreparedStatement
from pgproxy.params import PLAIN, backend_value, derived, is_derived, timelike
from pgproxy.results import DEFAULT_BATCH, BackendResult, RowsResult
from pgproxy.session import Session
from pgproxy.types.records import typed_rows
from pgproxy.workers import inline

log = logging.getLogger("pgproxy.pipeline")
# The longest text whose parse_shaped answer is kept by its exact text.
_TEXT_KEPT = 4096
Kind = dialects.Kind


class Pipeline:
    """Drives statements from text to streamed rows; shared by every session."""

    def __init__(self, cache_size: int = 4096) -> None:
        self.translations = TranslationCache(cache_size)
        # Exact texts -> parse_shaped's answer (statements, lifted literal values).
        self._texts: LRU = LRU(cache_size)
        # (id(statement), route, declared types) -> (statement, the types param_types
        # inferred without reading a schema): a Parse of it again asks nothing.
        self._param_types: dict[tuple[int, str, tuple[int, ...]], tuple[Any, Sequence[int]]] = {}
        self.catalog = Catalog()  # pg_catalog / information_schema emulation
        self.hooks = Hooks()  # before / after / error, and the steps' timers
        self.stages = Stages(build(self))
        self._cache: QueryCache | None = None
        # Statements naming several routes (pgproxy/federation): their Parse and Describe too.
        self.federation: Any = None

    @property
    def cache(self) -> QueryCache | None:
        """The query cache, when configured."""
        return self._cache

    @cache.setter
    def cache(self, cache: QueryCache | None) -> None:
        self._cache = cache
        if cache is not None:
            cache.hooks = self.hooks

    # ------------------------------------------------------------ translation

    def parse(self, sql: str) -> list[dialects.Statement]:
        """dialects.parse, once per distinct text."""
        try:
            return self.translations.parse(sql)
        except dialects.TranslationError as exc:
            raise translation_error(exc) from None

    def parse_shaped(
        self, sql: str, target: dialects.Target, declared: int = 0, simple_query: bool = False
    ) -> tuple[list[dialects.Statement], tuple[Any, ...]]:
        """parse, once per shape: literals lifted out come back as values to bind. A text
        seen before (an unnamed Parse repeated, a simple query's fixed text) is not even
        scanned for its literals again."""
        key = (sql, target.dialect, declared, simple_query)
        hit = self._texts.get(key)
        if hit is not None:
            return hit
        try:
            hit = self.translations.parse_shaped(sql, target, declared, simple_query)
        except dialects.TranslationError as exc:
            raise translation_error(exc) from None
        if len(sql) <= _TEXT_KEPT:
            self._texts[key] = hit
        return hit

    def generate(self, stmt: dialects.Statement, target: dialects.Target) -> dialects.Generated:
        """dialects.generate, once per (statement, target)."""
        steps_ = self.hooks.steps
        try:
            if steps_:
                return step(steps_, "translate", self.translations.generate, stmt, target)
            return self.translations.generate(stmt, target)
        except dialects.TranslationError as exc:
            raise translation_error(exc) from None

    # ------------------------------------------------------------ a session's entry points

    async def execute(
        self, session: Session, prepared: PreparedStatement, params: Sequence[Any],
        formats: Sequence[int],
    ) -> Any:
        """A client's statement: the hooks around the stages (with none, just the stages).

        One frame for all of it: the hooks' before / after (when any hook has them), the
        error hooks, and the rule that any error inside a transaction block aborts it,
        the proxy's own (a cursor's 55000, a refused statement) as the backend's. The
        stages hand back the answering stage's awaitable rather than awaiting it, so the
        hot path has no frame per layer either."""
        ctx = StatementContext(session, prepared, params, formats)
        hooks = self.hooks
        try:
            if not hooks.wraps:  # no hook, or only ones that hear of failures (health)
                try:
                    return await self.run(ctx)
                except BaseException as exc:
                    if hooks.statement:
                        hooks.error(ctx, None, exc)
                    raise
            states = hooks.before(ctx)
            try:
                result = await self.run(ctx)
            except BaseException as exc:
                hooks.error(ctx, states, exc)
                raise
            return hooks.after(ctx, states, result)
        except errors.PgError:
            session.statement_failed()
            raise

    def run(self, ctx: StatementContext) -> Awaitable[Any]:
        """The stages, without hooks (also a statement run for another: EXECUTE, COPY's)."""
        prepared = ctx.prepared
        assert prepared is not None
        literals = prepared.literals
        if literals:  # a shaped statement: its literals follow the client's $n
            if prepared.statement.literal_columns and timelike(literals) and \
                    not ctx.route.backend.capabilities.passthrough:
                return self._run_zoned(ctx, prepared)
            ctx.params = [*ctx.params, *literals]
        return self.stages.offer(ctx)

    async def _run_zoned(self, ctx: StatementContext, prepared: PreparedStatement) -> Any:
        """A shaped statement whose literals may be timestamps, read as the columns they
        are bound to read them first."""
        ctx.params = [*ctx.params, *await self._zoned_literals(ctx, prepared)]
        return await self.stages.offer(ctx)

    async def describe(
        self, session: Session, prepared: PreparedStatement, params: Sequence[Any] | None = None
    ) -> Any:
        """The columns `prepared` returns, with no side effect: nothing runs that writes,
        advances a sequence or changes a setting. `params`: a portal's bound values."""
        return await self.describe_statement(StatementContext(session, prepared), params)

    def known_param_types(
        self, session: Session, stmt: dialects.Statement, declared: Sequence[int]
    ) -> Sequence[int] | None:
        """param_types' answer for a statement parsed before, if that one read no schema
        (None: ask param_types): a driver's repeated unnamed Parse asks nothing."""
        known = self._param_types.get((id(stmt), session.route.name, tuple(declared)))
        return known[1] if known is not None and known[0] is stmt else None

    async def param_types(
        self, session: Session, stmt: dialects.Statement, declared: Sequence[int]
    ) -> Sequence[int]:
        """Types for the $n a Parse left undeclared, from what they are bound to."""
        inferred: Sequence[int] = ()
        schema = False  # read from the catalog's schema, which DDL changes: not kept
        if self.federation is not None and self.federation.routed(stmt, session.route.name):
            return await self.federation.param_types(StatementContext(session, None), stmt)
        translated = not session.route.backend.capabilities.passthrough
        if stmt.param_columns and translated and any(
            not (i < len(declared) and declared[i]) for i, _, _ in stmt.param_columns
        ):
            # PostgreSQL types an uncast $n by its column; so does the catalog's schema.
            inferred = await self.catalog.param_types(StatementContext(session, None), stmt)
            schema = True
        elif stmt.nparams:  # pg_advisory_lock($1): a bigint key, or two integers
            locks = advisory.calls(stmt, session.route.backend.capabilities)
            inferred = advisory.param_types(stmt, locks) if locks is not None else ()
        if stmt.param_type_names and translated:  # $1::mood: the enum's OID
            inferred = await self.catalog.named_param_types(
                StatementContext(session, None), stmt, inferred)
        elif not schema:
            # From the statement alone (routes and capabilities do not change): kept.
            if len(self._param_types) >= 4096:
                self._param_types.clear()
            self._param_types[(id(stmt), session.route.name, tuple(declared))] = (stmt, inferred)
        return inferred

    async def begin_implicit(
        self, session: Session, statements: Sequence[PreparedStatement]
    ) -> bool:
        """BEGIN for a multi-statement simple query outside a transaction block.

        Not when the text manages its own transaction, nor on the admin console
        or for statements that never reach the backend.
        """
        work = [p.statement for p in statements if not p.empty]
        if len(work) < 2 or session.in_transaction or session.failed:
            return False
        if session.route.backend.capabilities.branches:
            # Dolt: dolt_commit() and branch switches inside the text act on the
            # transaction themselves; wrapping them would change what they commit.
            return False
        if any(s.kind in _NO_IMPLICIT or s.tag in CURSOR_TAGS for s in work):
            return False
        if not any(s.kind not in LOCAL_KINDS and not s.catalog_only for s in work):
            return False
        result = await self.backend(StatementContext(session, None), _BEGIN)
        await result.close()
        return True

    async def end_implicit(self, session: Session, commit: bool) -> None:
        if not session.in_transaction:
            return  # a statement ended it already (MySQL's DDL commits implicitly)
        stmt = _COMMIT if commit and not session.failed else ROLLBACK
        try:
            result = await self.backend(StatementContext(session, None), stmt)
            await result.close()
        except errors.PgError:
            if commit:
                raise
            log.warning("rolling back an implicit transaction failed", exc_info=True)

    # ------------------------------------------------------------ the backend stage

    async def backend(
        self,
        ctx: StatementContext,
        stmt: dialects.Statement,
        params: Sequence[Any] = (),
        param_types: Sequence[int] = (),
    ) -> BackendResult | RowsResult:
        """`stmt` on the backend, through the query cache."""
        if ctx.lost_transaction and stmt.kind in ENDS_FAILED:
            return await self._end_lost(ctx, stmt)
        formats = ctx.formats
        try:
            # The client's statement run again: its translation for this target is kept on
            # it (a new target, after a SET that changes it, is translated anew).
            target = ctx.target_now or ctx.target()
            prepared = ctx.prepared
            known = prepared.translated if prepared is not None else None
            if known is not None and known[0] is target and known[1] is stmt \
                    and not self.hooks.steps:
                generated = known[2]
            else:
                generated = self.generate(stmt, target)
                if prepared is not None and prepared.statement is stmt:
                    prepared.translated = (target, stmt, generated)
            values = _bind(ctx, generated, params, param_types)
        except errors.PgError:
            ctx.statement_failed()
            raise
        if not generated.sql and not generated.steps:
            done = RowsResult(stmt.tag)  # nothing for the backend to do (DISCARD, DEALLOCATE)
            done.notices = _notices(ctx, generated)
            return done
        learner = None
        if prepared is not None and prepared.read_learner is not None and stmt is ctx.stmt \
                and params is ctx.params:
            # The client's own statement as it came, which an answer at the wire asked to
            # learn how the full path runs (pgproxy/wire_reads.py).
            learner, prepared.read_learner = prepared.read_learner, None
        cache = self._cache
        if cache is not None:
            key = cache.key(ctx, stmt, generated.sql, values, formats)
            if key is not None:
                run = self.rerun(stmt, generated, values, param_types)
                if learner is not None:  # learned from a miss's run (a hit runs nothing)
                    run = partial(_learning, learner, generated, run)
                return await cache.read(ctx, key, stmt, run)
        if learner is not None:
            return await _learning(
                learner, generated, self.rerun(stmt, generated, values, param_types), ctx)
        return await self._execute(ctx, stmt, generated, values, param_types)

    def rerun(
        self, stmt: dialects.Statement, generated: dialects.Generated, values: list[Any],
        param_types: Sequence[int],
    ) -> Callable[[StatementContext], Awaitable[BackendResult]]:
        """`run(ctx)`: the statement run on the backend as bound, on the session given (the
        query cache runs it again on a session of its own to refresh an entry)."""
        return partial(self._execute, stmt=stmt, generated=generated, values=values,
                       param_types=param_types)

    async def _execute(
        self,
        ctx: StatementContext,
        stmt: dialects.Statement,
        generated: dialects.Generated,
        values: list[Any],
        param_types: Sequence[int] = (),
        timed: bool = False,
    ) -> BackendResult:
        steps_ = self.hooks.steps
        if steps_ and not timed:
            return await step_async(steps_, "backend execute", partial(self._execute, timed=True),
                                    ctx, stmt, generated, values, param_types)
        kind = stmt.kind  # (an enum member read once: Kind.X costs a class lookup each)
        if kind in _ENDS_TX:
            # Cursors the end of the transaction closes go first, unread; WITH HOLD ones
            # read the rest of their rows (and only they: release_active may read out
            # every open cursor where the backend keeps one result open at a time).
            if stmt.kind is Kind.COMMIT:
                await ctx.cursors.before_commit()
            await ctx.cursors.end_transaction(commit=stmt.kind is Kind.COMMIT)
        caps = ctx.route.backend.capabilities
        if ctx.active_result is not None or not caps.open_results:  # else nothing to release
            await ctx.release_active()
        if caps.passthrough and kind not in _TX_CONTROL:
            await ctx.push_settings(await ctx.connection())
        implicit = undo = None
        if kind is _DDL and ctx.in_transaction and not caps.transactional_ddl:
            implicit = (undo_create(stmt, ctx.target()), ctx.ddl_undo)
        elif kind is _ROLLBACK and ctx.ddl_undo:
            undo = ctx.ddl_undo
        # The schema its result's typing reads, read before the result is open (where the
        # backend keeps one result open at a time: a schema read then would end it).
        if not caps.open_results:
            await self.catalog.before_execute(ctx, stmt)
        # A safe read is retried once should the backend connection be lost; it may
        # also run inline on the event loop (workers.inline: it moves if it runs long), as
        # may a BEGIN, COMMIT or ROLLBACK that writes nothing (_begin_or_end).
        plain = not generated.steps and implicit is None and undo is None
        if plain and stmt.cacheable:
            run = _read
        elif plain and kind in _BEGIN_OR_END:
            run = _begin_or_end
        else:
            run = _execute
        try:
            cursor, rows, exhausted, in_tx = await ctx.run(
                run, generated, values, DEFAULT_BATCH, implicit, undo, retry=stmt.cacheable)
        except errors.PgError as exc:
            if exc.sqlstate.startswith("23") and len(stmt.tables_written) == 1:
                # The backend's message may not name the table: the statement's own.
                table = next(iter(stmt.tables_written)).rpartition(".")[2]
                constraints.add_table(exc, table, stmt.tag)
            raise
        was_in_tx = ctx.in_transaction
        if generated.column_types and cursor.columns is not None:
            cursor.columns = _typed(
                cursor.columns, generated.column_types, param_types, generated.column_typmods
            )
        if (stmt.result_columns or stmt.zoned_columns or stmt.result_type_names) and \
                cursor.columns is not None:
            # Typed as the same statement's columns were before, if they were: no coroutine.
            cursor.columns = self._typed_before(stmt, ctx.route.backend, cursor.columns) or \
                await self._schema_typed(ctx, stmt, cursor.columns)
        if stmt.summed_columns and cursor.columns is not None:
            scales = await self.catalog.sum_scales(ctx, stmt, len(cursor.columns))
            convert = rescale.row_scaler(cursor.columns, scales)
            if convert is not None:
                rows = list(map(convert, rows))
                cursor = rescale.ScaledCursor(
                    cursor, rescale.retyped(cursor.columns, scales), convert)
        if generated.record_fields and cursor.columns is not None:  # ROW(…): fields' types
            typer = typed_rows(generated.record_fields)
            rows = list(map(typer, rows))
            cursor = rescale.ScaledCursor(cursor, list(cursor.columns), typer)
        ctx.after_statement(kind, in_tx)
        if stmt.temp_created or kind in _CONNECTION_STATE or (
                stmt.side_effects and stmt.side_effects != _ANY):
            # A temporary table, a sequence's currval (nextval), or what a CALL or a
            # statement the proxy cannot see into may have set lives on this connection now.
            ctx.pin()
        if kind is _DDL:
            self.catalog.invalidate(ctx.route.backend)
        if self._cache is not None:
            # Before the write's CommandComplete can reach its client.
            self._cache.after_execute(ctx, stmt, was_in_tx, in_tx)
        if kind in _ENDS_TX or (was_in_tx and not in_tx):
            await ctx.cursors.end_transaction(commit=kind is not _ROLLBACK)
            ctx.ddl_undo.clear()  # committed: what the block's DDL made stays
        result = BackendResult(
            stmt.tag, cursor, rows, exhausted, *ctx.result_callbacks,
            closed=exhausted, style=ctx.settings.style_now or ctx.settings.style(),
        )
        if generated.notices:
            result.notices = _notices(ctx, generated)
        if not result.done:
            ctx.set_active(result)
        return result

    async def _end_lost(self, ctx: StatementContext, stmt: dialects.Statement) -> RowsResult:
        """The transaction died with its backend connection: ROLLBACK ends it here."""
        if stmt.kind is Kind.ROLLBACK_TO:
            raise errors.InFailedSqlTransaction(
                "the transaction was lost with its backend connection; only ROLLBACK can end it"
            )
        await ctx.end_lost_transaction()
        if self._cache is not None:
            self._cache.after_execute(ctx, stmt, True, False)
        return RowsResult("ROLLBACK")


    async def backend_rows(self, ctx: StatementContext) -> BackendResult:
        """A row-returning statement run on the backend itself, never from the query cache
        (COPY TO re-encodes its rows)."""
        prepared = ctx.prepared
        assert prepared is not None
        stmt = prepared.statement
        generated = self.generate(stmt, ctx.target())
        values = _bind(ctx, generated, list(prepared.literals))
        return await self._execute(ctx, stmt, generated, values)

    async def declare(self, ctx: StatementContext, stmt: dialects.Statement) -> BackendResult:
        """A DECLAREd cursor's query on the backend, never from the query cache: FETCH reads
        the backend's own open result."""
        if self.federation is not None and self.federation.routed(stmt, ctx.route.name):
            return await self.federation.answer(ctx, stmt)  # DuckDB's result, read as FETCHed
        generated = self.generate(stmt, ctx.target())
        values = _bind(ctx, generated, ctx.params)
        return await self._execute(ctx, stmt, generated, values)

    async def describe_statement(
        self, ctx: StatementContext, params: Sequence[Any] | None = None
    ) -> Sequence[Column] | None:
        """The columns a statement's result would have, from the backend's describe."""
        prepared = ctx.prepared
        assert prepared is not None
        stmt = prepared.statement
        if stmt.kind is Kind.SHOW and stmt.setting is not None:
            return show_columns(stmt.setting)
        if not stmt.returns_rows or stmt.kind in LOCAL_KINDS:
            return None
        if self.catalog.handles(ctx, stmt):
            return await self.catalog.describe(ctx, stmt, len(prepared.param_types))
        if self.federation is not None and self.federation.routed(stmt, ctx.route.name):
            return await self.federation.describe(ctx)
        if (locks := advisory.calls(stmt, ctx.route.backend.capabilities)) is not None:
            return advisory.describe(stmt, locks)
        if stmt.kind is Kind.SELECT and (call := calls.bare_call(stmt)) is not None:
            return calls.describe(call)
        if stmt.kind is Kind.SELECT and calls.no_columns(stmt):
            return []
        if params is None:
            params = [None] * len(prepared.param_types)
        bound = [*params, *prepared.literals]
        columns = await self._describe_backend(ctx, stmt, bound, prepared.param_types)
        if columns is None and (probe := returning_select(stmt)) is not None:
            # A backend that reports no columns for a write's RETURNING (MariaDB):
            # the same list selected from the same table has them.
            try:
                columns = await self._describe_backend(
                    ctx, self.parse(probe)[0], bound, prepared.param_types)
            except errors.PgError:
                log.debug("describing %r as %r failed", stmt.sql, probe, exc_info=True)
        if columns is not None and (stmt.result_columns or stmt.zoned_columns or
                                    stmt.result_type_names):
            columns = await self._schema_typed(ctx, stmt, columns)
        if columns is not None and stmt.summed_columns:
            columns = rescale.retyped(
                columns, await self.catalog.sum_scales(ctx, stmt, len(columns)))
        return columns

    async def _describe_backend(
        self, ctx: StatementContext, stmt: dialects.Statement, params: Sequence[Any],
        param_types: Sequence[int],
    ) -> Sequence[Column] | None:
        """The backend's own description of `stmt`: planned (or prepared), never run."""
        generated = self.generate(stmt, ctx.target())
        values = _bind(ctx, generated, params, param_types)
        await ctx.release_active()
        columns = await ctx.run(
            _describe_sql if not generated.steps else _describe, generated, values, retry=True
        )
        if columns is not None and generated.column_types:
            columns = _typed(columns, generated.column_types, param_types,
                             generated.column_typmods)
        return columns

    async def _zoned_literals(
        self, ctx: StatementContext, prepared: PreparedStatement
    ) -> list[Any]:
        """Literals bound to a timestamp column, read as PostgreSQL reads them there.

        The backends keep both types as text or DATETIME, which would take
        '2024-06-01 12:00+02' as 12:00:02 or refuse it: a timestamptz column gets the
        instant (in the session's TimeZone when the literal names no offset), stored in
        UTC as the proxy binds timestamptz; a timestamp column drops the offset, as
        PostgreSQL ignores it there. Both are bound as the proxy binds parameters, so
        rows written with literals and with parameters compare alike. Text columns keep
        the literal.
        """
        literals = list(prepared.literals)
        inferred = await self.catalog.literal_types(ctx, prepared.statement, len(literals))
        for i, value in enumerate(literals):
            oid = inferred[i]
            if not isinstance(value, str) or oid not in _ZONED:
                continue
            with contextlib.suppress(errors.PgError):  # not a timestamp: the backend says so
                literals[i] = ctx.read_literal(oid, value)
        return literals

    async def _schema_typed(
        self, ctx: StatementContext, stmt: dialects.Statement, columns: Sequence[Column]
    ) -> list[Column]:
        """Result columns the backend reports as text typed by the table column they show.

        SQLite's min()/max() have no declared type (the proxy would guess one from
        the first rows, or none) and MariaDB sends json columns as text; the schema
        the catalog reads knows both (dialects/paramcols.py), and the OIDs of enums.
        """
        out = list(columns)
        backend = ctx.route.backend
        caps = backend.capabilities
        if caps.passthrough:
            return out
        known = self._typed_before(stmt, backend, out)
        if known is not None:
            return known
        key = (stmt.sql, id(backend), tuple(map(_OID, out)))
        out, complete = await self._schema_lookup(ctx, stmt, out, caps.typed_results)
        if complete:
            self.catalog.keep_typed_columns(key, out)
            return list(out)
        return out

    def typed_now(
        self, stmt: dialects.Statement, backend: Any, generated: dialects.Generated,
        param_types: Sequence[int], columns: Sequence[Column],
    ) -> list[Column] | None:
        """A result's columns typed as _execute types them, when that needs no schema read
        (None: it does); for a statement with no summed columns nor ROW() fields."""
        if generated.column_types:
            columns = _typed(columns, generated.column_types, param_types,
                             generated.column_typmods)
        if stmt.result_columns or stmt.zoned_columns or stmt.result_type_names:
            return self._typed_before(stmt, backend, columns)
        return list(columns)

    def _typed_before(
        self, stmt: dialects.Statement, backend: Any, columns: Sequence[Column]
    ) -> list[Column] | None:
        """_schema_typed's answer kept from an earlier run of `stmt` over the same backend
        columns (the same types until the schema changes), or None."""
        if backend.capabilities.passthrough:
            return None
        known = self.catalog.typed_columns((stmt.sql, id(backend), tuple(map(_OID, columns))))
        return None if known is None else list(known)

    async def _schema_lookup(
        self, ctx: StatementContext, stmt: dialects.Statement, out: list[Column], typed: bool
    ) -> tuple[list[Column], bool]:
        """_schema_typed's lookup, and whether the schema knew every column the statement
        reads (not when a table was made outside the proxy: no answer to remember)."""
        complete = True
        if stmt.result_type_names:  # casts to an enum: its OID, which only the catalog knows
            oids = await self.catalog.type_oids(ctx, [n for _, n in stmt.result_type_names])
            complete = all(oids)
            types = [0] * len(out)
            for (i, _), oid in zip(stmt.result_type_names, oids, strict=True):
                if i < len(out):
                    types[i] = oid
            out = _typed(out, types)
        if stmt.zoned_columns:  # a timestamptz column AT TIME ZONE is a timestamp, and back
            zoned = await self.catalog.result_types(ctx, stmt, len(out), zoned=True)
            out = _typed(out, [_ZONED.get(oid, 0) for oid in zoned])
        loose = not typed
        # MySQL: json arrives as text, a timestamptz column is a DATETIME, and an inet,
        # interval or timetz column a VARCHAR marked with its type (dialects/mysql.py).
        vague = (pgtypes.TEXT, pgtypes.TIMESTAMP, pgtypes.VARCHAR)
        # a "*" binding (SELECT * FROM t) stands for all columns; SQLite declares their types
        positions = [p for i, _, c in stmt.result_columns if not (loose and c == "*")
                     for p in (range(len(out)) if c == "*" else (i,))]
        if not any(i < len(out) and (loose or out[i].type_oid in vague) for i in positions):
            return out, complete
        types = await self.catalog.result_types(ctx, stmt, len(out))
        complete = complete and all(types[i] for i in positions if i < len(types))
        return _typed(out, [oid if loose or out[i].type_oid == pgtypes.TEXT or (
            out[i].type_oid == pgtypes.TIMESTAMP and oid == pgtypes.TIMESTAMPTZ) or (
            out[i].type_oid == pgtypes.VARCHAR and oid in _KEPT_AS_VARCHAR) else 0
            for i, oid in enumerate(types)]), complete


_ENDS_TX = frozenset({Kind.COMMIT, Kind.ROLLBACK})
_BEGIN_OR_END = frozenset({Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK})
_OID = attrgetter("type_oid")
_DDL, _ROLLBACK = Kind.DDL, Kind.ROLLBACK
# Statements that need no settings pushed first (and in an aborted transaction must not get any).
_TX_CONTROL = frozenset({Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK, Kind.ROLLBACK_TO,
                         Kind.SAVEPOINT, Kind.RELEASE})
# Statements that may leave session state on the backend connection (transaction pooling).
_CONNECTION_STATE = frozenset({Kind.CALL, Kind.OTHER, Kind.USE, Kind.SET})
_ANY = frozenset({"*"})  # side effects of a function the proxy does not know: not pinned


def _notices(ctx: StatementContext, generated: dialects.Generated) -> tuple[str, ...]:
    """The statement's NOTICEs, unless client_min_messages is above NOTICE (pg_dump's is)."""
    if not generated.notices:
        return ()
    level = (ctx.settings.get("client_min_messages") or "notice").lower()
    return () if level in ("warning", "error", "fatal", "panic") else generated.notices

def translation_error(exc: dialects.TranslationError) -> errors.PgError:
    return errors.from_sqlstate(exc.sqlstate, exc.message)


_BEGIN = dialects.Statement("BEGIN", Kind.BEGIN, "BEGIN")
_COMMIT = dialects.Statement("COMMIT", Kind.COMMIT, "COMMIT")
# A text with any of these manages its own transaction.
_NO_IMPLICIT = frozenset(
    {Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK, Kind.SAVEPOINT, Kind.RELEASE, Kind.ROLLBACK_TO,
     Kind.USE, Kind.CALL}
)


# Types MySQL holds as a marked VARCHAR (dialects/mysql.py MARKS).
_KEPT_AS_VARCHAR = frozenset(
    {pgtypes.INET, pgtypes.CIDR, pgtypes.INTERVAL, pgtypes.TIMETZ}
)
_ZONED = {pgtypes.TIMESTAMPTZ: pgtypes.TIMESTAMP, pgtypes.TIMESTAMP: pgtypes.TIMESTAMPTZ}


def _typed(
    columns: Sequence[Column],
    types: Sequence[int],
    param_types: Sequence[int] = (),
    typmods: Sequence[int] = (),
) -> list[Column]:
    """Columns with the types the statement's text fixes (casts, predicates, $n) applied,
    and the type modifiers its casts write (varchar(42), numeric(10,3))."""
    out = list(columns)
    for i, oid in enumerate(types[: len(out)]):
        if oid == dialects.SUM_OF_INTEGERS_IF_INTEGRAL:
            oid = pgtypes.INT8 if _integral(out[i]) else 0
        elif oid <= dialects.PARAMETER_TYPE:  # SELECT $n: the parameter's own type
            index = dialects.PARAMETER_TYPE - oid
            oid = param_types[index] if index < len(param_types) else 0
        mod = typmods[i] if i < len(typmods) else dialects.BACKEND_TYPMOD
        if oid and (out[i].type_oid != oid or (
            mod != dialects.BACKEND_TYPMOD and out[i].type_mod != mod
        )):
            info = pgtypes.TYPES.get(oid)
            size = info.size if info else -1
            out[i] = replace(
                out[i], type_oid=oid, type_size=size, type_mod=max(mod, -1)
            )
    return out


def _integral(column: Column) -> bool:
    """A numeric of scale 0 and at most 32 digits: what MySQL makes of sum(int4 or narrower)."""
    mod = column.type_mod - 4
    return column.type_oid == pgtypes.NUMERIC and mod >= 0 and mod & 0xFFFF == 0 and (
        mod >> 16
    ) <= 32


def _bind(
    ctx: StatementContext,
    generated: dialects.Generated,
    params: Sequence[Any],
    param_types: Sequence[int] = (),
) -> list[Any]:
    """Client parameters and session values in driver placeholder order."""
    out: list[Any] = []
    translated = not ctx.route.backend.capabilities.passthrough
    for source in generated.params:
        if isinstance(source, int):
            if source >= len(params):
                raise errors.UndefinedParameter(f"there is no parameter ${source + 1}")
            value = params[source]
            # (backend_value's common case inline: no call per plain value)
            out.append(backend_value(value) if translated and value.__class__ not in PLAIN
                       else value)
        elif is_derived(source):
            out.append(derived(source, params, param_types))
        else:
            out.append(ctx.session_value(source, params))
    return out


def _execute(
    conn: Connection, generated: dialects.Generated, values: list[Any], prefetch: int,
    implicit: tuple[str, list[str]] | None = None, undo: list[str] | None = None,
) -> tuple[Cursor, list[tuple[Any, ...]], bool, bool]:
    """Worker-side: run, take the first rows, report the real transaction state.

    `implicit`: DDL inside a transaction block on a backend that commits it by itself,
    with what drops its object and the session's log of those; the block goes on in a
    new transaction. `undo`: that log, for a ROLLBACK to drop what the block made."""
    began = implicit is not None and conn.in_transaction
    if generated.steps:  # DDL the backend runs as several statements
        cursor: Cursor = steps.run(conn, generated.steps, values)
    else:
        cursor = conn.execute(generated.sql, values)
    rows: list[tuple[Any, ...]] = []
    exhausted = True
    if cursor.columns is not None:
        rows = cursor.fetch(prefetch)
        exhausted = len(rows) < prefetch
    if exhausted:
        # Done with the backend already (a point query, a write): closing here
        # spares the result a second thread hop; rowcount stays readable.
        cursor.close()
    if began and not conn.in_transaction:
        assert implicit is not None
        steps.run_sql(conn, "START TRANSACTION")
        if implicit[0]:
            implicit[1].append(implicit[0])
    if undo is not None:
        for sql in reversed(undo):
            steps.run_sql(conn, steps.literal(conn, sql))
        undo.clear()
    return cursor, rows, exhausted, conn.in_transaction


async def _learning(
    learner: Any, generated: dialects.Generated, run: Callable[[Any], Awaitable[Any]],
    ctx: StatementContext,
) -> Any:
    """run(ctx), its result shown to the answer at the wire that asked to learn it."""
    result = await run(ctx)
    learner.learn(ctx, generated, result)
    return result


@inline
def _begin_or_end(
    conn: Connection, generated: dialects.Generated, values: list[Any], prefetch: int,
    implicit: None = None, undo: None = None,
) -> tuple[Cursor, list[tuple[Any, ...]], bool, bool]:
    """_execute for BEGIN, COMMIT or ROLLBACK, which may start inline: run there when the
    transaction has written nothing (a BEGIN; the end of a block that only read: no page
    to write back, no lock to wait for), else moved to a worker (workers.Moved). A
    connection that cannot say (no `writing`) is taken to have written."""
    if workers.current.deadline and getattr(conn, "writing", True):
        raise workers.Moved
    return _execute(conn, generated, values, prefetch)


@inline
def _read(
    conn: Connection, generated: dialects.Generated, values: list[Any], prefetch: int,
    implicit: None = None, undo: None = None,
) -> tuple[Cursor, list[tuple[Any, ...]], bool, bool]:
    """_execute for a read with no side effect, which running again from the start repeats
    nothing: it may start inline and move to a worker (workers.Moved)."""
    return _execute(conn, generated, values, prefetch)


def _describe(
    conn: Connection, generated: dialects.Generated, values: list[Any]
) -> Sequence[Column] | None:
    if generated.steps:
        return steps.describe(conn, generated.steps, values)
    return conn.describe(generated.sql, values)


@inline
def _describe_sql(
    conn: Connection, generated: dialects.Generated, values: list[Any]
) -> Sequence[Column] | None:
    """_describe of one statement: prepared, not run (a read of an untyped column reads
    a few rows, with nothing that writes), so it may start inline."""
    return conn.describe(generated.sql, values)
