"""MySQL and MariaDB (also a running `dolt sql-server`): the backend, types, errors, pymysql.

Two drivers speak to the server, picked by the URL's `driver` option:
asyncmy (the default; mysql_async.py), on the event loop in greenlets, and
pymysql, blocking, in worker threads. This module has what they
share (the backend, the session set-up, types, errors, batching) and the
pymysql connection.

URLs
  mysql://user:pw@host:3306/db
  mariadb://user:pw@host:3306/db    the same driver; AS OF TIMESTAMP on
                                    system-versioned tables
  Either scheme reaching a server whose version says MariaDB gets the 'mariadb'
  dialect (INSERT/DELETE ... RETURNING, AS OF TIMESTAMP), known from the first
  connection, which Proxy.open_session makes before any statement is translated.
  dolt+mysql://root@host:3306/mydb  a Dolt sql-server: dialect 'dolt', time
                                    travel and branches; connect('mydb/feature-x')
                                    opens the revision database
Query options: connect_timeout (s, default 10: the TCP connect and the whole
handshake, so a server that accepts but never answers fails with 08001),
charset (default utf8mb4), driver (asyncmy or pymysql). A client's database
name, when given to connect(), replaces the URL's.

Statements have no read timeout (a long query is legitimate; statement_timeout
is the proxy's, which cancels with KILL QUERY and, should a hung server not
answer that, abort()s the socket). A KILL QUERY lands only on the statement
it was sent for: the next statement waits for a KILL in flight to finish,
and the server forgets a KILL QUERY that finds its connection idle.

Results stream through an unbuffered SSCursor; closing a cursor early reads
and discards the rest, so the connection stays usable (cheaper than KILL,
which could also land on the next statement).

The session runs with autocommit on, so transaction state is the server's
SERVER_STATUS_IN_TRANS flag after BEGIN, never a guess; with
CLIENT_FOUND_ROWS so UPDATE counts matched rows as PostgreSQL does; in UTC;
and with a strict sql_mode (no ANSI_QUOTES: the dialect layer quotes
identifiers with backticks). Note that ERROR_FOR_DIVISION_BY_ZERO makes 1/0
fail only in INSERT/UPDATE; a SELECT still yields NULL.

Types: TINYINT(1) and BIT(1) -> bool (values converted); TINYINT/SMALLINT/YEAR
-> int2; MEDIUMINT/INT -> int4 (unsigned INT -> int8); BIGINT -> int8
(unsigned -> numeric); DECIMAL -> numeric; FLOAT -> float4; DOUBLE -> float8;
DATETIME -> timestamp; TIMESTAMP -> timestamptz (values tagged UTC, since the
session time zone is UTC and sqlglot writes PostgreSQL's timestamptz as
MySQL's TIMESTAMP); DATE -> date; TIME -> time (values in 00:00..24:00 as
datetime.time, others as text); JSON -> json; CHAR -> bpchar, VARCHAR ->
varchar, TEXT -> text; any string or blob type with the binary charset ->
bytea. MariaDB sends its JSON and UUID columns as plain strings in the
protocol pymysql speaks, so those reach clients as text/bpchar; a comparison
such as `a = b` is an integer in MySQL, so a boolean expression comes back as
int unless the dialect layer casts it.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import re
import ssl
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qsl

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT, COMMAND, FIELD_TYPE, FLAG, SERVER_STATUS
from pymysql.protocol import FieldDescriptorPacket

from dialects.engines import MYSQL_SERVERS
from pgproxy import errors, pgtypes
from pgproxy.backends import (
    Converter,
    connect_timeout,
    constraints,
    mysql_errors,
    redact_url,
    registry,
    row_converter,
    scrub,
    shut_down,
    url_parts,
)
from pgproxy.backends.base import Column

# Which driver speaks to the server: the URL's `driver` option picks one.
DRIVERS = ("asyncmy", "pymysql")
SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)
_INIT = (f"SET SESSION sql_mode = '{SQL_MODE}'", "SET SESSION time_zone = '+00:00'")

_BINARY_CHARSET = 63
UNKNOWN_THREAD = 1094  # KILL of a connection that is gone
_NOT_VERSIONED = 4124  # MariaDB: "Table `t` is not system-versioned"
_QUOTED = re.compile(r"`((?:[^`]|``)*)`")

log = logging.getLogger("pgproxy.backends.mysql")

# --- types -------------------------------------------------------------------

_MAXLEN = {"utf8mb4": 4, "utf8mb3": 3, "utf8": 3, "ucs2": 2, "utf16": 4, "utf32": 4}


@lru_cache(maxsize=256)
def _charset_maxlen(charsetnr: int) -> int:
    try:
        name = pymysql.charset.charset_by_id(charsetnr).name
    except KeyError:
        return 4
    return _MAXLEN.get(name, 1)


def _to_bool(v: Any) -> Any:
    if isinstance(v, bytes):
        return any(v)
    return v != 0


_DAY = datetime.timedelta(days=1)
_ZERO = datetime.timedelta(0)


def _to_time(v: Any) -> Any:
    if isinstance(v, datetime.timedelta) and _ZERO <= v < _DAY:
        return (datetime.datetime.min + v).time()
    if isinstance(v, datetime.timedelta):
        # Outside a day: PostgreSQL's time cannot hold it; keep MySQL's spelling.
        sign = "-" if v < _ZERO else ""
        total = abs(v)
        hours, rest = divmod(total.days * 86400 + total.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        frac = f".{total.microseconds:06d}" if total.microseconds else ""
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}{frac}"
    return v


def _to_utc(v: Any) -> Any:
    if isinstance(v, datetime.datetime) and v.tzinfo is None:
        return v.replace(tzinfo=datetime.UTC)
    return v


def _to_decimal(v: Any) -> Any:
    return decimal.Decimal(v) if isinstance(v, int) else v


_STRING_TYPES = {
    FIELD_TYPE.VARCHAR,
    FIELD_TYPE.VAR_STRING,
    FIELD_TYPE.STRING,
    FIELD_TYPE.TINY_BLOB,
    FIELD_TYPE.MEDIUM_BLOB,
    FIELD_TYPE.LONG_BLOB,
    FIELD_TYPE.BLOB,
    FIELD_TYPE.ENUM,
    FIELD_TYPE.SET,
}


@lru_cache(maxsize=1024)
def field_type(
    type_code: int, flags: int, length: int, scale: int, charsetnr: int
) -> tuple[int, int, Callable[[Any], Any] | None]:
    """(oid, typmod, value converter or None) for one result field."""
    unsigned = bool(flags & FLAG.UNSIGNED)
    if type_code == FIELD_TYPE.TINY:
        if length == 1:
            return pgtypes.BOOL, -1, _to_bool
        return pgtypes.INT2, -1, None
    if type_code in (FIELD_TYPE.SHORT, FIELD_TYPE.YEAR):
        return (pgtypes.INT4 if unsigned else pgtypes.INT2), -1, None
    if type_code == FIELD_TYPE.INT24:
        return pgtypes.INT4, -1, None
    if type_code == FIELD_TYPE.LONG:
        return (pgtypes.INT8 if unsigned else pgtypes.INT4), -1, None
    if type_code == FIELD_TYPE.LONGLONG:
        if unsigned:
            return pgtypes.NUMERIC, -1, _to_decimal
        return pgtypes.INT8, -1, None
    if type_code in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
        precision = length - (1 if scale else 0) - (0 if unsigned else 1)
        typmod = ((precision << 16) | scale) + 4 if precision > 0 else -1
        return pgtypes.NUMERIC, typmod, None
    if type_code == FIELD_TYPE.FLOAT:
        return pgtypes.FLOAT4, -1, None
    if type_code == FIELD_TYPE.DOUBLE:
        return pgtypes.FLOAT8, -1, None
    if type_code == FIELD_TYPE.TIMESTAMP:
        return pgtypes.TIMESTAMPTZ, -1, _to_utc
    if type_code == FIELD_TYPE.DATETIME:
        return pgtypes.TIMESTAMP, -1, None
    if type_code in (FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE):
        return pgtypes.DATE, -1, None
    if type_code == FIELD_TYPE.TIME:
        return pgtypes.TIME, -1, _to_time
    if type_code == FIELD_TYPE.JSON:
        return pgtypes.JSON, -1, None
    if type_code == FIELD_TYPE.BIT:
        if length == 1:
            return pgtypes.BOOL, -1, _to_bool
        return pgtypes.BYTEA, -1, None
    if type_code == FIELD_TYPE.GEOMETRY:
        return pgtypes.BYTEA, -1, None
    if type_code in _STRING_TYPES:
        if charsetnr == _BINARY_CHARSET:
            return pgtypes.BYTEA, -1, None
        if flags & (FLAG.ENUM | FLAG.SET):
            return pgtypes.TEXT, -1, None
        chars = length // _charset_maxlen(charsetnr)
        if type_code == FIELD_TYPE.STRING:
            return pgtypes.BPCHAR, (chars + 4 if chars else -1), None
        if type_code in (FIELD_TYPE.VAR_STRING, FIELD_TYPE.VARCHAR):
            return pgtypes.VARCHAR, (chars + 4 if chars else -1), None
        return pgtypes.TEXT, -1, None
    return pgtypes.TEXT, -1, None


def columns(fields: Sequence[Any]) -> tuple[list[Column], Callable[[tuple], tuple] | None]:
    """A result's columns and its row converter (None: rows stay as read)."""
    described, convert = _described(
        tuple([(f.name, f.type_code, f.flags, f.length, f.scale, f.charsetnr) for f in fields])
    )
    return list(described), convert


