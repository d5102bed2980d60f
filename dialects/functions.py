"""Values the proxy computes: pg_typeof(), `::regtype`, `::oid` of a type, interval constants.

A regtype value is its type's OID, as inside PostgreSQL: the rewrite turns
`pg_typeof(x)` into that OID when the statement's text fixes x's type, or into
a placeholder the proxy binds with the parameter's type (`typeof:<i>`), and
`$n::regtype` / `'int4'::regtype` into the named type's OID. The result column
is typed regtype (classify.projection_types), whose encoder prints the name.
A pg_typeof() the text cannot type (a column) is refused rather than guessed.

An interval is held as PostgreSQL's own output text ('1 day 02:03:04'), which
neither SQLite nor MySQL has a type for: a constant `'1 sec'::interval` becomes
a placeholder the proxy binds with that canonical text (`interval:<text>`; the
parser lives with the interval codec), so it compares equal to a client's
interval parameter, which the proxy binds the same way. Constants added to a
date or timestamp stay for each dialect's date arithmetic.
"""

from __future__ import annotations

import re
import typing as t
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from dialects import ranges
from dialects.api import TranslationError
from dialects.base import Spelling
from dialects.typeoids import BYTEA, OID, REGTYPE, datatype_oid, expr_oid, is_typeof, name_oid


def proxy_values(tree: exp.Expr) -> exp.Expr:
    """pg_typeof(), casts to regtype / oid, interval constants: as values the backend compares."""
    if not any(True for _ in tree.find_all(
        exp.Anonymous, exp.Cast, exp.Interval, exp.EQ, exp.NEQ, exp.Lower, exp.Upper,
        exp.ArrayContainsAll, exp.ArrayContainedBy, exp.ArrayOverlaps,
    )):
        return tree
    return tree.transform(_rewrite, copy=False)


def _rewrite(node: exp.Expr) -> exp.Expr:
    if is_typeof(node):
        return _typeof(node)
    if _is_interval(node) and isinstance(node.parent, (exp.Add, exp.Sub)):
        # date arithmetic keeps its intervals, as INTERVAL nodes each dialect spells
        value = node.this
        if isinstance(node, exp.Cast) and isinstance(value, exp.Literal) and value.is_string:
            return interval_node(value.this)
        return node
    if _is_interval(node):
        value = node.this
        if not (isinstance(value, exp.Literal) and value.is_string):
            return value  # an interval is its text already
        unit = node.args.get("unit") if isinstance(node, exp.Interval) else None
        text = f"{value.this} {unit.name}" if unit is not None else value.this
        return _bound(f"interval:{text}")
    if isinstance(node, (exp.EQ, exp.NEQ)):
        _literal_as_parameter(node)
    ranged = ranges.functions(node)
    if ranged is not None:
        # the transform does not enter a replaced node: its operands are rewritten here
        return ranged.transform(_rewrite, copy=False)
    if ranges.is_range_cast(node):
        return ranges.literal(node)
    if ranges.is_constructor(node):
        return ranges.constructor(node).transform(_rewrite, copy=False)  # arguments too
    if isinstance(node, exp.Cast) and datatype_oid(node.to) in (REGTYPE, OID):
        return _regtype(node)
    if isinstance(node, exp.Cast) and datatype_oid(node.to) in _SPECIAL_DATES:
        return _special_date(node)
    if isinstance(node, exp.Cast) and datatype_oid(node.to) in _NON_FINITE_TYPES:
        return _non_finite(node)
    if isinstance(node, exp.Neg) and isinstance(node.parent, (exp.Alias, exp.Select)):
        inner = _unparen(node.this)
        if isinstance(inner, exp.Cast) and datatype_oid(inner.to) in _NON_FINITE_TYPES:
            value = _unparen(inner.this)
            if isinstance(value, exp.Literal) and value.is_string:
                spelled = _NON_FINITE.get(value.this.strip().lower())
                if spelled:  # -'Infinity'::float8 as a result column
                    flipped = {"Infinity": "-Infinity", "-Infinity": "Infinity"}
                    return exp.Literal.string(flipped.get(spelled, spelled))
    if isinstance(node, exp.Cast) and datatype_oid(node.to) == BYTEA:
        value = node.this
        if isinstance(value, exp.Literal) and value.is_string:
            # '\x0102'::bytea is two bytes: a blob literal, not the text's own bytes
            return exp.HexString(this=bytea_literal(value.this).hex())
    return node


# date, timestamp, timestamptz: PostgreSQL's special input words that a backend reads as a
# malformed date. 'infinity' has no spelling there and stays as written.
_SPECIAL_DATES = {1082: "%Y-%m-%d", 1114: "%Y-%m-%d %H:%M:%S", 1184: "%Y-%m-%d %H:%M:%S"}
_EPOCH = {1082: "1970-01-01", 1114: "1970-01-01 00:00:00", 1184: "1970-01-01 00:00:00+00"}


