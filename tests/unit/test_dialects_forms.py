"""Parameter types from context, result columns typed by the schema, SIMILAR TO's regular
expression, and the json / regex / positional ORDER BY spellings (dialects/paramcols.py,
regex.py, jsonops.py, ordering.py). Their answers are compared with PostgreSQL in
tests/integration/test_query_forms.py; these pin the translation itself.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from dialects import Target, TranslationError, generate, parse
from dialects.regex import similar_regex

SQLITE = Target("sqlite", "qmark", "sqlite", returning=True)
MARIADB = Target("mariadb", "format", "mariadb", as_of_timestamp=True, returning=True)
INT4, INT8, TEXT, JSONB = 23, 20, 25, 3802


def one(sql: str):
    statements = parse(sql)
    assert len(statements) == 1
    return statements[0]


@pytest.mark.parametrize(
    ("sql", "types", "columns"),
    [
        # arithmetic with a column: the column's type (pgx: SET qty = qty + $1)
        ("UPDATE t SET qty = qty + $1 WHERE id = $2", (0, 0), ((0, "t", "qty"), (1, "t", "id"))),
        ("SELECT a FROM t WHERE a * $1 > 3", (0,), ((0, "t", "a"),)),
        # arithmetic or comparison with a typed expression: that type
        ("SELECT $1 + 1", (INT4,), ()),
        ("SELECT 1 FROM t WHERE x::jsonb @> $1", (JSONB,), ()),
        ("SELECT 1 FROM t WHERE j @> $1", (0,), ((0, "t", "j"),)),
        # functions: siblings of COALESCE, text-only functions, ? keys
        ("SELECT coalesce(a, $1) FROM t", (0,), ((0, "t", "a"),)),
        ("SELECT lower($1), $2 || 'x'", (TEXT, TEXT), ()),
        ("SELECT 1 FROM t WHERE j ? $1 LIMIT $2", (TEXT, INT8), ()),
        ("SELECT $1 ~ $2, $3 ? 'k'", (TEXT, TEXT, 0), ()),
        (
            "SELECT 1 FROM t WHERE a BETWEEN $1 AND $2 AND b IN ($3)",
            (0, 0, 0),
            ((0, "t", "a"), (1, "t", "a"), (2, "t", "b")),
        ),
    ],
)
def test_parameter_types_from_context(sql, types, columns):
    s = one(sql)
    assert s.param_types == types
    assert s.param_columns == columns


def test_result_columns_and_sums():
    s = one("SELECT max(batch), min(t.at), meta -> 'a', n + 1, sum(price) AS total FROM t")
    assert s.result_columns == ((0, "t", "batch"), (1, "t", "at"), (2, "t", "meta"))
    assert s.summed_columns == ((4, "t", "price"),)


@pytest.mark.parametrize(
    ("pattern", "escape", "text", "matches"),
    [
        ("%(b|y)%", "\\", "xyz", True),
        ("a_c", "\\", "abc", True),
        ("a_c", "\\", "abbc", False),
        ("a.c", "\\", "abc", False),  # . is a literal in SIMILAR TO
        ("X#_%", "#", "X_1", True),
        ("X#_%", "#", "XY1", False),
        ("[a-c]*", "\\", "abca", True),
        ("ab", "\\", "xaby", False),  # anchored at both ends
    ],
)
def test_similar_regex(pattern, escape, text, matches):
    assert (re.search(similar_regex(pattern, escape), text) is not None) is matches


def test_similar_to_needs_a_literal_pattern():
    with pytest.raises(TranslationError) as caught:
        generate(one("SELECT s SIMILAR TO p FROM t"), SQLITE)
    assert caught.value.sqlstate == "0A000"


def test_positional_order_by_names_the_projection_on_mariadb():
    sql = generate(one("SELECT id, n AS m FROM t ORDER BY 2 DESC NULLS LAST, 1"), MARIADB).sql
    assert "ORDER BY" in sql and "`m`" in sql.split("ORDER BY")[1]


def test_sqlite_json_and_regex_spellings_run_on_sqlite():
    """The SQLite spellings parse in SQLite (the functions themselves are the proxy's)."""
    conn = sqlite3.connect(":memory:")
    conn.create_function("pg_regexp", 2, lambda v, p: re.search(p, v) is not None)
    conn.create_function("pg_json_has_key", 2, lambda v, k: k in v)
    conn.execute("CREATE TABLE t (j TEXT, s TEXT)")
    conn.execute("""INSERT INTO t VALUES ('{"a": [1, "x"]}', 'abc')""")
    sql = generate(one("SELECT j #>> '{a,1}', j -> 'a', s ~ 'b', j ? 'a' FROM t"), SQLITE).sql
    assert conn.execute(sql).fetchall() == [("x", '[1,"x"]', 1, 1)]


def test_a_shape_keeps_the_column_each_lifted_literal_meets():
    from dialects.cache import TranslationCache

    statements, literals = TranslationCache().parse_shaped(
        "INSERT INTO t (id, at) VALUES (1, '2024-01-01 10:00+00') RETURNING id", MARIADB, 0, True
    )
    assert literals == (1, "2024-01-01 10:00+00")
    assert statements[0].param_columns == ()
    assert statements[0].literal_columns == ((0, "t", "id"), (1, "t", "at"))


def test_mariadb_subscripts_read_only_arrays():
    """MariaDB reads a scalar or an object as a one-element array; PostgreSQL answers NULL."""
    sql = generate(one("SELECT j -> 0 FROM t"), MARIADB).sql
    assert "IF(JSON_TYPE(j) = 'ARRAY', JSON_EXTRACT(j, '$[0]'), NULL)" in sql
