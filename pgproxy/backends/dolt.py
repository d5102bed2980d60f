"""Dolt embedded in-process: native/ libdolt through cffi, no server.

URL
  dolt:///abs/path/to/dir?database=mydb   a directory of Dolt databases
  dolt://relative/dir?database=mydb       (relative to the working directory)
Query options: database (required: the default database), commitname and
commitemail (the author of commits made through the proxy; default
pgproxy <pgproxy@localhost>), create=true (create `database` even in a
non-empty directory), readonly=true (open read-only when another process,
such as a `dolt sql-server`, holds the directory; by default that is an error).

A missing or empty directory is initialised as `dolt init` would. One engine
per directory per process (libdolt shares it between every Backend naming
it); each Connection is a Dolt SQL session of its own, so a branch checkout
in one session never shows in another. `connect("mydb/feature-x")` opens the
revision database of that branch (or commit, or tag).

Calls go through cffi's ABI mode, which releases the GIL for the length of
each call: sessions run in parallel in their worker threads. Rows cross from
Go in batches, one buffer per batch, decoded here in one pass.

Sessions are set up as the dolt+mysql:// backend sets up its server sessions
(UTC, CLIENT_FOUND_ROWS, strict sql_mode), and types map the same way:
TINYINT(1)/BIT(1) -> bool, TIMESTAMP -> timestamptz tagged UTC, DATETIME ->
timestamp, DECIMAL -> numeric, JSON -> json, blobs -> bytea, and so on.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import struct
import threading
import uuid
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pgproxy import errors, pgtypes
from pgproxy.backends import mysql_errors, registry
from pgproxy.backends.base import Column

# --- the library ---------------------------------------------------------------

# The declarations of native/libdolt.h that cffi needs; keep in step with it.
_CDEF = """
typedef uint64_t dolt_handle;
typedef struct dolt_error { int32_t code; char sqlstate[8]; char *message; } dolt_error;
typedef struct dolt_result {
    dolt_handle stmt; int32_t ncols; int32_t done; int64_t rows_affected;
    uint64_t last_insert_id; const uint8_t *columns; size_t columns_len;
    const uint8_t *batch; size_t batch_len; int64_t nrows;
} dolt_result;
const char *dolt_version(void);
void dolt_free(void *p);
void dolt_error_clear(dolt_error *err);
dolt_handle dolt_open(const char *dir, const char *database, const char *commit_name,
                      const char *commit_email, uint32_t flags, dolt_error *err);
int32_t dolt_is_read_only(dolt_handle db);
int32_t dolt_close(dolt_handle db, dolt_error *err);
dolt_handle dolt_session_open(dolt_handle db, const char *database, dolt_error *err);
int32_t dolt_session_close(dolt_handle session);
int32_t dolt_in_transaction(dolt_handle session);
int32_t dolt_cancel(dolt_handle session);
dolt_handle dolt_query(dolt_handle session, const char *sql, size_t sql_len,
                       const uint8_t *params, size_t params_len, int32_t nparams,
                       dolt_error *err);
int32_t dolt_execute(dolt_handle session, const char *sql, size_t sql_len,
                     const uint8_t *params, size_t params_len, int32_t nparams,
                     int32_t max_rows, dolt_result *res, dolt_error *err);
int32_t dolt_stmt_info(dolt_handle stmt, int32_t *ncols, int64_t *rows_affected,
                       uint64_t *last_insert_id);
int32_t dolt_stmt_columns(dolt_handle stmt, const uint8_t **buf, size_t *len);
int64_t dolt_fetch(dolt_handle stmt, int32_t max_rows, const uint8_t **buf, size_t *len,
                   int32_t *done, dolt_error *err);
