"""Arrays, pg_typeof, intervals, generate_series, bytea and division in the dialect layer:
the SQL each backend gets, the result types the proxy reports, and the values it binds.
The generated SQL also runs on a real SQLite (the stdlib's), so a rewrite that SQLite
cannot execute fails here, not only through the proxy."""

# ruff: noqa: E501 -- expected SQL stays on one line per target so a diff reads as one.

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal

import pytest

from dialects import PARAMETER_TYPE, Generated, Target, TranslationError, generate, parse
from dialects.arrays import json_literal
from dialects.functions import bytea_literal
from dialects.typeoids import expr_oid, name_oid
from pgproxy import errors, params, pgtypes
from pgproxy.types import encode

SQLITE = Target("sqlite", "qmark", "sqlite")
MARIADB = Target("mariadb", "format", "mariadb")


def gen(sql: str, target: Target) -> Generated:
    (statement,) = parse(sql)
    return generate(statement, target)


ROUND_TRIP = [
    (
        "SELECT ARRAY[1, 2]",
        'SELECT json_array(1, 2) AS "array"',
        "SELECT JSON_ARRAY(1, 2) AS `array`",
    ),
    (
        "SELECT '{1,NULL,3}'::int[]",
        "SELECT '[1,null,3]' AS \"int4\"",
        "SELECT '[1,null,3]' AS `int4`",
    ),
    (
        "SELECT x FROM t WHERE x = ANY($1)",
        'SELECT x FROM t WHERE x IN (SELECT e."value" FROM json_each(?) AS e)',
        "SELECT x FROM t WHERE x IN (SELECT e.`value` FROM JSON_TABLE(%s, '$[*]' COLUMNS (`value` LONGTEXT PATH '$')) AS e)",
    ),
    (
        "SELECT x FROM t WHERE x <> ALL($1::int[])",
        'SELECT x FROM t WHERE NOT EXISTS(SELECT 1 FROM json_each(?) AS e WHERE NOT x <> e."value")',
        "SELECT x FROM t WHERE NOT EXISTS(SELECT 1 FROM JSON_TABLE(%s, '$[*]' COLUMNS (`value` BIGINT PATH '$')) AS e WHERE NOT x <> e.`value`)",
    ),
    (
        "SELECT * FROM unnest($1::text[]) AS t(x)",
        'SELECT * FROM (SELECT e."value" AS "x" FROM json_each(?) AS e) AS t',
        "SELECT * FROM (SELECT e.`value` AS `x` FROM JSON_TABLE(%s, '$[*]' COLUMNS (`value` LONGTEXT PATH '$')) AS e) AS t",
    ),
    (
        "SELECT array_length(a, 1), cardinality(a) FROM t",
        'SELECT NULLIF(json_array_length(a), 0) AS "array_length", json_array_length(a) AS "cardinality" FROM t',
        "SELECT NULLIF(JSON_LENGTH(a), 0) AS `array_length`, JSON_LENGTH(a) AS `cardinality` FROM t",
    ),
    (
        "SELECT array_agg(x) FROM t",
        'SELECT json_group_array(x) AS "array_agg" FROM t',
        "SELECT JSON_ARRAYAGG(x) AS `array_agg` FROM t",
    ),
    (
        "SELECT pg_typeof(1), pg_typeof($1), 'int8'::regtype, $2::regtype",
        'SELECT 23 AS "pg_typeof", ? AS "pg_typeof", 20 AS "regtype", ? AS "regtype"',
        "SELECT 23 AS `pg_typeof`, %s AS `pg_typeof`, 20 AS `regtype`, %s AS `regtype`",
    ),
    (
        "SELECT '1 day'::interval, $1::interval",
        'SELECT ? AS "interval", ? AS "interval"',
        "SELECT %s AS `interval`, %s AS `interval`",
    ),
    (
        "SELECT '\\x00ff'::bytea",
        "SELECT x'00ff' AS \"bytea\"",
        "SELECT x'00ff' AS `bytea`",
    ),
    (
        "SELECT a / b, a % b, a / 2 FROM t",
        'SELECT a / pgproxy_nonzero(b) AS "?column?", a % pgproxy_nonzero(b) AS "?column?", a / 2 AS "?column?" FROM t',
        "SELECT a / b AS `?column?`, a %% b AS `?column?`, a / 2 AS `?column?` FROM t",
    ),
    (
        "SELECT * FROM generate_series(1, 3) AS g",
        'SELECT * FROM (WITH RECURSIVE s(v) AS (SELECT 1 AS v WHERE 1 <= 3 UNION ALL SELECT s.v + 1 FROM s WHERE s.v + 1 <= 3) SELECT s.v AS "g" FROM s) AS g',
        "SELECT * FROM (WITH RECURSIVE s(v) AS (SELECT 1 AS v WHERE 1 <= 3 UNION ALL SELECT s.v + 1 FROM s WHERE s.v + 1 <= 3) SELECT s.v AS `g` FROM s) AS g",
    ),
]


