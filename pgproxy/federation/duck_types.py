"""DuckDB result types as PostgreSQL columns (the parts travel by pgproxy/types/arrow.py)."""

from __future__ import annotations

import re
from dataclasses import replace

from pgproxy import pgtypes
from pgproxy.backends.base import Column

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
    if _DECIMAL.fullmatch(duck_type):
        # PostgreSQL's computed numerics (sum, avg of numeric) carry no typmod either.
        return Column(name, pgtypes.NUMERIC)
    oid = _DUCK.get(duck_type, pgtypes.TEXT)
    info = pgtypes.TYPES.get(oid)
    return Column(name, oid, info.size if info else -1)


def renamed(column: Column, name: str) -> Column:
    return replace(column, name=name, table_oid=0, column_number=0)
