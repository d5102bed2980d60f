"""Time travel and branch hints: every written form, per-backend output or refusal, validation."""

from __future__ import annotations

import pytest

from dialects import Hints, Target, TranslationError, generate, parse
from dialects.cache import TranslationCache

SQLITE = Target("sqlite", "qmark", "sqlite", returning=True)
MYSQL = Target("mysql", "format", "mysql")
MARIADB = Target("mariadb", "format", "mariadb", as_of_timestamp=True, returning=True)
DOLT = Target("dolt", "format", "dolt", as_of_commit=True, as_of_timestamp=True, branches=True,
              database="mydb")
POSTGRES = Target("postgres", "dollar", "postgres")


def hints_of(sql: str) -> Hints:
    (statement,) = parse(sql)
    return statement.hints


def gen(sql: str, target: Target) -> str:
    (statement,) = parse(sql)
    return generate(statement, target).sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM orders AS OF 'a1b2c3d' o",
         Hints(tables=(("orders", "ref", "a1b2c3d"),))),
        ("SELECT * FROM orders AS OF 'HEAD~2'", Hints(tables=(("orders", "ref", "HEAD~2"),))),
        ("SELECT * FROM orders AS OF TIMESTAMP '2025-01-01 10:00' o",
         Hints(tables=(("orders", "timestamp", "2025-01-01 10:00"),))),
        ("SELECT * FROM orders AS OF '2025-01-01 10:00:00'",
         Hints(tables=(("orders", "timestamp", "2025-01-01 10:00:00"),))),
        ("SELECT * FROM orders FOR SYSTEM_TIME AS OF TIMESTAMP '2025-01-01 10:00:00'",
         Hints(tables=(("orders", "timestamp", "2025-01-01 10:00:00"),))),
        ("SELECT * FROM orders AS OF SYSTEM TIME 'HEAD~3'", Hints(as_of="HEAD~3")),
        ("SELECT * FROM orders AS OF SYSTEM TIME '2025-01-01 10:00'",
         Hints(as_of_timestamp="2025-01-01 10:00")),
        ("/*+ as_of('HEAD~1') branch('feature-x') */ SELECT * FROM orders",
         Hints(as_of="HEAD~1", branch="feature-x")),
        ("/*+ as_of(TIMESTAMP '2025-01-01') */ SELECT 1", Hints(as_of_timestamp="2025-01-01")),
        ("/*+ SeqScan(t) */ SELECT * FROM t", Hints()),
        ('USE "mydb/feature-x"', Hints(branch="feature-x")),
        ("SELECT * FROM a AS OF 'main' x JOIN b AS OF 'v1.0' y ON true",
         Hints(tables=(("a", "ref", "main"), ("b", "ref", "v1.0")))),
        ("SELECT 1 AS of", Hints()),
    ],
)
def test_forms(sql, expected):
    assert hints_of(sql) == expected


@pytest.mark.parametrize(
    ("sql", "dolt", "mariadb"),
    [
        ("SELECT * FROM orders AS OF 'a1b2c3d' o",
         "SELECT * FROM orders AS OF 'a1b2c3d' AS o", None),
        ("SELECT * FROM orders AS OF TIMESTAMP '2025-01-01 10:00' o",
         "SELECT * FROM orders AS OF TIMESTAMP('2025-01-01 10:00') AS o",
         "SELECT * FROM orders FOR SYSTEM_TIME AS OF TIMESTAMP '2025-01-01 10:00' AS o"),
        ("SELECT * FROM orders FOR SYSTEM_TIME AS OF TIMESTAMP '2025-01-01 10:00:00'",
         "SELECT * FROM orders AS OF TIMESTAMP('2025-01-01 10:00:00')",
         "SELECT * FROM orders FOR SYSTEM_TIME AS OF TIMESTAMP '2025-01-01 10:00:00'"),
        ("SELECT * FROM orders AS OF SYSTEM TIME 'HEAD~3' WHERE id = 1",
         "SELECT * FROM orders AS OF 'HEAD~3' WHERE id = 1", None),
        ("/*+ as_of('HEAD~1') branch('feature-x') */ SELECT * FROM orders o JOIN items i ON true",
         "SELECT * FROM `mydb/feature-x`.orders AS OF 'HEAD~1' AS o "
         "JOIN `mydb/feature-x`.items AS OF 'HEAD~1' AS i ON TRUE", None),
        ("/*+ branch('feature-x') */ INSERT INTO orders VALUES (1)",
         "INSERT INTO `mydb/feature-x`.orders VALUES (1)", None),
        ("WITH x AS (SELECT * FROM orders) SELECT * FROM x AS OF SYSTEM TIME 'main'",
         "WITH x AS (SELECT * FROM orders AS OF 'main') SELECT * FROM x", None),
        ("SELECT * FROM dolt_log", "SELECT * FROM dolt_log", "SELECT * FROM dolt_log"),
        ('USE "mydb/feature-x"', "USE `mydb/feature-x`", None),
    ],
)
def test_backends(sql, dolt, mariadb):
    assert gen(sql, DOLT) == dolt
    if mariadb is None:
        with pytest.raises(TranslationError) as info:
            gen(sql, MARIADB)
        assert info.value.sqlstate == "0A000"
        assert "mariadb" in info.value.message
    else:
        assert gen(sql, MARIADB) == mariadb


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM orders AS OF 'a1b2c3d'",
        "SELECT * FROM orders AS OF TIMESTAMP '2025-01-01 10:00'",
        "SELECT * FROM orders AS OF SYSTEM TIME 'HEAD~3'",
        "/*+ branch('x') */ SELECT 1",
        'USE "mydb/feature-x"',
    ],
)
@pytest.mark.parametrize("target", [SQLITE, MYSQL, POSTGRES], ids=["sqlite", "mysql", "postgres"])
def test_refused_where_unsupported(sql, target):
    with pytest.raises(TranslationError) as info:
        gen(sql, target)
    assert info.value.sqlstate == "0A000"
    assert target.backend in info.value.message


