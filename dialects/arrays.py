"""PostgreSQL arrays on backends without them: a JSON array is the value.

One representation everywhere (DESIGN.md, "Arrays"): an array is a JSON array
held as the backend's JSON text. `ARRAY[…]` is `json_array(…)` / `JSON_ARRAY(…)`,
an array literal `'{1,2}'::int[]` becomes the JSON text `'[1,2]'`, a client's
array parameter is bound as JSON text by the proxy, and the result column is
typed as the PostgreSQL array the text fixes, so the encoder turns the JSON
back into `{1,2}` (or binary). Functions read the elements through the
backend's JSON table function (`json_each` / `JSON_TABLE`), wrapped here as
the `JsonElements` node each backend dialect spells: `= ANY`, `<> ALL`,
`unnest`, `array_remove`. `array_length`, `cardinality`, `array_agg` and
subscripts map to the backend's JSON functions.
"""

from __future__ import annotations

import json
import typing as t
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from dialects.api import TranslationError
from dialects.base import Spelling, unsupported
from dialects.typeoids import ELEMENT_OF, datatype_oid, expr_oid, is_array

# array_in skips only the C locale's white space: "\x1c" is an element, not a blank.
_SPACE = " \t\n\r\v\f"

VALUE = "value"  # the element column of JsonElements, on every backend
_INTEGERS = {20, 21, 23, 26}
_NUMBERS = {700, 701, 1700}


# Nodes each backend spells its own way. sqlglot's compiled expression classes cannot be
# subclassed, so they are anonymous functions with reserved names, dispatched by
# the SPELLINGS tables below: pgproxy_json_elements(arr, element_oid) is a FROM item, the elements
# of a JSON array as a table with one column `value`; pgproxy_json_length(arr);
# pgproxy_json_agg(x).
_ELEMENTS = "pgproxy_json_elements"
_LENGTH = "pgproxy_json_length"
_AGG = "pgproxy_json_agg"
_NORM = "pgproxy_json_norm"
# pgproxy_json_entries(arr, element_oid): the elements as a table with `value` and `key`, the
# element's position (from 0 or 1 by backend; only compared with another array's).
_ENTRIES = "pgproxy_json_entries"
KEY = "key"


def json_elements(this: exp.Expr, element: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=_ELEMENTS, expressions=[this, element])


def json_length(this: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=_LENGTH, expressions=[this])


def _json_norm(this: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=_NORM, expressions=[this])


def json_array_agg(this: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=_AGG, expressions=[this])


def _value(table: str | None = None) -> exp.Column:
    return exp.column(exp.to_identifier(VALUE, quoted=True), table=table)


