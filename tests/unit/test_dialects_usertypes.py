"""Casts to user-defined types (enums): text on the backend, and the names the proxy types
the result columns and parameters by (dialects/usertypes.py)."""

from __future__ import annotations

import pytest

from dialects import Target, generate, parse

SQLITE = Target("sqlite", "qmark", "sqlite")
MARIADB = Target("mariadb", "format", "mariadb")

CASES = [
    # statement, SQLite, MariaDB, result type names, parameter type names
    (
        "SELECT 'ok'::mood",
        "SELECT CAST('ok' AS TEXT) AS \"mood\"",
        "SELECT CAST('ok' AS CHAR) AS `mood`",
        ((0, "mood"),),
        (),
    ),
    (
        'SELECT $1::"CamelMood" AS m, $2::public.Mood[], $1::"CamelMood"',
        'SELECT CAST(? AS TEXT) AS m, ? AS "mood", CAST(? AS TEXT) AS "CamelMood"',
        "SELECT CAST(%s AS CHAR) AS m, %s AS `mood`, CAST(%s AS CHAR) AS `CamelMood`",
        ((0, "CamelMood"), (1, "mood[]"), (2, "CamelMood")),
        ((0, "CamelMood"), (1, "mood[]")),
    ),
    (
        "SELECT '{sad,ok}'::mood[]",
        'SELECT \'["sad","ok"]\' AS "mood"',
        'SELECT \'["sad","ok"]\' AS `mood`',
        ((0, "mood[]"),),
        (),
    ),
    (
        "SELECT id FROM t WHERE m = $1::mood",
        "SELECT id FROM t WHERE m = CAST(? AS TEXT)",
        "SELECT id FROM t WHERE m = CAST(%s AS CHAR)",
        (),
        ((0, "mood"),),
    ),
]


@pytest.mark.parametrize("sql, sqlite, mariadb, results, params", CASES)
def test_casts_to_user_types(
    sql: str, sqlite: str, mariadb: str, results: tuple, params: tuple
) -> None:
    (statement,) = parse(sql)
    assert generate(statement, SQLITE).sql == sqlite
    assert generate(statement, MARIADB).sql == mariadb
    assert statement.result_type_names == results
    assert statement.param_type_names == params


def test_built_in_types_are_not_named() -> None:
    (statement,) = parse("SELECT $1::int4, 'x'::text, '{1}'::int[]")
    assert statement.result_type_names == () and statement.param_type_names == ()


@pytest.mark.parametrize(
    "sql, routine, args",
    [
        (
            'CREATE TYPE s.pair AS (a int4, "B c" text, m "Mood"[])',
            "create_composite",
            ("s.pair", (("a", "INT"), ("B c", "TEXT"), ("m", '"Mood"[]'))),
        ),
        ("CREATE TYPE public.empty AS ()", "create_composite", ("empty", ())),
        ("CREATE SCHEMA IF NOT EXISTS Reports", "create_schema", ("reports", True)),
        ("DROP SCHEMA IF EXISTS a CASCADE", "drop_schemas", (("a",), True, True)),
        (
            "DROP TYPE IF EXISTS s.pair, public.mood CASCADE",
            "drop_types",
            (("s.pair", "mood"), True, True),
        ),
    ],
)
def test_type_and_schema_ddl_steps(sql: str, routine: str, args: tuple) -> None:
    (statement,) = parse(sql)
    for target in (SQLITE, MARIADB):
        (step,) = generate(statement, target).steps
        assert (step.routine, step.args) == (routine, args)
