"""Range and multirange constants and constructors as values the proxy binds.

Neither SQLite nor MySQL has range types: the backend holds a range as
PostgreSQL's canonical output text (`[1,3)`, `empty`, `{[1,3),[5,7)}`), which
the proxy reads and writes (pgproxy/types/ranges.py). So a constant
`'[1,2]'::int4range` keeps its cast (which types it for arrays, comparisons and
result columns; each dialect writes a cast to a range as its operand) around a
placeholder the proxy binds with the canonical text (`range:<oid>:<text>`), and
a constructor `int4range(a, b, '[]')` or `int4multirange(r1, r2)` whose
arguments are constants or parameters becomes the same, computed by the proxy
from the bound values (`rangeof:<oid>:<arguments as JSON>`). A constructor of
column values is refused with 0A000: the backend cannot compute it.
"""

from __future__ import annotations

import json
import typing as t

from sqlglot import exp

from dialects.api import TranslationError
from dialects.base import Spelling
from dialects.typeoids import RANGE_OIDS, RANGE_TYPE_OIDS, SUBTYPES, datatype_oid, expr_oid

RANGE_TYPES = frozenset(RANGE_OIDS)
# ranges, multiranges and their arrays: a literal of one is read by the proxy
_OIDS = frozenset(oid for oids in RANGE_OIDS.values() for oid in oids)


def is_range_cast(node: exp.Expr) -> bool:
    return isinstance(node, exp.Cast) and datatype_oid(node.to) in _OIDS


