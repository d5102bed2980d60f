"""PostgreSQL semantics the translation keeps: date arithmetic, casts, FILTER, result types.

Round-trip tables (PostgreSQL in, backend SQL out), and for SQLite the
generated SQL run on the stdlib sqlite3 with the value PostgreSQL gives.
"""

# ruff: noqa: E501 -- expected SQL stays on one line per target so a diff reads as one.

from __future__ import annotations

import sqlite3

import pytest

from dialects import SUM_OF_INTEGERS_IF_INTEGRAL, Generated, Target, generate, parse
from dialects.shapes import check, scan

SQLITE = Target("sqlite", "qmark", "sqlite", returning=True)
MYSQL = Target("mysql", "format", "mysql")
TARGETS = {"sqlite": SQLITE, "mysql": MYSQL}


def gen(sql: str, target: Target) -> Generated:
    (statement,) = parse(sql)
    return generate(statement, target)


ROUND_TRIP = [
    (
        "SELECT DATE '2024-02-28' + 1 AS a, DATE '2024-03-01' - 1 AS b, 1 + DATE '2024-01-01' AS c",
        {
            "sqlite": "SELECT DATE(DATE('2024-02-28'), '+1 days') AS a, DATE(DATE('2024-03-01'), '-1 days') AS b, DATE(DATE('2024-01-01'), '+1 days') AS c",
            "mysql": "SELECT DATE_ADD(CAST('2024-02-28' AS DATE), INTERVAL 1 DAY) AS a, DATE_SUB(CAST('2024-03-01' AS DATE), INTERVAL 1 DAY) AS b, DATE_ADD(CAST('2024-01-01' AS DATE), INTERVAL 1 DAY) AS c",
        },
    ),
    (
        "SELECT DATE '2024-03-01' - DATE '2024-01-01' AS days",
        {
            "sqlite": "SELECT CAST(JULIANDAY(DATE('2024-03-01')) - JULIANDAY(DATE('2024-01-01')) AS INTEGER) AS days",
            "mysql": "SELECT DATEDIFF(CAST('2024-03-01' AS DATE), CAST('2024-01-01' AS DATE)) AS days",
        },
    ),
    (
        "SELECT ts + INTERVAL '1 day 2 hours' AS a, ts - INTERVAL '90 minutes' AS b, INTERVAL '1 week' + ts AS c FROM t",
        {"sqlite": "SELECT DATETIME(ts, '+1 days', '+2 hours') AS a, DATETIME(ts, '-90 minutes') AS b, DATETIME(ts, '+7 days') AS c FROM t"},
    ),
    (
        "SELECT extract(year FROM d) AS y, extract(dow FROM d) AS w FROM t",
        {
            "sqlite": "SELECT CAST(STRFTIME('%Y', d) AS INTEGER) AS y, CAST(STRFTIME('%w', d) AS INTEGER) AS w FROM t",
            "mysql": "SELECT EXTRACT(YEAR FROM d) AS y, (DAYOFWEEK(d) - 1) AS w FROM t",
        },
    ),
    (
        "SELECT date_trunc('month', ts) AS m FROM t",
        {
            "sqlite": "SELECT DATETIME(ts, 'start of month') AS m FROM t",
            "mysql": "SELECT CAST(DATE_ADD('0000-01-01 00:00:00', INTERVAL (TIMESTAMPDIFF(MONTH, '0000-01-01 00:00:00', ts)) MONTH) AS DATETIME(6)) AS m FROM t",
        },
    ),
    (
        "SELECT count(*) FILTER (WHERE flag) AS a, sum(n) FILTER (WHERE n > 1) AS b, count(DISTINCT g) FILTER (WHERE flag) AS c FROM t",
        {
            "sqlite": "SELECT COUNT(*) FILTER(WHERE flag) AS a, SUM(n) FILTER(WHERE n > 1) AS b, COUNT(DISTINCT g) FILTER(WHERE flag) AS c FROM t",
            "mysql": "SELECT COUNT(CASE WHEN flag THEN 1 END) AS a, SUM(CASE WHEN n > 1 THEN n END) AS b, COUNT(DISTINCT CASE WHEN flag THEN g END) AS c FROM t",
        },
    ),
    (
        "SELECT CAST(true AS TEXT) AS a, (1 > 2)::varchar AS b",
        {
            "sqlite": "SELECT (CASE WHEN TRUE THEN 'true' WHEN NOT TRUE THEN 'false' END) AS a, (CASE WHEN (1 > 2) THEN 'true' WHEN NOT (1 > 2) THEN 'false' END) AS b",
            "mysql": "SELECT (CASE WHEN TRUE THEN 'true' WHEN NOT TRUE THEN 'false' END) AS a, (CASE WHEN (1 > 2) THEN 'true' WHEN NOT (1 > 2) THEN 'false' END) AS b",
        },
    ),
    (
        "SELECT CAST(3.7 AS INTEGER) AS r, x::int AS c, '42'::int AS s, $1::int AS p FROM t",
        {
            "sqlite": "SELECT CAST(ROUND(3.7) AS INTEGER) AS r, CAST(CASE WHEN TYPEOF(x) = 'real' THEN ROUND(x) ELSE x END AS INTEGER) AS c, CAST('42' AS INTEGER) AS s, CAST(? AS INTEGER) AS p FROM t",
        },
    ),
    (
        "SELECT 2::numeric / 3 AS a, 7 / 2 AS b, 7.0 / 2 AS c, div(17, 5) AS d",
        {
            "sqlite": "SELECT CAST(CAST(2 AS NUMERIC) AS REAL) / 3 AS a, 7 / 2 AS b, 7.0 / 2 AS c, CAST(CAST(17 / 5 AS INTEGER) AS NUMERIC) AS d",
            "mysql": "SELECT CAST(2 AS DECIMAL(65, 30)) / 3 AS a, 7 DIV 2 AS b, 7.0 / 2 AS c, CAST(17 DIV 5 AS DECIMAL(65, 0)) AS d",
        },
    ),
    (
        "SELECT left(s, 2) AS l, right(s, 2) AS r FROM t",
        {
            "sqlite": "SELECT SUBSTR(s, 1, 2) AS l, SUBSTR(s, MAX(LENGTH(s) - 2 + 1, 1)) AS r FROM t",
            "mysql": "SELECT LEFT(s, 2) AS l, RIGHT(s, 2) AS r FROM t",
        },
    ),
]