int32_t dolt_stmt_close(dolt_handle stmt, dolt_error *err);
"""

# DOLT_ERR_* and DOLT_OPEN_* from libdolt.h.
ERR_INTERNAL, ERR_BAD_HANDLE, ERR_CANCELED, ERR_LOCKED = -1, -2, -3, -4
ERR_NOT_DOLT, ERR_NO_DATABASE, ERR_BAD_PARAMS = -5, -6, -7
OPEN_CREATE, OPEN_READ_ONLY_OK = 1, 2

_REPO = Path(__file__).resolve().parents[2]
LIBRARY_PATH = _REPO / "native" / "build" / "libdolt.so"
BUILD_HINT = (
    "build it with `make -C native` from the repository root (needs Go 1.26 and a C "
    "compiler; the first build fetches Dolt's Go modules and takes a few minutes), "
    "or point PGPROXY_LIBDOLT at a built libdolt.so"
)


class LibraryMissing(errors.SystemError):
    """libdolt.so is not built or cannot be loaded."""


_lib_lock = threading.Lock()
_ffi: Any = None
_lib: Any = None


def library_path() -> Path:
    return Path(os.environ.get("PGPROXY_LIBDOLT") or LIBRARY_PATH)


def load() -> tuple[Any, Any]:
    """(ffi, lib), loading libdolt once per process."""
    global _ffi, _lib
    if _lib is not None:
        return _ffi, _lib
    with _lib_lock:
        if _lib is not None:
            return _ffi, _lib
        try:
            import cffi
        except ImportError as exc:
            raise LibraryMissing(f"the Dolt backend needs cffi: {exc}") from exc
        path = library_path()
        if not path.exists():
            raise LibraryMissing(f"the Dolt library {path} is not built", hint=BUILD_HINT)
        # Read by the driver's package init, so it must be in the C environment
        # before the library loads: no usage reports to DoltHub from a proxy.
        os.environ.setdefault("DOLT_METRICS_DISABLED", "1")
        ffi = cffi.FFI()
        ffi.cdef(_CDEF)
        try:
            lib = ffi.dlopen(str(path))
        except OSError as exc:
            raise LibraryMissing(
                f"cannot load the Dolt library {path}: {exc}", hint=BUILD_HINT
            ) from exc
        _ffi, _lib = ffi, lib
    return _ffi, _lib


# --- errors --------------------------------------------------------------------

# libdolt's own codes (DOLT_ERR_*); positive codes are MySQL error numbers.
_LIBDOLT_CODES: dict[int, str] = {
    ERR_INTERNAL: "XX000",
    ERR_BAD_HANDLE: "XX000",
    ERR_BAD_PARAMS: "XX000",
    ERR_CANCELED: "57014",
    ERR_LOCKED: "55P03",
    ERR_NOT_DOLT: "08006",
    ERR_NO_DATABASE: "3D000",
}


def map_error(code: int, message: str) -> errors.PgError:
    """A PgError with the SQLSTATE for a Dolt (MySQL) error number or a libdolt code."""
    if code > 0:
        sqlstate = mysql_errors.sqlstate(code, message) or "XX000"
    else:
        sqlstate = _LIBDOLT_CODES.get(code, "XX000")
    detail = f"Dolt error {code}" if code > 0 else None
    return errors.from_sqlstate(sqlstate, message, detail=detail)


class _Err:
    """A reusable dolt_error out-parameter, raising what the library reported."""

    __slots__ = ("ffi", "lib", "ptr")

    def __init__(self, ffi: Any, lib: Any) -> None:
        self.ffi, self.lib = ffi, lib
        self.ptr = ffi.new("dolt_error *")

    def error(self, fallback: str = "libdolt call failed") -> errors.PgError:
        e = self.ptr
        if e.message == self.ffi.NULL:
            return errors.InternalError(fallback)
        message = self.ffi.string(e.message).decode("utf-8", "replace")
        code = e.code
        self.lib.dolt_error_clear(e)
        return map_error(code, message)


# --- types ---------------------------------------------------------------------

_DAY = datetime.timedelta(days=1)


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _bool(b: bytes) -> bool:
    return b != b"0"


def _decimal(b: bytes) -> decimal.Decimal:
    return decimal.Decimal(b.decode())


def _float(b: bytes) -> float:
    return float(b)  # also reads MySQL's "NaN"/"Infinity"


def _date(b: bytes) -> Any:
    s = b.decode()
    try:
        return datetime.date.fromisoformat(s)
    except ValueError:
        return s  # 0000-00-00 and friends: PostgreSQL has no such date; keep the text


def _datetime(b: bytes) -> Any:
    s = b.decode()
    try:
        return datetime.datetime.fromisoformat(s)
    except ValueError:
        return s


def _timestamptz(b: bytes) -> Any:
    v = _datetime(b)
    if isinstance(v, datetime.datetime):
        return v.replace(tzinfo=datetime.UTC)
    return v


def _time(b: bytes) -> Any:
    s = b.decode()
    try:
        return datetime.time.fromisoformat(s)
    except ValueError:
        return s  # outside 00:00..24:00: PostgreSQL's time cannot hold it


def _bit_bytes(width: int) -> Callable[[bytes], bytes]:
    n = (width + 7) // 8

    def conv(b: bytes) -> bytes:
        return int(b).to_bytes(n, "big")

    return conv


def _paren(tn: str) -> list[int]:
    if "(" not in tn:
        return []
    inside = tn[tn.index("(") + 1 : tn.index(")")] if ")" in tn else ""
    try:
        return [int(x) for x in inside.split(",")]
    except ValueError:
        return []


@lru_cache(maxsize=1024)
def column_type(type_name: str) -> tuple[int, int, Callable[[bytes], Any]]:
    """(oid, typmod, converter from the text form) for a Dolt column type name."""
    tn = type_name.lower().strip()
    base = tn.split("(", 1)[0].split(" ", 1)[0]
    unsigned = "unsigned" in tn
    args = _paren(tn)
    if base in ("tinyint", "bool", "boolean"):
        if base != "tinyint" or args == [1]:
            return pgtypes.BOOL, -1, _bool
        return pgtypes.INT2, -1, int
    if base in ("smallint", "year"):
        return (pgtypes.INT4 if unsigned else pgtypes.INT2), -1, int
    if base == "mediumint":
        return pgtypes.INT4, -1, int
    if base in ("int", "integer"):
        return (pgtypes.INT8 if unsigned else pgtypes.INT4), -1, int
    if base == "bigint":
        return (pgtypes.NUMERIC, -1, _decimal) if unsigned else (pgtypes.INT8, -1, int)
    if base in ("decimal", "numeric"):
        if len(args) == 2:
            return pgtypes.NUMERIC, ((args[0] << 16) | args[1]) + 4, _decimal
        return pgtypes.NUMERIC, -1, _decimal
    if base == "float":
        return pgtypes.FLOAT4, -1, _float
    if base in ("double", "real"):
        return pgtypes.FLOAT8, -1, _float
    if base == "timestamp":
        return pgtypes.TIMESTAMPTZ, -1, _timestamptz
    if base == "datetime":
        return pgtypes.TIMESTAMP, -1, _datetime
    if base == "date":
        return pgtypes.DATE, -1, _date
    if base == "time":
        return pgtypes.TIME, -1, _time
    if base == "json":
        return pgtypes.JSON, -1, _text
    if base == "bit":
        width = args[0] if args else 1
        if width == 1:
            return pgtypes.BOOL, -1, _bool
        return pgtypes.BYTEA, -1, _bit_bytes(width)
    if base in ("binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob",
                "geometry", "point", "linestring", "polygon", "multipoint",
                "multilinestring", "multipolygon", "geometrycollection", "geomcollection"):
        return pgtypes.BYTEA, -1, bytes
    if base == "char":
        return pgtypes.BPCHAR, (args[0] + 4 if args else -1), _text
    if base == "varchar":
        return pgtypes.VARCHAR, (args[0] + 4 if args else -1), _text
    return pgtypes.TEXT, -1, _text


@lru_cache(maxsize=4096)
def _decode_columns(buf: bytes) -> tuple[list[Column], list[Callable[[list], list]]]:
    """Columns and converters for a column buffer; a statement seen before costs a lookup."""
    columns: list[Column] = []
    convs: list[Callable[[list], list]] = []
    pos, end = 0, len(buf)
    unpack = struct.Struct("<i").unpack_from
    while pos < end:
        (n,) = unpack(buf, pos)
        name = buf[pos + 4 : pos + 4 + n].decode("utf-8", "replace")
        pos += 4 + n
        (n,) = unpack(buf, pos)
        type_name = buf[pos + 4 : pos + 4 + n].decode()
        pos += 4 + n
        oid, typmod, conv = column_type(type_name)
        size = pgtypes.TYPES[oid].size if oid in pgtypes.TYPES else -1
        columns.append(Column(name, oid, size, typmod, 0, 0))
        convs.append(column_converter(conv))
    return columns, convs


def _column_converter(conv: Callable[[bytes], Any]) -> Callable[[list], list]:
    """conv applied to a whole column of non-NULL values, in C where it can be."""
    if conv is bytes:
        return list
    if conv is _text:
        def text(col: list) -> list:
            try:
                return list(map(bytes.decode, col))
            except UnicodeDecodeError:
                return [_text(v) for v in col]
        return text
    if conv is _decimal:
        return lambda col: list(map(decimal.Decimal, map(bytes.decode, col)))
    return lambda col: list(map(conv, col))


_COLUMN_CONVERTERS: dict[Any, Callable[[list], list]] = {}


def column_converter(conv: Callable[[bytes], Any]) -> Callable[[list], list]:
    cc = _COLUMN_CONVERTERS.get(conv)
    if cc is None:
        cc = _COLUMN_CONVERTERS[conv] = _column_converter(conv)
    return cc


def decode_batch(buf: bytes, nrows: int, convs: Sequence[Callable[[list], list]]) -> list[tuple]:
    """Rows from one batch, decoded a column at a time.

    Every length comes from one unpack, every value from one slice; each
    column then goes through its converter in one map (int, float,
    bytes.decode, Decimal run in C), and zip makes the rows.
    """
    ncols = len(convs)
    n = nrows * ncols
    lens = struct.unpack_from(f"<{n}i", buf)
    if min(lens) >= 0:
        ends = list(accumulate(lens, initial=4 * n))
        values = list(map(buf.__getitem__, map(slice, ends, ends[1:])))
        cols = [conv(values[c::ncols]) for c, conv in enumerate(convs)]
        return list(zip(*cols, strict=True))
    ends = list(accumulate((ln if ln > 0 else 0 for ln in lens), initial=4 * n))
    values = [buf[a:b] if ln >= 0 else None
              for a, b, ln in zip(ends, ends[1:], lens, strict=False)]
    cols = []
    for c, conv in enumerate(convs):
        col = values[c::ncols]
        if None in col:
            present = [i for i, v in enumerate(col) if v is not None]
            out: list[Any] = [None] * len(col)
            for i, v in zip(present, conv([col[i] for i in present]), strict=True):
                out[i] = v
            cols.append(out)
        else:
            cols.append(conv(col))
    return list(zip(*cols, strict=True))


# --- parameters ----------------------------------------------------------------

_pack_q = struct.Struct("<Bq").pack
_pack_Q = struct.Struct("<BQ").pack
_pack_d = struct.Struct("<Bd").pack
_pack_len = struct.Struct("<Bi").pack


def _time_text(td: datetime.timedelta) -> str:
    sign = "-" if td < datetime.timedelta(0) else ""
    td = abs(td)
    hours, rest = divmod(td.days * 86400 + td.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    frac = f".{td.microseconds:06d}" if td.microseconds else ""
    return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}{frac}"


def encode_params(params: Sequence[Any]) -> bytes:
    """The parameter buffer of libdolt.h: a tag per value, then its payload."""
    out = bytearray()
    for p in params:
        if p is None:
            out.append(0)
        elif isinstance(p, bool):
            out += _pack_q(1, int(p))
        elif isinstance(p, int):
            if -(2**63) <= p < 2**63:
                out += _pack_q(1, p)
            elif 0 <= p < 2**64:
                out += _pack_Q(5, p)
            else:
                s = str(p).encode()
                out += _pack_len(3, len(s)) + s
        elif isinstance(p, float):
            out += _pack_d(2, p)
        elif isinstance(p, bytes | bytearray | memoryview):
            b = bytes(p)
            out += _pack_len(4, len(b)) + b
        else:
            if isinstance(p, str):
                s = p
            elif isinstance(p, datetime.datetime):
                if p.tzinfo is not None:  # sessions run in UTC
                    p = p.astimezone(datetime.UTC).replace(tzinfo=None)
                s = p.isoformat(sep=" ")
            elif isinstance(p, datetime.date | datetime.time):
                s = p.isoformat()
            elif isinstance(p, datetime.timedelta):
                s = _time_text(p)
            elif isinstance(p, dict | list):
                s = json.dumps(p)
            elif isinstance(p, decimal.Decimal | uuid.UUID):
                s = str(p)
            else:
                s = str(p)
            b = s.encode()
            out += _pack_len(3, len(b)) + b
    return bytes(out)


# --- cursor, connection, backend -----------------------------------------------

_READS = ("select", "with", "show", "values", "table", "describe", "desc", "explain")

_SESSION_INIT = (
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
)


# Rows read by dolt_execute itself: a point query or a small result then costs
# one call into the library, and a big one starts streaming at once.
FIRST_BATCH = 256


class DoltCursor:
    """One statement's result; rows come from libdolt a batch at a time."""

    __slots__ = ("_conn", "_convs", "_done", "_h", "_pending", "columns", "rowcount")

    def __init__(self, conn: DoltConnection, res: Any) -> None:
        self._conn = conn
        self._h = res.stmt
        self._pending: list[tuple] = []
        if res.ncols == 0:
            self.columns: list[Column] | None = None
            self.rowcount = res.rows_affected
            self._convs: list[Callable[[list], list]] = []
            self._done = True
            self.close()
            return
        ffi = conn._ffi
        self.columns, self._convs = _decode_columns(ffi.buffer(res.columns, res.columns_len)[:])
        self.rowcount = -1
        if res.nrows:
            self._pending = decode_batch(ffi.buffer(res.batch, res.batch_len)[:], res.nrows,
                                         self._convs)
        self._done = bool(res.done)
        if self._done:
            self._release()

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        pending = self._pending
        if pending:
            if len(pending) >= size:
                self._pending = pending[size:]
                return pending[:size]
            self._pending = []
            return pending + self._fetch(size - len(pending))
        return self._fetch(size)

    def _fetch(self, size: int) -> list[tuple[Any, ...]]:
        if self._done:
            return []
        conn = self._conn
        s = conn._scratch
        n = conn._lib.dolt_fetch(self._h, max(1, min(size, 2**31 - 1)), s.bufp, s.lenp,
                                 s.done, conn._err.ptr)
        if n < 0:
            exc = conn._err.error()
            self.close()
            raise exc
        if s.done[0]:
            self._done = True
        if n == 0:
            self._release()
            return []
        rows = decode_batch(conn._ffi.buffer(s.bufp[0], s.lenp[0])[:], n, self._convs)
        if self._done:
            self._release()
        return rows

    def close(self) -> None:
        self._pending = []
        self._release()

    def _release(self) -> None:
        """Free the library's statement; rows already decoded stay readable."""
        h, self._h = self._h, 0
        self._done = True
        if h:
            conn = self._conn
            if conn._lib.dolt_stmt_close(h, conn._err.ptr) < 0:
                conn._err.error()  # the handle is gone either way; nothing to act on


