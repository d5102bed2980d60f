"""ORDER BY <position> spelled by the projection it names, for backends that order NULLs
differently: sqlglot's NULLS FIRST/LAST emulation needs an expression, not a position."""

from __future__ import annotations

from sqlglot import exp


def positional_order(expression: exp.Expr) -> exp.Expr:
    """`SELECT a, b + 1 AS c … ORDER BY 2 NULLS FIRST` -> `… ORDER BY c NULLS FIRST`."""
    for select in expression.find_all(exp.Select):
        order = select.args.get("order")
        if not isinstance(order, exp.Order) or any(
            isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star)
            for p in select.expressions
        ):
            continue
        for ordered in order.expressions:
            key = ordered.this
            if not (isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit()):
                continue
            position = int(key.this)
            if not 1 <= position <= len(select.expressions):
                continue  # the backend reports the bad position
            target = select.expressions[position - 1]
            if isinstance(target, exp.Alias):
                # the alias: the same value, and a name the backend resolves in ORDER BY
                ordered.set("this", exp.column(exp.to_identifier(target.alias, quoted=True)))
            else:
                ordered.set("this", target.copy())
    return expression
