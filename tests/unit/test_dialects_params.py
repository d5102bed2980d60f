"""Statement.param_columns: the column each untyped $n is bound to; LIMIT/OFFSET $n as int8."""

from __future__ import annotations

import pytest

from dialects import Target, parse
from dialects.cache import TranslationCache

INT8, INT4, TEXT = 20, 23, 25


def one(sql: str):
    statements = parse(sql)
    assert len(statements) == 1, statements
    return statements[0]


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        # INSERT with a column list, one row and several
        ("INSERT INTO q (a, b) VALUES ($1, $2)", ((0, "q", "a"), (1, "q", "b"))),
        (
            "INSERT INTO q (a, b) VALUES ($1, $2), ($3, $4)",
            ((0, "q", "a"), (1, "q", "b"), (2, "q", "a"), (3, "q", "b")),
        ),
        ('INSERT INTO "Q" ("A", b) VALUES ($2, $1)', ((0, "q", "b"), (1, "q", "a"))),
        ("INSERT INTO public.q (a) VALUES ($1) RETURNING id", ((0, "q", "a"),)),
        ("INSERT INTO q (a, b) VALUES (1, $1)", ((0, "q", "b"),)),
        ("INSERT INTO q (a) SELECT $1", ((0, "q", "a"),)),
        # INSERT without a column list: by position
        ("INSERT INTO q VALUES ($1, $2)", ((0, "q", "#1"), (1, "q", "#2"))),
        # ON CONFLICT DO UPDATE SET
        (
            "INSERT INTO q (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = $3",
            ((0, "q", "a"), (1, "q", "b"), (2, "q", "b")),
        ),
        # UPDATE
        ("UPDATE t SET c = $1 WHERE id = $2", ((0, "t", "c"), (1, "t", "id"))),
        ("UPDATE t SET (a, b) = ($1, $2)", ((0, "t", "a"), (1, "t", "b"))),
        (
            "UPDATE t x SET c = $1 FROM u WHERE u.id = x.id AND u.k = $2 AND k = $3",
            ((0, "t", "c"), (1, "u", "k"), (2, "", "k")),
        ),
        # DELETE
        ("DELETE FROM t WHERE id = $1", ((0, "t", "id"),)),
        # comparisons, both ways round, every operator
        ("SELECT * FROM t WHERE id = $1", ((0, "t", "id"),)),
        ("SELECT * FROM t WHERE $1 = id", ((0, "t", "id"),)),
        ("SELECT * FROM t WHERE a <> $1 AND b != $2", ((0, "t", "a"), (1, "t", "b"))),
        (
            "SELECT * FROM t WHERE a < $1 AND a <= $2 AND $3 > a AND a >= $4",
            ((0, "t", "a"), (1, "t", "a"), (2, "t", "a"), (3, "t", "a")),
        ),
        ("SELECT * FROM t WHERE name LIKE $1 OR name ILIKE $2",
         ((0, "t", "name"), (1, "t", "name"))),
        ("SELECT * FROM t WHERE id IN ($1, $2, $3)",
         ((0, "t", "id"), (1, "t", "id"), (2, "t", "id"))),
        ("SELECT * FROM t WHERE d BETWEEN $1 AND $2", ((0, "t", "d"), (1, "t", "d"))),
        ("SELECT * FROM t WHERE (id) = ($1)", ((0, "t", "id"),)),
        ("SELECT * FROM T WHERE T.ID = $1", ((0, "t", "id"),)),
        # aliases through FROM / JOIN
        (
            "SELECT * FROM t a JOIN u b ON a.x = b.y WHERE a.id = $1 AND $2 < b.z",
            ((0, "t", "id"), (1, "u", "z")),
        ),
        ("SELECT * FROM t AS a, u WHERE u.k = $1 AND a.k = $2", ((0, "u", "k"), (1, "t", "k"))),
        # unqualified with several tables in scope: ambiguous
        ("SELECT * FROM t JOIN u ON t.id = u.id WHERE name = $1", ((0, "", "name"),)),
        # a correlated subquery's qualified outer column
        (
            "SELECT * FROM t WHERE a = (SELECT max(b) FROM u WHERE u.c = t.d AND t.e = $1)",
            ((0, "t", "e"),),
        ),
        ("SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = $1)", ((0, "u", "c"),)),
        # a cast wins: nothing to look up
        ("SELECT * FROM t WHERE a = $1::int4 AND b = $2", ((1, "t", "b"),)),
        # not bound to a column
        ("SELECT $1", ()),
        ("SELECT * FROM t WHERE a = $1 + 1", ()),
        ("SELECT * FROM t WHERE lower(a) = $1", ()),
        ("WITH c AS (SELECT * FROM t) SELECT * FROM c WHERE c.a = $1", ()),
        ("SELECT * FROM (SELECT * FROM t) s WHERE a = $1", ()),
        ("SELECT * FROM t WHERE a = 1", ()),
    ],
)
def test_param_columns(sql, columns):
    assert one(sql).param_columns == columns


@pytest.mark.parametrize(
    ("sql", "types"),
    [
        ("SELECT * FROM t LIMIT $1", (INT8,)),
        ("SELECT * FROM t LIMIT $1 OFFSET $2", (INT8, INT8)),
        ("SELECT * FROM t WHERE id = $1 LIMIT $2", (0, INT8)),
        ("SELECT * FROM t OFFSET $1", (INT8,)),
        ("SELECT * FROM t FETCH FIRST $1 ROWS ONLY", (INT8,)),
        ("SELECT * FROM t LIMIT $1::int4", (INT4,)),
        ("SELECT * FROM t WHERE a = $1::text", (TEXT,)),
    ],
)
def test_limit_offset_are_int8(sql, types):
    s = one(sql)
    assert s.param_types == types
    assert all(i != n for n, t in enumerate(types) if t for i, _, _ in s.param_columns)


def test_limit_param_has_no_column():
    assert one("SELECT * FROM t WHERE id = $1 LIMIT $2").param_columns == ((0, "t", "id"),)


@pytest.mark.parametrize(
    ("sql", "nparams", "columns"),
    [
        # literals lifted into $2.. are not the client's: cut like nparams / param_types
        ("INSERT INTO q (a, b, c) VALUES ($1, 'x', 3)", 1, ((0, "q", "a"),)),
        ("SELECT * FROM t WHERE a = 'x' AND b = $1", 1, ((0, "t", "b"),)),
        ("SELECT * FROM t WHERE a = 'x' AND b = 2", 0, ()),
        ("UPDATE t SET c = 5 WHERE id = $1", 1, ((0, "t", "id"),)),
    ],
)
def test_shape_cuts_param_columns(sql, nparams, columns):
    cache = TranslationCache(16)
    target = Target(dialect="sqlite", paramstyle="qmark", backend="sqlite")
    statements, literals = cache.parse_shaped(sql, target)
    assert literals, "the statement should have been shaped"
    (s,) = statements
    assert s.nparams == nparams
    assert len(s.param_types) == nparams
    assert s.param_columns == columns


def test_no_unknown_params_no_work():
    s = one("SELECT * FROM t WHERE a = $1::int8 AND b = $2::text")
    assert s.param_types == (INT8, TEXT)
    assert s.param_columns == ()
