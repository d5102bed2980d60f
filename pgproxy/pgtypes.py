"""PostgreSQL's built-in type OIDs: the vocabulary shared by backends and the wire.

Backends map their column types to these OIDs; the wire encodes values by
them. Numbers are PostgreSQL's own (pg_type.dat), so clients that cache them
(asyncpg, pgjdbc) see what a real server would send.
"""

from __future__ import annotations

from typing import NamedTuple

BOOL = 16
BYTEA = 17
CHAR = 18
NAME = 19
INT8 = 20
INT2 = 21
INT2VECTOR = 22
INT4 = 23
REGPROC = 24
TEXT = 25
OID = 26
OIDVECTOR = 30
JSON = 114
XML = 142
FLOAT4 = 700
FLOAT8 = 701
UNKNOWN = 705
MONEY = 790
BPCHAR = 1042
VARCHAR = 1043
DATE = 1082
TIME = 1083
TIMESTAMP = 1114
TIMESTAMPTZ = 1184
INTERVAL = 1186
TIMETZ = 1266
BIT = 1560
INET = 869
CIDR = 650
VARBIT = 1562
NUMERIC = 1700
REGCLASS = 2205
REGTYPE = 2206
UUID = 2950
JSONB = 3802
VOID = 2278
RECORD = 2249

# Array types, for the element types above that clients commonly use.
BOOL_ARRAY = 1000
BYTEA_ARRAY = 1001
INT2_ARRAY = 1005
INT4_ARRAY = 1007
TEXT_ARRAY = 1009
VARCHAR_ARRAY = 1015
INT8_ARRAY = 1016
FLOAT4_ARRAY = 1021
FLOAT8_ARRAY = 1022
OID_ARRAY = 1028
NAME_ARRAY = 1003
CHAR_ARRAY = 1002
TIMESTAMP_ARRAY = 1115
DATE_ARRAY = 1182
TIME_ARRAY = 1183
TIMESTAMPTZ_ARRAY = 1185
INTERVAL_ARRAY = 1187
NUMERIC_ARRAY = 1231
UUID_ARRAY = 2951
JSON_ARRAY = 199
JSONB_ARRAY = 3807


class TypeInfo(NamedTuple):
    oid: int
    name: str  # pg_type.typname
    size: int  # pg_type.typlen: fixed width, or -1 for variable
    array_oid: int


TYPES: dict[int, TypeInfo] = {
    t.oid: t
    for t in (
        TypeInfo(BOOL, "bool", 1, BOOL_ARRAY),
        TypeInfo(BYTEA, "bytea", -1, BYTEA_ARRAY),
        TypeInfo(CHAR, "char", 1, CHAR_ARRAY),
        TypeInfo(NAME, "name", 64, NAME_ARRAY),
        TypeInfo(INT8, "int8", 8, INT8_ARRAY),
        TypeInfo(INT2, "int2", 2, INT2_ARRAY),
        TypeInfo(INT4, "int4", 4, INT4_ARRAY),
        TypeInfo(TEXT, "text", -1, TEXT_ARRAY),
        TypeInfo(OID, "oid", 4, OID_ARRAY),
        TypeInfo(JSON, "json", -1, JSON_ARRAY),
        TypeInfo(FLOAT4, "float4", 4, FLOAT4_ARRAY),
        TypeInfo(FLOAT8, "float8", 8, FLOAT8_ARRAY),
        TypeInfo(UNKNOWN, "unknown", -2, 0),
        TypeInfo(BPCHAR, "bpchar", -1, 1014),
        TypeInfo(VARCHAR, "varchar", -1, VARCHAR_ARRAY),
        TypeInfo(DATE, "date", 4, DATE_ARRAY),
        TypeInfo(TIME, "time", 8, TIME_ARRAY),
        TypeInfo(TIMESTAMP, "timestamp", 8, TIMESTAMP_ARRAY),
        TypeInfo(TIMESTAMPTZ, "timestamptz", 8, TIMESTAMPTZ_ARRAY),
        TypeInfo(INTERVAL, "interval", 16, INTERVAL_ARRAY),
        TypeInfo(TIMETZ, "timetz", 12, 1270),
        TypeInfo(NUMERIC, "numeric", -1, NUMERIC_ARRAY),
        TypeInfo(BIT, "bit", -1, 1561),
        TypeInfo(INET, "inet", -1, 1041),
        TypeInfo(CIDR, "cidr", -1, 651),
        TypeInfo(VARBIT, "varbit", -1, 1563),
        TypeInfo(REGCLASS, "regclass", 4, 2210),
        TypeInfo(REGTYPE, "regtype", 4, 2211),
        TypeInfo(UUID, "uuid", 16, UUID_ARRAY),
        TypeInfo(JSONB, "jsonb", -1, JSONB_ARRAY),
        TypeInfo(VOID, "void", 4, 0),
    )
}

