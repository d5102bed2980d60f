"""PostgreSQL types as Arrow types: a column's OID and typmod to an Arrow field, row batches
to RecordBatches, and Arrow types and values back to PostgreSQL's (parameters, ingest).

Needs pyarrow (the `flight` extra); imported only by the frontends that stream Arrow.
A value reaches Arrow without loss: numeric(p, s) is decimal128(p, s) (decimal256 past 38
digits); an unconstrained numeric, whose scale varies row to row, is its exact text; json
and jsonb are strings marked with the canonical `arrow.json` extension, uuid is 16 bytes
marked `arrow.uuid`; types Arrow has no equivalent of (inet, ranges, timetz …) are their
PostgreSQL text.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from pgproxy import pgtypes as t
from pgproxy.errors import NumericValueOutOfRange, from_sqlstate

from . import decoder, encoder
from .arrays import ELEMENT_OID
from .intervals import Interval, to_interval
from .pgcalendar import ISO, Style
from .registry import BINARY, TEXT

# Field metadata Flight SQL clients read (FlightSql.proto, CommandStatementQuery).
TYPE_NAME = b"ARROW:FLIGHT:SQL:TYPE_NAME"
PRECISION = b"ARROW:FLIGHT:SQL:PRECISION"
SCALE = b"ARROW:FLIGHT:SQL:SCALE"
EXTENSION = b"ARROW:extension:name"
EXTENSION_META = b"ARROW:extension:metadata"

MAX_DECIMAL128 = 38
MAX_DECIMAL256 = 76

Normalize = Callable[[Any], Any]

_FIXED: dict[int, pa.DataType] = {
    t.BOOL: pa.bool_(),
    t.INT2: pa.int16(),
    t.INT4: pa.int32(),
    t.INT8: pa.int64(),
    t.OID: pa.uint32(),
    t.FLOAT4: pa.float32(),
    t.FLOAT8: pa.float64(),
    t.BYTEA: pa.binary(),
    t.DATE: pa.date32(),
    t.TIME: pa.time64("us"),
    t.TIMESTAMP: pa.timestamp("us"),
    t.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    t.INTERVAL: pa.month_day_nano_interval(),
    t.UUID: pa.binary(16),
}
_EXTENSIONS = {t.JSON: b"arrow.json", t.JSONB: b"arrow.json", t.UUID: b"arrow.uuid"}


def numeric_precision(typmod: int) -> tuple[int, int] | None:
    """numeric's (precision, scale) from its typmod; None when unconstrained."""
    if typmod < 4:
        return None
    mod = typmod - 4
    return (mod >> 16) & 0xFFFF, mod & 0x7FF


def arrow_type(oid: int, typmod: int = -1) -> pa.DataType:
    """The Arrow type a column of PostgreSQL type `oid` (with `typmod`) streams as."""
    fixed = _FIXED.get(oid)
    if fixed is not None:
        return fixed
    if oid == t.NUMERIC:
        ps = numeric_precision(typmod)
        if ps is None or ps[0] > MAX_DECIMAL256:
            return pa.string()  # the scale varies per value: its exact text
        p, s = ps
        return pa.decimal128(p, s) if p <= MAX_DECIMAL128 else pa.decimal256(p, s)
    elem = ELEMENT_OID.get(oid)
    if elem is not None:
        return pa.list_(arrow_type(elem))
    return pa.string()


def type_name(oid: int) -> str:
    """pg_type.typname of `oid` (an array's is `_` and its element's)."""
    info = t.TYPES.get(oid)
    if info is not None:
        return info.name
    elem = ELEMENT_OID.get(oid)
    return f"_{type_name(elem)}" if elem is not None else t.REGTYPE_NAMES.get(oid, str(oid))


def arrow_field(name: str, oid: int, typmod: int = -1, nullable: bool = True) -> pa.Field:
    """The field for a result column, with the Flight SQL metadata clients show."""
    typ = arrow_type(oid, typmod)
    meta: dict[bytes, bytes] = {TYPE_NAME: type_name(oid).encode()}
    if oid == t.NUMERIC and pa.types.is_decimal(typ):
        meta[PRECISION] = str(typ.precision).encode()
        meta[SCALE] = str(typ.scale).encode()
    ext = _EXTENSIONS.get(oid)
    if ext is not None:  # as an extension type travels in IPC: its storage plus these keys
        meta[EXTENSION] = ext
        meta[EXTENSION_META] = b""
    return pa.field(name, typ, nullable=nullable, metadata=meta)


