"""generate_series() on backends without it: a recursive CTE in a derived table.

`FROM generate_series(a, b[, step]) [AS g[(x)]]` becomes
`(WITH RECURSIVE s(v) AS (SELECT a WHERE … UNION ALL SELECT v + step FROM s WHERE …)
SELECT v AS g FROM s) AS g`, which SQLite and MariaDB both run; the bounds may
be parameters. In a select list, `SELECT generate_series(1, $1) AS n` joins the
same table to the FROM (lateral, as PostgreSQL runs a set-returning function
there). Integers and numerics step by 1 unless told; timestamps and dates step
by an interval (dialect date arithmetic spells `v + interval`).
"""

from __future__ import annotations

from sqlglot import exp

from dialects.api import TranslationError
from dialects.base import unsupported
from dialects.exprtypes import TEMPORAL, pg_type
from dialects.functions import interval_node

_COLUMN = "v"


def series(tree: exp.Expr) -> exp.Expr:
    """Every generate_series() in a FROM or a select list, as a recursive CTE."""
    calls = list(tree.find_all(exp.ExplodingGenerateSeries, exp.GenerateSeries))
    if not calls:
        return tree
    for call in calls:
        parent = call.parent
        if isinstance(parent, exp.Table) and parent.this is call:
            _from_item(parent, call)
        else:
            _in_select_list(call)
    return tree


def _from_item(table: exp.Table, call: exp.Expr) -> None:
    alias = table.args.get("alias")
    name = alias.name if alias is not None and alias.name else "generate_series"
    columns = alias.columns if alias is not None else []
    column = columns[0].name if columns else name
    table.replace(_derived(call, name, column))


def _in_select_list(call: exp.Expr) -> None:
    item = call
    while isinstance(item.parent, (exp.Paren, exp.Cast)):
        item = item.parent
    select = item.parent.parent if isinstance(item.parent, exp.Alias) else item.parent
    if not isinstance(select, exp.Select) or (
        call.parent is not select and not isinstance(call.parent, (exp.Alias, exp.Cast, exp.Paren))
    ):
        unsupported("generate_series() is supported in FROM and as a select-list item only")
    derived = _derived(call, "_series", _COLUMN)
    call.replace(exp.column(_COLUMN, table="_series"))
    if select.args.get("from_") is None:
        select.from_(derived, copy=False)
    else:
        select.join(derived, copy=False)


def _derived(call: exp.Expr, name: str, column: str) -> exp.Subquery:
    start, stop = call.args.get("start"), call.args.get("end")
    step = call.args.get("step")
    temporal = pg_type(start) in TEMPORAL or pg_type(stop) in TEMPORAL
    if step is None:
        if temporal:
            raise TranslationError(
                "function generate_series(timestamp, timestamp) does not exist", "42883"
            )
        step = exp.Literal.number(1)
    step = _interval(step) if temporal else step
    sign = _sign(step)
    if sign == 0:
        raise TranslationError("step size cannot equal zero", "22023")

    v = exp.column(_COLUMN, table="s")
    current: exp.Expr = _timestamp(v) if temporal else v
    following = exp.Add(this=current, expression=step.copy())
    first = _timestamp(start.copy()) if temporal else start.copy()
    if temporal:
        stop = _timestamp(stop.copy())
    anchor = exp.select(exp.alias_(first.copy(), _COLUMN)).where(_within(first, stop, step, sign))
    recursive = (
        exp.select(following.copy())
        .from_(exp.to_table("s"))
        .where(_within(following.copy(), stop, step, sign))
    )
    cte = exp.CTE(
        this=exp.union(anchor, recursive, distinct=False),
        alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier(_COLUMN)]),
    )
    body = exp.select(exp.alias_(exp.column(_COLUMN, table="s"), column, quoted=True)).from_("s")
    body.set("with_", exp.With(expressions=[cte], recursive=True))
    return exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _timestamp(value: exp.Expr) -> exp.Expr:
    """value + INTERVAL '0' SECOND: one spelling of a timestamp on every backend, so the
    bounds compare with the steps' results (SQLite's DATETIME() text, MySQL's DATETIME)."""
    cast = exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP"))
    return exp.Add(this=cast, expression=exp.Interval(this=exp.Literal.string("0"),
                                                      unit=exp.var("SECOND")))


def _interval(step: exp.Expr) -> exp.Expr:
    """The step of a timestamp series as an INTERVAL node (dialects add those to dates)."""
    if isinstance(step, exp.Cast) and step.to.this == exp.DType.INTERVAL:
        step = exp.Interval(this=step.this)
    if not isinstance(step, exp.Interval) or not isinstance(step.this, exp.Literal):
        unsupported("generate_series() of timestamps takes a constant interval step here")
    if step.args.get("unit") is None:
        step = interval_node(step.this.name)
    return step


def _sign(step: exp.Expr) -> int | None:
    """+1 / -1 / 0 for a constant step; None when only the backend knows."""
    node = step
    negative = False
    while isinstance(node, (exp.Neg, exp.Paren)):
        negative ^= isinstance(node, exp.Neg)
        node = node.this
    if isinstance(node, exp.Interval):
        text = node.this.name.strip()
        return -1 if text.startswith("-") else 1
    if isinstance(node, exp.Literal) and not node.is_string:
        value = float(node.this)
        return 0 if value == 0 else (-1 if (value < 0) != negative else 1)
    return None


def _within(value: exp.Expr, stop: exp.Expr, step: exp.Expr, sign: int | None) -> exp.Expr:
    up = exp.LTE(this=value.copy(), expression=stop.copy())
    down = exp.GTE(this=value.copy(), expression=stop.copy())
    if sign is not None:
        return up if sign > 0 else down
    zero = exp.Literal.number(0)
    return exp.or_(
        exp.and_(exp.GT(this=step.copy(), expression=zero), up),
        exp.and_(exp.LT(this=step.copy(), expression=zero.copy()), down),
    )