# Built-in ranges: (name, OID, array OID, subtype, multirange name, OID, array OID).
RANGES: tuple[tuple[str, int, int, int, str, int, int], ...] = (
    ("int4range", 3904, 3905, INT4, "int4multirange", 4451, 6150),
    ("numrange", 3906, 3907, NUMERIC, "nummultirange", 4532, 6151),
    ("tsrange", 3908, 3909, TIMESTAMP, "tsmultirange", 4533, 6152),
    ("tstzrange", 3910, 3911, TIMESTAMPTZ, "tstzmultirange", 4534, 6153),
    ("daterange", 3912, 3913, DATE, "datemultirange", 4535, 6155),
    ("int8range", 3926, 3927, INT8, "int8multirange", 4536, 6157),
)
for _name, _oid, _array, _sub, _mname, _moid, _marray in RANGES:
    TYPES[_oid] = TypeInfo(_oid, _name, -1, _array)
    TYPES[_moid] = TypeInfo(_moid, _mname, -1, _marray)

# Names a client may write in a cast or a Parse declaration, to OIDs.
BY_NAME: dict[str, int] = {t.name: t.oid for t in TYPES.values()}
BY_NAME.update(
    {
        "boolean": BOOL,
        "smallint": INT2,
        "integer": INT4,
        "int": INT4,
        "bigint": INT8,
        "real": FLOAT4,
        "double precision": FLOAT8,
        "decimal": NUMERIC,
        "character varying": VARCHAR,
        "character": BPCHAR,
        "timestamp without time zone": TIMESTAMP,
        "timestamp with time zone": TIMESTAMPTZ,
        "time without time zone": TIME,
        "time with time zone": TIMETZ,
    }
)

# regtype's output: the SQL name PostgreSQL prints for a type (format_type), by OID.
_SQL_NAMES = {
    BOOL: "boolean", INT2: "smallint", INT4: "integer", INT8: "bigint", FLOAT4: "real",
    FLOAT8: "double precision", VARCHAR: "character varying", BPCHAR: "character",
    TIMESTAMP: "timestamp without time zone", TIMESTAMPTZ: "timestamp with time zone",
    TIME: "time without time zone", TIMETZ: "time with time zone", CHAR: '"char"',
    BIT: "bit", VARBIT: "bit varying", REGPROC: "regproc",
}
_ARRAYS_OF = {info.array_oid: oid for oid, info in TYPES.items() if info.array_oid}
REGTYPE_NAMES: dict[int, str] = {oid: _SQL_NAMES.get(oid, info.name) for oid, info in TYPES.items()}
REGTYPE_NAMES.update({oid: name for oid, name in _SQL_NAMES.items()})
REGTYPE_NAMES.update(
    {a: REGTYPE_NAMES[e] + "[]" for a, e in _ARRAYS_OF.items() if e in REGTYPE_NAMES}
)
REGTYPE_NAMES[OID] = "oid"
REGTYPE_NAMES[OID_ARRAY] = "oid[]"
BY_NAME.update({name: oid for oid, name in REGTYPE_NAMES.items()})


# Types whose binary form is text too (textsend converts it as textout does); enums join
# as the catalog learns them (types.register_enum).
TEXT_OIDS = {TEXT, VARCHAR, BPCHAR, NAME, CHAR, UNKNOWN, JSON, JSONB, XML, 0}