@lru_cache(maxsize=1024)
def _described(
    fields: tuple[tuple[str, int, int, int, int, int], ...],
) -> tuple[tuple[Column, ...], Callable[[tuple], tuple] | None]:
    """columns() for one field description, made once: a statement run again describes
    its result alike, and its Columns and converter (compiled: row_converter) are the same."""
    columns = []
    convs: list[tuple[int, Converter]] = []
    for i, (name, type_code, flags, length, scale, charsetnr) in enumerate(fields):
        oid, typmod, conv = field_type(type_code, flags, length, scale, charsetnr)
        columns.append(Column(name, oid, pgtypes.TYPES[oid].size, typmod))
        if conv is not None:
            convs.append((i, conv))
    return tuple(columns), row_converter(len(columns), convs)


# --- errors ------------------------------------------------------------------

def map_error(exc: Exception, password: str | None = None) -> errors.PgError:
    """A PgError with the SQLSTATE for a pymysql error, its message kept readable."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        errno, message = args[0], str(args[1])
    else:
        errno, message = 0, str(exc) or type(exc).__name__
    if errno == 0:
        # pymysql's and asyncmy's InterfaceError: the connection is closed
        code = "08003" if type(exc).__name__ == "InterfaceError" else "XX000"
        message = message or "connection to the MySQL backend is closed"
    elif errno == _NOT_VERSIONED:
        m = _QUOTED.search(message)
        table = m.group(1).replace("``", "`") if m else "the table"
        return errors.FeatureNotSupported(
            f'AS OF TIMESTAMP needs a system-versioned table: "{table}" is not one on MariaDB',
            detail=f"MySQL error {errno}: {message}",
            hint=f"ALTER TABLE {table} ADD SYSTEM VERSIONING keeps its history from then on.",
        )
    else:
        code = mysql_errors.sqlstate(errno, message)
        if code is None:
            code = "08006" if 2000 <= errno < 3000 else "XX000"
    if code == "57014":
        message = "canceling statement due to user request"
    error = errors.from_sqlstate(code, scrub(message, password), detail=f"MySQL error {errno}")
    if code.startswith("23"):
        return constraints.mysql(error, errno, error.message)
    if code == "3B001":
        error.detail = None
        return constraints.savepoint(error)
    return error


# --- cursor, connection, backend ---------------------------------------------


@cache
def opportunistic_tls() -> ssl.SSLContext:
    """TLS when the server offers it, unverified: pymysql's default, in one shared context."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _PyMySQLConnection(pymysql.connections.Connection):
    """pymysql's connection, but its default TLS context is built once, not per connection.

    pymysql builds one for every connection, loading the system's CA store
    each time (which that unverified mode never reads): about 850 KB of
    memory per connection, and milliseconds of CPU in every connect.
    """

    def _create_ssl_ctx(self, sslp: Any) -> ssl.SSLContext:
        if not sslp:
            return opportunistic_tls()
        return super()._create_ssl_ctx(sslp)

