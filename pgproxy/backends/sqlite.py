"""SQLite through apsw: the embedded default backend.

URLs
  sqlite:///abs/path/app.db   absolute path (URL semantics, as in file:///)
  sqlite:////abs/path/app.db  also absolute (SQLAlchemy's spelling)
  sqlite:relative/app.db      relative to the working directory; so is
  sqlite://relative/app.db    (note: SQLAlchemy reads sqlite:///x.db as
                               relative; here three slashes always mean "/")
  sqlite://:memory:           one in-memory database per Backend, shared by
                              all its connections (memdb VFS), gone at close()
Query options: busy_timeout (ms, default 5000), journal_mode (default wal for
files), synchronous, foreign_keys (default on), mode=ro.

apsw rather than stdlib sqlite3 because it reports each result column's
declared type, which is how a BOOLEAN or NUMERIC(10,2) column reaches the
client with the right OID; it also releases the GIL while stepping and has
Connection.interrupt() for cancel.

Type decisions (declared type -> OID):
  INTEGER, INT, INT4, MEDIUMINT -> int4, except an INTEGER column in the
  table's primary key -> int8 (it is the 64-bit rowid; serial columns made
  through the proxy are INT/BIGINT with a sequence's default, not the rowid);
  BIGINT/INT8 -> int8; SMALLINT/TINYINT -> int2; REAL, DOUBLE, FLOAT -> float8
  (SQLite's REAL is 8 bytes); FLOAT4 -> float4; other names follow SQLite's
  affinity rules; an unknown name -> text. Columns without a declared
  type (expressions, untyped columns) are typed from the first rows:
  int -> int8, float -> float8, str -> text, bytes -> bytea, all NULL -> text.
Values: bool columns come back as bool, NUMERIC as Decimal quantized to the
declared scale; DATE/TIME/TIMESTAMP/UUID/JSON stay the text SQLite stores.
SQLite's 1/0 is NULL, not an error: the dialect divides by pgproxy_nonzero(),
one of the functions sqlite_functions.py registers on each connection.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import apsw

from pgproxy import errors, pgtypes, workers
from pgproxy.backends import (
    Converter,
    constraints,
    registry,
    row_converter,
    sqlite_functions,
    sqlite_sequences,
)
from pgproxy.backends.base import Column
from pgproxy.types.numbers import decimal_str

# Rows read ahead to type columns that have no declared type.
_INFER_ROWS = 64
# The most rows a cursor reads ahead (SQLiteCursor.read_ahead): psycopg's server-side
# cursor FETCHes 100 or its itersize, pgjdbc its fetch size.
READ_AHEAD = 20_000
# SQLite virtual-machine steps between two looks at an inline statement's deadline:
# about 10-50 µs of work, so a read past the budget stops within a fraction of it.
_PROGRESS_STEPS = 1000
# How long to sleep between tries at a lock another connection holds, in ms: SQLite's
# own busy_timeout schedule (sqliteDefaultBusyCallback), then the last one on and on.
_BUSY_DELAYS = (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100)
_BUSY_WAITED = tuple(itertools.accumulate(_BUSY_DELAYS, initial=0))  # before each try

_EXACT: dict[str, int] = {
    "BOOL": pgtypes.BOOL,
    "BOOLEAN": pgtypes.BOOL,
    "TINYINT": pgtypes.INT2,
    "SMALLINT": pgtypes.INT2,
    "INT2": pgtypes.INT2,
    "INT": pgtypes.INT4,
    "INTEGER": pgtypes.INT4,
    "INT4": pgtypes.INT4,
    "MEDIUMINT": pgtypes.INT4,
    "BIGINT": pgtypes.INT8,
    "INT8": pgtypes.INT8,
    "UNSIGNED BIG INT": pgtypes.INT8,
    "REAL": pgtypes.FLOAT8,
    "DOUBLE": pgtypes.FLOAT8,
    "DOUBLE PRECISION": pgtypes.FLOAT8,
    "FLOAT": pgtypes.FLOAT8,
    "FLOAT8": pgtypes.FLOAT8,
    "FLOAT4": pgtypes.FLOAT4,
    "TEXT": pgtypes.TEXT,
    "CLOB": pgtypes.TEXT,
    "STRING": pgtypes.TEXT,
    "VARCHAR": pgtypes.VARCHAR,
    "CHARACTER VARYING": pgtypes.VARCHAR,
    "NVARCHAR": pgtypes.VARCHAR,
    "VARYING CHARACTER": pgtypes.VARCHAR,
    "NATIVE CHARACTER": pgtypes.BPCHAR,
    "CHAR": pgtypes.BPCHAR,
    "CHARACTER": pgtypes.BPCHAR,
    "NCHAR": pgtypes.BPCHAR,
    "BPCHAR": pgtypes.BPCHAR,
    "BLOB": pgtypes.BYTEA,
    "BYTEA": pgtypes.BYTEA,
    "NUMERIC": pgtypes.NUMERIC,
    "DECIMAL": pgtypes.NUMERIC,
    "DATE": pgtypes.DATE,
    "TIME": pgtypes.TIME,
    "TIME WITHOUT TIME ZONE": pgtypes.TIME,
    "TIMETZ": pgtypes.TIMETZ,
    "TIME WITH TIME ZONE": pgtypes.TIMETZ,
    "TIMESTAMP": pgtypes.TIMESTAMP,
    "DATETIME": pgtypes.TIMESTAMP,
    "TIMESTAMP WITHOUT TIME ZONE": pgtypes.TIMESTAMP,
    "TIMESTAMPTZ": pgtypes.TIMESTAMPTZ,
    "TIMESTAMP WITH TIME ZONE": pgtypes.TIMESTAMPTZ,
    "INTERVAL": pgtypes.INTERVAL,
    "INET": pgtypes.INET,
    "CIDR": pgtypes.CIDR,
    "JSON": pgtypes.JSON,
    "JSONB": pgtypes.JSONB,
    "UUID": pgtypes.UUID,
    "OID": pgtypes.OID,
}

# Ranges and multiranges hold their canonical text (pgproxy/types/ranges.py).
_EXACT.update({name.upper(): oid for r in pgtypes.RANGES for name, oid in (r[:2], r[4:6])})

_NOT_NUMERIC = frozenset({"POINT", "INTERVAL", "INET", "CIDR", "INT2VECTOR"})

_DECLTYPE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$"
)


def _affinity_oid(name: str) -> int:
    # SQLite's own rules (https://sqlite.org/datatype3.html#determination_of_column_affinity),
    # except for PostgreSQL types whose names only look numeric (int4range, point): text
    if name.endswith("RANGE") or name in _NOT_NUMERIC:
        return pgtypes.TEXT
    if "INT" in name:
        return pgtypes.INT8
    if "CHAR" in name or "CLOB" in name or "TEXT" in name:
        return pgtypes.TEXT
    if "BLOB" in name:
        return pgtypes.BYTEA
    if "REAL" in name or "FLOA" in name or "DOUB" in name:
        return pgtypes.FLOAT8
    return pgtypes.TEXT


def declared_type(decltype: str) -> tuple[int, int, int | None]:
    """(oid, typmod, numeric scale or None) for a declared column type."""
    if decltype.rstrip().endswith("[]"):
        # An array column (`INT[]`) holds a JSON array (dialects/arrays.py).
        element = declared_type(decltype.rstrip()[:-2])[0]
        info = pgtypes.TYPES.get(element)
        return (info.array_oid if info and info.array_oid else pgtypes.TEXT_ARRAY), -1, None
    m = _DECLTYPE.match(decltype)
    if m is None:
        return _affinity_oid(decltype.upper()), -1, None
    name = " ".join(m.group(1).upper().split())
    if name.startswith("INTERVAL "):
        name = "INTERVAL"  # interval day, interval hour to minute: fields restrict input only
    oid = _EXACT.get(name)
    if oid is None:
        return _affinity_oid(name), -1, None
    arg1, arg2 = m.group(2), m.group(3)
    if oid == pgtypes.NUMERIC and arg1 is not None:
        scale = int(arg2) if arg2 is not None else 0
        return oid, ((int(arg1) << 16) | scale) + 4, scale
    if oid in (pgtypes.VARCHAR, pgtypes.BPCHAR) and arg1 is not None:
        return oid, int(arg1) + 4, None
    return oid, -1, None


_TRUE = frozenset({"t", "true", "1", "y", "yes", "on"})
_FALSE = frozenset({"f", "false", "0", "n", "no", "off"})


# What SQLite may hold in a BOOLEAN column, to bool; anything else is left as is.
_BOOL_VALUES: dict[Any, bool] = {0: False, 1: True}
for _word in _TRUE:
    _BOOL_VALUES.update({_word: True, _word.upper(): True, _word.capitalize(): True})
for _word in _FALSE:
    _BOOL_VALUES.update({_word: False, _word.upper(): False, _word.capitalize(): False})


def _decimal_converter(scale: int | None) -> Callable[[Any], Any]:
    quantum = decimal.Decimal(1).scaleb(-scale) if scale is not None else None

    def convert(v: Any) -> Any:
        try:
            d = decimal.Decimal(repr(v)) if isinstance(v, float) else decimal.Decimal(v)
        except (decimal.InvalidOperation, TypeError, ValueError):
            return v
        if quantum is not None and d.is_finite():
            try:
                d = d.quantize(quantum)
            except decimal.InvalidOperation:
                pass
        return d

    return convert


def _infer_oid(values: list[Any]) -> int:
    """Type of an undeclared column from sample values: int < float < text."""
    oid = None
    for v in values:
        if v is None:
            continue
        if isinstance(v, bytes):
            t = pgtypes.BYTEA
        elif isinstance(v, int):
            t = pgtypes.INT8
        elif isinstance(v, float):
            t = pgtypes.FLOAT8
        else:
            t = pgtypes.TEXT
        if oid is None or oid == t:
            oid = t
        elif {oid, t} == {pgtypes.INT8, pgtypes.FLOAT8}:
            oid = pgtypes.FLOAT8
        else:
            return pgtypes.TEXT
    return pgtypes.TEXT if oid is None else oid


def _interval_text(td: datetime.timedelta) -> str:
    """PostgreSQL's output spelling ('1 day 01:00:00'), which its input also reads."""
    minutes, seconds = divmod(td.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if td.microseconds:
        clock += f".{td.microseconds:06d}"
    if not td.days:
        return clock
    unit = "day" if td.days in (1, -1) else "days"
    return f"{td.days} {unit} {'+' if td.days < 0 else ''}{clock}"


def _bind(cursor: apsw.Cursor, number: int, value: Any) -> Any:
    """apsw's hook for Python values SQLite cannot bind natively."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, decimal.Decimal):
        return decimal_str(value)  # numeric_out's text: '1E-27' would read back as a float
    if isinstance(value, datetime.date | datetime.time | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return _interval_text(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"cannot bind parameter ${number} of type {type(value).__name__}")


# --- errors ---------------------------------------------------------------

_BY_EXTENDED: dict[int, str] = {
    apsw.SQLITE_CONSTRAINT_UNIQUE: "23505",
    apsw.SQLITE_CONSTRAINT_PRIMARYKEY: "23505",
    apsw.SQLITE_CONSTRAINT_ROWID: "23505",
    apsw.SQLITE_CONSTRAINT_NOTNULL: "23502",
    apsw.SQLITE_CONSTRAINT_FOREIGNKEY: "23503",
    apsw.SQLITE_CONSTRAINT_CHECK: "23514",
    apsw.SQLITE_CONSTRAINT_TRIGGER: "23000",
}

_BY_CLASS: dict[type[apsw.Error], str] = {
    apsw.InterruptError: "57014",
    apsw.BusyError: "55P03",
    apsw.LockedError: "55P03",
    apsw.MismatchError: "42804",
    apsw.TooBigError: "54000",
    apsw.ReadOnlyError: "25006",
    apsw.FullError: "53100",
    apsw.NoMemError: "53200",
    apsw.CantOpenError: "08006",
    apsw.IOError: "58030",
    apsw.CorruptError: "XX001",
    apsw.NotADBError: "XX001",
    apsw.ConstraintError: "23000",
    apsw.RangeError: "22023",
    apsw.BindingsError: "08P01",
    apsw.ConnectionClosedError: "08003",
}

# SQLITE_ERROR covers most user mistakes; only its message tells them apart.
_BY_MESSAGE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), code)
    for p, code in [
        (r"^no such table", "42P01"),
        (r"^no such column", "42703"),
        (r"^no such function|^wrong number of arguments to function", "42883"),
        (r"^no such index|^no such trigger|^no such view", "42704"),
        (r"^use DROP (TABLE|VIEW) to delete", "42809"),  # DROP TABLE of a view or sequence
        (r"^no such savepoint", "3B001"),
        (r"^(table|index|view|trigger) \S+ already exists", "42P07"),
        (r"^duplicate column name", "42701"),
        (r"^ambiguous column name", "42702"),
        (r"syntax error|^incomplete input|^unrecognized token|values were supplied", "42601"),
        (r"^cannot start a transaction within a transaction", "25001"),
        (r"^cannot (commit|rollback) - no transaction is active", "25P01"),
        (r"^misuse of aggregate|must appear in the GROUP BY", "42803"),
        (r"^datatype mismatch", "42804"),
        (r"^integer overflow", "22003"),
        (r"^too many SQL variables", "54000"),
        # SQLite's own depth limits (1,000 for an expression tree) are PostgreSQL's 54001.
        (r"^Expression tree is too large|^parser stack overflow", "54001"),
        (r"^too many terms in compound SELECT", "54000"),
        (r"^too many columns", "54011"),
        (r"^attempt to write a readonly database", "25006"),
        (r"^database is locked", "55P03"),
        (r"^interrupted", "57014"),
        (r"^malformed JSON", "22P02"),
        (r"^bad JSON path", "22023"),
        (r"^no tables specified", "42601"),  # SELECT * without FROM
        (r"^misuse of window function", "42P20"),
        (r"^no such collation sequence", "42704"),
    ]
]


def map_error(exc: apsw.Error) -> errors.PgError:
    """A PgError with the SQLSTATE that matches `exc`, keeping SQLite's message."""
    message = str(exc.args[0]) if exc.args else str(exc)
    code = _BY_EXTENDED.get(getattr(exc, "extendedresult", -1))
    if code is None:
        for pattern, c in _BY_MESSAGE:
            if pattern.search(message):
                code = c
                break
    if code is None:
        for cls, c in _BY_CLASS.items():
            if isinstance(exc, cls):
                code = c
                break
    if code == "57014":
        message = "canceling statement due to user request"
    error = errors.from_sqlstate(code or "XX000", message)
    if error.sqlstate.startswith("23"):
        return constraints.sqlite(error, getattr(exc, "extendedresult", -1))
    if error.sqlstate == "3B001":
        return constraints.savepoint(error)
    return error


# --- cursor, connection, backend -------------------------------------------


class SQLiteCursor:
    """One statement's result: columns typed once, rows converted per bound column.

    `read_ahead` starts reading the next rows in the backend's read-ahead
    thread while the client converts the last batch (between two FETCHes, when
    the event loop is idle: reading beside the loop's own work would only make
    the two threads take turns at the GIL). The read runs only while nothing else
    uses the connection (its lock, never waited for), and the next fetch or close
    waits for it first, so one call at a time touches the connection.
    """

    __slots__ = (
        "_ahead", "_conn", "_convert", "_cursor", "_done", "_ended", "_pending", "_rows",
        "columns", "rowcount",
    )

    def __init__(self, conn: SQLiteConnection, cursor: apsw.Cursor, description: tuple) -> None:
        self._conn = conn
        self._cursor = cursor
        self._rows = iter(cursor)
        self._ahead: list[tuple[Any, ...]] = []  # raw rows read before they were asked for
        self._pending: Future[list[tuple[Any, ...]]] | None = None  # a read-ahead under way
        self._done = False
        self._ended = False  # the statement has no rows beyond _ahead
        self.rowcount = -1
        if not description:
            self.columns = None
            self._convert: Callable[[tuple], tuple] | None = None
            return
        columns, self._convert, untyped = conn._columns(description)
        self.columns = list(columns)
        if untyped:
            self._ahead = self._read(_INFER_ROWS)
            self.columns = _fill_untyped(self.columns, untyped, self._ahead)

    def _read(self, size: int) -> list[tuple[Any, ...]]:
        try:
            rows = list(itertools.islice(self._rows, size))
        except apsw.Error as exc:
            self._done = True
            raise self._conn._error(exc) from None
        if len(rows) < size:
            self._ended = True
        return rows

    def _read_ahead(self, size: int) -> list[tuple[Any, ...]]:
        """In the read-ahead thread: the next raw rows, none if the connection is busy."""
        lock = self._conn._lock
        if not lock.acquire(blocking=False):
            return []
        try:
            return self._read(size)
        finally:
            lock.release()

    def _settle(self) -> None:
        """Wait for a read-ahead under way (or drop one not started); keep its rows."""
        pending, self._pending = self._pending, None
        if pending is not None and not pending.cancel():
            self._ahead += pending.result()  # its error, if it failed, is this call's

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        if self._pending is not None:
            self._settle()  # first: a read-ahead that failed has set _done, and raises here
        if self.columns is None or self._done:
            return []
        lock = self._conn._lock if self._conn.shared else None
        if lock is not None:
            lock.acquire()
        try:
            if self._ahead:
                rows, self._ahead = self._ahead[:size], self._ahead[size:]
                if len(rows) < size and not self._ended:
                    rows += self._read(size - len(rows))
            else:
                rows = [] if self._ended else self._read(size)
        finally:
            if lock is not None:
                lock.release()
        if len(rows) < size:
            self._done = True
        if self._convert is not None and rows:
            return list(map(self._convert, rows))
        return rows

    def ready(self, size: int) -> list[tuple[Any, ...]] | None:
        """Up to `size` rows a finished read-ahead holds, taken without touching the
        connection (on the event loop: no hand-off to a worker); None if it has not
        got that many yet (or failed: fetch() raises its error in the worker)."""
        pending = self._pending
        if pending is not None:
            if not pending.done() or pending.exception() is not None:
                return None
            self._settle()
        if (len(self._ahead) < size and not self._ended) or self.columns is None or self._done:
            return None
        rows, self._ahead = self._ahead[:size], self._ahead[size:]
        if len(rows) < size:
            self._done = True
        if self._convert is not None and rows:
            return list(map(self._convert, rows))
        return rows

    def read_ahead(self, size: int) -> None:
        """Start reading up to `size` more rows (at most READ_AHEAD) in the background."""
        size = min(size, READ_AHEAD) - len(self._ahead)
        if size > 0 and self._pending is None and not self._ended and not self._done:
            self._conn.shared = True  # from now on every call takes the connection's lock
            try:
                self._pending = self._conn.backend.read_ahead.submit(self._read_ahead, size)
            except RuntimeError:  # the backend is closing: the next fetch reads them
                pass

    def close(self) -> None:
        # Closing resets the statement; nothing is left to drain in SQLite.
        if self._pending is not None:
            try:
                self._settle()
            except errors.PgError:
                pass  # the rows it was reading are being discarded anyway
        self._ahead = []
        self._done = True
        lock = self._conn._lock if self._conn.shared else None
        if lock is not None:
            lock.acquire()
        try:
            self._cursor.close(force=True)
        except apsw.Error:
            pass
        finally:
            if lock is not None:
                lock.release()


def _fill_untyped(
    columns: list[Column], untyped: list[int], rows: list[tuple[Any, ...]]
) -> list[Column]:
    for i in untyped:
        oid = _infer_oid([r[i] for r in rows])
        c = columns[i]
        columns[i] = Column(c.name, oid, pgtypes.TYPES[oid].size, -1, c.table_oid, c.column_number)
    return columns


class SQLiteConnection:
    """One apsw connection; used by one session thread at a time."""

    def __init__(self, backend: SQLiteBackend) -> None:
        self.backend = backend
        # Held by every call into the connection once a cursor of it has read ahead
        # (`shared`; before that no other thread can be in it, and taking the lock
        # would only cost a point query): a read-ahead runs only when it can take it
        # at once, an inline call moves when it cannot.
        self._lock = threading.RLock()
        self.shared = False
        self._column_cache: dict[tuple, tuple] = {}
        self._cancelled = threading.Event()  # ends a pg_sleep() early: cancel() sets it
        self._cancel_set = False  # _cancelled is set: read per statement, with no call
        # A statement running inline on the event loop (workers.current.deadline set): whether
        # the progress handler stopped it there or it could not run there (a write, a wait),
        # either of which moves it to a worker thread.
        self._overran = False
        self._watched = False  # the progress handler is on (see _start)
        # The statement being prepared (_run): described only, and its description.
        self._describe_only = False
        self._description: tuple = ()
        self._on_exec = self._exec_trace  # one bound method for every cursor's exec_trace
        # A statement compiled since its exec_trace (_run): SQLite recompiled a cached one
        # on its first step after a schema change, and the description the trace took is
        # the old one (a column added, a table made again with other types).
        self._compiled = False
        try:
            self._conn = apsw.Connection(backend.filename, flags=backend.open_flags)
            self._conn.set_busy_handler(self._busy)
            self._conn.convert_binding = _bind
            self._conn.authorizer = self._authorize  # called only when SQLite compiles
            self.sequences = sqlite_sequences.install(self._conn)
            sqlite_functions.register(self._conn)
            self._conn.create_scalar_function("pg_sleep", self._sleep, 1, deterministic=False)
            for pragma in backend.pragmas:
                self._conn.execute(pragma).fetchall()
        except apsw.Error as exc:
            raise map_error(exc) from None

    def _columns(
        self, description: tuple
    ) -> tuple[list[Column], Callable[[tuple], tuple] | None, list[int]]:
        """Columns of a description, its row converter, and the untyped columns.

        Cached by description (names, declared types, origin): a repeated
        statement costs one dict lookup, not a walk through the type map.
        """
        cached = self._column_cache.get(description)
        if cached is None:
            if len(self._column_cache) > 512:
                self._column_cache.clear()
            cached = self._column_cache[description] = self._build_columns(description)
        return cached

    def _build_columns(
        self, description: tuple
    ) -> tuple[list[Column], Callable[[tuple], tuple] | None, list[int]]:
        columns: list[Column] = []
        convs: list[tuple[int, Converter]] = []
        untyped: list[int] = []
        for i, (name, decltype, dbname, table, origin) in enumerate(description):
            if not decltype:
                untyped.append(i)
                columns.append(Column(name, pgtypes.TEXT))
                continue
            oid, typmod, scale = declared_type(decltype)
            if oid == pgtypes.INT4 and table and decltype.upper() == "INTEGER":
                if self._is_primary_key(dbname, table, origin):
                    oid = pgtypes.INT8
            if oid == pgtypes.BOOL:
                convs.append((i, _BOOL_VALUES))
            elif oid == pgtypes.NUMERIC:
                convs.append((i, _decimal_converter(scale)))
            size = pgtypes.TYPES[oid].size if oid in pgtypes.TYPES else -1  # arrays: varlena
            columns.append(Column(name, oid, size, typmod, 0, 0))
        return columns, row_converter(len(columns), convs), untyped

    def _is_primary_key(self, dbname: str, table: str, column: str) -> bool:
        try:
            return bool(self._conn.column_metadata(dbname, table, column)[3])
        except apsw.Error:
            return False

    def _run(self, sql: str, params: Sequence[Any], describe_only: bool) -> tuple:
        """Prepare and bind `sql`; step it unless `describe_only`. (cursor, description)."""
        cursor = self._conn.cursor()
        self._describe_only = describe_only
        self._description = ()
        cursor.exec_trace = self._on_exec
        try:
            cursor.execute(sql, tuple(params))
            if self._compiled and self._description and not describe_only:
                # Recompiled after its trace: its description, from the statement prepared
                # again and described only (never run twice: a read may call nextval()).
                probe = self._conn.cursor()
                probe.exec_trace = self._on_exec
                self._describe_only = True
                try:
                    probe.execute(sql, tuple(params))
                except apsw.ExecTraceAbort:
                    pass
                finally:
                    self._describe_only = False
        except apsw.ExecTraceAbort:
            if self._overran and workers.current.deadline:
                raise workers.Moved from None
        return cursor, self._description

    def _authorize(self, *_: Any) -> int:
        self._compiled = True
        return apsw.SQLITE_OK

    def _exec_trace(self, cursor: apsw.Cursor, _sql: str, _bindings: Any) -> bool:
        # Only here is the description reliable: once a statement has run
        # to completion (an empty SELECT) apsw no longer reports it.
        self._description = cursor.description_full
        self._compiled = False
        if self._describe_only:
            return False
        if not cursor.is_readonly and workers.current.deadline:
            self._overran = True  # a write never runs on the loop: stopped before a step
            return False
        return True

    def _start(self) -> bool:
        """Ready the connection for a statement run on this thread.

        Inline on the event loop, SQLite calls the progress handler every
        _PROGRESS_STEPS steps; past the deadline it interrupts the statement, a
        read, which leaves nothing to undo (an interrupted write inside a
        transaction would roll the whole transaction back: writes never start
        there). It stays on while the connection's statements run inline, and
        goes off for one run in a worker thread, which then never takes the GIL
        for it mid-statement. True: it took the connection's lock (a cursor has read
        ahead), for the caller to release.
        """
        locked = False
        if self.shared:  # a read-ahead may be in the connection: one call at a time
            if not self._lock.acquire(blocking=not workers.current.deadline):
                raise workers.Moved  # inline: no wait on the loop, the call moves
            locked = True
        if workers.current.deadline:
            self._overran = False
            if not self._watched:
                self._conn.set_progress_handler(self._progress, _PROGRESS_STEPS)
                self._watched = True
        elif self._watched:
            self._conn.set_progress_handler(None)
            self._watched = False
        return locked

    def _progress(self) -> bool:
        deadline = workers.current.deadline  # 0.0 in a worker: a result read on there
        if not deadline or time.perf_counter() < deadline:
            return False
        self._overran = True
        return True  # SQLite stops the statement with SQLITE_INTERRUPT

    def _busy(self, tries: int) -> bool:
        """SQLite's busy handler, for a lock another connection holds: wait and try again
        (True) until busy_timeout has gone by, in a worker thread; never on the event loop,
        where the inline call fails at once and moves (_error)."""
        if workers.current.deadline:
            return False
        last = len(_BUSY_DELAYS) - 1
        if tries < last:
            delay, waited = _BUSY_DELAYS[tries], _BUSY_WAITED[tries]
        else:
            delay = _BUSY_DELAYS[last]
            waited = _BUSY_WAITED[last] + delay * (tries - last)
        delay = min(delay, self.backend.busy_timeout - waited)
        if delay <= 0:
            return False
        time.sleep(delay / 1000)
        return True

    def _error(self, exc: apsw.Error) -> Exception:
        """What to raise for `exc`: Moved where the inline call must go to a worker."""
        if workers.current.deadline and (self._overran or isinstance(exc, apsw.BusyError)):
            return workers.Moved()
        return map_error(exc)

    def _sleep(self, seconds: Any) -> None:
        """pg_sleep(seconds): waits in the worker thread; a cancel ends it with 57014."""
        if self.sequences.probing:  # a statement described, not run: no wait
            return
        if workers.current.deadline:  # never waits on the event loop: the statement moves
            self._overran = True
            raise workers.Moved
        if seconds is not None and self._cancelled.wait(max(0.0, float(seconds))):
            # sqlite3_interrupt() is not checked inside a function call, nor always after it.
            raise apsw.InterruptError("interrupted")

    def execute(self, sql: str, params: Sequence[Any]) -> SQLiteCursor:
        # No earlier result is closed here: the session closes those it is done with,
        # and a DECLAREd cursor's stays readable between statements (open_results).
        locked = self._start()
        try:
            if self._cancel_set:  # clear() takes the Event's lock: only when set
                self._cancel_set = False
                self._cancelled.clear()
            before = self._conn.total_changes()
            try:
                cursor, description = self._run(sql, params, describe_only=False)
                result = SQLiteCursor(self, cursor, description)
            except apsw.Error as exc:
                raise self._error(exc) from None
            if result.columns is None:
                # changes() keeps the last DML's count across DDL; total_changes tells
                # whether this statement changed anything at all.
                result.rowcount = (
                    self._conn.changes() if self._conn.total_changes() != before else 0
                )
            return result
        finally:
            if locked:
                self._lock.release()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows (COPY FROM): apsw steps it in C."""
        locked = self._start()
        try:
            self._conn.cursor().executemany(sql, rows)
        except apsw.Error as exc:
            raise map_error(exc) from None
        except TypeError as exc:  # a value _bind cannot take
            raise errors.DatatypeMismatch(str(exc)) from None
        finally:
            if locked:
                self._lock.release()

    def describe(self, sql: str, params: Sequence[Any]) -> list[Column] | None:
        locked = self._start()
        try:
            return self._describe(sql, params)
        finally:
            if locked:
                self._lock.release()

    def _describe(self, sql: str, params: Sequence[Any]) -> list[Column] | None:
        try:
            try:
                cursor, description = self._run(sql, params, describe_only=True)
            except apsw.BindingsError as exc:
                m = re.search(r"uses (\d+)", str(exc))
                if not m or int(m.group(1)) <= len(params):
                    raise
                params = list(params) + [None] * (int(m.group(1)) - len(params))
                cursor, description = self._run(sql, params, describe_only=True)
            cursor.close(force=True)
            if not description:
                return None
            columns, _, untyped = self._columns(description)
            columns = list(columns)
            if untyped:
                columns = self._describe_untyped(sql, params, columns, untyped)
            return columns
        except apsw.Error as exc:
            raise self._error(exc) from None

    def _describe_untyped(
        self, sql: str, params: Sequence[Any], columns: list[Column], untyped: list[int]
    ) -> list[Column]:
        """Type expression columns the way execute() will: from the first rows,
        but only for a read-only statement (running it has no side effects)."""
        probe = self._conn.cursor()
        readonly: list[bool] = []

        def trace(c: apsw.Cursor, _sql: str, _bindings: Any) -> bool:
            readonly.append(c.is_readonly)
            return c.is_readonly

        probe.exec_trace = trace
        self.sequences.probing = True  # nextval() in a SELECT must not advance when described
        try:
            try:
                probe.execute(sql, tuple(params))
            except (apsw.ExecTraceAbort, apsw.BindingsError):
                return columns
            try:
                rows = list(itertools.islice(probe, _INFER_ROWS))
            finally:
                probe.close(force=True)
        finally:
            self.sequences.probing = False
        return _fill_untyped(columns, untyped, rows)

    @property
    def in_transaction(self) -> bool:
        if self.shared:
            with self._lock:
                return not self._conn.getautocommit()
        return not self._conn.getautocommit()

    @property
    def writing(self) -> bool:
        """Whether the open transaction has written: its COMMIT writes pages back (and may
        wait for a lock), its ROLLBACK undoes them; else either only lets go of a read.
        Asked on the event loop while a read-ahead holds the connection: True, so that
        the caller moves to a worker rather than wait for it there."""
        if self.shared:
            if not self._lock.acquire(blocking=not workers.current.deadline):
                return True
            try:
                return self._conn.txn_state() == apsw.SQLITE_TXN_WRITE
            finally:
                self._lock.release()
        return self._conn.txn_state() == apsw.SQLITE_TXN_WRITE

    def cancel(self) -> None:
        self._cancel_set = True
        self._cancelled.set()
        self._conn.interrupt()

    # In-process, there is no socket to break off: abort() interrupts, and a
    # failed statement leaves the connection usable.
    abort = cancel
    broken = False

    def close(self) -> None:
        with self._lock:  # after a read-ahead under way
            try:
                self._conn.close(force=True)
            except apsw.Error:
                pass


class SQLiteBackend:
    """A SQLite database file (or a shared in-memory database) behind apsw."""

    name = "sqlite"
    dialect = "sqlite"
    paramstyle = "qmark"
    capabilities = registry.capabilities(dialect)

    _memory_ids = itertools.count(1)

    def __init__(self, url: str) -> None:
        self.url = url
        rest = url.split(":", 1)[1]
        rest, _, query = rest.partition("?")
        if rest.startswith("//"):
            rest = rest[2:]
        options = {k.lower(): v for k, v in parse_qsl(query)}
        self.busy_timeout = int(options.get("busy_timeout", "5000"))
        fk = options.get("foreign_keys", "on").lower() in _TRUE | {"on"}
        self.pragmas = [f"PRAGMA foreign_keys={'ON' if fk else 'OFF'}"]
        self._anchor: apsw.Connection | None = None
        self._connections: weakref.WeakSet[SQLiteConnection] = weakref.WeakSet()
        # Cursors' read-ahead (SQLiteCursor.read_ahead): a read not started when its
        # rows are asked for is dropped, so a busy pool delays no one.
        self.read_ahead = ThreadPoolExecutor(2, thread_name_prefix="pgproxy-sqlite-ahead")
        if rest in (":memory:", ""):
            # A private :memory: per connection would make every session see an
            # empty database; memdb names starting with '/' are shared in-process.
            self.memory = True
            self.filename = f"file:/pgproxy-memory-{next(self._memory_ids)}?vfs=memdb"
            self.open_flags = (
                apsw.SQLITE_OPEN_URI | apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
            )
            self._anchor = apsw.Connection(self.filename, flags=self.open_flags)
        else:
            self.memory = False
            self.filename = rest
            if options.get("mode", "").lower() == "ro":
                self.open_flags = apsw.SQLITE_OPEN_READONLY
            else:
                self.open_flags = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
                journal = options.get("journal_mode", "wal")
                if not re.fullmatch(r"[A-Za-z]+", journal):
                    raise errors.InvalidParameterValue(f"bad journal_mode {journal!r}")
                self.pragmas.append(f"PRAGMA journal_mode={journal}")
            if "synchronous" in options:
                sync = options["synchronous"]
                if not re.fullmatch(r"[A-Za-z0-9]+", sync):
                    raise errors.InvalidParameterValue(f"bad synchronous {sync!r}")
                self.pragmas.append(f"PRAGMA synchronous={sync}")

    def connect(self, database: str | None = None) -> SQLiteConnection:
        # One file is one database: the client's database name picks the route,
        # not anything inside SQLite.
        conn = SQLiteConnection(self)
        self._connections.add(conn)
        return conn

    def close(self) -> None:
        for conn in list(self._connections):
            conn.close()
        self.read_ahead.shutdown(wait=False, cancel_futures=True)
        if self._anchor is not None:
            self._anchor.close(force=True)
            self._anchor = None

    def redacted_url(self) -> str:
        return self.url
