"""SQL-level PREPARE, EXECUTE and DEALLOCATE, kept by the proxy.

pg_dump 15 prepares its per-object catalog queries this way (`PREPARE
dumpEnumType(pg_catalog.oid) AS SELECT … WHERE enumtypid = $1`, then `EXECUTE
dumpEnumType('16385')`). A PREPARE is parsed once and kept by name in the
session; EXECUTE binds its arguments, which must be constants, as the
statement's $n and runs it like any other statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from pgproxy import errors, pgtypes

_NAME = r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_PREPARE = re.compile(rf"^\s*PREPARE\s+{_NAME}\s*(?:\((.*?)\))?\s+AS\s+(.*?)\s*;?\s*$",
                      re.I | re.S)
_EXECUTE = re.compile(rf"^\s*EXECUTE\s+{_NAME}\s*(?:\((.*)\))?\s*;?\s*$", re.I | re.S)
_DEALLOCATE = re.compile(rf"^\s*DEALLOCATE\s+(?:PREPARE\s+)?(ALL|{_NAME})\s*;?\s*$",
                         re.I | re.S)
_TYPE_NAMES = {"integer": "int4", "int": "int4", "smallint": "int2", "bigint": "int8",
               "boolean": "bool", "character varying": "varchar", "real": "float4",
               "double precision": "float8"}


def _ident(name: str) -> str:
    if name.startswith('"'):
        return name[1:-1].replace('""', '"')
    return name.lower()


@dataclass(slots=True)
class Prepare:
    name: str
    param_types: list[int]  # 0: to be inferred, as an unspecified Parse type
    query: str


def parse_prepare(sql: str) -> Prepare:
    match = _PREPARE.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in PREPARE")
    types = []
    for name in (match.group(2) or "").split(","):
        name = " ".join(name.strip().lower().split()).removeprefix("pg_catalog.")
        if name:
            types.append(pgtypes.BY_NAME.get(_TYPE_NAMES.get(name, name), 0))
    return Prepare(_ident(match.group(1)), types, match.group(3))


def parse_execute(sql: str) -> tuple[str, list[str | None]]:
    """(statement name, each argument's text or None for NULL)."""
    match = _EXECUTE.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in EXECUTE")
    args: list[str | None] = []
    if match.group(2) and match.group(2).strip():
        try:
            values = sqlglot.parse_one(f"SELECT {match.group(2)}", read="postgres").expressions
        except sqlglot.errors.SqlglotError:
            raise errors.SyntaxError("syntax error in EXECUTE arguments") from None
        args = [_constant(v) for v in values]
    return _ident(match.group(1)), args


def _constant(node: exp.Expr) -> str | None:
    """An EXECUTE argument's text: a literal, perhaps signed or cast ('16385'::oid)."""
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return f"-{node.this.this}"
    if isinstance(node, exp.Literal):
        return node.this
    raise errors.FeatureNotSupported("EXECUTE arguments must be constants in pgproxy")


def parse_deallocate(sql: str) -> str | None:
    """The statement name, or None for ALL."""
    match = _DEALLOCATE.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in DEALLOCATE")
    return None if match.group(1).upper() == "ALL" else _ident(match.group(1))
