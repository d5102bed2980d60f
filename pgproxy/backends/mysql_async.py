"""MySQL and MariaDB through asyncmy, on the event loop with no thread hop.

The backend interface is synchronous; this connection runs in a greenlet of
its backend's `greenlets` pool (pgproxy/workers.py), and each asyncmy
coroutine is awaited with `await_only`, which suspends the greenlet while the
loop goes on serving other sessions. No socket I/O here blocks: asyncmy's is
asyncio's. Types, errors, statement counts and the session set-up are the
pymysql connection's (mysql.py), so the two drivers answer alike:

- values: asyncmy's decoders are pymysql's (DECIMAL -> Decimal, DATETIME and
  TIMESTAMP -> datetime, TIME -> timedelta, DATE -> date, BIT and binary
  strings -> bytes, the rest str), then mysql.field_type converts as there;
  parameters are escaped with pymysql's rules (a dict is refused, 08P01);
- TLS when the server offers it, unverified, as pymysql does by default;
- connect_timeout bounds the TCP connect and the whole handshake;
- results stream through an unbuffered SSCursor;
- cancel is KILL QUERY from a second connection, which the next statement waits
  for; abort() aborts the transport from any thread, so a call waiting on a
  hung server fails at once.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Sequence
from typing import Any

import asyncmy.connection
import asyncmy.converters
import asyncmy.cursors
import asyncmy.errors
import asyncmy.protocol
from pymysql.constants import CLIENT, COMMAND

from dialects.engines import MYSQL_SERVERS
from pgproxy import errors
from pgproxy.backends import mysql
from pgproxy.backends import mysql_binary as binary
from pgproxy.backends.base import Column
from pgproxy.workers import await_only

log = logging.getLogger("pgproxy.backends.mysql")

_DRIVER_ERRORS = (asyncmy.errors.MySQLError, OSError)
_REFUSED = (*_DRIVER_ERRORS, TypeError, ValueError)  # a statement's: bad parameters too
_CANNOT_CONNECT = 2003  # CR_CONN_HOST_ERROR
_LOST = 2013  # CR_SERVER_LOST


def _not_supported(value: Any, mapping: Any = None) -> str:
    raise TypeError(f"{type(value).__name__} can not be used as parameter")


# asyncmy's encoders and decoders, with pymysql's refusal of a dict parameter.
_CONVERSIONS = {**asyncmy.converters.conversions, dict: _not_supported}


# Unread bytes beyond which a connection stops reading its socket until asked for more.
HIGH_WATER = 512 * 1024


class _FlowControlled(asyncmy.connection._MySQLProtocol):  # type: ignore[misc]
    """asyncmy's protocol, but reading pauses while much is left unread.

    asyncmy reads all its socket has into its buffer (and parses all of the
    buffer's rows at once), so a large result read slower than it arrives would
    pile up in memory: paused, the rest waits in the kernel and TCP holds the
    server back, as asyncio's StreamReader does past its limit. Reading resumes
    when the driver waits for more data.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.paused = False

    def buffer_updated(self, nbytes: int) -> None:
        _buffer_updated(self, nbytes)
        if self.length - self.pos > HIGH_WATER and not self.paused and self.transport:
            self.paused = True
            self.transport.pause_reading()

    def wait_for_data(self, need: int) -> Any:
        """asyncmy's coroutine itself (no coroutine of our own around it: this runs for
        every packet read), reading resumed first."""
        if self.paused:
            self.paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        return _wait_for_data(self, need)


_buffer_updated = asyncmy.connection._MySQLProtocol.buffer_updated
_wait_for_data = asyncmy.connection._MySQLProtocol.wait_for_data


# asyncmy's connect() makes its protocol by this module-level name: every asyncmy
# connection in the process (only this module's) gets the flow control.
asyncmy.connection._MySQLProtocol = _FlowControlled


class _Connection(asyncmy.connection.Connection):
    """asyncmy's connection with pymysql's default TLS (when the server offers it) and no
    SHOW WARNINGS."""

    async def show_warnings(self) -> None:
        """None, with no round trip: asyncmy's cursors would SHOW WARNINGS after every
        statement that has any, to log them; pymysql never does, nor does the proxy."""
        return None

    async def _request_authentication(self) -> None:
        if self._ssl_context is None and self.server_capabilities & CLIENT.SSL:
            self._ssl_context = mysql.opportunistic_tls()
            self._client_flag |= CLIENT.SSL
        await super()._request_authentication()


async def _open(backend: mysql.MySQLBackend, database: str | None, timeout: float) -> _Connection:
    """A connected asyncmy connection; `timeout` bounds the TCP connect and the handshake,
    so a server that accepts but never answers fails too."""
    args = backend.connect_args(database, connect_timeout=timeout)
    del args["read_timeout"], args["write_timeout"]  # pymysql's: statements have none
    conn = _Connection(**args, conv=_CONVERSIONS)
    # In a task of its own, timed by asyncio.wait: this coroutine's later steps may run in
    # another task than its first (its call handed over on its awaiter's cancel, see
    # workers._Call), which asyncio.timeout would not follow.
    connecting = asyncio.ensure_future(conn.connect())
    try:
        await asyncio.wait((connecting,), timeout=timeout)
        if not connecting.done():
            connecting.cancel()
            await asyncio.wait((connecting,))
            raise asyncmy.errors.OperationalError(
                _CANNOT_CONNECT, f"Can't connect to MySQL server on {backend.host!r} (timed out)"
            )
        try:
            connecting.result()
        except RuntimeError as exc:
            # asyncmy sets its socket options after the TCP connect; a server that resets
            # the connection first (killed mid-accept) leaves a transport with no socket.
            raise asyncmy.errors.OperationalError(
                _LOST, f"Lost connection to MySQL server on {backend.host!r} during connect: {exc}"
            ) from None
    except BaseException:
        connecting.cancel()
        conn.close()
        raise
    return conn


class AsyncMySQLCursor(mysql.MySQLCursor):
    """One statement's result, read from the connection in batches."""

    __slots__ = ()
    ERRORS = _DRIVER_ERRORS

    def _fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        return await_only(self._cursor.fetchmany(size))

    def _close(self) -> None:
        cursor = self._cursor
        if self.all_read():
            # A point query, a write: asyncmy's close would find nothing left to read,
            # through three coroutines; this is all it would do.
            cursor.connection = None
            return
        await_only(cursor.close())

    def all_read(self) -> bool:
        """Nothing of the result is left to read from the connection: closed with no wait."""
        result = self._cursor._result
        return result is None or not (result.unbuffered_active or result.has_next)


class AsyncMySQLConnection(mysql.MySQLConnection):
    """One asyncmy connection with autocommit on and a PostgreSQL-friendly session: the
    pymysql connection's shape, each driver call awaited in the calling greenlet."""

    cursor_class = AsyncMySQLCursor

    def __init__(self, backend: mysql.MySQLBackend, database: str | None) -> None:
        self.backend = backend
        self._running = False
        self._broken = False
        self._statement = 0  # which statement a cancel is for
        self._killing: asyncio.Future[None] | None = None  # a KILL QUERY in flight
        self._current: AsyncMySQLCursor | None = None
        try:
            conn = await_only(_open(backend, database, backend.connect_timeout))
            if not backend.probed:
                backend.server_version(conn.get_server_info())
            for statement in backend.init:
                try:
                    await_only(conn.query(statement))
                except asyncmy.errors.MySQLError as exc:
                    if not backend.init_refusal_ok(exc):
                        conn.close()
                        raise
        except _DRIVER_ERRORS as exc:
            raise backend.connect_error(exc) from None
        self._conn = conn
        self.thread_id = conn.thread_id()
        # Repeated reads as prepared statements; not on Dolt, whose branches are databases
        # a USE switches between.
        self._statements = (
            binary.Statements(conn) if backend.dialect in MYSQL_SERVERS else None)

    @property
    def broken(self) -> bool:
        """The connection can serve no more statements (lost, or closed by the driver)."""
        return self._broken or not self._conn.connected

    def _start(self) -> None:
        """A new statement: after any KILL QUERY in flight, which was for the last one."""
        while self._killing is not None:
            await_only(asyncio.shield(self._killing))
        self._statement += 1
        self._running = True

    def execute(self, sql: str, params: Sequence[Any]) -> mysql.MySQLCursor:
        self._finish_current()
        cursor = asyncmy.cursors.SSCursor(self._conn)
        self._start()
        try:
            # Always %-format, even without parameters, so a literal % is
            # written %% whatever the statement (paramstyle 'format').
            await_only(cursor.execute(sql, tuple(params)))
        except _REFUSED as exc:
            raise self._refused(exc) from None
        return self._result(sql, cursor)

    def _refused(self, exc: BaseException) -> errors.PgError:
        """A statement failed to run: the error to raise."""
        self._running = False
        if isinstance(exc, (TypeError, ValueError)):
            return errors.ProtocolViolation(f"bad statement parameters: {exc}")
        return self._error(exc)

    async def read_now(
        self, sql: str, params: Sequence[Any], prefetch: int
    ) -> tuple[mysql.MySQLCursor, list[tuple[Any, ...]], bool, bool] | None:
        """pipeline._read as a coroutine, for a read answered at the wire (stepped by its
        caller's callbacks, wire_reads_async.py: no greenlet, no task): the result, its
        first `prefetch` rows, whether they are all (if not, the result stays open: the
        next statement reads out the rest) and the transaction state. None: a result with
        rows left to read is open on the connection (the full path's to finish)."""
        current = self._current
        if current is not None:
            if not current.all_read():  # type: ignore[attr-defined]  # an AsyncMySQLCursor
                return None
            self._finish_current()  # with no wait
        while self._killing is not None:
            await asyncio.shield(self._killing)
        statements = self._statements
        if statements is not None and statements.offered(sql) and binary.bindable(params):
            values = tuple(params)
            prepared = statements.kept(sql)
            self._start()  # no KILL QUERY in flight (waited for above): nothing to wait for
            if prepared is None:
                try:
                    prepared = await statements.prepare(sql, len(values))
                except _REFUSED as exc:
                    raise self._refused(exc) from None
            if prepared is not None:
                read = await self._read_prepared(statements, sql, values, prepared, prefetch)
                if read is not None:
                    return read
        cursor = asyncmy.cursors.SSCursor(self._conn)
        self._start()
        try:
            await cursor.execute(sql, tuple(params))
        except _REFUSED as exc:
            raise self._refused(exc) from None
        return await self._first(self._result(sql, cursor), prefetch)

    async def _first(
        self, result: mysql.MySQLCursor, prefetch: int
    ) -> tuple[mysql.MySQLCursor, list[tuple[Any, ...]], bool, bool]:
        """read_now's answer: `result`, its first `prefetch` rows, whether they are all
        (if so, it is closed) and the transaction state."""
        rows: list[tuple[Any, ...]] = []
        if result.columns is not None:
            try:
                fetched = await result._cursor.fetchmany(prefetch)
            except _DRIVER_ERRORS as exc:
                raise result._failed(exc) from None
            rows = result._took(fetched, prefetch)
            if len(rows) == prefetch:
                return result, rows, False, self.in_transaction
        result.close()  # all read: no wait (AsyncMySQLCursor._close)
        return result, rows, True, self.in_transaction

    async def _read_prepared(
        self, statements: binary.Statements, sql: str, values: tuple[Any, ...],
        prepared: binary.Prepared, prefetch: int,
    ) -> tuple[mysql.MySQLCursor, list[tuple[Any, ...]], bool, bool] | None:
        """read_now's read of `sql` as the statement `prepared` (mysql_binary.py), started
        (_start); None: nothing was sent (values too large for one packet: the text
        protocol's)."""
        conn = self._conn
        try:
            if not statements.send(prepared, values):
                self._running = False
                return None
            proto = conn._proto
            if proto.length - proto.pos < 4:
                await conn._fill_buffer(4)
            done = binary.complete(conn, prepared)
            if done is None:
                rows = binary.Rows(conn, prepared)
                if not await rows.start(prepared):
                    statements.forget(sql)  # typed by its values: the text protocol's from now
        except _REFUSED as exc:
            raise self._refused(exc) from None
        convert = prepared.convert
        if done is not None and len(done[0]) < prefetch:
            # The whole result, parsed: nothing left to read, no result to keep open.
            self._running = False
            whole = list(map(convert, done[0])) if convert is not None else list(done[0])
            result = self.cursor_class.described(self, None, prepared.columns, convert)
            return result, whole, True, self.in_transaction
        if done is not None:
            rows = binary.Rows(conn, prepared, done)
        result = self.cursor_class.described(
            self, rows, prepared.columns if rows.field_count else None, convert)
        self._current = result
        if result.columns is None:
            self._running = False
        return await self._first(result, prefetch)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows through one INSERT (COPY FROM): multi-row INSERTs of MANY_ROWS rows,
        values escaped by the driver."""
        self._finish_current()
        self._start()
        cursor = self._conn.cursor()
        try:
            for text, values in mysql.insert_batches(sql, rows):
                await_only(cursor.execute(text, values))
        except _DRIVER_ERRORS as exc:
            raise self._error(exc) from None
        except (TypeError, ValueError) as exc:
            raise errors.DatatypeMismatch(f"bad COPY values: {exc}") from None
        finally:
            self._running = False

    def describe(self, sql: str, params: Sequence[Any]) -> list[Column] | None:
        """Columns from COM_STMT_PREPARE: the server plans but never runs it."""
        self._finish_current()
        try:
            fields = await_only(_prepared_fields(self._conn, mysql.qmark(sql)))
        except _DRIVER_ERRORS as exc:
            raise self._error(exc) from None
        if not fields:
            return None
        return mysql.columns(fields)[0]

    def cancel(self) -> None:
        """KILL QUERY from a second short-lived connection: MySQL's only way.

        Harmless when late: sent only while the statement it is for still runs,
        with the next statement held back until it has landed.
        """
        if not self._running:
            return
        target = self._statement
        backend = self.backend
        try:
            killer = await_only(_open(backend, None, min(backend.connect_timeout, 5)))
        except _DRIVER_ERRORS as exc:
            raise backend.connect_error(exc) from None
        try:
            if not self._running or self._statement != target:
                log.debug("statement finished before its cancel: no KILL QUERY sent")
                return
            self._killing = done = killer.loop.create_future()
            try:
                await_only(killer.query(f"KILL QUERY {int(self.thread_id)}"))
            finally:
                self._killing = None
                done.set_result(None)
        except asyncmy.errors.MySQLError as exc:
            if exc.args and exc.args[0] == mysql.UNKNOWN_THREAD:
                log.debug("KILL QUERY found no connection %d: it is gone", self.thread_id)
                return
            raise mysql.map_error(exc, backend.password) from None
        finally:
            killer.close()

    def abort(self) -> None:
        """Abort the transport from any thread: a call waiting on a hung server fails at once."""
        self._broken = True
        transport = self._conn._transport
        if transport is not None:
            try:
                self._conn.loop.call_soon_threadsafe(transport.abort)
            except RuntimeError:  # its loop has closed: so has the transport
                pass

    def close(self) -> None:
        if self._current is not None and not self._broken:
            try:
                self._finish_current()
            except errors.PgError:
                pass
        self._current = None
        if self._broken:
            self._conn.close()
            return
        try:
            await_only(self._conn.ensure_closed())  # COM_QUIT: the server logs no abort
        except _DRIVER_ERRORS:
            self._conn.close()


async def _prepared_fields(conn: _Connection, query: str) -> list[Any]:
    """The result fields COM_STMT_PREPARE describes for `query`; the statement is closed."""
    await conn._execute_command(COMMAND.COM_STMT_PREPARE, query)
    first = await conn.read_packet()
    stmt_id, ncols, nparams = struct.unpack_from("<IHH", first.get_all_data(), 1)
    eof = not conn._deprecate_eof
    for _ in range(nparams + (1 if nparams and eof else 0)):
        await conn.read_packet()
    fields = [
        await conn.read_packet(asyncmy.protocol.FieldDescriptorPacket) for _ in range(ncols)
    ]
    if ncols and eof:
        await conn.read_packet()
    await conn._execute_command(COMMAND.COM_STMT_CLOSE, struct.pack("<I", stmt_id))
    return fields