def _special_date(node: exp.Cast) -> exp.Expr:
    """'epoch'::date, 'today'::date, 'now'::timestamp ... as the backend can read them."""
    value = _unparen(node.this)
    if not (isinstance(value, exp.Literal) and value.is_string):
        return node
    word = value.this.strip().lower()
    oid = datatype_oid(node.to)
    if word == "epoch":
        node.set("this", exp.Literal.string(_EPOCH[oid]))
    elif word == "now":
        node.set("this", exp.CurrentTimestamp())
    elif word in ("today", "tomorrow", "yesterday"):
        day: exp.Expr = exp.CurrentDate()
        if word != "today":
            day = exp.Add(this=day, expression=exp.Literal.number(1 if word == "tomorrow" else -1))
            day = exp.Paren(this=day)
        node.set("this", day)
    return node


# float4, float8, numeric: the types with NaN and ±Infinity, which SQLite and MySQL
# cannot cast to (they read 0). Computed values keep them as the text the proxy sends.
_NON_FINITE_TYPES = frozenset({700, 701, 1700})
_NON_FINITE = {"nan": "NaN", "infinity": "Infinity", "+infinity": "Infinity",
               "-infinity": "-Infinity", "inf": "Infinity", "+inf": "Infinity",
               "-inf": "-Infinity"}


_COMPARISONS = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ)


def _non_finite(node: exp.Cast) -> exp.Expr:
    """A result column 'NaN'::float8 is the text 'NaN' (the column is typed float8), and
    a result column $n::numeric is the parameter as the proxy decoded it."""
    value = _unparen(node.this)
    if isinstance(node.parent, _COMPARISONS) and isinstance(value, exp.Literal):
        # compared: the text the proxy binds a NaN / ±Infinity parameter as, so that
        # `$1 = 'NaN'::float8` holds (a backend cast would read 0)
        spelled = _NON_FINITE.get(value.this.strip().lower()) if value.is_string else None
        return exp.Literal.string(spelled) if spelled else node
    if not isinstance(node.parent, (exp.Alias, exp.Select)):
        return node  # computed on: the backend's number (DIFFERENCES.md)
    if isinstance(value, exp.Literal) and value.is_string:
        spelled = _NON_FINITE.get(value.this.strip().lower())
        if spelled:
            return exp.Literal.string(spelled)
        if datatype_oid(node.to) == 1700 and not node.to.expressions:
            # '1.10'::numeric keeps its scale (SQLite would make a REAL of it, MySQL pad it
            # to 30 decimals): the value in numeric's output form, typed by the column
            try:
                return exp.Literal.string(format(Decimal(value.this.strip()), "f"))
            except InvalidOperation:
                return node  # the backend's error
        return node
    if isinstance(value, exp.Parameter):
        # the proxy decoded the parameter as this type already (its type comes from this
        # cast unless the client declared one), and binds NaN / ±Infinity as text: a
        # backend cast would read those as 0 and drop a numeric's scale
        return value
    return node


_ESCAPES = re.compile(r"(\\\\|\\[0-7]{3})")


def bytea_literal(text: str) -> bytes:
    """bytea's input: hex ('\\x0102') or escape format ('a\\000b', '\\\\' for a backslash)."""
    if text[:2] == "\\x":
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise TranslationError("invalid hexadecimal data for type bytea", "22P02") from None
    if "\\" not in text:
        return text.encode()
    rest = _ESCAPES.sub("", text)
    if "\\" in rest:
        raise TranslationError("invalid input syntax for type bytea", "22P02")
    return b"".join(
        part.encode() if i % 2 == 0 else (b"\\" if part == "\\\\" else bytes((int(part[1:], 8),)))
        for i, part in enumerate(_ESCAPES.split(text))
    )


UNIT_NAMES = {
    "year": "YEAR", "years": "YEAR", "y": "YEAR", "month": "MONTH", "months": "MONTH",
    "mon": "MONTH", "mons": "MONTH", "week": "WEEK", "weeks": "WEEK", "day": "DAY",
    "days": "DAY", "d": "DAY", "hour": "HOUR", "hours": "HOUR", "h": "HOUR",
    "minute": "MINUTE", "minutes": "MINUTE", "min": "MINUTE", "mins": "MINUTE",
    "second": "SECOND", "seconds": "SECOND", "sec": "SECOND", "secs": "SECOND", "s": "SECOND",
}


def interval_node(text: str) -> exp.Interval:
    """'1 day' as INTERVAL '1' DAY, the form MySQL reads; other text as INTERVAL 'text'
    (SQLite's date arithmetic reads both)."""
    words = text.split()
    if len(words) == 2 and words[1].lower() in UNIT_NAMES:
        try:
            float(words[0])
        except ValueError:
            return exp.Interval(this=exp.Literal.string(text))
        unit = exp.var(UNIT_NAMES[words[1].lower()])
        return exp.Interval(this=exp.Literal.string(words[0]), unit=unit)
    return exp.Interval(this=exp.Literal.string(text))