def _elements(array: exp.Expr, alias: str) -> exp.Table:
    element = ELEMENT_OF.get(expr_oid(array), 0)
    node = json_elements(this=array, element=exp.Literal.number(element))
    return exp.Table(this=node, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _subquery(select: exp.Select) -> exp.Subquery:
    return exp.Subquery(this=select)


# --- whole-statement rewrites (PREPROCESS) ---------------------------------------------------


def array_rewrites(tree: exp.Expr) -> exp.Expr:
    """ANY / ALL, unnest, array_remove and array literals as JSON operations."""
    if not any(
        True for _ in tree.find_all(exp.Array, exp.Any, exp.Unnest, exp.Explode, exp.ArrayRemove,
                                    exp.Cast, exp.Anonymous, exp.ArrayAgg, exp.ArraySize)
    ):
        return tree
    # Casts first: the rewrites below move arrays into nodes the transform does not revisit.
    tree = tree.transform(_cast_rewrite, copy=False)
    _explode_in_select(tree)
    return tree.transform(_rewrite, copy=False)


def _cast_rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Cast) and datatype_oid(node.to) in ELEMENT_OF:
        return _array_cast(node)
    return node


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, (exp.EQ, exp.NEQ)) and (is_array(node.this) or is_array(node.expression)):
        # two arrays are equal when their JSON is: one spelling for both sides
        return node.__class__(this=_json_norm(node.this), expression=_json_norm(node.expression))
    if isinstance(node, exp.Predicate) and isinstance(node, exp.Binary):
        right = node.expression
        if isinstance(right, exp.Any):
            return _quantified(node, _unparen(right.this), every=False)
        if isinstance(right, exp.Anonymous) and right.name.lower() == "all" and len(
            right.expressions
        ) == 1:
            return _quantified(node, right.expressions[0], every=True)
    if isinstance(node, exp.Unnest):
        return _unnest(node)
    if isinstance(node, exp.ArrayRemove):
        return _array_remove(node)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "cardinality":
        if len(node.expressions) != 1:
            raise TranslationError("function cardinality() takes one argument", "42883")
        return json_length(this=node.expressions[0])
    if isinstance(node, exp.ArraySize):
        dimension = node.expression
        if not (isinstance(dimension, exp.Literal) and dimension.this == "1"):
            unsupported("array_length() of a dimension other than 1 is not supported here")
        # PostgreSQL: the length of an empty array's dimension is NULL.
        return exp.Nullif(this=json_length(this=node.this), expression=exp.Literal.number(0))
    return node


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _quantified(node: exp.Binary, array: exp.Expr, every: bool) -> exp.Expr:
    """x op ANY(arr) / x op ALL(arr) over the array's elements."""
    left = node.this
    if isinstance(array, exp.Literal) and array.is_string:
        # x = ANY('{1,2}'): PostgreSQL types the literal by x; its elements stay text
        # here, which both backends compare with x's type
        array = exp.Literal.string(json_literal(array.this, 0))
    if not every and isinstance(node, exp.EQ):
        query = exp.select(_value("e")).from_(_elements(array, "e"))
        return exp.In(this=left, query=_subquery(query))
    test = node.__class__(this=left, expression=_value("e"))
    query = exp.select(exp.Literal.number(1)).from_(_elements(array, "e"))
    if every:
        return exp.not_(exp.Exists(this=query.where(exp.not_(test))))
    return exp.Exists(this=query.where(test))


def _unnest(node: exp.Unnest) -> exp.Expr:
    alias = node.args.get("alias")
    name = alias.name if alias is not None and alias.name else "unnest"
    columns = [c.name for c in alias.columns] if alias is not None else []
    if len(node.expressions) == 1:
        column = columns[0] if columns else name
        query = exp.select(exp.alias_(_value("e"), column, quoted=True)).from_(
            _elements(node.expressions[0], "e")
        )
    else:
        query = _zipped(node.expressions, columns)
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _zipped(arrays: list[exp.Expr], columns: list[str]) -> exp.Select:
    """unnest(a, b, …): row i holds each array's element i, NULL past an array's end (as
    PostgreSQL zips them), in the arrays' order: the positions of every array, each
    array's element joined to its position."""
    def entries(i: int) -> exp.Table:
        element = ELEMENT_OF.get(expr_oid(arrays[i]), 0)
        node = exp.Anonymous(this=_ENTRIES, expressions=[arrays[i], exp.Literal.number(element)])
        return exp.Table(this=node, alias=exp.TableAlias(this=exp.to_identifier(f"_e{i}")))

    def key(table: str) -> exp.Column:
        return exp.column(exp.to_identifier(KEY, quoted=True), table=table)

    positions: exp.Query = exp.select(key("_e0")).from_(entries(0))
    for i in range(1, len(arrays)):
        positions = exp.union(positions, exp.select(key(f"_e{i}")).from_(entries(i)))
    # PostgreSQL names the columns unnest, unnest …; a derived table needs distinct names.
    names = [columns[i] if i < len(columns) else "unnest" + (f"_{i + 1}" if i else "")
             for i in range(len(arrays))]
    query = exp.select(*(exp.alias_(_value(f"_e{i}"), n, quoted=True)
                         for i, n in enumerate(names)))
    query = query.from_(exp.Subquery(this=positions, alias=exp.TableAlias(
        this=exp.to_identifier("_k"))))
    for i in range(len(arrays)):
        query = query.join(entries(i), on=exp.EQ(this=key(f"_e{i}"), expression=key("_k")),
                           join_type="left")
    return query.order_by(key("_k"))


def _array_remove(node: exp.ArrayRemove) -> exp.Expr:
    query = exp.select(json_array_agg(this=_value("e"))).from_(_elements(node.this, "e")).where(
        exp.NullSafeNEQ(this=_value("e"), expression=node.expression)
    )
    return exp.Coalesce(this=_subquery(query), expressions=[exp.Array(expressions=[])])