class _Scratch:
    """Out-parameters allocated once per connection (one thread at a time uses them)."""

    __slots__ = ("bufp", "done", "lenp", "res")

    def __init__(self, ffi: Any) -> None:
        self.res = ffi.new("dolt_result *")
        self.bufp = ffi.new("const uint8_t **")
        self.lenp = ffi.new("size_t *")
        self.done = ffi.new("int32_t *")


class DoltConnection:
    """One Dolt SQL session of the embedded engine."""

    __slots__ = ("_cursor", "_err", "_ffi", "_h", "_lib", "_scratch", "database")

    def __init__(self, backend: DoltBackend, database: str | None) -> None:
        self._ffi, self._lib = backend._ffi, backend._lib
        self._err = _Err(self._ffi, self._lib)
        self._scratch = _Scratch(self._ffi)
        self._cursor: DoltCursor | None = None
        self.database = database or backend.database
        h = self._lib.dolt_session_open(backend._db, self.database.encode(), self._err.ptr)
        if not h:
            raise self._err.error(f"cannot open a Dolt session on {self.database!r}")
        self._h = h
        for stmt in _SESSION_INIT:
            try:
                self.execute(stmt, ()).close()
            except errors.PgError:
                pass  # an older Dolt may refuse a sql_mode flag; the session still works

    def execute(self, sql: str, params: Sequence[Any]) -> DoltCursor:
        return self._run(sql, params, FIRST_BATCH)

    def _run(self, sql: str, params: Sequence[Any], first_batch: int) -> DoltCursor:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        if not self._h:
            raise errors.ConnectionException("the Dolt session is closed")
        q = sql.encode()
        p = encode_params(params) if params else b""
        res = self._scratch.res
        if self._lib.dolt_execute(self._h, q, len(q), p, len(p), len(params), first_batch, res,
                                  self._err.ptr) < 0:
            raise self._err.error()
        cursor = DoltCursor(self, res)
        if cursor._h:
            self._cursor = cursor
        return cursor

    def describe(self, sql: str, params: Sequence[Any]) -> list[Column] | None:
        """Columns of a read, by running it and closing it before the first row.

        GMS builds row iterators lazily, so no row is computed; a statement
        that is not a read may have side effects and is not run (None).
        """
        words = sql.lstrip(" \t\r\n(").split(None, 1)
        if not words or words[0].lower() not in _READS:
            return None
        cursor = self._run(sql, params, 0)
        columns = cursor.columns
        cursor.close()
        self._cursor = None
        return list(columns) if columns is not None else None

    @property
    def in_transaction(self) -> bool:
        return bool(self._h) and self._lib.dolt_in_transaction(self._h) == 1

    def cancel(self) -> None:
        h = self._h
        if h:
            self._lib.dolt_cancel(h)

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        h, self._h = self._h, 0
        if h:
            self._lib.dolt_session_close(h)


