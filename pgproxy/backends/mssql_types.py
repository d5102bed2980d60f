"""SQL Server types -> PostgreSQL type OIDs: by a result column's TDS type code, and by name.

A result column arrives with its TDS type code (python-tds's description)
and size; the catalog and Describe read types by their names
(INFORMATION_SCHEMA, sp_describe_first_result_set). Both land on the same
OIDs: BIT -> bool, TINYINT/SMALLINT -> int2, INT -> int4, BIGINT -> int8,
REAL -> float4, FLOAT -> float8, DECIMAL/NUMERIC/MONEY -> numeric,
[N]CHAR(n) -> bpchar(n), [N]VARCHAR(n) -> varchar(n), their MAX and
[N]TEXT/XML -> text, [VAR]BINARY/IMAGE/ROWVERSION -> bytea,
UNIQUEIDENTIFIER -> uuid, DATE -> date, TIME -> time,
DATETIME/DATETIME2/SMALLDATETIME -> timestamp, DATETIMEOFFSET -> timestamptz.
"""

from __future__ import annotations

import re

from pgproxy import pgtypes

# TDS type codes (MS-TDS 2.2.5.4) as python-tds reports them in cursor.description.
BY_TDS_CODE: dict[int, int] = {
    48: pgtypes.INT2, 52: pgtypes.INT2, 56: pgtypes.INT4, 127: pgtypes.INT8,
    50: pgtypes.BOOL, 104: pgtypes.BOOL,
    59: pgtypes.FLOAT4, 62: pgtypes.FLOAT8,
    55: pgtypes.NUMERIC, 63: pgtypes.NUMERIC, 106: pgtypes.NUMERIC, 108: pgtypes.NUMERIC,
    60: pgtypes.NUMERIC, 122: pgtypes.NUMERIC, 110: pgtypes.NUMERIC,
    47: pgtypes.BPCHAR, 175: pgtypes.BPCHAR, 239: pgtypes.BPCHAR,
    39: pgtypes.VARCHAR, 167: pgtypes.VARCHAR, 231: pgtypes.VARCHAR,
    35: pgtypes.TEXT, 99: pgtypes.TEXT, 241: pgtypes.TEXT, 98: pgtypes.TEXT,
    34: pgtypes.BYTEA, 37: pgtypes.BYTEA, 45: pgtypes.BYTEA, 165: pgtypes.BYTEA,
    173: pgtypes.BYTEA,
    36: pgtypes.UUID,
    40: pgtypes.DATE, 41: pgtypes.TIME, 42: pgtypes.TIMESTAMP, 43: pgtypes.TIMESTAMPTZ,
    58: pgtypes.TIMESTAMP, 61: pgtypes.TIMESTAMP, 111: pgtypes.TIMESTAMP,
}
_FLTN, _INTN = 109, 38
_INTN_BY_SIZE = {1: pgtypes.INT2, 2: pgtypes.INT2, 4: pgtypes.INT4, 8: pgtypes.INT8}
# The longest [N]VARCHAR(n) / [N]CHAR(n): past it the size is MAX's.
_LONGEST = 8000

BY_NAME: dict[str, int] = {
    "bit": pgtypes.BOOL, "tinyint": pgtypes.INT2, "smallint": pgtypes.INT2,
    "int": pgtypes.INT4, "bigint": pgtypes.INT8, "real": pgtypes.FLOAT4,
    "float": pgtypes.FLOAT8, "decimal": pgtypes.NUMERIC, "numeric": pgtypes.NUMERIC,
    "money": pgtypes.NUMERIC, "smallmoney": pgtypes.NUMERIC,
    "char": pgtypes.BPCHAR, "nchar": pgtypes.BPCHAR,
    "varchar": pgtypes.VARCHAR, "nvarchar": pgtypes.VARCHAR,
    "text": pgtypes.TEXT, "ntext": pgtypes.TEXT, "xml": pgtypes.TEXT,
    "sql_variant": pgtypes.TEXT, "sysname": pgtypes.VARCHAR,
    "binary": pgtypes.BYTEA, "varbinary": pgtypes.BYTEA, "image": pgtypes.BYTEA,
    "timestamp": pgtypes.BYTEA, "rowversion": pgtypes.BYTEA,
    "uniqueidentifier": pgtypes.UUID,
    "date": pgtypes.DATE, "time": pgtypes.TIME, "datetime": pgtypes.TIMESTAMP,
    "datetime2": pgtypes.TIMESTAMP, "smalldatetime": pgtypes.TIMESTAMP,
    "datetimeoffset": pgtypes.TIMESTAMPTZ,
}
_SPELLED = re.compile(r"^\s*(\w+)\s*(?:\(\s*(max|\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$", re.I)


def by_code(code: int, size: int | None, precision: int | None,
            scale: int | None) -> tuple[int, int]:
    """(oid, typmod) of a result column from its TDS type code and size."""
    if code == _FLTN:
        return (pgtypes.FLOAT4 if size == 4 else pgtypes.FLOAT8), -1
    if code == _INTN:
        return _INTN_BY_SIZE.get(size or 8, pgtypes.INT8), -1
    oid = BY_TDS_CODE.get(code, pgtypes.TEXT)
    if oid in (pgtypes.VARCHAR, pgtypes.BPCHAR):
        chars = int(size or 0)  # python-tds gives NVARCHAR/NCHAR sizes in characters (a float)
        if 0 < chars <= _LONGEST:
            return oid, chars + 4
        return pgtypes.TEXT, -1
    if oid == pgtypes.NUMERIC and precision and code in (106, 108, 55, 63):
        return oid, ((precision << 16) | (scale or 0)) + 4
    return oid, -1


def by_name(spelled: str) -> tuple[int, int]:
    """(oid, typmod) of a type as SQL Server spells it: 'nvarchar(20)', 'decimal(10,2)'."""
    m = _SPELLED.match(spelled)
    if m is None:
        return pgtypes.TEXT, -1
    name, first, second = m.group(1).lower(), m.group(2), m.group(3)
    oid = BY_NAME.get(name, pgtypes.TEXT)
    if oid in (pgtypes.VARCHAR, pgtypes.BPCHAR):
        if first is None or first.lower() == "max":
            return (pgtypes.TEXT, -1) if first else (oid, 5 if oid == pgtypes.BPCHAR else -1)
        return oid, int(first) + 4
    if oid == pgtypes.NUMERIC and name in ("decimal", "numeric") and first:
        return oid, ((int(first) << 16) | int(second or 0)) + 4
    return oid, -1