def _explode_in_select(tree: exp.Expr) -> None:
    """SELECT unnest(arr), … : a set-returning function in the select list joins its
    elements to the FROM (lateral: the array may read the FROM's columns)."""
    for select in list(tree.find_all(exp.Select)):
        explodes = [p for p in select.expressions if isinstance(_unaliased(p), exp.Explode)]
        if not explodes:
            continue
        if len(explodes) > 1:
            unsupported("several unnest() in one select list are not supported here")
        item = explodes[0]
        explode = _unaliased(item)
        if explode.expressions:
            unsupported("unnest() of several arrays at once is not supported here")
        name = item.alias if isinstance(item, exp.Alias) else "unnest"
        table = _elements(explode.this, "_unnest")
        value = exp.alias_(_value("_unnest"), name, quoted=True)
        item.replace(value)
        if select.args.get("from_") is None:
            select.from_(table, copy=False)
        else:
            select.join(table, copy=False)


def _unaliased(node: exp.Expr) -> exp.Expr:
    return node.this if isinstance(node, exp.Alias) else node


def _array_cast(node: exp.Cast) -> exp.Expr:
    """x::int[]: a literal '{…}' becomes JSON text. The cast stays (it types the elements
    for JSON_TABLE and the result); each dialect writes a cast to an array as its operand."""
    value = _unparen(node.this)
    if isinstance(value, exp.Literal) and value.is_string:
        element = ELEMENT_OF[datatype_oid(node.to)]
        node.set("this", exp.Literal.string(json_literal(value.this, element)))
    return node


def json_literal(text: str, element: int) -> str:
    """A PostgreSQL array literal as the JSON text that stands for it."""
    try:
        items = _parse_literal(text)
    except (IndexError, ValueError):
        raise TranslationError(f'malformed array literal: "{text}"', "22P02") from None
    return json.dumps(_typed(items, element), separators=(",", ":"))


def _typed(items: list[t.Any], element: int) -> list[t.Any]:
    out: list[t.Any] = []
    for item in items:
        if isinstance(item, list):
            out.append(_typed(item, element))
        elif element == 16 and item is not None:
            out.append(_boolean(item))
        elif item is None or element not in _INTEGERS | _NUMBERS:
            out.append(item)
        elif element in _INTEGERS:
            try:
                out.append(int(item))
            except ValueError:
                raise TranslationError(
                    f'invalid input syntax for type integer: "{item}"', "22P02"
                ) from None
        else:
            try:
                Decimal(item)
            except InvalidOperation:
                raise TranslationError(
                    f'invalid input syntax for type numeric: "{item}"', "22P02"
                ) from None
            out.append(item)  # a string keeps numeric's scale ('1.10')
    return out


# boolin's spellings: any prefix of true/false/yes/no, on/off (two letters at least), 1/0.
def _boolean(item: str) -> bool:
    word = item.strip(_SPACE).lower()
    if word and ("true".startswith(word) or "yes".startswith(word) or word in ("on", "1")):
        return True
    if word and ("false".startswith(word) or "no".startswith(word) or word in ("off", "of", "0")):
        return False
    raise TranslationError(f'invalid input syntax for type boolean: "{item}"', "22P02")


def _parse_literal(s: str) -> list[t.Any]:
    s = s.strip(_SPACE)
    if s.startswith("["):  # dimension decoration ('[0:1]={a,b}'): a list has no bounds
        s = s[s.index("=") + 1 :].lstrip(_SPACE)
    if not s.startswith("{"):
        raise ValueError(s)
    out, pos = _parse(s, 0)
    if s[pos:].strip(_SPACE):
        raise ValueError(s)
    return out


def _parse(s: str, pos: int) -> tuple[list[t.Any], int]:
    out: list[t.Any] = []
    pos += 1
    while True:
        while s[pos] in _SPACE:
            pos += 1
        if s[pos] == "}" and not out:
            return out, pos + 1
        if s[pos] == "{":
            sub, pos = _parse(s, pos)
            out.append(sub)
        elif s[pos] == '"':
            buf = []
            pos += 1
            while s[pos] != '"':
                if s[pos] == "\\":
                    pos += 1
                buf.append(s[pos])
                pos += 1
            pos += 1
            out.append("".join(buf))
        else:
            start = pos
            while s[pos] not in ",}":
                pos += 1
            word = s[start:pos].strip(_SPACE)
            out.append(None if word.upper() == "NULL" else word)
        while s[pos] in _SPACE:
            pos += 1
        if s[pos] == ",":
            pos += 1
        elif s[pos] == "}":
            return out, pos + 1
        else:
            raise ValueError(s)


