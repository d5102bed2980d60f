"""Federation's type bridge: PostgreSQL columns -> Arrow arrays, DuckDB result types -> OIDs.

A minimal mapping of its own (pgproxy/types/arrow.py, the Flight frontend's, was
not there yet): what a join needs to compare and aggregate values as their
PostgreSQL types do. Types without an Arrow equivalent travel as text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pgproxy import pgtypes
from pgproxy.backends.base import Column

_NUMERIC_DEFAULT = pa.decimal128(38, 10)  # numeric without (p, s): 28 digits . 10

_BY_OID: dict[int, pa.DataType] = {
    pgtypes.BOOL: pa.bool_(),
    pgtypes.INT2: pa.int16(),
    pgtypes.INT4: pa.int32(),
    pgtypes.INT8: pa.int64(),
    pgtypes.OID: pa.int64(),
    pgtypes.FLOAT4: pa.float32(),
    pgtypes.FLOAT8: pa.float64(),
    pgtypes.DATE: pa.date32(),
    pgtypes.TIME: pa.time64("us"),
    pgtypes.TIMESTAMP: pa.timestamp("us"),
    pgtypes.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    pgtypes.BYTEA: pa.binary(),
}


def arrow_type(column: Column) -> pa.DataType:
    """The Arrow type a column's values travel as."""
    if column.type_oid == pgtypes.NUMERIC:
        mod = column.type_mod - 4
        if mod >= 0 and 0 < (mod >> 16) <= 38:
            return pa.decimal128(mod >> 16, mod & 0xFFFF)
        return _NUMERIC_DEFAULT
    return _BY_OID.get(column.type_oid, pa.string())


def schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in columns])


def batch(rows: Sequence[tuple[Any, ...]], target: pa.Schema) -> pa.RecordBatch:
    """Rows as one RecordBatch of `target` (worker side: this is the per-value loop)."""
    arrays = [_array([r[i] for r in rows], field.type) for i, field in enumerate(target)]
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def table(batches: list[pa.RecordBatch], target: pa.Schema) -> pa.Table:
    return pa.Table.from_batches(batches, schema=target)


def _array(values: list[Any], type_: pa.DataType) -> pa.Array:
    if pa.types.is_string(type_):
        return pa.array([v if v is None or isinstance(v, str) else _text(v) for v in values], type_)
    try:
        return pa.array(values, type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        # A backend that keeps the type as text (SQLite's dates, a 0/1 boolean): read the
        # text as Arrow reads that type.
        text = pa.array([None if v is None else _text(v) for v in values], pa.string())
        if pa.types.is_timestamp(type_) and type_.tz:
            return pc.cast(pc.strptime(_iso(text), "%Y-%m-%d %H:%M:%S%z", "us"), type_)
        return pc.cast(text, type_)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _iso(text: pa.Array) -> pa.Array:
    """'2024-01-02T03:04:05.6+00:00' and '… +0000' shapes as strptime's %z reads them."""
    text = pc.replace_substring(text, "T", " ")
    text = pc.replace_substring_regex(text, r"\.\d+", "")
    return pc.replace_substring_regex(text, r"([+-]\d\d):?(\d\d)?$", r"\1\2")


# DuckDB result types -> PostgreSQL OIDs (what a computed column is reported as).
_DUCK = {
    "BOOLEAN": pgtypes.BOOL,
    "TINYINT": pgtypes.INT2,
    "SMALLINT": pgtypes.INT2,
    "UTINYINT": pgtypes.INT2,
    "INTEGER": pgtypes.INT4,
    "USMALLINT": pgtypes.INT4,
    "BIGINT": pgtypes.INT8,
    "UINTEGER": pgtypes.INT8,
    "UBIGINT": pgtypes.NUMERIC,
    "HUGEINT": pgtypes.NUMERIC,
    "UHUGEINT": pgtypes.NUMERIC,
    "FLOAT": pgtypes.FLOAT4,
    "DOUBLE": pgtypes.FLOAT8,
    "DATE": pgtypes.DATE,
    "TIME": pgtypes.TIME,
    "TIMESTAMP": pgtypes.TIMESTAMP,
    "TIMESTAMP_NS": pgtypes.TIMESTAMP,
    "TIMESTAMP_MS": pgtypes.TIMESTAMP,
    "TIMESTAMP_S": pgtypes.TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": pgtypes.TIMESTAMPTZ,
    "INTERVAL": pgtypes.INTERVAL,
    "BLOB": pgtypes.BYTEA,
    "UUID": pgtypes.UUID,
    "JSON": pgtypes.JSON,
    "VARCHAR": pgtypes.TEXT,
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def column_of(name: str, duck_type: str) -> Column:
    """A DuckDB result column as RowDescription describes it."""
    if m := _DECIMAL.fullmatch(duck_type):
        precision, scale = int(m[1]), int(m[2])
        return Column(name, pgtypes.NUMERIC, -1, ((precision << 16) | scale) + 4)
    oid = _DUCK.get(duck_type, pgtypes.TEXT)
    info = pgtypes.TYPES.get(oid)
    return Column(name, oid, info.size if info else -1)


def renamed(column: Column, name: str) -> Column:
    return replace(column, name=name, table_oid=0, column_number=0)
