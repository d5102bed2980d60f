"""The one path every statement takes, stage by stage.

parse (cached) -> failed-transaction guard -> statements the proxy answers
itself -> transaction control -> generate for the backend (cached) -> bind ->
execute in a worker -> a streamed result. Each stage is a small step here or
an object of its own module; add a stage by adding an object.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import dialects
from dialects.cache import TranslationCache
from pgproxy import advisory, calls, cursors, errors, notify, pgtypes, rescale
from pgproxy import prepared as sql_prepared
from pgproxy.backends import constraints, steps
from pgproxy.backends.base import Column, Connection, Cursor
from pgproxy.catalog import Catalog
from pgproxy.commands import LOCAL_KINDS, run_local, show_columns
from pgproxy.copy import stage as copy_stage
from pgproxy.params import backend_value, derived, is_derived
from pgproxy.results import DEFAULT_BATCH, BackendResult, RowsResult

if TYPE_CHECKING:
    from pgproxy.cache import QueryCache
    from pgproxy.session import PreparedStatement, Session

log = logging.getLogger("pgproxy.pipeline")
Kind = dialects.Kind

# What may still run in a failed transaction block.
_ENDS_FAILED = frozenset({Kind.ROLLBACK, Kind.ROLLBACK_TO, Kind.COMMIT})


class Pipeline:
    """Drives statements from text to streamed rows; shared by every session."""

    def __init__(self, cache_size: int = 4096) -> None:
        self.translations = TranslationCache(cache_size)
        self.cache: QueryCache | None = None  # the query cache, when configured
        self.catalog = Catalog()  # pg_catalog / information_schema emulation

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
        """parse, once per shape: literals lifted out come back as values to bind."""
        try:
            return self.translations.parse_shaped(sql, target, declared, simple_query)
        except dialects.TranslationError as exc:
            raise translation_error(exc) from None

    def generate(self, stmt: dialects.Statement, target: dialects.Target) -> dialects.Generated:
        """dialects.generate, once per (statement, target)."""
        try:
            return self.translations.generate(stmt, target)
        except dialects.TranslationError as exc:
            raise translation_error(exc) from None

    # ------------------------------------------------------------ running

    async def run(
        self,
        session: Session,
        prepared: PreparedStatement,
        params: Sequence[Any],
        formats: Sequence[int],
    ) -> Any:
        stmt = prepared.statement
        kind = stmt.kind
        if prepared.literals:  # a shaped statement: its literals follow the client's $n
            literals: Sequence[Any] = prepared.literals
            if stmt.literal_columns and session.route.backend.dialect in _OFFSETLESS:
                literals = await self._zoned_literals(session, prepared)
            params = [*params, *literals]
        if session.failed and kind not in _ENDS_FAILED:
            raise errors.InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        if stmt.copy is not None:
            return await copy_stage.run(self, session, stmt)
        if kind in LOCAL_KINDS:
            return run_local(session, stmt, formats)
        if self.catalog.handles(session, stmt):
            return await self.catalog.run(session, stmt, params, formats)
        if (locks := advisory.calls(stmt, session.route.backend.dialect)) is not None:
            return await advisory.run(session, stmt, locks, params, formats)
        if stmt.tag in _CURSOR_TAGS:
            return await self._cursor(session, stmt, params, formats)
        if stmt.tag in _PREPARED_TAGS:
            return await self._prepared(session, stmt, formats)
        if stmt.tag in notify.TAGS:
            return notify.run(session, stmt)
        if stmt.tag in _TWO_PHASE:
            raise _two_phase_error(stmt)
        if kind is Kind.SELECT and (call := calls.bare_call(stmt)) is not None:
            return calls.run(session, call, params, formats)
        if kind is Kind.SELECT and calls.no_columns(stmt):
            return RowsResult("SELECT", [], [()], formats)
        if stmt.setting is not None and kind is Kind.SELECT:
            # set_config(): applied, then its new value bound. is_local outside a
            # transaction block lasts only for this statement, as in PostgreSQL.
            setting = session.resolve_setting(stmt.setting, params)
            session.apply_setting(setting)
            if setting.local and not session.in_transaction:
                try:
                    return await self._backend(session, stmt, params, formats)
                finally:
                    session.settings.end_transaction()
        if kind is Kind.BEGIN and session.in_transaction:
            return RowsResult(stmt.tag)  # PostgreSQL warns and stays in the transaction
        if kind in (Kind.COMMIT, Kind.ROLLBACK) and not session.in_transaction:
            return RowsResult(stmt.tag)  # PostgreSQL warns: no transaction in progress
        if kind is Kind.COMMIT and session.failed:
            # COMMIT of a failed transaction rolls back, and says so.
            result = await self._backend(session, _ROLLBACK, (), formats)
            return RowsResult("ROLLBACK") if result.done else result
        if kind is Kind.COMMIT:
            return await self._commit(session, stmt, formats)
        if kind in _SAVEPOINT_KINDS:
            return await self._savepoint(session, stmt, formats)
        result = await self._backend(session, stmt, params, formats, prepared.param_types)
        if kind is Kind.BEGIN and stmt.setting is not None and session.in_transaction:
            session.apply_setting(stmt.setting)  # BEGIN ISOLATION LEVEL …: this transaction's
        return result

    async def _commit(
        self, session: Session, stmt: dialects.Statement, formats: Sequence[int]
    ) -> Any:
        """COMMIT; one that fails ends the transaction all the same, as in PostgreSQL
        (SQLite keeps it open after a deferred constraint fails at COMMIT)."""
        try:
            return await self._backend(session, stmt, (), formats)
        except errors.PgError:
            if session.in_transaction and not session.lost_transaction:
                session.failed = False
                await (await self._backend(session, _ROLLBACK, (), formats)).close()
            raise

    async def _savepoint(
        self, session: Session, stmt: dialects.Statement, formats: Sequence[int]
    ) -> Any:
        """SAVEPOINT / RELEASE / ROLLBACK TO, a reused name kept apart (pgproxy/savepoints)."""
        text = session.savepoints.backend_sql(stmt.kind, stmt.sql)
        run = stmt if text is None else self.parse(text)[0]
        result = await self._backend(session, run, (), formats)
        session.savepoints.done(stmt.kind, stmt.sql)
        return result

    async def _backend(
        self,
        session: Session,
        stmt: dialects.Statement,
        params: Sequence[Any],
        formats: Sequence[int],
        param_types: Sequence[int] = (),
    ) -> BackendResult | RowsResult:
        if session.lost_transaction and stmt.kind in _ENDS_FAILED:
            return await self._end_lost(session, stmt)
        try:
            generated = self.generate(stmt, session.target())
            values = _bind(session, generated, params, param_types)
        except errors.PgError:
            session.statement_failed()
            raise
        if not generated.sql and not generated.steps:
            done = RowsResult(stmt.tag)  # nothing for the backend to do (DISCARD, DEALLOCATE)
            done.notices = _notices(session, generated)
            return done
        cache = self.cache
        if cache is not None:
            key = cache.key(session, stmt, generated.sql, values, formats)
            if key is not None:
                # run(session): the cache may run it again on a session of its own.
                run = partial(
                    self._execute, stmt=stmt, generated=generated, values=values, formats=formats,
                    param_types=param_types,
                )
                return await cache.read(session, key, stmt, run)
        return await self._execute(session, stmt, generated, values, formats, param_types)

    async def _execute(
        self,
        session: Session,
        stmt: dialects.Statement,
        generated: dialects.Generated,
        values: list[Any],
        formats: Sequence[int],
        param_types: Sequence[int] = (),
    ) -> BackendResult:
        if stmt.kind in (Kind.COMMIT, Kind.ROLLBACK):
            # Cursors the end of the transaction closes go first, unread; WITH HOLD ones
            # read the rest of their rows (and only they: release_active may read out
            # every open cursor where the backend keeps one result open at a time).
            if stmt.kind is Kind.COMMIT:
                await session.cursors.before_commit()
            await session.cursors.end_transaction(commit=stmt.kind is Kind.COMMIT)
        await session.release_active()
        if session.route.backend.dialect == "postgres" and stmt.kind not in _TX_CONTROL:
            await session.push_settings(await session.connection())
        # A safe read is retried once should the backend connection be lost.
        try:
            cursor, rows, exhausted, in_tx = await session.run(
                _execute, generated, values, DEFAULT_BATCH, retry=stmt.cacheable
            )
        except errors.PgError as exc:
            if exc.sqlstate.startswith("23") and len(stmt.tables_written) == 1:
                # The backend's message may not name the table: the statement's own.
                table = next(iter(stmt.tables_written)).rpartition(".")[2]
                constraints.add_table(exc, table, stmt.tag)
            raise
        was_in_tx = session.in_transaction
        if generated.column_types and cursor.columns is not None:
            cursor.columns = _typed(
                cursor.columns, generated.column_types, param_types, generated.column_typmods
            )
        if (stmt.result_columns or stmt.zoned_columns) and cursor.columns is not None:
            cursor.columns = await self._schema_typed(session, stmt, cursor.columns)
        if stmt.summed_columns and cursor.columns is not None:
            scales = await self.catalog.sum_scales(session, stmt, len(cursor.columns))
            convert = rescale.row_scaler(cursor.columns, scales)
            if convert is not None:
                rows = list(map(convert, rows))
                cursor = rescale.ScaledCursor(
                    cursor, rescale.retyped(cursor.columns, scales), convert)
        session.after_statement(stmt.kind, in_tx)
        if stmt.kind is Kind.DDL:
            self.catalog.invalidate(session.route.backend)
        if self.cache is not None:
            # Before the write's CommandComplete can reach its client.
            self.cache.after_execute(session, stmt, was_in_tx, in_tx)
        if stmt.kind in (Kind.COMMIT, Kind.ROLLBACK) or (was_in_tx and not in_tx):
            await session.cursors.end_transaction(commit=stmt.kind is not Kind.ROLLBACK)
        result = BackendResult(
            stmt.tag, cursor, rows, exhausted, formats, session.call, _forget(session),
            closed=exhausted, style=session.settings.style(),
        )
        result.notices = _notices(session, generated)
        if not result.done:
            session.set_active(result)
        return result

    async def _end_lost(self, session: Session, stmt: dialects.Statement) -> RowsResult:
        """The transaction died with its backend connection: ROLLBACK ends it here."""
        if stmt.kind is Kind.ROLLBACK_TO:
            raise errors.InFailedSqlTransaction(
                "the transaction was lost with its backend connection; only ROLLBACK can end it"
            )
        await session.end_lost_transaction()
        if self.cache is not None:
            self.cache.after_execute(session, stmt, True, False)
        return RowsResult("ROLLBACK")

    async def backend_rows(self, session: Session, prepared: PreparedStatement) -> BackendResult:
        """A row-returning statement run on the backend itself, never from the query cache
        (COPY TO re-encodes its rows)."""
        stmt = prepared.statement
        generated = self.generate(stmt, session.target())
        values = _bind(session, generated, list(prepared.literals))
        return await self._execute(session, stmt, generated, values, ())

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
        if any(s.kind in _NO_IMPLICIT or s.tag in _CURSOR_TAGS for s in work):
            return False
        if not any(s.kind not in LOCAL_KINDS and not s.catalog_only for s in work):
            return False
        result = await self._backend(session, _BEGIN, (), ())
        await result.close()
        return True

    async def end_implicit(self, session: Session, commit: bool) -> None:
        if not session.in_transaction:
            return  # a statement ended it already (MySQL's DDL commits implicitly)
        stmt = _COMMIT if commit and not session.failed else _ROLLBACK
        try:
            result = await self._backend(session, stmt, (), ())
            await result.close()
        except errors.PgError:
            if commit:
                raise
            log.warning("rolling back an implicit transaction failed", exc_info=True)

    async def _cursor(
        self, session: Session, stmt: dialects.Statement, params: Sequence[Any],
        formats: Sequence[int],
    ) -> Any:
        """DECLARE / FETCH / MOVE / CLOSE against the session's open cursors (pgproxy/cursors)."""
        if stmt.tag == "DECLARE CURSOR":
            declare = cursors.parse_declare(stmt.sql)
            if declare.name in session.cursors:
                raise errors.DuplicateCursor(f'cursor "{declare.name}" already exists')
            if not declare.hold and not session.in_transaction:
                raise errors.NoActiveSqlTransaction(
                    "DECLARE CURSOR can only be used in transaction blocks", sqlstate="25P01"
                )
            inner = self.parse(declare.query)
            if len(inner) != 1 or not inner[0].returns_rows:
                raise errors.InvalidCursorDefinition("cursor query must be a single SELECT")
            # Never from the query cache: FETCH reads the backend's own open result.
            generated = self.generate(inner[0], session.target())
            values = _bind(session, generated, params)
            result = await self._execute(
                session, inner[0], generated, values, (1,) if declare.binary else ())
            session.keep_open(result)
            return await session.cursors.add(
                declare, stmt.sql, result, session.in_transaction)
        if stmt.tag == "CLOSE CURSOR":
            return await session.cursors.close(cursors.parse_close(stmt.sql))
        return session.cursors.fetch(cursors.parse_fetch(stmt.sql), formats)

    async def describe(
        self, session: Session, prepared: PreparedStatement
    ) -> Sequence[Column] | None:
        stmt = prepared.statement
        if stmt.kind is Kind.SHOW and stmt.setting is not None:
            return show_columns(stmt.setting)
        if not stmt.returns_rows or stmt.kind in LOCAL_KINDS:
            return None
        if self.catalog.handles(session, stmt):
            return await self.catalog.describe(session, stmt, len(prepared.param_types))
        if (locks := advisory.calls(stmt, session.route.backend.dialect)) is not None:
            return advisory.describe(stmt, locks)
        if stmt.kind is Kind.SELECT and (call := calls.bare_call(stmt)) is not None:
            return calls.describe(call)
        if stmt.kind is Kind.SELECT and calls.no_columns(stmt):
            return []
        generated = self.generate(stmt, session.target())
        nulls = [None] * len(prepared.param_types)
        values = _bind(session, generated, [*nulls, *prepared.literals], prepared.param_types)
        await session.release_active()
        columns = await session.run(_describe, generated.sql, values, retry=True)
        if columns is not None and generated.column_types:
            columns = _typed(
                columns, generated.column_types, prepared.param_types, generated.column_typmods
            )
        if columns is not None and (stmt.result_columns or stmt.zoned_columns):
            columns = await self._schema_typed(session, stmt, columns)
        if columns is not None and stmt.summed_columns:
            columns = rescale.retyped(
                columns, await self.catalog.sum_scales(session, stmt, len(columns)))
        return columns

    async def _zoned_literals(self, session: Session, prepared: PreparedStatement) -> list[Any]:
        """Literals bound to a timestamp column, read as PostgreSQL reads them there.

        MariaDB refuses an offset in a DATETIME literal ('2024-01-01 10:00+00').
        A zero offset means the same instant and wall-clock time whether the column
        stands for a timestamp or a timestamptz (MariaDB keeps both as DATETIME, in
        UTC), so it is dropped; a timestamptz column (a backend that has one) reads
        any offset. Another offset on a DATETIME is left for the backend to refuse:
        the two PostgreSQL types would read it differently. Text columns keep it.
        """
        literals = list(prepared.literals)
        if not any(isinstance(v, str) and v[:1].isdigit() for v in literals):
            return literals  # no literal that could be a timestamp: no schema lookup
        inferred = await self.catalog.literal_types(session, prepared.statement, len(literals))
        for i, value in enumerate(literals):
            oid = inferred[i]
            if not isinstance(value, str) or oid not in _ZONED:
                continue
            if (m := _ZERO_OFFSET.search(value)) is not None:
                literals[i] = value[: m.start()]
            elif oid == pgtypes.TIMESTAMPTZ:
                literals[i] = session.read_literal(oid, value)
        return literals

    async def _schema_typed(
        self, session: Session, stmt: dialects.Statement, columns: Sequence[Column]
    ) -> list[Column]:
        """Result columns the backend reports as text typed by the table column they show.

        SQLite's min()/max() have no declared type (the proxy would guess one from
        the first rows, or none) and MariaDB sends json columns as text; the schema
        the catalog reads knows both (dialects/paramcols.py).
        """
        out = list(columns)
        dialect = session.route.backend.dialect
        if dialect == "postgres":
            return out
        if stmt.zoned_columns:  # a timestamptz column AT TIME ZONE is a timestamp, and back
            zoned = await self.catalog.result_types(session, stmt, len(out), zoned=True)
            out = _typed(out, [_ZONED.get(oid, 0) for oid in zoned])
        loose = dialect == "sqlite"
        # MySQL: json arrives as text, a timestamptz column is a DATETIME, and an inet,
        # interval or timetz column a VARCHAR marked with its type (dialects/mysql.py).
        vague = (pgtypes.TEXT, pgtypes.TIMESTAMP, pgtypes.VARCHAR)
        if not any(i < len(out) and (loose or out[i].type_oid in vague)
                   for i, _, _ in stmt.result_columns):
            return out
        types = await self.catalog.result_types(session, stmt, len(out))
        return _typed(out, [oid if loose or out[i].type_oid == pgtypes.TEXT or (
            out[i].type_oid == pgtypes.TIMESTAMP and oid == pgtypes.TIMESTAMPTZ) or (
            out[i].type_oid == pgtypes.VARCHAR and oid in _KEPT_AS_VARCHAR) else 0
            for i, oid in enumerate(types)])


    async def _prepared(
        self, session: Session, stmt: dialects.Statement, formats: Sequence[int]
    ) -> Any:
        """SQL-level PREPARE / EXECUTE / DEALLOCATE (pgproxy/prepared.py)."""
        if stmt.tag == "PREPARE":
            prepare = sql_prepared.parse_prepare(stmt.sql)
            if prepare.name in session.sql_statements:
                raise errors.DuplicatePreparedStatement(
                    f'prepared statement "{prepare.name}" already exists')
            statement = await session.prepare(prepare.query, prepare.param_types)
            statement.text = stmt.sql  # PostgreSQL shows the whole PREPARE
            session.sql_statements[prepare.name] = statement
            return RowsResult("PREPARE")
        if stmt.tag == "EXECUTE":
            name, args = sql_prepared.parse_execute(stmt.sql)
            statement = session.sql_statements.get(name)
            if statement is None:
                raise errors.InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
            if len(args) != len(statement.param_types):
                raise errors.SyntaxError(
                    f"wrong number of parameters for prepared statement \"{name}\"",
                    detail=f"Expected {len(statement.param_types)} parameters but got "
                           f"{len(args)}.", sqlstate="42601")
            values = session.decode_params(
                statement, [None if a is None else a.encode() for a in args], [0] * len(args))
            return await self.run(session, statement, values, formats)
        # DEALLOCATE drops Parse statements too, as in PostgreSQL (psycopg evicts its
        # prepared statements so): the wire's dict, which the session holds.
        name = sql_prepared.parse_deallocate(stmt.sql)
        if name is None:
            session.sql_statements.clear()
            for n in [n for n in session.protocol_statements if n]:
                del session.protocol_statements[n]
        elif (session.sql_statements.pop(name, None) is None
              and session.protocol_statements.pop(name, None) is None):
            raise errors.InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
        return RowsResult(stmt.tag)