def _is_interval(node: exp.Expr) -> bool:
    """An interval value; not the fields of a type (`interval day to second`)."""
    return (isinstance(node, exp.Interval) and not isinstance(node.parent, exp.DataType)) or (
        isinstance(node, exp.Cast) and node.to.this == exp.DType.INTERVAL
    )


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _param_index(node: exp.Expr) -> int | None:
    node = _unparen(node)
    if isinstance(node, exp.Parameter):
        value = node.this
        if isinstance(value, exp.Literal) and value.this.isdigit():
            return int(value.this) - 1
    return None


def _literal_as_parameter(node: exp.Binary) -> None:
    """'{1,2}' = $1: an untyped literal takes the parameter's type, as PostgreSQL reads it;
    the proxy binds it in the form the backend holds that type in (`as_param:<i>:<text>`)."""
    for side, other in ((node.this, node.expression), (node.expression, node.this)):
        index = _param_index(other)
        if isinstance(side, exp.Literal) and side.is_string and index is not None:
            side.replace(_bound(f"as_param:{index}:{side.this}"))


def _bound(key: str) -> exp.Parameter:
    return exp.Parameter(this=exp.var(f"session:{key}"))


def _typeof(node: exp.Anonymous) -> exp.Expr:
    if len(node.expressions) != 1:
        raise TranslationError("function pg_typeof() takes exactly one argument", "42883")
    arg = node.expressions[0]
    index = _param_index(arg)
    if index is not None:
        return _bound(f"typeof:{index}")
    arg = _unparen(arg)
    if isinstance(arg, exp.Array) and not expr_oid(arg) and arg.expressions:
        first = _param_index(arg.expressions[0])
        if first is not None:
            return _bound(f"typeof_array:{first}")  # ARRAY[$1, …]: an array of $1's type
    if isinstance(arg, exp.Literal) and arg.is_string:
        return exp.Literal.number(705)  # an untyped literal is unknown
    if isinstance(arg, exp.Null):
        return exp.Literal.number(705)
    oid = expr_oid(arg)
    if not oid:
        raise TranslationError(
            f"pg_typeof({arg.sql('postgres')}) is not supported here: the proxy knows the type "
            "of literals, casts and parameters only",
            "0A000",
        )
    return exp.Literal.number(oid)


def _regtype(node: exp.Cast) -> exp.Expr:
    """x::regtype and x::oid where x names a type (or is one): the type's OID."""
    value = node.this
    inner = _unparen(value)
    if is_typeof(inner):
        return _typeof(inner)
    if isinstance(inner, exp.Cast) and datatype_oid(inner.to) in (REGTYPE, OID):
        return _regtype(inner)  # ::regtype::oid
    if isinstance(inner, exp.Literal) and not inner.is_string:
        return inner  # an OID already
    if isinstance(inner, exp.Literal) and datatype_oid(node.to) == OID and re.fullmatch(
            r"\s*[+-]?\d+\s*", inner.this):
        number = int(inner.this)  # '16'::oid is the number, as oidin reads it
        if not -(2**31) <= number < 2**32:
            raise TranslationError(
                f'value "{inner.this.strip()}" is out of range for type oid', "22003")
        return exp.Literal.number(number % 2**32)  # oidin wraps a negative one
    if isinstance(inner, exp.Literal):
        oid = name_oid(inner.this)
        if not oid:
            raise TranslationError(f'type "{inner.this}" does not exist', "42704")
        return exp.Literal.number(oid)
    if isinstance(inner, exp.Parameter) and inner.this.name.startswith("session:typeof"):
        return inner  # pg_typeof($n) rewritten already
    index = _param_index(inner)
    if index is not None and datatype_oid(node.to) == REGTYPE:
        return _bound(f"regtype:{index}")
    if datatype_oid(node.to) == OID:
        return node  # an oid cast of anything else: the backend's integer cast
    raise TranslationError(
        f"{value.sql('postgres')}::regtype is not supported here: write a type name or a "
        "parameter",
        "0A000",
    )


# Byte and character functions MySQL spells differently (SQLite gets them as functions
# registered on the connection: pgproxy/backends/sqlite_functions.py).
MYSQL_SPELLINGS: dict[str, Spelling] = {
    "get_byte": lambda self, a: f"ASCII(SUBSTRING({self.sql(a[0])}, {self.sql(a[1])} + 1, 1))",
    "set_byte": lambda self, a: (
        f"INSERT({self.sql(a[0])}, {self.sql(a[1])} + 1, 1, CHAR({self.sql(a[2])}))"
    ),
}


def mysql_chr_sql(self: t.Any, expression: exp.Chr) -> str:
    """chr(n) is the character of code point n; MySQL's CHAR(n) is bytes."""
    return f"CONVERT(CHAR({self.expressions(expression, flat=True)} USING utf32) USING utf8mb4)"


def mysql_ascii_sql(self: t.Any, expression: exp.Expr) -> str:
    """ascii(s) is the first character's code point; MySQL's ASCII() is its first byte."""
    text = self.sql(expression, "this")
    return f"CAST(CONV(HEX(CONVERT(LEFT({text}, 1) USING utf32)), 16, 10) AS SIGNED)"
