"""dialects.returning: a write's RETURNING list as a SELECT that describes it unrun."""

from __future__ import annotations

import pytest

import dialects
from dialects.returning import returning_select


@pytest.mark.parametrize(
    ("sql", "select"),
    [
        ("INSERT INTO t VALUES ($1, $2) RETURNING id, $2 || 'x'",
         "SELECT id, $2 || 'x' FROM t WHERE FALSE"),
        ("INSERT INTO s.t (a) VALUES (1) ON CONFLICT DO NOTHING RETURNING a",
         "SELECT a FROM s.t WHERE FALSE"),
        ("UPDATE t AS u SET a = 1 FROM o WHERE o.id = u.id RETURNING u.*, o.x",
         "SELECT u.*, o.x FROM t AS u CROSS JOIN o WHERE FALSE"),
        ("DELETE FROM t WHERE id = $1 RETURNING *", "SELECT * FROM t WHERE FALSE"),
        ("DELETE FROM t USING k WHERE t.id = k.id RETURNING t.id",
         "SELECT t.id FROM t CROSS JOIN k WHERE FALSE"),
    ],
)
def test_returning_list_as_select(sql, select):
    assert returning_select(dialects.parse(sql)[0]) == select


@pytest.mark.parametrize("sql", ["INSERT INTO t VALUES (1)", "SELECT 1", "DELETE FROM t"])
def test_no_returning_no_select(sql):
    assert returning_select(dialects.parse(sql)[0]) is None
