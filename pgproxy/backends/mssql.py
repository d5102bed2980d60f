"""SQL Server through python-tds (pytds): pure Python TDS, parameters bound server-side.

URL
  mssql://user:pw@host:1433/db?encrypt=true&trust_server_certificate=false
Query options
  encrypt                   true: TLS for the whole session (TDS 7.4 style), verified
                            against sslrootcert; false (default): none
  trust_server_certificate  true: TLS without verifying the server's certificate
                            (encrypt implied), as SQL Server's own drivers spell it
  sslrootcert               the CA file that verifies the server (default: the
                            system's bundle)
  application_name          the program name SQL Server shows (app_name, default pgproxy)
  connect_timeout           seconds for the connect and login (default 10)
A client's database name, when given to connect(), replaces the URL's.

Why python-tds (benchmarks/bench_mssql_drivers.py measured it against
pymssql on the mock TDS server): a statement's parameters travel as RPC
parameters of sp_executesql, never pasted into the SQL text (pymssql quotes
them into the text on the client); a cancel is TDS's attention packet
written on the same socket from another thread while the worker keeps
reading (pymssql's dbcancel also reads, racing the worker); it is pure
Python. TLS is Python's ssl module (mssql_tls.py), which also gives
trust_server_certificate, something python-tds's own TLS cannot.

The session runs with autocommit on: transaction state is the server's
(ENVCHANGE begin/commit tokens, which pytds tracks), never a guess.
Results stream: rows are read from the socket in fetch-sized batches.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import logging
import re
import threading
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

import pytds
import pytds.tds_base

from pgproxy import errors, pgtypes
from pgproxy.backends import (
    connect_timeout,
    mssql_errors,
    mssql_tls,
    mssql_types,
    redact_url,
    registry,
    scrub,
    shut_down,
    url_parts,
)
from pgproxy.backends.base import Column

log = logging.getLogger("pgproxy.backends.mssql")
# python-tds logs every statement's text at INFO: a driver trace, shown when the proxy
# itself runs at debug, else kept off the statement path.
if log.getEffectiveLevel() > logging.DEBUG:
    logging.getLogger("pytds").setLevel(logging.WARNING)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# The socket is gone or its stream unreadable: the connection serves no more statements.
_LOST = (OSError, ValueError, pytds.tds_base.ClosedConnectionError,
         pytds.tds_base.OperationalError)


def _flag(options: dict[str, str], name: str, url: str) -> bool:
    value = options.get(name, "false").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise errors.InvalidParameterValue(f"{name} must be true or false in {redact_url(url)}")


# A bound value's type as sp_describe_first_result_set's @params declares it.
_DECLARED: tuple[tuple[type, str], ...] = (
    (bool, "bit"),
    (int, "bigint"),
    (float, "float"),
    (decimal.Decimal, "decimal(38, 10)"),
    (str, "nvarchar(max)"),
    (bytes, "varbinary(max)"),
    (datetime.datetime, "datetime2"),
    (datetime.date, "date"),
    (datetime.time, "time"),
    (uuid.UUID, "uniqueidentifier"),
)


_FORMAT = re.compile(r"%%|%s")


def _bound(value: Any) -> Any:
    """A parameter as python-tds must get it: bytes as VARBINARY, not (UTF-8) text."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return pytds.Binary(bytes(value))
    return value


def _declared(value: Any) -> str:
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return "datetimeoffset"
    for kind, name in _DECLARED:
        if isinstance(value, kind):
            return name
    return "sql_variant"


_DECIMAL_CODES = (106, 108, 55, 63)  # DECIMAL / NUMERIC


def _scaled(rows: list[tuple[Any, ...]], scales: list[tuple[int, decimal.Decimal]]
            ) -> list[tuple[Any, ...]]:
    """DECIMAL values with their column's scale: python-tds divides, so 1.50 came back 1.5."""
    out = []
    for row in rows:
        values = list(row)
        for i, exponent in scales:
            if values[i] is not None:
                values[i] = values[i].quantize(exponent)
        out.append(tuple(values))
    return out


class MSSQLCursor:
    """One statement's result, read from the socket in batches."""

    __slots__ = ("_conn", "_cursor", "_done", "_scales", "columns", "rowcount")

    def __init__(self, conn: MSSQLConnection, cursor: Any) -> None:
        self._conn = conn
        self._cursor = cursor
        description = cursor.description
        self._scales = [(i, decimal.Decimal(1).scaleb(-d[5])) for i, d in
                        enumerate(description or ()) if d[1] in _DECIMAL_CODES and d[5]]
        if description:
            self.columns = [_column(d) for d in description]
            self.rowcount = -1
            self._done = False
        else:
            self.columns = None
            self.rowcount = cursor.rowcount
            self._done = True
            conn._finished()

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        if self._done:
            return []
        try:
            rows = self._cursor.fetchmany(size)
        except (pytds.tds_base.Error, OSError, ValueError) as exc:
            self._done = True
            self._conn._finished()
            raise self._conn._error(exc) from None
        if len(rows) < size:
            self._done = True
            self._conn._finished()
            if self._conn._cancelled:  # the attention's acknowledgement cut the rows short
                self._conn._cancelled = False
                raise errors.QueryCanceled("canceling statement due to user request")
        return _scaled(rows, self._scales) if self._scales else rows

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            while self._cursor.fetchmany(10000):  # the rest, so the connection is usable
                pass
        except (pytds.tds_base.Error, OSError) as exc:
            self._conn._error(exc)
        finally:
            self._conn._finished()