_SAVEPOINT_KINDS = frozenset({Kind.SAVEPOINT, Kind.RELEASE, Kind.ROLLBACK_TO})
_CURSOR_TAGS = frozenset({"DECLARE CURSOR", "FETCH", "MOVE", "CLOSE CURSOR"})
# Statements that need no settings pushed first (and in an aborted transaction must not get any).
_TX_CONTROL = frozenset({Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK, Kind.ROLLBACK_TO,
                         Kind.SAVEPOINT, Kind.RELEASE})


def _notices(session: Session, generated: dialects.Generated) -> tuple[str, ...]:
    """The statement's NOTICEs, unless client_min_messages is above NOTICE (pg_dump's is)."""
    if not generated.notices:
        return ()
    level = (session.settings.get("client_min_messages") or "notice").lower()
    return () if level in ("warning", "error", "fatal", "panic") else generated.notices

_PREPARED_TAGS = frozenset({"PREPARE", "EXECUTE", "DEALLOCATE", "DEALLOCATE ALL"})
_TWO_PHASE = frozenset({"PREPARE TRANSACTION", "COMMIT PREPARED", "ROLLBACK PREPARED"})


def _two_phase_error(stmt: dialects.Statement) -> errors.PgError:
    """Two-phase commit: what PostgreSQL answers with max_prepared_transactions = 0,
    the value SHOW reports (no backend can keep a transaction across sessions for us)."""
    if stmt.tag == "PREPARE TRANSACTION":
        return errors.ObjectNotInPrerequisiteState(
            "prepared transactions are disabled",
            hint='Set "max_prepared_transactions" to a nonzero value.',
        )
    gid = stmt.sql.strip().rstrip(";").split(None, 2)[-1].strip().strip("'")
    return errors.UndefinedObject(f'prepared transaction with identifier "{gid}" does not exist')


