"""What the catalog engine, its functions and its loaders share: names, OIDs, array text.

engine.py builds a CatalogDB; functions.py, enums.py, sequences.py and comments.py
fill it or answer from it. They all import this module and none of them imports
the engine, so the engine imports them without a cycle.
"""

from __future__ import annotations

import functools
import json
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import apsw

from pgproxy.catalog import builtins as b

ident = b.quote_ident
CATALOG_RELATIONS = b.CATALOG_RELATIONS
CATALOG_NAMES = {v: k for k, v in CATALOG_RELATIONS.items()}


@dataclass
class Context:
    """Who is asking: what the session-dependent functions answer."""

    user: str = "postgres"
    database: str = "postgres"
    settings: Callable[[str], str] | None = None
    pid: int = 0
    # set_config(name, value, is_local): changes the session's setting.
    apply: Callable[[str, str | None, bool], None] | None = None


@dataclass
class Names:
    """OID lookups the registered functions answer from."""

    # oid -> (namespace, name, relkind)
    relations: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    by_name: dict[tuple[str, str], int] = field(default_factory=dict)
    types: dict[int, tuple[str, str]] = field(default_factory=dict)  # oid -> ns, typname
    type_by_name: dict[str, int] = field(default_factory=dict)
    type_lengths: dict[int, int] = field(default_factory=dict)  # user types' typlen (enum: 4)
    namespaces: dict[int, str] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    indexdefs: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    # a definition, or a foreign key's (head, referenced table, tail)
    constraintdefs: dict[int, str | tuple[str, str, str]] = field(default_factory=dict)
    viewdefs: dict[int, str] = field(default_factory=dict)
    # (table, column) -> the sequence a serial or identity column owns
    serial_sequences: dict[tuple[str, str], str] = field(default_factory=dict)
    descriptions: dict[tuple[int, int], str] = field(default_factory=dict)  # (oid, subid)


class CatalogEngine(Protocol):
    """The engine as its functions and loaders see it (engine.CatalogDB)."""

    db: apsw.Connection
    ctx: Context
    names: Names

    def insert(self, relation: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def class_row(self, oid: int, name: str, kind: str, rowtype: int, natts: int,
                  hasindex: bool, am: int, triggers: bool = False, checks: int = 0) -> tuple: ...

    def attribute_row(self, relid: int, name: str, type_oid: int, num: int, typmod: int,
                      notnull: bool, hasdef: bool, generated: bool = False) -> tuple: ...

    def search_path(self) -> list[str]: ...

    def visible(self, schema: str) -> bool: ...

    def setting(self, name: Any) -> Any: ...


def stable_oid(key: str, taken: set[int]) -> int:
    """A hash of the qualified name above the built-in range; the same name keeps its OID."""
    oid = b.FIRST_NORMAL_OID + zlib.crc32(key.encode()) % (2**31 - b.FIRST_NORMAL_OID)
    while oid in taken:
        oid += 1
    taken.add(oid)
    return oid


def format_type(oid: Any, typmod: Any, names: Names,
                visible: Callable[[str], bool] | None = None) -> str | None:
    """A type's name as PostgreSQL's format_type writes it; a type of a schema not on
    search_path (`visible` says which are) qualified."""
    if oid is None:
        return None
    oid = int(oid)
    typmod = -1 if typmod is None else int(typmod)
    entry = names.types.get(oid)
    if entry is None:
        return "???"
    ns, name = entry
    if name.startswith("_"):
        inner = format_type(names.type_by_name.get(name[1:], 0), typmod, names, visible)
        return f"{inner}[]"
    spelled = {
        "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
        "float8": "double precision", "bool": "boolean", "varchar": "character varying",
        "bpchar": "character", "timestamp": "timestamp without time zone",
        "timestamptz": "timestamp with time zone", "time": "time without time zone",
        "timetz": "time with time zone", "char": '"char"', "varbit": "bit varying",
    }.get(name, name)
    if typmod >= 0:
        if name in ("varchar", "bpchar"):
            return f"{spelled}({typmod - 4})"
        if name in ("bit", "varbit"):
            return f"{spelled}({typmod})"
        if name == "numeric":
            t = typmod - 4
            return f"numeric({t >> 16},{t & 0xFFFF})"
    if ns != "pg_catalog" and not (visible(ns) if visible is not None else ns == "public"):
        return f"{b.quote_ident(ns)}.{b.quote_ident(spelled)}"
    return spelled if ns == "pg_catalog" else b.quote_ident(spelled)


def array_text(items: Sequence[Any]) -> str:
    """Items as PostgreSQL's array text: '{a,"b c",NULL}'."""
    out = []
    for x in items:
        if x is None:
            out.append("NULL")
        elif isinstance(x, bool):
            out.append("t" if x else "f")
        else:
            s = str(x)
            if not s or re.search(r'[{}",\\\s]', s) or s.upper() == "NULL":
                s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
            out.append(s)
    return "{" + ",".join(out) + "}"


def parse_array(value: Any) -> list[Any] | None:
    """'{a,b}', a vector's '1 2', a JSON array or a lone number, as a Python list."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return [value]
    s = str(value).strip()
    if s.startswith("["):
        return json.loads(s)
    if not s.startswith("{"):
        return [int(w) if re.fullmatch(r"-?\d+", w) else w for w in s.split()]
    from pgproxy.types.arrays import parse_literal

    def conv(x: Any) -> Any:
        if isinstance(x, list):
            return [conv(y) for y in x]
        if x is not None and re.fullmatch(r"-?\d+", x):
            return int(x)
        return x

    return conv(parse_literal(s))


@functools.lru_cache(maxsize=256)
def members(arr: Any) -> frozenset[str]:
    """An array's elements as text, parsed once per literal (`x <> ALL ('{…}')` per row)."""
    return frozenset(str(x) for x in parse_array(arr) or [])


def split_name(s: str) -> tuple[str, str, str]:
    """'"S".t' as (schema, '.', name), case-folded as PostgreSQL reads them ('' without one)."""
    parts = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
             for p in re.findall(r'"(?:[^"]|"")*"|[^.]+', s)]
    if len(parts) >= 2:
        return parts[-2], ".", parts[-1]
    return "", "", parts[0] if parts else s


