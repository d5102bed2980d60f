"""PostgreSQL type OIDs of written types and of expressions, arrays included.

`exprtypes.pg_type` answers with a sqlglot DType, which has no room for an
array's element type; this module answers with PostgreSQL's OID (`integer[]`
is 1007), which is what result columns, `pg_typeof()` and `::regtype` need.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError

from dialects.exprtypes import pg_type

D = exp.DType

SCALAR_OIDS: dict[exp.DType, int] = {
    D.BOOLEAN: 16,
    D.VARBINARY: 17,
    D.BINARY: 17,
    D.BIGINT: 20,
    D.SMALLINT: 21,
    D.INT: 23,
    D.TEXT: 25,
    D.JSON: 114,
    D.FLOAT: 700,
    D.DOUBLE: 701,
    D.CHAR: 1042,
    D.BPCHAR: 1042,
    D.VARCHAR: 1043,
    D.DATE: 1082,
    D.TIME: 1083,
    D.TIMESTAMP: 1114,
    D.TIMESTAMPTZ: 1184,
    D.INTERVAL: 1186,
    D.TIMETZ: 1266,
    D.DECIMAL: 1700,
    D.UUID: 2950,
    D.JSONB: 3802,
    D.NAME: 19,
    D.BIT: 1560,
    D.INET: 869,
}
# Built-in ranges and multiranges (pgproxy.pgtypes.RANGES): OID, array OID.
RANGE_OIDS: dict[exp.DType, tuple[int, int]] = {
    D.INT4RANGE: (3904, 3905), D.NUMRANGE: (3906, 3907), D.TSRANGE: (3908, 3909),
    D.TSTZRANGE: (3910, 3911), D.DATERANGE: (3912, 3913), D.INT8RANGE: (3926, 3927),
    D.INT4MULTIRANGE: (4451, 6150), D.NUMMULTIRANGE: (4532, 6151),
    D.TSMULTIRANGE: (4533, 6152), D.TSTZMULTIRANGE: (4534, 6153),
    D.DATEMULTIRANGE: (4535, 6155), D.INT8MULTIRANGE: (4536, 6157),
}
SCALAR_OIDS.update({kind: oids[0] for kind, oids in RANGE_OIDS.items()})
# range OID -> multirange OID; the constructor functions share their type's name
MULTIRANGE_OF = {3904: 4451, 3906: 4532, 3908: 4533, 3910: 4534, 3912: 4535, 3926: 4536}
RANGE_TYPE_OIDS = {kind.value.lower(): oids[0] for kind, oids in RANGE_OIDS.items()}
# range OID -> subtype OID: what lower() and upper() answer
SUBTYPES = {3904: 23, 3906: 1700, 3908: 1114, 3910: 1184, 3912: 1082, 3926: 20}
_RANGE_FLAGS = {f: 16 for f in ("isempty", "lower_inc", "upper_inc", "lower_inf", "upper_inf")}
# Types sqlglot keeps as plain names (DataType.this is a str).
_NAMED_OIDS = {"OID": 26, "REGTYPE": 2206, "REGCLASS": 2205, "REGPROC": 24}
# Types sqlglot reads as user-defined, by the name written.
_USER_DEFINED_OIDS = {"varbit": 1562, "bit varying": 1562, "cidr": 650}

# element OID -> array OID (pg_type.typarray)
ARRAY_OF: dict[int, int] = {
    16: 1000, 17: 1001, 18: 1002, 19: 1003, 20: 1016, 21: 1005, 23: 1007, 25: 1009, 26: 1028,
    114: 199, 700: 1021, 701: 1022, 1042: 1014, 1043: 1015, 1082: 1182, 1083: 1183, 1114: 1115,
    1184: 1185, 1186: 1187, 1266: 1270, 1700: 1231, 2950: 2951, 3802: 3807, 2206: 2211,
    2205: 2210, 24: 1008, 1560: 1561, 1562: 1563, 869: 1041, 650: 651,
    **dict(RANGE_OIDS.values()),
}
ELEMENT_OF: dict[int, int] = {a: e for e, a in ARRAY_OF.items()}


REGTYPE = 2206
RECORD = 2249
OID = 26
BYTEA = 17


def is_typeof(node: exp.Expr | None) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "pg_typeof"


def datatype_oid(datatype: exp.Expr | None) -> int:
    """The OID of a written type (`integer`, `int4[]`, `numeric(10,2)`); 0 when not known."""
    if isinstance(datatype, exp.ObjectIdentifier):  # oid, regtype, regclass ...
        return _NAMED_OIDS.get(datatype.name.upper(), 0)
    if not isinstance(datatype, exp.DataType):
        return 0
    kind = datatype.this
    if kind == D.ARRAY:
        inner = datatype.expressions[0] if datatype.expressions else None
        element = datatype_oid(inner)
        # int[][] is int4[] too: an array type says nothing of its dimensions
        return element if element in ELEMENT_OF else ARRAY_OF.get(element, 0)
    if isinstance(kind, str):
        return _NAMED_OIDS.get(kind.upper(), 0)
    if isinstance(kind, exp.Interval):  # interval day to second: sqlglot keeps the fields
        return SCALAR_OIDS[D.INTERVAL]
    if kind == D.USERDEFINED:  # pg_catalog.oid (parsing._oid_arrays), varbit, …
        name = datatype.args.get("kind")
        if not isinstance(name, exp.Expr):
            return 0
        return _NAMED_OIDS.get(name.name.upper(), 0) or _USER_DEFINED_OIDS.get(name.name.lower(), 0)
    return SCALAR_OIDS.get(kind, 0)


_VARHDRSZ = 4  # PostgreSQL counts the length word in the typmods of these types
_LENGTH_TYPES = frozenset({D.VARCHAR, D.CHAR, D.BPCHAR})
_PRECISION_TYPES = frozenset({D.TIME, D.TIMETZ, D.TIMESTAMP, D.TIMESTAMPTZ})
_INTERVAL_FULL_RANGE = 0x7FFF  # INTERVAL_FULL_RANGE: no YEAR TO MONTH-style field list


def datatype_typmod(datatype: exp.Expr | None) -> int:
    """The type modifier PostgreSQL gives a written type (`varchar(42)` is 46, `numeric(10,3)`
    is (10 << 16 | 3) + 4, `timestamp(2)` is 2; an array its element's); -1 when none."""
    if not isinstance(datatype, exp.DataType):
        return -1
    if datatype.this == D.ARRAY:
        return datatype_typmod(datatype.expressions[0] if datatype.expressions else None)
    args = []
    for param in datatype.expressions:
        value = param.this if isinstance(param, exp.DataTypeParam) else param
        text = value.name if isinstance(value, exp.Literal) else ""
        if not text.lstrip("-").isdigit():
            return -1
        args.append(int(text))
    kind = datatype.this
    if not args:
        return 1 if kind == D.BIT else -1  # bit is bit(1)
    if kind in _LENGTH_TYPES:
        return args[0] + _VARHDRSZ
    if kind == D.DECIMAL:
        scale = args[1] if len(args) > 1 else 0
        return ((args[0] << 16) | (scale & 0x7FF)) + _VARHDRSZ  # an 11-bit scale since PG 15
    if kind in _PRECISION_TYPES or datatype_oid(datatype) in (1560, 1562):
        return args[0]  # and bit(n) / varbit(n): the number of bits
    if kind == D.INTERVAL:
        return (_INTERVAL_FULL_RANGE << 16) | args[0]
    return -1


def name_oid(name: str) -> int:
    """The OID a type name stands for, as `'int4'::regtype` reads it; 0 when unknown."""
    text = name.strip()
    if text.lower() == '"char"':
        return 18
    try:
        return datatype_oid(exp.DataType.build(text, dialect="postgres"))
    except (ParseError, ValueError):
        return 0


# Result types of functions whose type does not depend on their arguments.
_FUNCTION_OIDS = {"get_byte": 23, "set_byte": 17, "pg_typeof": REGTYPE, "row": RECORD,
                  **RANGE_TYPE_OIDS, **_RANGE_FLAGS}
_NODE_OIDS: dict[type[exp.Expr], int] = {
    exp.Ascii: 23, exp.Chr: 25, exp.Repeat: 25, exp.JSONExtractScalar: 25,  # ->> and #>>
    exp.JSONBExtractScalar: 25,
}


def _series_oid(node: exp.Expr) -> int:
    """generate_series(a, b): the type of its bounds (a parameter takes the other's)."""
    bounds = [expr_oid(node.args.get("start")), expr_oid(node.args.get("end"))]
    known = {b for b in bounds if b}
    if known <= {21, 23}:
        return 23 if known else 0
    if known <= {20, 21, 23}:
        return 20
    if 1082 in known and len(known) == 1:
        return 1114  # generate_series(date, date, interval) is timestamp
    return known.pop() if len(known) == 1 else 0


def is_array(node: exp.Expr | None) -> bool:
    return expr_oid(node) in ELEMENT_OF


def expr_oid(node: exp.Expr | None) -> int:
    """The OID of an expression's PostgreSQL type when the text fixes it, else 0."""
    while isinstance(node, exp.Paren):
        node = node.this
    if node is None:
        return 0
    if isinstance(node, exp.Cast):
        return datatype_oid(node.to)
    if isinstance(node, exp.Tuple):  # (1, 'a') is a row
        return RECORD
    if is_typeof(node):
        return REGTYPE
    if isinstance(node, exp.Array):
        elements = [expr_oid(e) for e in node.expressions]
        known = next((e for e in elements if e), 0)
        if not known and node.expressions and all(
            (isinstance(e, exp.Literal) and e.is_string) or isinstance(e, exp.Null)
            for e in node.expressions
        ) and not all(isinstance(e, exp.Null) for e in node.expressions):
            known = 25  # ARRAY['a', 'b'] is text[]
        if known in ELEMENT_OF:
            return known  # ARRAY[ARRAY[1], ARRAY[2]] is int4[] still
        return ARRAY_OF.get(known, 0)
    if isinstance(node, exp.ArrayAgg):
        arg = node.this.this if isinstance(node.this, exp.Order) else node.this
        return ARRAY_OF.get(expr_oid(arg), 0)
    if isinstance(node, exp.ArrayRemove):
        return expr_oid(node.this)
    if isinstance(node, exp.Explode):  # unnest(arr) in a select list
        return ELEMENT_OF.get(expr_oid(node.this), 0)
    if isinstance(node, (exp.ArraySize, exp.Unnest)) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "cardinality"
    ):
        return 23 if not isinstance(node, exp.Unnest) else 0
    if isinstance(node, exp.Anonymous):
        return _FUNCTION_OIDS.get(node.name.lower(), 0)
    if isinstance(node, (exp.Lower, exp.Upper)) and expr_oid(node.this) in SUBTYPES:
        return SUBTYPES[expr_oid(node.this)]  # lower(range) is its subtype
    if isinstance(node, (exp.ExplodingGenerateSeries, exp.GenerateSeries)):
        return _series_oid(node)
    if isinstance(node, (exp.JSONExtract, exp.JSONBExtract)):  # -> and #>: the operand's type
        inner = expr_oid(node.this)
        return inner if inner in (114, 3802) else 0
    if type(node) in _NODE_OIDS:
        return _NODE_OIDS[type(node)]
    if isinstance(node, exp.Literal) and node.is_string:
        return 0
    kind = pg_type(node)
    return SCALAR_OIDS.get(kind, 0) if kind is not None else 0