def translation_error(exc: dialects.TranslationError) -> errors.PgError:
    return errors.from_sqlstate(exc.sqlstate, exc.message)


_ROLLBACK = dialects.Statement("ROLLBACK", Kind.ROLLBACK, "ROLLBACK")
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


# Backends whose timestamptz column refuses a literal's offset (see _zoned_literals).
_OFFSETLESS = frozenset({"mysql", "mariadb", "dolt"})
_ZERO_OFFSET = re.compile(r"(?<=\d)\s*(?:Z|[+-]00(?::?00)?)\s*$")
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
    session: Session,
    generated: dialects.Generated,
    params: Sequence[Any],
    param_types: Sequence[int] = (),
) -> list[Any]:
    """Client parameters and session values in driver placeholder order."""
    out: list[Any] = []
    translated = session.target().dialect != "postgres"
    for source in generated.params:
        if isinstance(source, int):
            if source >= len(params):
                raise errors.UndefinedParameter(f"there is no parameter ${source + 1}")
            value = params[source]
            out.append(backend_value(value) if translated else value)
        elif is_derived(source):
            out.append(derived(source, params, param_types))
        else:
            out.append(session.session_value(source, params))
    return out


def _execute(
    conn: Connection, generated: dialects.Generated, values: list[Any], prefetch: int
) -> tuple[Cursor, list[tuple[Any, ...]], bool, bool]:
    """Worker-side: run, take the first rows, report the real transaction state."""
    if generated.steps:  # DDL the backend runs as several statements
        cursor: Cursor = steps.run(conn, generated.steps)
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
    return cursor, rows, exhausted, conn.in_transaction


def _describe(conn: Connection, sql: str, values: list[Any]) -> Sequence[Column] | None:
    return conn.describe(sql, values)


def _forget(session: Session) -> Any:
    def done(result: BackendResult) -> None:
        if session._active is result:
            session._active = None

    return done