UPSERT = re.compile(r"^INSERT INTO .*\bON DUPLICATE KEY UPDATE\b", re.DOTALL)
_RECORDS = re.compile(rb"Records: (\d+)")
# `INSERT ... VALUES (%s, ...)`: its head and the one row's placeholders.
_INSERT_VALUES = re.compile(r"^(INSERT INTO .*\bVALUES\s*)(\([^()]*\))\s*$", re.DOTALL)
# Rows per multi-row INSERT of executemany: measured faster than pymysql's own
# batching (benchmarks/bench_copy.py), and well under max_allowed_packet.
MANY_ROWS = 1000


def upsert_count(affected: int, result: Any) -> int:
    """PostgreSQL's count for ON CONFLICT DO UPDATE: each row inserted or updated, once.

    MySQL's affected rows count an inserted row 1, an updated row 2 and (with
    CLIENT_FOUND_ROWS) an unchanged row 1, so the rows the statement read are the
    count: a multi-row INSERT's info says them ('Records: 3  Duplicates: 1 ...');
    a one-row INSERT sends none and is 1. Harmless if the phrase matched inside a
    string literal: a plain INSERT INTO's Records equals its affected rows.
    """
    message = getattr(result, "message", None) or b""
    if isinstance(message, str):
        message = message.encode()
    m = _RECORDS.search(message)
    if m:
        return int(m.group(1))
    return min(affected, 1)


