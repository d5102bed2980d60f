"""PostgreSQL itself through psycopg 3: pass-through, and the conformance reference.

URL: postgresql://user:pw@host:5432/db (postgres:// too); any libpq
parameter may follow as a query option (?sslmode=require&application_name=x).
connect_timeout defaults to 10 s (libpq's own default waits forever).
A client's database name, when given to connect(), replaces the URL's.

Streaming: `Cursor.stream(size=N)`, which puts libpq in chunked-rows mode
(libpq >= 17; single-row mode before) so at most one chunk is in memory.
A named server-side cursor was the alternative, but DECLARE needs a
transaction block, and the proxy runs in autocommit so that BEGIN/COMMIT are
the client's. stream() cancels the query when its generator is closed early;
a cancelled INSERT ... RETURNING would roll back, and inside a transaction a
cancel aborts it, so close() here reads the rest of the result instead.

Statements use $1 placeholders (RawCursor): the proxy's parameters go to the
server exactly as a PostgreSQL client's would. Values are psycopg's usual
Python types, except json/jsonb and interval, which are kept as the server's
text: re-encoding them would cost time (json) or lose information (psycopg
turns '1 mon' into 30 days).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import pq
from psycopg.generators import fetch
from psycopg.rows import tuple_row
from psycopg.types.string import TextLoader

from pgproxy import errors
from pgproxy.backends import redact_url, registry, scrub, shut_down, url_parts
from pgproxy.backends.base import Column

# Rows per network chunk; the proxy's fetch(size) reads from these.
CHUNK_ROWS = 1000

_DIAG = pq.DiagnosticField


def map_error(exc: Exception, password: str | None = None) -> errors.PgError:
    """psycopg already knows the SQLSTATE: keep it, with detail, hint and position."""
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(exc, "sqlstate", None)
    message = (diag.message_primary if diag is not None else None) or str(exc) or type(exc).__name__
    message = scrub(message.strip(), password)
    if sqlstate is None:
        # No server answer: the connection itself failed.
        closed = isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        return errors.from_sqlstate("08006" if closed else "XX000", message)
    position = diag.statement_position if diag is not None else None
    return errors.from_sqlstate(
        sqlstate,
        message,
        detail=scrub(diag.message_detail, password) if diag and diag.message_detail else None,
        hint=diag.message_hint if diag is not None else None,
        position=int(position) if position else None,
    )


def _result_error(res: pq.abc.PGresult, encoding: str) -> errors.PgError:
    def field(f: int) -> str | None:
        v = res.error_field(f)
        return v.decode(encoding, "replace") if v else None

    position = field(_DIAG.STATEMENT_POSITION)
    return errors.from_sqlstate(
        field(_DIAG.SQLSTATE) or "XX000",
        field(_DIAG.MESSAGE_PRIMARY) or res.error_message.decode(encoding, "replace").strip(),
        detail=field(_DIAG.MESSAGE_DETAIL),
        hint=field(_DIAG.MESSAGE_HINT),
        position=int(position) if position else None,
    )


def _result_columns(res: pq.abc.PGresult, encoding: str) -> list[Column]:
    return [
        Column(
            (res.fname(i) or b"").decode(encoding),
            res.ftype(i),
            res.fsize(i),
            res.fmod(i),
            res.ftable(i),
            res.ftablecol(i),
        )
        for i in range(res.nfields)
    ]


_CHUNK = pq.ExecStatus.TUPLES_CHUNK
_SINGLE = pq.ExecStatus.SINGLE_TUPLE
_DONE = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY)


class PostgreSQLCursor:
    """A streamed result: libpq chunks loaded a chunk at a time, sliced to fetch sizes."""

    __slots__ = ("_buffer", "_chunks", "_conn", "_done", "columns", "rowcount")

    def __init__(self, conn: PostgreSQLConnection, chunks: Iterator[Any]) -> None:
        self._conn = conn
        self._chunks = chunks
        # The first item says what the statement is: columns, or a row count.
        first = next(chunks)
        self._buffer: list[tuple[Any, ...]] = []
        if isinstance(first, int):
            self.columns: list[Column] | None = None
            self.rowcount = first
            for _ in chunks:  # reach the end of the results: the connection is free
                pass
            self._done = True
            conn._running = False
        else:
            self.columns = first
            self.rowcount = -1
            self._done = False

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        buffer = self._buffer
        try:
            while len(buffer) < size and not self._done:
                chunk = next(self._chunks, None)
                if chunk is None:
                    self._finish()
                elif buffer:
                    buffer.extend(chunk)
                else:
                    buffer = chunk
        except psycopg.Error as exc:
            self._finish()
            raise self._conn._error(exc) from None
        except errors.PgError:
            self._finish()
            raise
        if len(buffer) <= size:
            self._buffer = []
            return buffer
        self._buffer = buffer[size:]
        return buffer[:size]

    def _finish(self) -> None:
        self._done = True
        self._conn._running = False

    def close(self) -> None:
        self._buffer = []
        if self._done:
            return
        try:
            for _ in self._chunks:
                pass
        except (psycopg.Error, errors.PgError):
            pass  # the client has stopped reading; the statement's outcome is the server's
        finally:
            self._finish()


class PostgreSQLConnection:
    """One psycopg connection in autocommit; the client's BEGIN/COMMIT pass through."""

    def __init__(self, backend: PostgreSQLBackend, database: str | None) -> None:
        self.backend = backend
        self._running = False
        self._in_tx = False
        self._cancel_lock = threading.Lock()
        self._current: PostgreSQLCursor | None = None
        try:
            self._conn = psycopg.connect(backend.conninfo(database), autocommit=True)
        except psycopg.Error as exc:
            err = map_error(exc, backend.password)
            if err.sqlstate == "08006":  # no server answer: the connect itself failed
                err = errors.from_sqlstate("08001", err.message)
            raise err from None
        for name in ("json", "jsonb", "interval"):
            self._conn.adapters.register_loader(name, TextLoader)
        self._encoding = self._conn.info.encoding

    def _error(self, exc: Exception) -> errors.PgError:
        return map_error(exc, self.backend.password)

    def _finish_current(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def execute(self, sql: str, params: Sequence[Any]) -> PostgreSQLCursor:
        self._finish_current()
        self._in_tx = self.in_transaction
        self._running = True
        try:
            result = PostgreSQLCursor(self, self._stream(sql, params))
        except psycopg.Error as exc:
            self._running = False
            raise self._error(exc) from None
        except errors.PgError:
            self._running = False
            raise
        self._current = result
        return result

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        """Yield the columns (or the row count of a command), then row chunks.

        psycopg's own Cursor.stream() refuses statements that return no rows
        and hides the columns of an empty result, so this reads the results
        itself; sending (parameter adaptation, chunked mode) is psycopg's.
        """
        conn = self._conn
        pgconn = conn.pgconn
        cursor = psycopg.RawCursor(conn)
        with conn.lock:
            conn.wait(cursor._stream_send_gen(sql, tuple(params) or None, binary=False,
                                              size=CHUNK_ROWS))
            tx = cursor._tx
            first = True
            error = None
            while (res := conn.wait(fetch(pgconn))) is not None:
                status = res.status
                if error is not None:
                    continue  # drain to the end of this statement's results
                if status == _CHUNK or status == _SINGLE:
                    tx.set_pgresult(res, set_loaders=first)
                    if first:
                        yield _result_columns(res, self._encoding)
                        first = False
                    yield tx.load_rows(0, res.ntuples, tuple_row(cursor))
                elif status in _DONE:
                    if first:
                        first = False
                        if res.nfields:
                            yield _result_columns(res, self._encoding)
                        else:
                            tuples = res.command_tuples
                            yield tuples if tuples is not None else -1
                else:
                    error = _result_error(res, self._encoding)
            if error is not None:
                raise error

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows (COPY FROM): psycopg pipelines them."""
        self._finish_current()
        self._in_tx = self.in_transaction
        self._running = True
        try:
            with psycopg.RawCursor(self._conn) as cursor:
                cursor.executemany(sql, rows)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            self._running = False

    def describe(self, sql: str, params: Sequence[Any]) -> list[Column] | None:
        """Parse and describe an unnamed statement: planned, never executed."""
        self._finish_current()
        pgconn = self._conn.pgconn
        query = sql.encode(self._encoding)
        try:
            with self._conn.lock:
                res = pgconn.prepare(b"", query)
                if res.status != pq.ExecStatus.COMMAND_OK:
                    raise _result_error(res, self._encoding)
                res = pgconn.describe_prepared(b"")
                if res.status != pq.ExecStatus.COMMAND_OK:
                    raise _result_error(res, self._encoding)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        if res.nfields == 0:
            return None
        return _result_columns(res, self._encoding)

    @property
    def in_transaction(self) -> bool:
        status = self._conn.pgconn.transaction_status
        if status == pq.TransactionStatus.ACTIVE:
            return self._in_tx  # mid-result: the state before this statement
        return status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)

    @property
    def transaction_failed(self) -> bool:
        """PostgreSQL's own 'E' state, for a wire layer that wants it verbatim."""
        return self._conn.pgconn.transaction_status == pq.TransactionStatus.INERROR

    def cancel(self) -> None:
        with self._cancel_lock:
            if not self._running:
                return
            try:
                self._conn.cancel_safe(timeout=10)
            except psycopg.Error as exc:
                raise self._error(exc) from None

    @property
    def broken(self) -> bool:
        """The connection can serve no more statements."""
        return self._conn.closed or self._conn.broken

    def abort(self) -> None:
        """Shut the socket from any thread: a call blocked on a hung server returns at once."""
        try:
            fd = self._conn.pgconn.socket
        except psycopg.Error:
            return  # closed already
        with socket.socket(fileno=os.dup(fd)) as sock:
            shut_down(sock)

    def close(self) -> None:
        if self._current is not None and not self._conn.closed:
            try:
                self._finish_current()
            except errors.PgError:
                pass
        self._current = None
        self._conn.close()


class PostgreSQLBackend:
    """A PostgreSQL server; statements pass through untranslated."""

    name = "postgresql"
    dialect = "postgres"
    paramstyle = "dollar"
    capabilities = registry.capabilities(dialect)

    def __init__(self, url: str) -> None:
        self.url = url
        _, self.user, self.password, self.database = url_parts(url)

    def conninfo(self, database: str | None) -> str:
        parts = urlsplit(self.url)
        scheme = "postgresql"
        path = parts.path
        if database:
            from urllib.parse import quote

            path = "/" + quote(database, safe="")
        options = dict(parse_qsl(parts.query))
        options.setdefault("connect_timeout", "10")
        query = urlencode(options)
        return urlunsplit((scheme, parts.netloc, path, query, ""))

    def connect(self, database: str | None = None) -> PostgreSQLConnection:
        return PostgreSQLConnection(self, database)

    def close(self) -> None:
        pass

    def redacted_url(self) -> str:
        return redact_url(self.url)
