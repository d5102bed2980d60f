"""`INSERT … VALUES (DEFAULT, …)` for SQLite, which has no DEFAULT keyword in VALUES.

A column that is DEFAULT in every row leaves the column list (so the backend fills
its default, sequences included); all columns DEFAULT in one row is `DEFAULT VALUES`.
Rows that disagree (DEFAULT in some rows of a column only) would need the default's
value, which the translator cannot see: they are refused with 0A000, not sent as a
syntax error.
"""

from __future__ import annotations

from sqlglot import exp

from dialects.api import TranslationError


def _is_default(node: exp.Expr) -> bool:
    return isinstance(node, exp.Var) and node.name.upper() == "DEFAULT"


def values_default(expression: exp.Expr) -> exp.Expr:
    for insert in expression.find_all(exp.Insert):
        values = insert.expression
        if not isinstance(values, exp.Values):
            continue
        rows = [r for r in values.expressions if isinstance(r, exp.Tuple)]
        if len(rows) != len(values.expressions) or not any(
            _is_default(v) for r in rows for v in r.expressions
        ):
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
            raise TranslationError(
                "sqlite: DEFAULT in some rows of a column only is not supported; send those"
                " rows in an INSERT of their own",
                "0A000",
            )
        if len(dropped) == width:
            if len(rows) != 1:
                raise TranslationError(
                    "sqlite: several rows of only DEFAULT are not supported", "0A000"
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