def insert_batches(
    sql: str, rows: Sequence[Sequence[Any]]
) -> Iterator[tuple[str, Sequence[Any]]]:
    """(statement, values) to run for executemany: `INSERT ... VALUES (%s, ...)` becomes
    multi-row INSERTs of MANY_ROWS rows; any other statement runs once per row."""
    match = _INSERT_VALUES.match(sql)
    if match is None:
        for row in rows:
            yield sql, row
        return
    head, one = match.groups()
    full = head + ", ".join([one] * MANY_ROWS)
    for start in range(0, len(rows), MANY_ROWS):
        chunk = rows[start : start + MANY_ROWS]
        text = full if len(chunk) == MANY_ROWS else head + ", ".join([one] * len(chunk))
        yield text, [v for r in chunk for v in r]


def qmark(sql: str) -> str:
    """`sql` with paramstyle 'format' placeholders as COM_STMT_PREPARE's `?`."""
    return re.sub(r"%([%s])", lambda m: "?" if m.group(1) == "s" else "%", sql)


class MySQLCursor:
    """One statement's result, read from the socket in batches."""

    __slots__ = ("_conn", "_convert", "_cursor", "_done", "columns", "rowcount")
    ERRORS: tuple[type[BaseException], ...] = (pymysql.err.MySQLError, OSError)

    def __init__(self, conn: Any, cursor: Any) -> None:
        self._conn = conn
        self._cursor = cursor
        result = cursor._result
        fields = result.fields if result is not None and result.field_count else None
        if fields:
            self.columns, self._convert = columns(fields)
            self.rowcount = -1
            self._done = False
        else:
            self.columns = None
            self._convert = None
            self.rowcount = cursor.rowcount
            self._done = True
            conn._running = False

    @classmethod
    def described(
        cls, conn: Any, cursor: Any, columns: list[Column] | None,
        convert: Callable[[tuple], tuple] | None,
    ) -> MySQLCursor:
        """A result whose columns are known already (a prepared statement's): none derived
        from the cursor's fields."""
        result = cls.__new__(cls)
        result._conn, result._cursor = conn, cursor
        result.columns, result._convert = columns, convert
        result.rowcount = -1 if columns is not None else cursor.rowcount
        result._done = columns is None
        return result

    def _fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        return self._cursor.fetchmany(size)

    def _close(self) -> None:
        self._cursor.close()

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        if self._done:
            return []
        try:
            rows = self._fetchmany(size)
        except self.ERRORS as exc:
            raise self._failed(exc) from None
        return self._took(rows, size)

    def _failed(self, exc: BaseException) -> errors.PgError:
        """A fetch failed: the result is over; the error to raise."""
        self._done = True
        self._conn._running = False
        return self._conn._error(exc)

    def _took(self, rows: list[tuple[Any, ...]], size: int) -> list[tuple[Any, ...]]:
        """Rows fetched for `size` asked, converted; fewer than asked: the result is done."""
        if len(rows) < size:
            self._done = True
            self._conn._running = False
        if self._convert is not None and rows:
            return list(map(self._convert, rows))
        return rows

    def close(self) -> None:
        try:
            self._close()  # reads and discards what is left
        except self.ERRORS as exc:
            self._conn._error(exc)
        else:
            if self._conn._current is self:  # nothing left for the next statement to finish
                self._conn._current = None
        finally:
            self._done = True
            self._conn._running = False