def arrow_schema(columns: Sequence[Any]) -> pa.Schema:
    """The schema of a result whose columns are pgproxy.backends.base.Column."""
    return pa.schema([arrow_field(c.name, c.type_oid, c.type_mod) for c in columns])


# ---------------------------------------------------------------- rows to batches


def _roundtrip(oid: int, style: Style) -> Normalize:
    """A backend's value (natural, or its text) as the PostgreSQL codec reads it back."""
    enc, dec = encoder(oid, BINARY, style), decoder(oid, BINARY)
    return lambda v: dec(enc(v))


def _text(oid: int, style: Style) -> Normalize:
    enc = encoder(oid, TEXT, style)
    return lambda v: v if v.__class__ is str else enc(v).decode()


def normalizer(oid: int, typmod: int, style: Style = ISO) -> Normalize:
    """One non-NULL value of column type `oid` as the Python value Arrow takes for it."""
    typ = arrow_type(oid, typmod)
    if oid == t.INTERVAL:

        def interval(v: Any) -> Any:
            months, days, usec = to_interval(v)
            return pa.MonthDayNano([months, days, usec * 1000])

        return interval
    if oid == t.UUID:
        return encoder(oid, BINARY)
    if oid == t.BYTEA:
        return _roundtrip(oid, style)
    if pa.types.is_decimal(typ):
        back = _roundtrip(oid, style)
        quantum = decimal.Decimal(1).scaleb(-typ.scale)

        def numeric(v: Any) -> Any:
            value = back(v)
            if not value.is_finite():
                raise NumericValueOutOfRange(f"numeric value {value} has no Arrow decimal form")
            # As PostgreSQL rounds a value to its column's scale (half away from zero).
            return value.quantize(quantum, rounding=decimal.ROUND_HALF_UP)

        return numeric
    if pa.types.is_list(typ):
        back, elem = _roundtrip(oid, style), normalizer(ELEMENT_OID[oid], -1, style)

        def array(v: Any) -> Any:
            return [None if x is None else elem(x) for x in back(v)]

        return array
    if pa.types.is_string(typ):
        return _text(oid, style)
    return _roundtrip(oid, style)