def test_session_level_from_target():
    session = Target("dolt", "format", "dolt", as_of_commit=True, as_of_timestamp=True,
                     branches=True, database="mydb", branch="dev", as_of="HEAD~1")
    assert gen("SELECT * FROM t", session) == "SELECT * FROM `mydb/dev`.t AS OF 'HEAD~1'"
    with pytest.raises(TranslationError):
        gen("SELECT * FROM t", Target("sqlite", "qmark", "sqlite", as_of="HEAD~1"))
    with pytest.raises(TranslationError) as info:
        gen("INSERT INTO t VALUES (1)", session)  # a write cannot go to the past
    assert info.value.sqlstate == "0A000"


def test_session_timestamp_on_mariadb():
    session = Target("mariadb", "format", "mariadb", as_of_timestamp=True,
                     as_of="2025-01-01 10:00:00")
    assert gen("SELECT * FROM t", session) == (
        "SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2025-01-01 10:00:00'"
    )


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("SELECT * FROM t AS OF 'x''; DROP TABLE t; --'", "22023"),
        ("SELECT * FROM t AS OF 'a b'", "22023"),
        ("SELECT * FROM t AS OF 'main\\'", "22023"),
        ("SELECT * FROM t AS OF '../etc'", "22023"),
        ("SELECT * FROM t AS OF TIMESTAMP '2025-02-30 10:00'", "22007"),
        ("SELECT * FROM t AS OF TIMESTAMP 'yesterday'", "22007"),
        ("SELECT * FROM t AS OF SYSTEM TIME 'x`; DROP'", "22023"),
        ("/*+ branch('x`.t; DROP TABLE t; --') */ SELECT 1", "22023"),
        ("/*+ as_of(HEAD) */ SELECT 1", "42601"),
        ("/*+ branch('a') branch('b') */ SELECT 1", "42601"),
        ('USE "my`db/x"', "3D000"),
        ('USE "mydb/a b"', "22023"),
        ("SET pgproxy.branch = 'x`; DROP'", "22023"),
        ("SET pgproxy.as_of = '2025-01-01 25:00'", "22007"),
        ("INSERT INTO t SELECT * FROM u AS OF 'HEAD~1'", "0A000"),
        ("/*+ as_of('HEAD') */ BEGIN", "0A000"),
        ("SELECT * FROM t AS OF $1", "42601"),
    ],
)
def test_validation(sql, sqlstate):
    with pytest.raises(TranslationError) as info:
        parse(sql)
    assert info.value.sqlstate == sqlstate


def test_nothing_of_the_string_survives_a_bad_hint():
    with pytest.raises(TranslationError):
        parse("INSERT INTO t VALUES (1); SELECT * FROM t AS OF 'x y'")


def test_cache_reuses_and_remembers_errors():
    cache = TranslationCache(16)
    first = cache.translate("SELECT * FROM t WHERE id = $1", SQLITE)
    assert cache.translate("SELECT * FROM t WHERE id = $1", SQLITE) is first
    assert cache.parse("SELECT 1") is cache.parse("SELECT 1")
    statement = cache.parse("SELECT 1")[0]
    assert cache.generate(statement, SQLITE) is cache.generate(statement, SQLITE)
    for _ in range(2):
        with pytest.raises(TranslationError):
            cache.translate("SELECT * FROM t AS OF 'a b'", DOLT)
    stats = cache.stats()
    assert stats["translated_hits"] >= 1 and stats["parsed_entries"] >= 1