class MySQLConnection:
    """One pymysql connection with autocommit on and a PostgreSQL-friendly session."""

    cursor_class: type[MySQLCursor] = MySQLCursor

    def __init__(self, backend: MySQLBackend, database: str | None) -> None:
        self.backend = backend
        self._running = False
        self._broken = False
        self._statement = 0  # which statement a cancel is for
        self._cancel_lock = threading.Lock()
        self._current: MySQLCursor | None = None
        try:
            self._conn = _PyMySQLConnection(**backend.connect_args(database))
            self.thread_id = self._conn.thread_id()
            if not backend.probed:
                backend.server_version(self._conn.get_server_info())
            with self._conn.cursor() as cur:
                for statement in backend.init:
                    try:
                        cur.execute(statement)
                    except pymysql.err.MySQLError as exc:
                        if not backend.init_refusal_ok(exc):
                            raise
        except (pymysql.err.MySQLError, OSError) as exc:
            if getattr(self, "_conn", None) is not None:
                self._conn.close()
            raise backend.connect_error(exc) from None
        # The handshake is done: statements may run as long as they need.
        self._conn._read_timeout = self._conn._write_timeout = None

    @property
    def broken(self) -> bool:
        """The connection can serve no more statements (lost, or closed by the driver)."""
        return self._broken or not self._conn.open

    def _error(self, exc: Exception) -> errors.PgError:
        err = map_error(exc, self.backend.password)
        if err.sqlstate.startswith("08"):
            self._broken = True
        return err

    def _finish_current(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def execute(self, sql: str, params: Sequence[Any]) -> MySQLCursor:
        self._finish_current()
        cursor = pymysql.cursors.SSCursor(self._conn)
        with self._cancel_lock:  # waits for a KILL QUERY in flight, meant for the last one
            self._statement += 1
            self._running = True
        try:
            # Always %-format, even without parameters, so a literal % is
            # written %% whatever the statement (paramstyle 'format').
            cursor.execute(sql, tuple(params))
        except (pymysql.err.MySQLError, OSError) as exc:
            self._running = False
            raise self._error(exc) from None
        except (TypeError, ValueError) as exc:
            self._running = False
            raise errors.ProtocolViolation(f"bad statement parameters: {exc}") from None
        return self._result(sql, cursor)

    def _result(self, sql: str, cursor: Any) -> MySQLCursor:
        """The statement's result, the connection's current one until it is closed."""
        result = self.cursor_class(self, cursor)
        if result.columns is None and UPSERT.match(sql):
            result.rowcount = upsert_count(result.rowcount, cursor._result)
        self._current = result
        return result

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows through one INSERT (COPY FROM): multi-row INSERTs of MANY_ROWS rows,
        values escaped by the driver."""
        self._finish_current()
        self._running = True
        try:
            with self._conn.cursor() as cursor:
                for text, values in insert_batches(sql, rows):
                    cursor.execute(text, values)
        except (pymysql.err.MySQLError, OSError) as exc:
            raise self._error(exc) from None
        except (TypeError, ValueError) as exc:
            raise errors.DatatypeMismatch(f"bad COPY values: {exc}") from None
        finally:
            self._running = False

    def describe(self, sql: str, params: Sequence[Any]) -> list[Column] | None:
        """Columns from COM_STMT_PREPARE: the server plans but never runs it."""
        self._finish_current()
        query = qmark(sql)
        conn = self._conn
        try:
            conn._execute_command(COMMAND.COM_STMT_PREPARE, query)
            first = conn._read_packet().get_all_data()
            stmt_id, ncols, nparams = struct.unpack_from("<IHH", first, 1)
            for _ in range(nparams):
                conn._read_packet()
            if nparams and not conn.client_flag & CLIENT.DEPRECATE_EOF:
                conn._read_packet()
            fields = [conn._read_packet(FieldDescriptorPacket) for _ in range(ncols)]
            if ncols and not conn.client_flag & CLIENT.DEPRECATE_EOF:
                conn._read_packet()
            conn._execute_command(COMMAND.COM_STMT_CLOSE, struct.pack("<I", stmt_id))
        except (pymysql.err.MySQLError, OSError) as exc:
            raise self._error(exc) from None
        if not fields:
            return None
        return columns(fields)[0]

    @property
    def in_transaction(self) -> bool:
        return bool(self._conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)

    def cancel(self) -> None:
        """KILL QUERY from a second short-lived connection: MySQL's only way.

        Harmless when late: sent only while the statement it is for still runs,
        with the next statement held back until it has landed.
        """
        with self._cancel_lock:
            if not self._running:
                return
            target = self._statement
        backend = self.backend
        timeout = min(backend.connect_timeout, 5)
        try:
            killer = _PyMySQLConnection(**backend.connect_args(None, connect_timeout=timeout))
        except (pymysql.err.MySQLError, OSError) as exc:
            raise backend.connect_error(exc) from None
        try:
            with self._cancel_lock, killer.cursor() as cur:
                if not self._running or self._statement != target:
                    log.debug("statement finished before its cancel: no KILL QUERY sent")
                    return
                cur.execute(f"KILL QUERY {int(self.thread_id)}")
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] == UNKNOWN_THREAD:
                log.debug("KILL QUERY found no connection %d: it is gone", self.thread_id)
                return
            raise map_error(exc, backend.password) from None
        finally:
            killer.close()

    def abort(self) -> None:
        """Shut the socket from any thread: a call blocked on a hung server returns at once."""
        self._broken = True
        sock = self._conn._sock
        if sock is not None:
            shut_down(sock)

    def close(self) -> None:
        if self._current is not None and not self._broken:
            try:
                self._finish_current()
            except errors.PgError:
                pass
        if self._broken:
            # pymysql's finalizers would try to drain a dead socket and print
            # tracebacks; there is nothing left to read.
            result = self._conn._result
            if result is not None:
                result.unbuffered_active = False
            if self._current is not None:
                self._current._cursor.connection = None
        self._current = None
        try:
            self._conn.close()
        except (pymysql.err.MySQLError, OSError):
            pass


class MySQLBackend:
    """A MySQL or MariaDB server (or a Dolt sql-server) reached with pymysql."""

    paramstyle = "format"

    def __init__(
        self,
        url: str,
        *,
        name: str = "mysql",
        dialect: str = "mysql",
        init: Sequence[str] = _INIT,
        strict_init: bool = True,
        driver: str = "asyncmy",
    ) -> None:
        self.url = url
        self.name = name
        self.dialect = dialect
        self.capabilities = registry.capabilities(dialect)
        self.init = tuple(init)
        self.strict_init = strict_init
        parts, self.user, self.password, self.database = url_parts(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 3306
        options = dict(parse_qsl(parts.query))
        self.connect_timeout = connect_timeout(options, url)
        self.charset = options.get("charset", "utf8mb4")
        driver = options.get("driver", driver)
        if driver not in DRIVERS:
            raise errors.InvalidParameterValue(
                f"driver must be one of {', '.join(DRIVERS)} in {redact_url(url)}")
        # asyncmy runs on the event loop: the proxy runs this backend's calls in greenlets
        # there (workers.Workers(greenlets=True)), not in threads.
        self.greenlets = driver == "asyncmy"
        if self.greenlets:
            from pgproxy.backends.mysql_async import AsyncMySQLConnection

            self._connection: Callable[..., Any] = AsyncMySQLConnection
        else:
            self._connection = MySQLConnection
        # Whether the server's version is known; a MySQL URL may reach MariaDB, whose
        # dialect runs INSERT/DELETE ... RETURNING. Sessions connect before their first
        # statement until it is (Proxy.open_session), so no statement is translated blind.
        self.probed = dialect not in MYSQL_SERVERS

    def server_version(self, version: str) -> None:
        """Called with the first connection's version string: MariaDB gets its own dialect."""
        if "mariadb" in version.lower():
            self.dialect = "mariadb"
            # SET a = b, b = a reads the old row as PostgreSQL does (MySQL assigns left to
            # right); MariaDB 10.3.5+ has the mode.
            self.init = tuple(
                s.replace(SQL_MODE, SQL_MODE + ",SIMULTANEOUS_ASSIGNMENT") for s in self.init)
            self.capabilities = registry.capabilities(self.dialect)
        self.probed = True

    def connect_error(self, exc: Exception) -> errors.PgError:
        """A failed connect as 08001 (a refusal of a database, say, keeps its own code)."""
        err = map_error(exc, self.password)
        if not err.sqlstate.startswith("08"):
            return err
        reason = err.message
        if "timed out" in reason:
            reason = f"no answer within connect_timeout ({self.connect_timeout:g} s)"
        return errors.from_sqlstate(
            "08001",
            f"could not connect to the {self.name} backend at {self.host}:{self.port}: {reason}",
            detail=err.detail,
        )

    def connect_args(self, database: str | None, **overrides: Any) -> dict[str, Any]:
        # The connect timeout bounds the handshake's reads and writes too; the
        # connection clears them once it is open.
        timeout = overrides.get("connect_timeout", self.connect_timeout)
        args = {
            "host": self.host,
            "port": self.port,
            "user": self.user or "root",
            "password": self.password or "",
            "database": database or self.database,
            "charset": self.charset,
            "autocommit": True,
            "client_flag": CLIENT.FOUND_ROWS,
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "write_timeout": timeout,
        }
        args.update(overrides)
        return args

    def connect(self, database: str | None = None) -> Any:
        return self._connection(self, database)

    def init_refusal_ok(self, exc: Exception) -> bool:
        """May a session go on after the server refused one of `init`'s settings with `exc`?"""
        errno = exc.args[0] if exc.args else 0
        # refused (Dolt), unless the connection itself failed
        return not self.strict_init and isinstance(errno, int) and errno < 2000

    def close(self) -> None:
        # No pool: connections belong to their sessions and close with them.
        pass

    def redacted_url(self) -> str:
        return redact_url(self.url)


def mariadb(url: str) -> MySQLBackend:
    """`mariadb://`: MySQL's dialect plus system-versioned tables, so a timestamp
    AS OF becomes `FOR SYSTEM_TIME AS OF TIMESTAMP '...'` (commits and branches: 0A000)."""
    return MySQLBackend(url, name="mariadb", dialect="mariadb")


def dolt_mysql(url: str) -> MySQLBackend:
    """`dolt+mysql://`: a Dolt sql-server is MySQL on the wire, with history."""
    return MySQLBackend(
        url,
        name="dolt+mysql",
        dialect="dolt",
        # Dolt accepts these settings but not every sql_mode flag in every
        # version; a refusal must not make the server unusable.
        strict_init=False,
    )