class BatchBuilder:
    """Row batches of one result to RecordBatches: per-column converters bound once.

    A column's values go to Arrow as they are when Arrow takes them (ints, floats,
    strs, datetimes: the common case, at C speed); a column Arrow refuses (a date
    SQLite keeps as text, a bool as 0/1) is normalized value by value first.
    """

    __slots__ = ("_columns", "schema")

    def __init__(self, columns: Sequence[Any], style: Style | None = None) -> None:
        self.schema = arrow_schema(columns)
        style = style or ISO
        self._columns = [
            (f.type, normalizer(c.type_oid, c.type_mod, style), _always(c.type_oid, f.type))
            for c, f in zip(columns, self.schema, strict=True)
        ]

    def build(self, rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
        if not rows:
            return pa.record_batch([pa.array([], f.type) for f in self.schema], schema=self.schema)
        columns = zip(*rows, strict=False)  # transposed in C
        arrays = [
            _column(values, typ, norm, always)
            for values, (typ, norm, always) in zip(columns, self._columns, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def _always(oid: int, typ: pa.DataType) -> bool:
    """Whether a column's values always go through its normalizer: Arrow would take a str
    for these as something else than PostgreSQL's text of the value (a bytea's hex as its
    UTF-8, an array's text as a list of characters)."""
    return oid in (t.INTERVAL, t.BYTEA, t.UUID) or pa.types.is_list(typ)


_REFUSED = (pa.ArrowException, TypeError, ValueError, OverflowError)


def _column(values: Sequence[Any], typ: pa.DataType, norm: Normalize, always: bool) -> pa.Array:
    if not always:
        try:
            return pa.array(values, type=typ)
        except _REFUSED:
            pass
        if _parsed_by_arrow(typ):
            # Text a backend keeps a date, timestamp or numeric as (SQLite), or 0/1 for a
            # bool: Arrow's own cast reads the common forms in C; any it cannot (BC dates,
            # infinity, a timestamptz without an offset) leave it to the normalizer.
            try:
                inferred = pa.array(values)
                if pa.types.is_string(inferred.type) or pa.types.is_integer(inferred.type):
                    return inferred.cast(typ)
            except _REFUSED:
                pass
    normalized = [None if v is None else norm(v) for v in values]
    try:
        return pa.array(normalized, type=typ)
    except _REFUSED:
        bad = next((v for v, n in zip(values, normalized, strict=True) if n is not None
                    and not _fits(n, typ)), None)
        raise from_sqlstate(
            "22003", f"the value {bad!r} has no Arrow {typ} form (infinity, NaN, or out of "
            "its range)") from None


def _fits(value: Any, typ: pa.DataType) -> bool:
    try:
        pa.array([value], type=typ)
    except _REFUSED:
        return False
    return True


def _parsed_by_arrow(typ: pa.DataType) -> bool:
    return (pa.types.is_timestamp(typ) or pa.types.is_date(typ) or pa.types.is_decimal(typ)
            or pa.types.is_boolean(typ))


# ---------------------------------------------------------------- Arrow to PostgreSQL


def pg_type(typ: pa.DataType, field: pa.Field | None = None) -> tuple[int, str]:
    """The PostgreSQL type (OID, SQL name for CREATE TABLE) an Arrow column is stored as."""
    ext = (field.metadata or {}).get(EXTENSION) if field is not None else None
    if isinstance(typ, pa.BaseExtensionType):
        ext, typ = typ.extension_name.encode(), typ.storage_type
    if ext == b"arrow.json":
        return t.JSONB, "jsonb"
    if ext == b"arrow.uuid":
        return t.UUID, "uuid"
    if pa.types.is_boolean(typ):
        return t.BOOL, "boolean"
    if pa.types.is_int8(typ) or pa.types.is_int16(typ) or pa.types.is_uint8(typ):
        return t.INT2, "smallint"
    if pa.types.is_int32(typ) or pa.types.is_uint16(typ):
        return t.INT4, "integer"
    if pa.types.is_int64(typ) or pa.types.is_uint32(typ):
        return t.INT8, "bigint"
    if pa.types.is_uint64(typ):
        return t.NUMERIC, "numeric(20, 0)"
    if pa.types.is_float16(typ) or pa.types.is_float32(typ):
        return t.FLOAT4, "real"
    if pa.types.is_float64(typ):
        return t.FLOAT8, "double precision"
    if pa.types.is_decimal(typ):
        return t.NUMERIC, f"numeric({typ.precision}, {typ.scale})"
    if pa.types.is_date(typ):
        return t.DATE, "date"
    if pa.types.is_time(typ):
        return t.TIME, "time"
    if pa.types.is_timestamp(typ):
        return (t.TIMESTAMPTZ, "timestamptz") if typ.tz else (t.TIMESTAMP, "timestamp")
    if pa.types.is_interval(typ) or pa.types.is_duration(typ):
        return t.INTERVAL, "interval"
    if (
        pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_fixed_size_binary(typ)
    ):
        return t.BYTEA, "bytea"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        elem_oid, elem_name = pg_type(typ.value_type, typ.value_field)
        info = t.TYPES.get(elem_oid)
        if info is not None and info.array_oid:
            return info.array_oid, f"{elem_name}[]"
    return t.TEXT, "text"


def py_value(value: Any) -> Any:
    """A value of Arrow's `as_py()` as the proxy's codecs take it (an interval's parts)."""
    if isinstance(value, pa.MonthDayNano):
        return Interval.of(value.months, value.days, value.nanoseconds // 1000)
    if isinstance(value, list):
        return [None if v is None else py_value(v) for v in value]
    return value


def rows_of(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """A RecordBatch as rows of Python values (parameter sets, ingested rows)."""
    columns = [_py_column(batch.column(i)) for i in range(batch.num_columns)]
    return list(zip(*columns, strict=True)) if columns else [() for _ in range(batch.num_rows)]


def _py_column(array: pa.Array) -> list[Any]:
    values = array.to_pylist()
    typ = array.type.storage_type if isinstance(array.type, pa.BaseExtensionType) else array.type
    if pa.types.is_interval(typ) or pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return [None if v is None else py_value(v) for v in values]
    return values


__all__ = [
    "BatchBuilder",
    "arrow_field",
    "arrow_schema",
    "arrow_type",
    "normalizer",
    "numeric_precision",
    "pg_type",
    "py_value",
    "rows_of",
    "type_name",
]
