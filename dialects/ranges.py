"""Range and multirange constants and constructors as values the proxy binds.

Neither SQLite nor MySQL has range types: the backend holds a range as
PostgreSQL's canonical output text (`[1,3)`, `empty`, `{[1,3),[5,7)}`), which
the proxy reads and writes (pgproxy/wire/codecs/ranges.py). So a constant
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

from sqlglot import exp

from dialects.api import TranslationError
from dialects.typeoids import RANGE_OIDS, RANGE_TYPE_OIDS, datatype_oid

RANGE_TYPES = frozenset(RANGE_OIDS)
_OIDS = frozenset(oid for oid, _ in RANGE_OIDS.values())


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
    """'[1,2]'::int4range: the cast around the canonical text the proxy binds."""
    value = _unparen(node.this)
    if isinstance(value, exp.Literal) and value.is_string:
        node.set("this", _bound(f"range:{datatype_oid(node.to)}:{value.this}"))
    return node


def _argument(node: exp.Expr) -> list[object] | None:
    """A constructor argument as ["p", index] or ["t", text]; None for NULL."""
    node = _unparen(node)
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
    raise TranslationError(
        f"{node.sql('postgres')} as a range constructor argument is not supported here: "
        "the proxy computes ranges of constants and parameters only",
        "0A000",
    )


def constructor(node: exp.Anonymous) -> exp.Expr:
    """int4range(a, b [, bounds]), int4multirange(r, …): computed by the proxy."""
    name = node.name.lower()
    args = [_argument(a) for a in node.expressions]
    oid = RANGE_TYPE_OIDS[name]
    if "multirange" not in name and len(args) not in (2, 3):
        raise TranslationError(
            f"function {name}({', '.join('unknown' for _ in args)}) does not exist", "42883"
        )
    key = f"rangeof:{oid}:{json.dumps(args, separators=(',', ':'))}"
    kind = next(k for k, oids in RANGE_OIDS.items() if oids[0] == oid)
    return exp.Cast(this=_bound(key), to=exp.DataType(this=kind))
