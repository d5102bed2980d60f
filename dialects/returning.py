"""A write's RETURNING list as a SELECT of its table, to describe its columns unrun."""

from __future__ import annotations

from sqlglot import exp

from dialects.api import Statement


def returning_select(stmt: Statement) -> str | None:
    """`SELECT <RETURNING list> FROM <target> WHERE false` in PostgreSQL's dialect, or None.

    Some backends plan a write without reporting the columns its RETURNING
    yields (MariaDB's COM_STMT_PREPARE gives none); the same expressions over
    the same table, selected, have the same names and types and change nothing.
    """
    tree = stmt.expression
    if not isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        return None
    returning = tree.args.get("returning")
    target = tree.this
    if isinstance(target, exp.Schema):  # INSERT INTO t (a, b)
        target = target.this
    if returning is None or not isinstance(target, exp.Table):
        return None
    select = exp.select(*(e.copy() for e in returning.expressions)).from_(target.copy())
    # UPDATE … FROM and DELETE … USING: the other tables the list may name.
    others = [tree.args.get(key) for key in ("from", "from_", "using")]
    for other in others:
        for table in _tables(other):
            select = select.join(table.copy(), join_type="cross")
    return select.where(exp.false()).sql(dialect="postgres")


def _tables(node: object) -> list[exp.Expression]:
    if isinstance(node, list):
        return [t for t in node if isinstance(t, exp.Expression)]
    if isinstance(node, exp.From):
        return [node.this, *node.expressions]
    return [node] if isinstance(node, exp.Expression) else []
