"""Result column names as PostgreSQL figures them, made explicit for backends that name differently.

`SELECT count(*)` is column "count" in PostgreSQL but "COUNT(*)" in SQLite and
MySQL; clients read rows by these names. PostgreSQL's rule (FigureColname):
a column keeps its name, a function call takes the function's name, a cast
takes its operand's name or else the type's, CASE is "case", and anything
else is "?column?". Unaliased projections get that name as an alias.
"""

from __future__ import annotations

import re

from sqlglot import exp

from dialects.usertypes import type_name

_D = exp.DType
_TYPE_NAMES = {
    _D.SMALLINT: "int2", _D.INT: "int4", _D.BIGINT: "int8", _D.TEXT: "text",
    _D.VARCHAR: "varchar", _D.CHAR: "bpchar", _D.BOOLEAN: "bool", _D.DECIMAL: "numeric",
    _D.FLOAT: "float4", _D.DOUBLE: "float8", _D.DATE: "date", _D.TIME: "time",
    _D.TIMESTAMP: "timestamp", _D.TIMESTAMPTZ: "timestamptz", _D.INTERVAL: "interval",
    _D.UUID: "uuid", _D.JSON: "json", _D.JSONB: "jsonb", _D.VARBINARY: "bytea",
    _D.BIT: "bit", _D.BPCHAR: "bpchar", _D.TIMETZ: "timetz",
}
# sqlglot's class names where they differ from the function the client wrote.
_FUNC_NAMES: dict[type[exp.Expr], str] = {
    exp.GroupConcat: "string_agg",
    exp.ArrayAgg: "array_agg",
    exp.CurrentTimestamp: "now",
    exp.Rand: "random",
    exp.Uuid: "gen_random_uuid",
    exp.StrPosition: "strpos",
    exp.Substring: "substring",
    exp.Length: "length",
    exp.If: "case",
    exp.Explode: "unnest",
    exp.ArraySize: "array_length",
    exp.Array: "array",
    exp.ExplodingGenerateSeries: "generate_series",
}
_UNNAMED = "?column?"
# Operators sqlglot parses into function nodes (`s ~ 'x'`, `j -> 'k'`, `j @> x`): unnamed.
_OPERATORS: tuple[type[exp.Expr], ...] = (
    exp.RegexpLike, exp.RegexpILike, exp.JSONExtract, exp.JSONExtractScalar, exp.JSONBExtract,
    exp.JSONBExtractScalar, exp.JSONBContains, exp.ArrayContainsAll, exp.ArrayContainedBy,
    exp.JSONBContainsTopKey, exp.JSONBContainsAnyTopKeys, exp.JSONBContainsAllTopKeys,
)


def _figure(node: exp.Expr) -> str | None:
    """PostgreSQL's name for the expression; None when the backend already names it the same."""
    if isinstance(node, exp.Paren):
        return _figure(node.this)
    if isinstance(node, exp.Cast):
        inner = _figure(node.this)
        if isinstance(node.this, exp.Column):
            return node.this.name
        if inner and inner != _UNNAMED:
            return inner
        to = node.to
        while to.this == _D.ARRAY and to.expressions:  # '{1}'::int[] is column "int4"
            to = to.expressions[0]
        # the type's name without its modifier: '101'::varbit(3) is column "varbit"
        return _TYPE_NAMES.get(to.this) or type_name(to) or re.sub(
            r"\(.*?\)", "", to.sql("postgres").lower())
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Tuple):
        return "row"
    if isinstance(node, exp.Boolean):
        return "bool"
    if isinstance(node, exp.Interval):
        return "interval"
    if isinstance(node, exp.Exists):
        return "exists"
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Paren) and isinstance(
        node.expression, exp.Identifier
    ):
        return node.expression.name  # (x).field is column "field"
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _figure(node.expression)  # pg_catalog.setval(…) is "setval"
    if isinstance(node, _OPERATORS):
        return _UNNAMED
    if isinstance(node, exp.AtTimeZone):
        return "timezone"
    if isinstance(node, exp.Func):
        return _FUNC_NAMES.get(type(node)) or node.sql_name().lower()
    return _UNNAMED


def name_columns(tree: exp.Expr) -> exp.Expr:
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, (exp.Insert, exp.Update, exp.Delete)):
        select = select.args.get("returning")  # RETURNING's columns are named the same way
    if not isinstance(select, (exp.Select, exp.Returning)):
        return tree
    named = []
    for projection in select.expressions:
        if isinstance(projection, (exp.Alias, exp.Star, exp.Column)):
            named.append(projection)
            continue
        name = _figure(projection)
        named.append(exp.alias_(projection, exp.to_identifier(name, quoted=True)))
    select.set("expressions", named)
    return tree