def array_agg_to_json(tree: exp.Expr) -> exp.Expr:
    """array_agg(x) as the backend's JSON aggregate (before generation, so FILTER still applies)."""
    for node in list(tree.find_all(exp.ArrayAgg)):
        node.replace(json_array_agg(this=node.this))
    return tree


# --- generator rules (TRANSFORMS) ------------------------------------------------------------

def _elements_sql(self: t.Any, expression: exp.Array, hex_text: str) -> str:
    """The elements of ARRAY[...]; a bytea element as its `\\x…` text (JSON holds no bytes,
    and the proxy binds a bytea[] parameter's elements the same way)."""
    parts = []
    for element in expression.expressions:
        sql = self.sql(element)
        parts.append(hex_text.format(sql) if expr_oid(element) == 17 else sql)
    return ", ".join(parts)


_SQLITE_HEX = "'\\x' || LOWER(HEX({}))"  # SQLite's '\x' is a backslash and an x
_MYSQL_HEX = "CONCAT('\\\\x', LOWER(HEX({})))"  # MySQL's '\\x' is a backslash and an x


def _sqlite_array_sql(self: t.Any, expression: exp.Array) -> str:
    return f"json_array({_elements_sql(self, expression, _SQLITE_HEX)})"


# MySQL / MariaDB: JSON_TABLE needs the element's SQL type.
_MYSQL_ELEMENT = {
    16: "BOOLEAN", 20: "BIGINT", 21: "BIGINT", 23: "BIGINT", 26: "BIGINT", 700: "DOUBLE",
    701: "DOUBLE", 1700: "DECIMAL(65, 30)", 1082: "DATE", 1114: "DATETIME(6)",
    1184: "DATETIME(6)", 1083: "TIME(6)",
}


def _mysql_elements(self: t.Any, args: list[exp.Expr]) -> str:
    kind = _MYSQL_ELEMENT.get(int(args[1].this), "LONGTEXT")
    return f"JSON_TABLE({self.sql(args[0])}, '$[*]' COLUMNS (`{VALUE}` {kind} PATH '$'))"


def _mysql_entries(self: t.Any, args: list[exp.Expr]) -> str:
    kind = _MYSQL_ELEMENT.get(int(args[1].this), "LONGTEXT")
    return (f"JSON_TABLE({self.sql(args[0])}, '$[*]' COLUMNS (`{KEY}` FOR ORDINALITY,"
            f" `{VALUE}` {kind} PATH '$'))")


def _mysql_array_sql(self: t.Any, expression: exp.Array) -> str:
    return f"JSON_ARRAY({_elements_sql(self, expression, _MYSQL_HEX)})"


SPELLINGS: dict[str, dict[str, Spelling]] = {
    "sqlite": {
        _ELEMENTS: lambda self, a: f"json_each({self.sql(a[0])})",
        _ENTRIES: lambda self, a: f"json_each({self.sql(a[0])})",
        _LENGTH: lambda self, a: f"json_array_length({self.sql(a[0])})",
        _AGG: lambda self, a: f"json_group_array({self.sql(a[0])})",
        _NORM: lambda self, a: f"json({self.sql(a[0])})",
    },
    "mysql": {
        _ELEMENTS: _mysql_elements,
        _ENTRIES: _mysql_entries,
        _LENGTH: lambda self, a: f"JSON_LENGTH({self.sql(a[0])})",
        _AGG: lambda self, a: f"JSON_ARRAYAGG({self.sql(a[0])})",
        _NORM: lambda self, a: f"JSON_COMPACT({self.sql(a[0])})",
    },
}


def array_sql(dialect: str) -> t.Callable[[t.Any, exp.Array], str]:
    """The rule for `ARRAY[...]` in a backend dialect ('sqlite' or 'mysql')."""
    return _sqlite_array_sql if dialect == "sqlite" else _mysql_array_sql


PREPROCESS = (array_rewrites, array_agg_to_json)