def is_constructor(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() in RANGE_TYPE_OIDS


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _bound(key: str) -> exp.Parameter:
    return exp.Parameter(this=exp.var(f"session:{key}"))


def literal(node: exp.Cast) -> exp.Cast:
    """'[1,2]'::int4range: the cast around the canonical text the proxy binds (for an array
    of ranges, '{"[1,2]",empty}'::int4range[], the JSON array of them)."""
    value = _unparen(node.this)
    if isinstance(value, exp.Literal) and value.is_string:
        node.set("this", _bound(f"range:{datatype_oid(node.to)}:{value.this}"))
    return node


def _argument(node: exp.Expr) -> list[object] | None:
    """A constructor argument as ["p", index], ["t", text] or a nested constructor
    ["c", oid, [arguments]]; None for NULL."""
    node = _unparen(node)
    if is_constructor(node):  # int4multirange(int4range(1, 2), …)
        return ["c", RANGE_TYPE_OIDS[node.name.lower()], _arguments(node)]
    while isinstance(node, exp.Cast):  # $1::int4, '2020-01-01'::date: the proxy reads the type
        node = _unparen(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        return ["t", node.this]
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return ["t", f"-{node.this.this}"]
    if isinstance(node, exp.Parameter):
        value = node.this
        if isinstance(value, exp.Literal) and value.this.isdigit():
            return ["p", int(value.this) - 1]
    raise _NotConstant


class _NotConstant(Exception):
    """A constructor argument the proxy cannot compute (a column, an expression)."""


def _arguments(node: exp.Anonymous) -> list[list[object] | None]:
    name = node.name.lower()
    args = [_argument(a) for a in node.expressions]
    if "multirange" not in name and len(args) not in (2, 3):
        raise TranslationError(
            f"function {name}({', '.join('unknown' for _ in args)}) does not exist", "42883"
        )
    return args


def constructor(node: exp.Anonymous) -> exp.Expr:
    """int4range(a, b [, bounds]), int4multirange(r, …): computed by the proxy, or of other
    values by the backend's pgproxy_range_make(oid, …) (SQLite registers it; MySQL has none)."""
    oid = RANGE_TYPE_OIDS[node.name.lower()]
    kind = next(k for k, oids in RANGE_OIDS.items() if oids[0] == oid)
    try:
        args = _arguments(node)
    except _NotConstant:
        call = exp.Anonymous(
            this="pgproxy_range_make", expressions=[exp.Literal.number(oid), *node.expressions]
        )
        return exp.Cast(this=call, to=exp.DataType(this=kind))
    key = f"rangeof:{oid}:{json.dumps(args, separators=(',', ':'))}"
    return exp.Cast(this=_bound(key), to=exp.DataType(this=kind))


# ---------------------------------------------------------------- functions and operators
#
# isempty, lower_inc, upper_inc, lower_inf, upper_inf read the canonical text's shape, so
# they take any operand (a column too). lower(), upper(), @>, <@ and && need the subtype:
# they are translated where the statement's text types an operand as a range (a cast, a
# constructor, `$n::int4range`) and become pgproxy_range_* calls, which SQLite registers
# (pgproxy/backends/sqlite_functions.py) and MySQL spells below.

_FLAGS = ("isempty", "lower_inc", "upper_inc", "lower_inf", "upper_inf")
_MULTI = frozenset(oid for kind, (oid, _) in RANGE_OIDS.items() if "MULTI" in kind.value)


def _range_oid(node: exp.Expr | None) -> int:
    oid = expr_oid(node)
    return oid if oid in SUBTYPES else 0


def functions(node: exp.Expr) -> exp.Expr | None:
    """A range function or operator as a pgproxy_range_* call; None when it is not one."""
    if isinstance(node, exp.Anonymous) and node.name.lower() in _FLAGS:
        if len(node.expressions) != 1:
            raise TranslationError(f"function {node.name.lower()} takes one argument", "42883")
        return exp.Anonymous(
            this=f"pgproxy_range_{node.name.lower()}", expressions=[node.expressions[0]]
        )
    if isinstance(node, (exp.Lower, exp.Upper)) and _range_oid(node.this):
        name = "pgproxy_range_lower" if isinstance(node, exp.Lower) else "pgproxy_range_upper"
        return exp.Anonymous(
            this=name, expressions=[node.this, exp.Literal.number(_range_oid(node.this))]
        )
    if isinstance(node, (exp.ArrayContainsAll, exp.ArrayContainedBy, exp.ArrayOverlaps)):
        left, right = node.this, node.expression
        oid = _range_oid(left) or _range_oid(right)
        if not oid:
            if expr_oid(left) in _MULTI or expr_oid(right) in _MULTI:
                raise TranslationError("multirange operators are not supported here", "0A000")
            return None
        if isinstance(node, exp.ArrayContainedBy):  # a <@ b is b @> a
            left, right = right, left
        if isinstance(node, exp.ArrayOverlaps):
            name = "pgproxy_range_overlaps"
        elif _range_oid(right):
            name = "pgproxy_range_contains"
        else:
            name = "pgproxy_range_has"  # range @> element
        return exp.Anonymous(this=name, expressions=[left, right, exp.Literal.number(oid)])
    return None


def _mysql_parts(self: t.Any, arg: exp.Expr, oid: int) -> dict[str, str]:
    """SQL reading a range's canonical text on MySQL: its bounds (NULL when infinite) and flags."""
    r = self.sql(arg)
    lo = f"NULLIF(REPLACE(SUBSTRING_INDEX(SUBSTRING({r}, 2), ',', 1), '\"', ''), '')"
    up = (
        f"NULLIF(REPLACE(SUBSTRING_INDEX(SUBSTRING({r}, 1, CHAR_LENGTH({r}) - 1), ',', -1),"
        " '\"', ''), '')"
    )
    if SUBTYPES.get(oid) in (20, 23):  # integers compare as numbers, not text
        lo, up = f"CAST({lo} AS SIGNED)", f"CAST({up} AS SIGNED)"
    return {
        "r": r,
        "lo": f"(CASE WHEN {r} = 'empty' THEN NULL ELSE {lo} END)",
        "up": f"(CASE WHEN {r} = 'empty' THEN NULL ELSE {up} END)",
        "empty": f"({r} = 'empty')",
        "li": f"({r} <> 'empty' AND LEFT({r}, 1) = '[')",
        "ui": f"({r} <> 'empty' AND RIGHT({r}, 1) = ']')",
        "linf": f"({r} <> 'empty' AND SUBSTRING({r}, 2, 1) = ',')",
        "uinf": f"({r} <> 'empty' AND SUBSTRING({r}, CHAR_LENGTH({r}) - 1, 1) = ',')",
    }


def _oid(arg: exp.Expr) -> int:
    return int(arg.name) if isinstance(arg, exp.Literal) else 0


def _lower_le_upper(a: dict[str, str], b: dict[str, str]) -> str:
    return (
        f"({a['linf']} OR {b['uinf']} OR {a['lo']} < {b['up']}"
        f" OR ({a['lo']} = {b['up']} AND {a['li']} AND {b['ui']}))"
    )


def _mysql_contains(self: t.Any, args: list[exp.Expr]) -> str:
    a, b = _mysql_parts(self, args[0], _oid(args[2])), _mysql_parts(self, args[1], _oid(args[2]))
    lower = (
        f"({a['linf']} OR (NOT {b['linf']} AND ({a['lo']} < {b['lo']}"
        f" OR ({a['lo']} = {b['lo']} AND ({a['li']} OR NOT {b['li']})))))"
    )
    upper = (
        f"({a['uinf']} OR (NOT {b['uinf']} AND ({b['up']} < {a['up']}"
        f" OR ({b['up']} = {a['up']} AND ({a['ui']} OR NOT {b['ui']})))))"
    )
    return f"({b['empty']} OR (NOT {a['empty']} AND {lower} AND {upper}))"


def _mysql_overlaps(self: t.Any, args: list[exp.Expr]) -> str:
    a, b = _mysql_parts(self, args[0], _oid(args[2])), _mysql_parts(self, args[1], _oid(args[2]))
    return (
        f"(NOT {a['empty']} AND NOT {b['empty']} AND {_lower_le_upper(a, b)}"
        f" AND {_lower_le_upper(b, a)})"
    )


def _mysql_has(self: t.Any, args: list[exp.Expr]) -> str:
    a, e = _mysql_parts(self, args[0], _oid(args[2])), self.sql(args[1])
    return (
        f"(NOT {a['empty']} AND ({a['linf']} OR {a['lo']} < {e} OR ({a['lo']} = {e}"
        f" AND {a['li']})) AND ({a['uinf']} OR {e} < {a['up']} OR ({e} = {a['up']}"
        f" AND {a['ui']})))"
    )


def _part(name: str) -> Spelling:
    return lambda self, args: _mysql_parts(self, args[0], _oid(args[-1]))[name]


def _mysql_make(self: t.Any, args: list[exp.Expr]) -> str:
    raise TranslationError(
        "a range constructor of column values is not supported on MySQL: the proxy "
        "computes ranges of constants and parameters only",
        "0A000",
    )


MYSQL_SPELLINGS: dict[str, Spelling] = {
    "pgproxy_range_make": _mysql_make,
    "pgproxy_range_lower": _part("lo"),
    "pgproxy_range_upper": _part("up"),
    "pgproxy_range_isempty": _part("empty"),
    "pgproxy_range_lower_inc": _part("li"),
    "pgproxy_range_upper_inc": _part("ui"),
    "pgproxy_range_lower_inf": _part("linf"),
    "pgproxy_range_upper_inf": _part("uinf"),
    "pgproxy_range_contains": _mysql_contains,
    "pgproxy_range_overlaps": _mysql_overlaps,
    "pgproxy_range_has": _mysql_has,
}
