"""Date and time arithmetic in T-SQL, which has no interval type: DATEADD and DATEDIFF.

`ts + interval '2 hours 30 minutes'` becomes `DATEADD(MINUTE, 30, DATEADD(HOUR, 2, ts))`,
`date + n` and `n + date` `DATEADD(DAY, n, date)`, `date - date` the days between
(`DATEDIFF(DAY, b, a)`), and PostgreSQL's current_date / current_time / localtimestamp
SQL Server's. An interval SQL Server cannot add as whole units (a parameter, '1.5 hours')
is 0A000.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from dialects.base import unsupported
from dialects.exprtypes import INTEGERS, TEMPORAL, pg_type
from dialects.functions import UNIT_NAMES

_D = exp.DType


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _interval_text(node: exp.Expr) -> str | None:
    """The text of an interval constant (INTERVAL '1' DAY, '1 day'::interval), else None."""
    node = _unparen(node)
    if isinstance(node, exp.Cast) and node.to.this == _D.INTERVAL:
        inner = node.this
        if isinstance(inner, exp.Literal) and inner.is_string:
            return inner.this
        unsupported("tsql: SQL Server has no interval type: only a constant interval can be"
                    " added to a date or timestamp")
    if isinstance(node, exp.Interval):
        value = node.this
        if not (isinstance(value, exp.Literal)):
            unsupported("tsql: SQL Server has no interval type: only a constant interval can be"
                        " added to a date or timestamp")
        unit = node.args.get("unit")
        return f"{value.this} {unit.name}" if unit is not None else value.this
    return None


def _terms(text: str) -> list[tuple[str, int]]:
    words = text.split()
    if not words or len(words) % 2:
        unsupported(f"tsql: interval '{text}' is not whole units SQL Server can add")
    terms = []
    for number, unit in zip(words[::2], words[1::2], strict=True):
        name = UNIT_NAMES.get(unit.lower())
        try:
            count = int(number)
        except ValueError:
            name = None
        if name is None:
            unsupported(f"tsql: interval '{text}' is not whole units SQL Server can add")
        terms.append((name, count))
    return terms


def _dateadd(self: t.Any, base: exp.Expr, terms: list[tuple[str, int]], sign: int) -> str:
    sql = self.sql(base)
    for unit, count in terms:
        sql = f"DATEADD({unit}, {sign * count}, {sql})"
    return sql


def _arithmetic(self: t.Any, expression: exp.Add | exp.Sub) -> str | None:
    sub = isinstance(expression, exp.Sub)
    left, right = expression.this, expression.expression
    text = _interval_text(right)
    if text is None and not sub:
        text = _interval_text(left)
        if text is not None:
            left, right = right, left
    if text is not None:
        return _dateadd(self, left, _terms(text), -1 if sub else 1)
    lt, rt = pg_type(left), pg_type(right)
    if not sub and lt in INTEGERS and rt == _D.DATE:
        left, right, lt, rt = right, left, rt, lt
    if lt == _D.DATE and rt in INTEGERS:
        days = self.sql(right)
        return f"DATEADD(DAY, {'-' if sub else ''}({days}), {self.sql(left)})"
    if sub and lt == _D.DATE and rt == _D.DATE:
        return f"DATEDIFF(DAY, {self.sql(right)}, {self.sql(left)})"
    if sub and lt in TEMPORAL and rt in TEMPORAL:
        unsupported("tsql: a timestamp difference is an interval, which SQL Server has not")
    return None


def add_sql(stock: t.Callable[[t.Any, exp.Expr], str]) -> t.Callable[[t.Any, exp.Add], str]:
    def rule(self: t.Any, expression: exp.Add) -> str:
        return _arithmetic(self, expression) or stock(self, expression)

    return rule


def sub_sql(stock: t.Callable[[t.Any, exp.Expr], str]) -> t.Callable[[t.Any, exp.Sub], str]:
    def rule(self: t.Any, expression: exp.Sub) -> str:
        return _arithmetic(self, expression) or stock(self, expression)

    return rule


TRANSFORMS: dict[type[exp.Expr], t.Callable[[t.Any, t.Any], str]] = {
    exp.CurrentDate: lambda self, e: "CAST(SYSDATETIME() AS DATE)",
    exp.CurrentTime: lambda self, e: "CAST(SYSDATETIME() AS TIME)",
    exp.Localtimestamp: lambda self, e: "SYSDATETIME()",
}