def _cases():
    for pg, expected in ROUND_TRIP:
        for target, sql in expected.items():
            yield pytest.param(pg, target, sql, id=f"{target}:{pg[:40]}")


@pytest.mark.parametrize(("pg", "target", "expected"), list(_cases()))
def test_round_trip(pg, target, expected):
    assert gen(pg, TARGETS[target]).sql == expected


# (PostgreSQL, the row PostgreSQL returns) run on SQLite through the translation.
SQLITE_VALUES = [
    ("SELECT DATE '2024-02-28' + 1, DATE '2024-03-01' - 1", ("2024-02-29", "2024-02-29")),
    ("SELECT DATE '2024-03-01' - DATE '2024-01-01'", (60,)),
    ("SELECT TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '90 minutes'", ("2024-01-01 11:30:00",)),
    ("SELECT TIMESTAMP '2024-01-01 00:00:00' - INTERVAL '1 second'", ("2023-12-31 23:59:59",)),
    ("SELECT DATE '2024-01-31' + INTERVAL '1 day'", ("2024-02-01 00:00:00",)),
    ("SELECT extract(year FROM DATE '2024-05-17'), extract(month FROM DATE '2024-05-17'), extract(isodow FROM DATE '2024-05-19')", (2024, 5, 7)),
    ("SELECT extract(quarter FROM DATE '2024-05-17'), extract(doy FROM DATE '2024-02-01')", (2, 32)),
    ("SELECT date_trunc('month', TIMESTAMP '2024-05-17 13:14:15')", ("2024-05-01 00:00:00",)),
    ("SELECT date_trunc('quarter', TIMESTAMP '2024-05-17 13:14:15')", ("2024-04-01 00:00:00",)),
    ("SELECT date_trunc('week', TIMESTAMP '2024-05-19 13:14:15'), date_trunc('week', TIMESTAMP '2024-05-13 01:00:00')", ("2024-05-13 00:00:00", "2024-05-13 00:00:00")),
    ("SELECT date_trunc('hour', TIMESTAMP '2024-05-17 13:14:15')", ("2024-05-17 13:00:00",)),
    ("SELECT CAST(3.7 AS INTEGER), CAST(-2.5 AS INTEGER), CAST(2.5 AS INTEGER)", (4, -3, 3)),
    ("SELECT 2::numeric / 3 > 0.6", (1,)),
    ("SELECT div(17, 5), div(-17, 5)", (3, -3)),
    ("SELECT CAST(true AS TEXT), CAST(1 > 2 AS TEXT), CAST(NULL::boolean AS TEXT)", ("true", "false", None)),
    ("SELECT left('abcdef', 2), right('abcdef', 2), left('abcdef', -2), right('abcdef', -2)", ("ab", "ef", "abcd", "cdef")),
    ("SELECT right('ab', 5), right('ab', 0), left('ab', 0)", ("ab", "", "")),
]


