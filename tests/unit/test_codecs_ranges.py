"""Ranges and multiranges: canonical text as PostgreSQL 15 prints it, binary cross-checked
with psycopg's own dumpers and loaders, and the values the dialect layer asks the proxy for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import Format
from psycopg.types import multirange as pg_multirange
from psycopg.types import range as pg_range

from dialects import Target, TranslationError, generate, parse
from pgproxy import errors, params
from pgproxy.backends import sqlite_functions
from pgproxy.types import BINARY, TEXT, decode, encode, ranges

UTC = dt.UTC


# (type, input, what PostgreSQL 15 prints)
CANONICAL = [
    ("int4range", "[1,5]", "[1,6)"),
    ("int4range", "(1,5)", "[2,5)"),
    ("int4range", "(1,2)", "empty"),
    ("int4range", "[3,3)", "empty"),
    ("int4range", "[3,3]", "[3,4)"),
    ("int4range", " [ 1 , 5 ) ", "[1,5)"),
    ("int4range", "[,5]", "(,6)"),
    ("int4range", "(,)", "(,)"),
    ("int4range", "EMPTY", "empty"),
    ("int8range", "[-9223372036854775808,9223372036854775807)",
     "[-9223372036854775808,9223372036854775807)"),
    ("numrange", "(-1.50,2]", "(-1.50,2]"),
    ("numrange", "[1,1]", "[1,1]"),
    ("numrange", "(1,1]", "empty"),
    ("daterange", "(2000-01-01,2000-01-31]", "[2000-01-02,2000-02-01)"),
    ("daterange", "[2000-01-01,infinity]", "[2000-01-01,infinity]"),
    ("daterange", "(-infinity,2000-01-01]", "(-infinity,2000-01-02)"),
    ("tsrange", '["2000-01-01 10:00","2000-01-02")',
     '["2000-01-01 10:00:00","2000-01-02 00:00:00")'),
    ("tstzrange", "[2000-01-01 10:00+02,)", '["2000-01-01 08:00:00+00",)'),
    ("int4multirange", "{}", "{}"),
    ("int4multirange", "{[1,3), [3,5], (7,9), empty}", "{[1,6),[8,9)}"),
    ("int4multirange", "{[5,7), [1,2)}", "{[1,2),[5,7)}"),
    ("nummultirange", "{[1,2), (2,3)}", "{[1,2),(2,3)}"),
    ("nummultirange", "{[1,2), [2,3)}", "{[1,3)}"),
    ("nummultirange", "{(,2), [1,)}", "{(,)}"),
]
OIDS = {k.name: k.oid for k in ranges.KINDS} | {k.multi_name: k.multi_oid for k in ranges.KINDS}


@pytest.mark.parametrize("typname, text, printed", CANONICAL)
def test_canonical_text(typname, text, printed):
    oid = OIDS[typname]
    value = decode(text.encode(), oid, TEXT)
    assert value == printed
    assert encode(value, oid, TEXT) == printed.encode()
    # what the backend holds comes back in the same form whatever its spelling
    assert encode(text, oid, TEXT) == printed.encode()


@pytest.mark.parametrize(
    "typname, text, error",
    [
        ("int4range", "[5,1)", errors.DataException),
        ("int4range", "[1,2", errors.InvalidTextRepresentation),
        ("int4range", "1,2", errors.InvalidTextRepresentation),
        ("int4range", "[1,2,3)", errors.InvalidTextRepresentation),
        ("int4range", "[1,2) x", errors.InvalidTextRepresentation),
        ("int4range", "[a,2)", errors.InvalidTextRepresentation),
        ("int4range", "[1,2147483647]", errors.NumericValueOutOfRange),
        ("int4multirange", "[1,2)", errors.InvalidTextRepresentation),
        ("int4multirange", "{[1,2) [3,4)}", errors.InvalidTextRepresentation),
    ],
)
def test_bad_input(typname, text, error):
    with pytest.raises(error):
        decode(text.encode(), OIDS[typname], TEXT)


@pytest.mark.parametrize(
    "data, oid",
    [
        (b"", 3904),
        (b"\x02\x00\x00\x00\x04\x00\x00", 3904),  # a bound cut short
        (b"\x02\x00\x00\x00\x02\x00\x01\x00\x00\x00\x02\x00\x01", 3904),  # int2 widths
        (b"\x18\x00", 3904),  # bytes after the last bound
        (b"\x00\x00\x00\x01", 4451),  # a multirange of one range, missing
        (b"\x00\x00\x00\x01\x00\x00\x00\x01\x01\xff", 4451),
    ],
)
def test_bad_binary(data, oid):
    with pytest.raises(errors.InvalidBinaryRepresentation):
        decode(data, oid, BINARY)


VALUES = [
    (pg_range.Int4Range(1, 6), "[1,6)", 3904),
    (pg_range.Int4Range(None, 6), "(,6)", 3904),
    (pg_range.Int4Range(empty=True), "empty", 3904),
    (pg_range.Int8Range(-(2**63), 2**63 - 1), "[-9223372036854775808,9223372036854775807)", 3926),
    (pg_range.NumericRange(Decimal("-1.50"), Decimal(2), "(]"), "(-1.50,2]", 3906),
    (pg_range.DateRange(dt.date(2000, 1, 2), dt.date(2000, 2, 1)), "[2000-01-02,2000-02-01)", 3912),
    (pg_range.TimestampRange(dt.datetime(2000, 1, 1, 10), None, "[)"),
     '["2000-01-01 10:00:00",)', 3908),
    (pg_range.TimestamptzRange(dt.datetime(2000, 1, 1, 8, tzinfo=UTC),
                               dt.datetime(2000, 1, 2, tzinfo=UTC), "()"),
     '("2000-01-01 08:00:00+00","2000-01-02 00:00:00+00")', 3910),
    (pg_multirange.Int4Multirange([pg_range.Range(1, 3), pg_range.Range(5, 7)]),
     "{[1,3),[5,7)}", 4451),
    (pg_multirange.DateMultirange([]), "{}", 4535),
]


@pytest.mark.parametrize("obj, text, oid", VALUES)
def test_binary_matches_psycopg(obj, text, oid):
    tx = Transformer()
    dumper = tx.get_dumper(obj, PyFormat.BINARY)
    assert dumper.oid == oid
    assert encode(text, oid, BINARY) == bytes(dumper.dump(obj))
    assert decode(bytes(dumper.dump(obj)), oid, BINARY) == text
    loaded = tx.get_loader(oid, Format.BINARY).load(encode(text, oid, BINARY))
    assert loaded == obj
    assert tx.get_loader(oid, Format.TEXT).load(encode(text, oid, TEXT)) == obj


def test_arrays_of_ranges():
    assert encode(["empty", "[1,2)"], 3905, TEXT) == b'{empty,"[1,2)"}'
    assert encode('["empty", "(,)"]', 3905, TEXT) == b'{empty,"(,)"}'  # a backend's JSON array
    assert decode(b'{empty,"[1,2]"}', 3905, TEXT) == ["empty", "[1,3)"]
    tx = Transformer()
    data = encode(["empty", "[1,2)"], 3905, BINARY)
    assert tx.get_loader(3905, Format.BINARY).load(data) == [
        pg_range.Range(empty=True), pg_range.Range(1, 2)
    ]


SQLITE = Target("sqlite", "qmark", "sqlite")
MARIADB = Target("mariadb", "format", "mariadb")


def _generated(sql: str, target: Target):
    (statement,) = parse(sql)
    return generate(statement, target)


def _bound(sql: str, target: Target, values=(), types=()):
    generated = _generated(sql, target)
    return [
        params.derived(p, values, types) if isinstance(p, str) else params.backend_value(values[p])
        for p in generated.params
    ]


@pytest.mark.parametrize("target", [SQLITE, MARIADB])
def test_constants_and_constructors_are_bound(target):
    generated = _generated("SELECT '[1,5]'::int4range AS r, int4range(1, 5, '(]') AS c", target)
    assert generated.sql in ("SELECT ? AS r, ? AS c", "SELECT %s AS r, %s AS c")
    assert generated.column_types == (3904, 3904)
    assert _bound("SELECT '[1,5]'::int4range, int4range(1, 5, '(]')", target) == [
        "[1,6)", "[2,6)"
    ]
    sql = "SELECT int4multirange(int4range($1, $2), $3::int4range)"
    assert _bound(sql, target, (1, 3, "[2,5)"), (23, 23, 3904)) == ["{[1,5)}"]
    assert _bound("SELECT daterange($1, NULL)", target, (dt.date(2000, 1, 1),), (1082,)) == [
        "[2000-01-01,)"
    ]


def test_constructor_of_columns():
    assert _generated("SELECT int4range(a, 2) FROM t", SQLITE).sql == (
        'SELECT PGPROXY_RANGE_MAKE(3904, a, 2) AS "int4range" FROM t'
    )
    assert sqlite_functions.range_make(3904, 1, 2.0, "[]") == "[1,3)"
    assert sqlite_functions.range_make(4451, "[1,3)", "[2,5)") == "{[1,5)}"
    with pytest.raises(errors.NullValueNotAllowed):
        sqlite_functions.range_make(4451, "[1,3)", None)
    with pytest.raises(TranslationError) as e:
        _generated("SELECT int4range(a, 2) FROM t", MARIADB)
    assert e.value.sqlstate == "0A000"


@pytest.mark.parametrize("target", [SQLITE, MARIADB])
def test_constructor_errors(target):
    with pytest.raises(errors.SyntaxError):
        _bound("SELECT int4range(1, 2, 'xx')", target)
    with pytest.raises(errors.NullValueNotAllowed):
        _bound("SELECT int4range(1, 2, NULL)", target)
    with pytest.raises(errors.DataException):
        _bound("SELECT int4range(2, 1)", target)


def test_literal_takes_the_parameter_type():
    sql = """SELECT '{empty,"[1,2]"}' = $1"""
    assert _bound(sql, SQLITE, (["empty", "[1,3)"],), (3905,)) == [
        '["empty","[1,3)"]', '["empty","[1,3)"]'
    ]
    assert _bound("SELECT 'abc' = $1", SQLITE, ("abc",), (25,)) == ["abc", "abc"]


def test_functions_on_mysql_and_sqlite_agree():
    sql = "SELECT lower(r::int4range), r::int4range @> 3, isempty(r) FROM t"
    mysql = _generated(sql, MARIADB).sql
    assert "SUBSTRING_INDEX" in mysql and "pgproxy_range" not in mysql
    assert "PGPROXY_RANGE_LOWER(r, 3904)" in _generated(sql, SQLITE).sql
    assert sqlite_functions.range_lower("[1,6)", 3904) == 1
    assert sqlite_functions.range_upper("[2000-01-01,)", 3912) is None
    assert sqlite_functions.range_has("[1,6)", 6, 3904) == 0
    assert sqlite_functions.range_has("[1.5,2]", "2", 3906) == 1
    assert sqlite_functions.range_contains("[1,6)", "empty", 3904) == 1
    assert sqlite_functions.range_overlaps("[1,5)", "[5,6)", 3904) == 0
    assert sqlite_functions.range_overlaps("[1,5]", "[5,6)", 3906) == 1