class DoltBackend:
    """A directory of Dolt databases opened in this process."""

    name = "dolt"
    dialect = "dolt"
    paramstyle = "qmark"
    capabilities = registry.capabilities(dialect)

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        if parts.scheme != "dolt":
            raise errors.FeatureNotSupported(f"not a dolt:// URL: {url!r}")
        opts = dict(parse_qsl(parts.query))
        self.directory = os.path.abspath(unquote(parts.netloc + parts.path))
        database = opts.get("database")
        if not database:
            raise errors.InvalidParameterValue(
                f"the Dolt URL {url!r} names no database",
                hint="add ?database=NAME (it is created if the directory is empty or missing)",
            )
        self.database = database
        flags = 0
        if opts.get("create", "").lower() == "true":
            flags |= OPEN_CREATE
        if opts.get("readonly", "").lower() == "true":
            flags |= OPEN_READ_ONLY_OK
        self._ffi, self._lib = load()
        err = _Err(self._ffi, self._lib)
        db = self._lib.dolt_open(
            self.directory.encode(),
            database.encode(),
            opts.get("commitname", "pgproxy").encode(),
            opts.get("commitemail", "pgproxy@localhost").encode(),
            flags,
            err.ptr,
        )
        if not db:
            raise err.error(f"cannot open the Dolt directory {self.directory}")
        self._db = db
        self.read_only = self._lib.dolt_is_read_only(db) == 1

    def connect(self, database: str | None = None) -> DoltConnection:
        if not self._db:
            raise errors.ConnectionException("the Dolt backend is closed")
        return DoltConnection(self, database)

    def close(self) -> None:
        db, self._db = self._db, 0
        if db:
            err = _Err(self._ffi, self._lib)
            if self._lib.dolt_close(db, err.ptr) < 0:
                raise err.error()

    def redacted_url(self) -> str:
        return self.url  # no credentials in a dolt:// URL

    @property
    def version(self) -> str:
        return self._ffi.string(self._lib.dolt_version()).decode()


def from_url(url: str) -> DoltBackend:
    return DoltBackend(url)