@pytest.mark.parametrize(("pg", "row"), SQLITE_VALUES, ids=[c[0][7:47] for c in SQLITE_VALUES])
def test_sqlite_values(pg, row):
    db = sqlite3.connect(":memory:")
    assert db.execute(gen(pg, SQLITE).sql).fetchone() == row


def test_sqlite_integer_cast_of_a_column_rounds_reals_only():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x)")
    db.executemany("INSERT INTO t VALUES (?)", [(3.5,), (9007199254740993,), ("7",)])
    sql = gen("SELECT x::int FROM t ORDER BY rowid", SQLITE).sql
    assert [r[0] for r in db.execute(sql)] == [4, 9007199254740993, 7]


def test_sqlite_filter_stays_native():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (flag)")
    db.executemany("INSERT INTO t VALUES (?)", [(1,), (0,), (1,)])
    assert db.execute(gen("SELECT count(*) FILTER (WHERE flag) FROM t", SQLITE).sql).fetchone() == (2,)


@pytest.mark.parametrize(
    ("sql", "types"),
    [
        ("SELECT bool_and(f), bool_or(f) FROM t", (16, 16)),
        ("SELECT DATE '2024-01-01' + 1, DATE '2024-01-02' - DATE '2024-01-01', d + 1 FROM t", (1082, 23, 0)),
        ("SELECT TIMESTAMP '2024-01-01' + INTERVAL '1 day', DATE '2024-01-01' + INTERVAL '1 day'", (1114, 1114)),
        ("SELECT extract(year FROM d), date_trunc('month', ts), date_trunc('day', DATE '2024-01-01') FROM t", (1700, 1114, 1184)),
        ("SELECT div(17, 5)", (1700,)),
        ("SELECT sum(n), coalesce(sum(n), 0), sum(1), sum(n::bigint), sum(x::float8) FROM t",
         (SUM_OF_INTEGERS_IF_INTEGRAL, SUM_OF_INTEGERS_IF_INTEGRAL, 20, 1700, 701)),
        ("SELECT t.total FROM (SELECT sum(n) AS total FROM x) t", (SUM_OF_INTEGERS_IF_INTEGRAL,)),
        ("WITH c AS (SELECT n > 1 AS big FROM x) SELECT big FROM c", (16,)),
        ("SELECT n, count(*) FROM t GROUP BY n", (0, 20)),  # count() is bigint
    ],
)
def test_projection_types(sql, types):
    assert gen(sql, SQLITE).column_types == types


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM t WHERE d = DATE '2024-01-01' + 1",
        "SELECT a FROM t WHERE n = CAST(3.7 AS INTEGER)",
    ],
)
def test_shapes_keep_literals_whose_type_picks_the_translation(sql):
    shape = scan(sql)
    assert shape is not None
    assert check(parse(shape.text), shape) is None


def test_sum_of_integers_is_int8_only_for_narrow_integral_numerics():
    from pgproxy.backends.base import Column
    from pgproxy.pipeline import _typed

    def numeric(precision: int, scale: int) -> Column:
        return Column("s", 1700, -1, ((precision << 16) | scale) + 4)

    marker = (SUM_OF_INTEGERS_IF_INTEGRAL,)
    assert _typed([numeric(32, 0)], marker)[0].type_oid == 20  # MySQL: SUM(INT)
    assert _typed([numeric(41, 0)], marker)[0].type_oid == 1700  # SUM(BIGINT): numeric in PG too
    assert _typed([numeric(31, 2)], marker)[0].type_oid == 1700  # SUM(DECIMAL(8,2))
    assert _typed([Column("s", 20)], marker)[0].type_oid == 20  # SQLite: already int8
    assert _typed([Column("s", 701)], marker)[0].type_oid == 701


def test_mysql_upsert_count_is_rows_read():
    from pgproxy.backends.mysql import UPSERT as _UPSERT
    from pgproxy.backends.mysql import upsert_count as _upsert_count

    class Result:
        def __init__(self, message: bytes) -> None:
            self.message = message

    assert _upsert_count(2, Result(b"")) == 1  # one row, updated
    assert _upsert_count(1, Result(b"")) == 1  # one row, inserted or unchanged
    assert _upsert_count(4, Result(b"&Records: 3  Duplicates: 2  Warnings: 0")) == 3
    assert _UPSERT.match("INSERT INTO t (k) VALUES (%s) ON DUPLICATE KEY UPDATE k = VALUES(k)")
    assert not _UPSERT.match("UPDATE t SET v = 'ON DUPLICATE KEY UPDATE'")
    assert not _UPSERT.match("INSERT IGNORE INTO t VALUES ('ON DUPLICATE KEY UPDATE')")