def _column(d: Sequence[Any]) -> Column:
    oid, typmod = mssql_types.by_code(d[1], d[3], d[4], d[5])
    return Column(d[0] or "?column?", oid, pgtypes.TYPES[oid].size, typmod)


class MSSQLConnection:
    """One python-tds connection with autocommit on."""

    def __init__(self, backend: MSSQLBackend, database: str | None) -> None:
        self.backend = backend
        self._broken = False
        self._running = False
        self._cancelled = False
        self._lock = threading.Lock()  # a cancel's attention vs the statement's end
        self._current: MSSQLCursor | None = None
        try:
            self._conn = pytds.connect(**backend.connect_args(database))
        except Exception as exc:  # python-tds raises bare Exceptions from its TLS setup too
            raise backend.connect_error(exc) from None
        self._session = self._conn._tds_socket.main_session

    @property
    def broken(self) -> bool:
        return self._broken or self._conn._tds_socket is None

    def _error(self, exc: Exception) -> errors.PgError:
        if self._cancelled:
            self._cancelled = False
            return errors.QueryCanceled("canceling statement due to user request")
        number = getattr(exc, "msg_no", None) or getattr(exc, "number", None)
        if isinstance(number, int) and number:  # the server's own error
            message = getattr(exc, "text", None) or str(exc)
            return mssql_errors.map_error(number, message, self.backend.password)
        if isinstance(exc, _LOST):
            self._broken = True
            return errors.from_sqlstate(
                "08006", f"connection to the SQL Server backend failed: {exc}")
        if isinstance(exc, pytds.tds_base.DataError):  # a value the driver cannot send
            return errors.from_sqlstate("22023", f"SQL Server cannot take this value: {exc}")
        return errors.from_sqlstate("XX000", f"SQL Server driver error: {exc}")

    def _finished(self) -> None:
        with self._lock:
            self._running = False

    def _finish_current(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def execute(self, sql: str, params: Sequence[Any]) -> MSSQLCursor:
        self._finish_current()
        cursor = self._conn.cursor()
        with self._lock:
            self._running = True
            self._cancelled = False
        try:
            if params:
                # sp_executesql: %% is a literal %. python-tds sends plain bytes as text.
                cursor.execute(sql, tuple(map(_bound, params)))
            else:
                cursor.execute(sql.replace("%%", "%"))  # a plain batch: no %-formatting
        except (pytds.tds_base.Error, OSError, ValueError) as exc:
            # ValueError: python-tds read a malformed reply; the stream is lost (08006)
            self._finished()
            raise self._error(exc) from None
        except TypeError as exc:
            self._finished()
            raise errors.DatatypeMismatch(f"a parameter SQL Server cannot take: {exc}") from None
        if self._cancelled and not cursor.description:
            self._finished()
            self._cancelled = False
            raise errors.QueryCanceled("canceling statement due to user request")
        result = MSSQLCursor(self, cursor)
        self._current = result
        return result

    def describe(self, sql: str, params: Sequence[Any]) -> list[Column] | None:
        """Columns from sp_describe_first_result_set: SQL Server plans but never runs it.
        Each @Pn is declared by its bound value's type (sql_variant when unbound)."""
        self._finish_current()
        numbers = itertools.count(1)
        # %s is the next @Pn, %% a literal % (the format paramstyle's text)
        text = _FORMAT.sub(lambda m: "%" if m.group() == "%%" else f"@P{next(numbers)}", sql)
        names = [f"@P{i}" for i in range(1, next(numbers))]
        values = list(params) + [None] * (len(names) - len(params))
        declared = ", ".join(f"{n} {_declared(v)}" for n, v in zip(names, values, strict=False))
        cursor = self._conn.cursor()
        try:
            cursor.execute("EXEC sp_describe_first_result_set %s, %s", (text, declared or None))
            rows = cursor.fetchall() if cursor.description else []
        except (pytds.tds_base.Error, OSError, ValueError) as exc:
            raise self._error(exc) from None
        columns = []
        for row in rows:
            if row[0]:  # is_hidden
                continue
            oid, typmod = mssql_types.by_name(row[5] or "")
            columns.append(Column(row[2] or "?column?", oid, pgtypes.TYPES[oid].size, typmod))
        return columns or None

    @property
    def in_transaction(self) -> bool:
        tds = self._conn._tds_socket
        return bool(tds is not None and tds.tds72_transaction)

    def cancel(self) -> None:
        """TDS attention on the statement's own socket; the worker reads the server's
        acknowledgement and reports 57014. Harmless when the statement already ended."""
        with self._lock:
            if not self._running or self._broken:
                return
            self._cancelled = True
            try:
                self._session.put_cancel()
            except (pytds.tds_base.Error, OSError) as exc:
                log.debug("attention not sent: %s", exc)

    def abort(self) -> None:
        """Shut the socket from any thread: a call blocked on a hung server returns at once."""
        self._broken = True
        tds = self._conn._tds_socket
        sock = getattr(tds, "sock", None)
        sock = getattr(sock, "_transport", sock)  # under TLS: the TCP socket beneath
        if sock is not None:
            shut_down(sock)

    def close(self) -> None:
        if self._current is not None and not self._broken:
            try:
                self._finish_current()
            except errors.PgError:
                pass
        self._current = None
        try:
            self._conn.close()
        except (pytds.tds_base.Error, OSError):
            pass


class MSSQLBackend:
    """A SQL Server (or anything speaking TDS 7.x) reached with python-tds."""

    name = "mssql"
    dialect = "tsql"
    paramstyle = "format"

    def __init__(self, url: str) -> None:
        self.url = url
        self.capabilities = registry.capabilities(self.dialect)
        parts, self.user, self.password, self.database = url_parts(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1433
        options = {k.lower().replace(" ", "_"): v for k, v in parse_qsl(parts.query)}
        self.trust = _flag(options, "trust_server_certificate", url)
        self.encrypt = _flag(options, "encrypt", url) or self.trust
        self.cafile = options.get("sslrootcert") or mssql_tls.SYSTEM_CA
        self.app_name = options.get("application_name", options.get("app_name", "pgproxy"))
        self.connect_timeout = connect_timeout(options, url)

    def connect_args(self, database: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {
            "dsn": self.host,
            "port": self.port,
            "user": self.user or "sa",
            "password": self.password or "",
            "database": database or self.database or "master",
            "autocommit": True,
            "appname": self.app_name,
            "login_timeout": self.connect_timeout,
            "disable_connect_retry": True,
            "bytes_to_unicode": True,
        }
        if self.encrypt:
            args.update(mssql_tls.options(self.cafile, self.trust))
        return args

    def connect_error(self, exc: Exception) -> errors.PgError:
        number = getattr(exc, "msg_no", None) or getattr(exc, "number", None)
        if isinstance(number, int) and number and number != 18456:  # 18456: login failed
            return mssql_errors.map_error(number, str(exc), self.password)
        cause: BaseException | None = exc
        while cause is not None and not str(cause):  # pytds wraps the socket's error
            cause = cause.__cause__ or cause.__context__
        reason = scrub(str(cause or exc) or type(exc).__name__, self.password)
        return errors.from_sqlstate(
            "08001", f"could not connect to the mssql backend at {self.host}:{self.port}: {reason}"
        )

    def connect(self, database: str | None = None) -> MSSQLConnection:
        return MSSQLConnection(self, database)

    def close(self) -> None:
        pass  # no pool: connections belong to their sessions

    def redacted_url(self) -> str:
        return redact_url(self.url)


# Babelfish sends no ENVCHANGE for a batch's BEGIN / COMMIT / ROLLBACK TRANSACTION (only for
# TDS transaction-manager requests), so python-tds never sees one begin: after such a
# statement the connection asks @@TRANCOUNT. It does send one when it ends a transaction on
# an error, which python-tds reads as a 0 descriptor.
_TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN\s+TRAN|COMMIT|ROLLBACK|IF\s+@@TRANCOUNT)", re.I)
_BEGUN = 1  # a descriptor for a transaction Babelfish gave none for (it skips the headers)


class BabelfishConnection(MSSQLConnection):
    """A python-tds connection to Babelfish, with its transaction state read right."""

    def execute(self, sql: str, params: Sequence[Any]) -> MSSQLCursor:
        result = super().execute(sql, params)
        if _TRANSACTION_CONTROL.match(sql):
            cursor = self._conn.cursor()
            try:
                cursor.execute("SELECT @@TRANCOUNT")
                (count,) = cursor.fetchone()
            except (pytds.tds_base.Error, OSError, ValueError) as exc:
                raise self._error(exc) from None
            self._conn._tds_socket.tds72_transaction = _BEGUN if count else 0
        return result


class BabelfishBackend(MSSQLBackend):
    """Babelfish for PostgreSQL through its TDS port: `babelfish://user:pw@host:1433/db`,
    the same options as mssql://; its own dialect for what it spells differently."""

    name = "babelfish"
    dialect = "babelfish"

    def connect(self, database: str | None = None) -> MSSQLConnection:
        return BabelfishConnection(self, database)
