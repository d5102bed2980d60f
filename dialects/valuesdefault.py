"""`INSERT … VALUES (DEFAULT, …)` for SQLite, which has no DEFAULT keyword in VALUES.

A column that is DEFAULT in every row leaves the column list (so the backend fills
its default, sequences included); all columns DEFAULT in one row is `DEFAULT VALUES`.
Rows that disagree (DEFAULT in some rows of a column only) are split by
`split_rows` into INSERTs of rows that agree, run in order as one statement's
steps (RETURNING rows keep their order, the counts add up).
"""

from __future__ import annotations

from sqlglot import exp

from dialects.api import TranslationError


def _is_default(node: exp.Expr) -> bool:
    return isinstance(node, exp.Var) and node.name.upper() == "DEFAULT"


def _rows(insert: exp.Expr) -> list[exp.Tuple] | None:
    """The VALUES rows of an INSERT that has DEFAULT in some of them, or None."""
    values = insert.expression if isinstance(insert, exp.Insert) else None
    if not isinstance(values, exp.Values):
        return None
    rows = [r for r in values.expressions if isinstance(r, exp.Tuple)]
    if len(rows) != len(values.expressions) or not any(
        _is_default(v) for r in rows for v in r.expressions
    ):
        return None
    return rows


def split_rows(tree: exp.Expr) -> list[exp.Insert] | None:
    """An INSERT whose rows disagree on DEFAULT as several INSERTs whose rows agree.

    Consecutive rows with DEFAULT in the same columns stay together (a row of only
    DEFAULT stands alone: it becomes DEFAULT VALUES); None when nothing needs splitting.
    """
    rows = _rows(tree)
    if rows is None or not isinstance(tree.this, exp.Schema):
        return None
    masks = [tuple(_is_default(v) for v in r.expressions) for r in rows]
    if len({len(m) for m in masks}) != 1:
        return None  # the backend reports the mismatch
    if len(set(masks)) == 1 and not (all(masks[0]) and len(rows) > 1):
        return None
    groups: list[list[exp.Tuple]] = []
    for i, row in enumerate(rows):
        if groups and masks[i] == masks[i - 1] and not all(masks[i]):
            groups[-1].append(row)
        else:
            groups.append([row])
    parts = []
    for group in groups:
        part = tree.copy()
        part.set("expression", exp.Values(expressions=[r.copy() for r in group]))
        parts.append(part)
    return parts


def values_default(expression: exp.Expr) -> exp.Expr:
    for insert in expression.find_all(exp.Insert):
        rows = _rows(insert)
        if rows is None:
            continue
        target = insert.this
        if not isinstance(target, exp.Schema):
            raise TranslationError(
                "sqlite: DEFAULT in VALUES needs the INSERT's column list", "0A000"
            )
        width = len(target.expressions)
        if any(len(r.expressions) != width for r in rows):
            continue  # the backend reports the mismatch
        dropped = {i for i in range(width) if all(_is_default(r.expressions[i]) for r in rows)}
        if any(
            _is_default(v) and i not in dropped for r in rows for i, v in enumerate(r.expressions)
        ):
            raise TranslationError(  # split_rows splits a statement's own INSERT
                "sqlite: DEFAULT in some rows of a column only is not supported here", "0A000"
            )
        if len(dropped) == width:
            if len(rows) != 1:  # split_rows splits a statement's own INSERT
                raise TranslationError(
                    "sqlite: several rows of only DEFAULT are not supported here", "0A000"
                )
            insert.set("this", target.this)
            insert.set("expression", None)
            insert.set("default", True)
            continue
        keep = [i for i in range(width) if i not in dropped]
        target.set("expressions", [target.expressions[i] for i in keep])
        for row in rows:
            row.set("expressions", [row.expressions[i] for i in keep])
    return expression