@pytest.mark.parametrize(("pg", "sqlite", "mariadb"), ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
def test_round_trip(pg, sqlite, mariadb):
    assert gen(pg, SQLITE).sql == sqlite
    assert gen(pg, MARIADB).sql == mariadb


def test_placeholders_the_proxy_binds():
    generated = gen("SELECT pg_typeof($1), $2::regtype, '1 sec'::interval", SQLITE)
    assert generated.params == ("typeof:0", "regtype:1", "interval:1 sec")


def test_result_types_from_the_text():
    cases = {
        "SELECT ARRAY[1, 2]": (1007,),
        "SELECT ARRAY['a', NULL]": (1009,),
        "SELECT '{}'::numeric[], $1::bytea[]": (1231, 1001),
        "SELECT pg_typeof(1), pg_typeof(1)::oid": (2206, 26),
        "SELECT unnest(ARRAY[1.5])": (1700,),
        "SELECT x FROM unnest('{a}'::text[]) AS t(x)": (25,),
        "SELECT array_agg(x) FROM unnest(ARRAY[1]) AS t(x)": (1007,),
        "SELECT generate_series(1, 3)": (23,),
        "SELECT * FROM generate_series(1, 3::int8)": (20,),
        "SELECT x FROM generate_series(1, 3) x": (23,),
        "SELECT get_byte(b, 0), set_byte(b, 0, 1), chr(65), ascii('a') FROM t": (23, 17, 25, 23),
    }
    for sql, types in cases.items():
        assert gen(sql, SQLITE).column_types == types, sql
    # SELECT $n: the parameter's own type, which only the prepared statement knows
    assert gen("SELECT $1, $2", SQLITE).column_types == (PARAMETER_TYPE, PARAMETER_TYPE - 1)


def test_refusals():
    with pytest.raises(TranslationError) as e:
        gen("SELECT pg_typeof(a) FROM t", SQLITE)
    assert e.value.sqlstate == "0A000"
    with pytest.raises(TranslationError) as e:
        gen("SELECT 'nosuchtype'::regtype", SQLITE)
    assert e.value.sqlstate == "42704"
    with pytest.raises(TranslationError) as e:
        gen("SELECT '{1,x}'::int[]", SQLITE)
    assert e.value.sqlstate == "22P02"
    with pytest.raises(TranslationError) as e:
        gen("SELECT * FROM generate_series(1, 3, 0)", MARIADB)
    assert e.value.sqlstate == "22023"
    for sql in ("SELECT", "CREATE TABLE t ()"):  # zero columns: neither backend has them
        for target in (SQLITE, MARIADB):
            with pytest.raises(TranslationError) as e:
                gen(sql, target)
            assert e.value.sqlstate == "0A000"


SQLITE_RUNS = [
    ("SELECT ARRAY[1, 2], '{a,\"b c\"}'::text[]", (), [("[1,2]", '["a","b c"]')]),
    ("SELECT 3 = ANY($1), 3 <> ALL($1)", ("[1,3]",), [(1, 0)]),
    ("SELECT x FROM unnest($1::int[]) AS t(x) ORDER BY x", ("[3,1]",), [(1,), (3,)]),
    ("SELECT array_remove(ARRAY[1, 2, 1], 1), array_length('{}'::int[], 1)", (), [("[2]", None)]),
    ("SELECT generate_series(1, $1) AS n", (3,), [(1,), (2,), (3,)]),
    ("SELECT count(*) FROM generate_series(10, 1, -3)", (), [(4,)]),
    (
        "SELECT * FROM generate_series('2024-02-28'::date, '2024-03-01'::date, '1 day'::interval)",
        (),
        [("2024-02-28 00:00:00",), ("2024-02-29 00:00:00",), ("2024-03-01 00:00:00",)],
    ),
]


@pytest.mark.parametrize(("pg", "values", "rows"), SQLITE_RUNS, ids=[c[0] for c in SQLITE_RUNS])
def test_generated_sql_runs_on_sqlite(pg, values, rows):
    generated = gen(pg, SQLITE)
    bound = [values[i] for i in generated.params]
    with sqlite3.connect(":memory:") as conn:
        assert conn.execute(generated.sql, bound).fetchall() == rows


def test_literals():
    assert json.loads(json_literal('{1, 2, NULL}', 23)) == [1, 2, None]
    assert json.loads(json_literal('{{"a b","c\\"d"},{e,NULL}}', 25)) == [["a b", 'c"d'], ["e", None]]
    assert json.loads(json_literal("{1.10,2}", 1700)) == ["1.10", "2"]  # numeric keeps its scale
    assert json_literal("{\x1c}", 25) == '["\\u001c"]'  # only C-locale blanks are blanks
    assert bytea_literal("\\x00ff") == b"\x00\xff"
    assert bytea_literal("a\\000b\\\\") == b"a\x00b\\"
    assert bytea_literal("plain é") == "plain é".encode()
    with pytest.raises(TranslationError):
        bytea_literal("bad \\ escape")


def test_type_names():
    assert name_oid("int4") == name_oid("integer") == 23
    assert name_oid("integer[]") == 1007
    assert name_oid("double precision") == 701
    assert name_oid('"char"') == 18
    assert name_oid("no such type") == 0
    (stmt,) = parse("SELECT '{}'::timestamptz[]")
    assert expr_oid(stmt.expression.expressions[0]) == 1185
    assert pgtypes.REGTYPE_NAMES[1007] == "integer[]"
    assert pgtypes.REGTYPE_NAMES[1184] == "timestamp with time zone"


def test_bound_values():
    assert params.backend_value([1, None, [2]]) == "[1,null,[2]]"
    assert params.backend_value([Decimal("1.10"), b"\xff", "é"]) == '["1.10","\\\\xff","é"]'
    assert params.backend_value(float("nan")) == "NaN"
    assert params.backend_value(float("-inf")) == "-Infinity"
    assert params.backend_value(Decimal("Infinity")) == "Infinity"
    assert params.backend_value(dt.timedelta(hours=-1)) == "-01:00:00"
    assert params.backend_value(dt.timedelta(days=-999999999)) == "-999999999 days"
    assert params.derived("typeof:0", [Decimal(1)], [1700]) == 1700
    assert params.derived("regtype:0", ["int8"], [2206]) == 20
    assert params.derived("interval:1 sec", [], []) == "00:00:01"
    with pytest.raises(errors.UndefinedObject):
        params.derived("regtype:0", ["nosuchtype"], [2206])


def test_regtype_and_interval_encoding():
    assert encode(1007, pgtypes.REGTYPE) == b"integer[]"
    assert encode(1007, pgtypes.REGTYPE, 1) == b"\x00\x00\x03\xef"
    assert encode("numeric", pgtypes.REGTYPE, 1) == b"\x00\x00\x06\xa4"
    # whatever text a backend holds, an interval goes out in PostgreSQL's spelling
    assert encode("1 sec", pgtypes.INTERVAL) == b"00:00:01"
    assert encode("-999999999 days", pgtypes.INTERVAL) == b"-999999999 days"
    assert encode("1 day 2 hours 3 min 4 sec", pgtypes.INTERVAL) == b"1 day 02:03:04"
