"""PostgreSQL's catalog functions, in one table: how the engine computes each, what it returns.

FUNCTIONS is the only list: `register` puts each implementation on a catalog
engine's SQLite connection (called with the engine first), the catalog stage
types a query's result columns from `returns`, and routes a table-less SELECT
calling an `only_here` function to the catalog. Catalog queries then run as
written, as real SQL.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pgproxy import errors, pgtypes, settings
from pgproxy.catalog.common import (
    CATALOG_NAMES,
    CATALOG_RELATIONS,
    CatalogEngine,
    array_text,
    format_type,
    ident,
    members,
    parse_array,
    split_name,
)
from pgproxy.catalog.deparse import qualified_expr, qualified_view


@dataclass(frozen=True, slots=True)
class Function:
    """A function catalog queries may call."""

    # Called with the engine, then SQLite's arguments; None: SQLite's own function (or
    # one translate.py renames), listed for its type.
    impl: Callable[..., Any] | None = None
    nargs: int = -1  # -1: any number (optional arguments)
    returns: int = 0  # the result's type OID (0: the engine infers it from the values)
    only_here: bool = False  # only the catalog answers it, even in a table-less SELECT
    aggregate: type | None = None  # an aggregate's class (SQLite makes one per group)


# acldefault(kind, owner): PostgreSQL 15's built-in privileges per object kind, as
# (to the owner?, privileges); the other entry is PUBLIC's (acldefault() in acl.c).
_ACL_DEFAULTS = {
    "c": [], "r": [(True, "arwdDxt")], "s": [(True, "rwU")],
    "d": [(False, "Tc"), (True, "CTc")],
    "f": [(False, "X"), (True, "X")], "l": [(False, "U"), (True, "U")],
    "L": [(True, "rw")], "n": [(True, "UC")], "t": [(True, "C")], "F": [(True, "U")],
    "S": [(True, "U")], "T": [(False, "U"), (True, "U")], "p": [(True, "sA")],
}
_TYPE_SPELLINGS = {"integer": "int4", "int": "int4", "smallint": "int2", "bigint": "int8",
                   "boolean": "bool", "character varying": "varchar", "real": "float4",
                   "double precision": "float8", '"char"': "char"}
_START_TIME = "2024-01-01 00:00:00+00"


def register(engine: CatalogEngine) -> None:
    """Register every function of FUNCTIONS on `engine.db` (once, when the engine is built)."""
    db = engine.db
    for name, fn in FUNCTIONS.items():
        if fn.impl is not None:
            db.create_scalar_function(name, functools.partial(fn.impl, engine), fn.nargs,
                                      deterministic=False)
        elif fn.aggregate is not None:
            db.create_aggregate_function(name, fn.aggregate)


# ---------------------------------------------------------------- small helpers


def _literal(text: str) -> str:
    """quote_literal(): a backslash makes it an E'' string, as PostgreSQL writes it."""
    quoted = "'" + text.replace("'", "''").replace("\\", "\\\\") + "'"
    return "E" + quoted if "\\" in text else quoted


def _maybe(f: Callable[[], Any]) -> Any:
    try:
        return f()
    except errors.PgError:
        return None


def _pg_regex(pattern: str) -> str:
    # PostgreSQL's ARE classes that Python's re spells otherwise.
    return (pattern.replace("[[:alpha:]]", "[a-zA-Z]").replace("[[:digit:]]", r"\d")
            .replace("[[:space:]]", r"\s").replace("[[:alnum:]]", "[a-zA-Z0-9]")
            .replace(r"\m", r"\b").replace(r"\M", r"\b").replace(r"\y", r"\b"))


def _const(value: Any) -> Callable[..., Any]:
    """An implementation that answers `value` whatever it is asked."""
    return lambda engine, *args: value


def _qualified(engine: CatalogEngine, schema: str, name: str) -> str:
    """A relation's name as PostgreSQL prints it: qualified when search_path misses it."""
    return ident(name) if engine.visible(schema) else f"{ident(schema)}.{ident(name)}"


# ---------------------------------------------------------------- reg* types


def _reg_oid(engine: CatalogEngine, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    names = engine.names
    s = str(value).strip()
    if re.fullmatch(r"\d+", s):
        return int(s)
    if kind == "regclass":
        ns, _, name = split_name(s)
        for schema in [ns] if ns else ["pg_catalog", *engine.search_path()]:
            oid = names.by_name.get((schema, name))
            if oid is None and schema == "pg_catalog":
                oid = CATALOG_RELATIONS.get(name)
            if oid is not None:
                return oid
        raise errors.UndefinedTable(f'relation "{s}" does not exist')
    if kind == "regtype":
        name = s.lower().removeprefix("pg_catalog.")
        if '"' in s and s != '"char"':
            # A quoted name, as sql.Identifier writes one: '"text"', '"public"."mood"'
            # ('s.t' for a type of schema s: the key the catalog keeps it by).
            ns, _, name = split_name(s)
            if ns not in ("", "public", "pg_catalog"):
                name = f"{ns}.{name}"
        name = _TYPE_SPELLINGS.get(name, name)
        if name.endswith("[]"):
            name = "_" + name[:-2]
        oid = names.type_by_name.get(name)
        if oid is None:
            raise errors.UndefinedObject(f'type "{s}" does not exist')
        return oid
    if kind == "regnamespace":
        for oid, n in names.namespaces.items():
            if n == s:
                return oid
        raise errors.UndefinedObject(f'schema "{s}" does not exist')
    if kind == "regrole":
        for oid, n in names.roles.items():
            if n == s:
                return oid
        return 0
    return 0


def _reg_name(engine: CatalogEngine, kind: str, value: Any) -> Any:
    if value is None:
        return None
    names = engine.names
    oid = _reg_oid(engine, kind, value)
    if kind == "regclass":
        rel = names.relations.get(oid)
        if rel is None:
            return CATALOG_NAMES.get(oid, str(oid))
        return _qualified(engine, rel[0], rel[1])
    if kind == "regtype":
        return format_type(oid, -1, names, engine.visible) if oid in names.types else str(oid)
    if kind == "regnamespace":
        return names.namespaces.get(oid, str(oid))
    if kind == "regrole":
        return names.roles.get(oid, str(oid))
    if kind in ("regproc", "regprocedure"):
        return "-" if oid == 0 else str(value)
    return str(oid)


def _to_reg(kind: str) -> Callable[[CatalogEngine, Any], Any]:
    return lambda engine, s: _maybe(lambda: _reg_oid(engine, kind, s))


# ---------------------------------------------------------------- regular expressions


def _regex(engine: CatalogEngine, value: Any, pattern: Any, flags: str) -> Any:
    if value is None or pattern is None:
        return None
    return re.search(_pg_regex(str(pattern)), str(value),
                     re.I if "i" in flags else 0) is not None


def _regexp_replace(engine: CatalogEngine, s: Any, p: Any, r: Any, flags: str = "") -> Any:
    if s is None:
        return None
    return re.sub(_pg_regex(p), re.sub(r"\\(\d)", r"\\\1", r), s,
                  count=0 if "g" in flags else 1)


# ---------------------------------------------------------------- definitions


def _table_is_visible(engine: CatalogEngine, oid: Any) -> bool:
    rel = engine.names.relations.get(int(oid)) if oid is not None else None
    return rel is None or engine.visible(rel[0])


def _get_expr(engine: CatalogEngine, expr: Any, rel: Any = None, pretty: Any = None) -> Any:
    return None if expr is None else qualified_expr(str(expr), engine.visible("public"))


def _indexdef(engine: CatalogEngine, oid: Any, column: Any = 0, pretty: Any = None) -> Any:
    entry = engine.names.indexdefs.get(int(oid or 0))
    if entry is None:
        return None
    column = int(column or 0)
    if column:
        return entry[1][column - 1] if column <= len(entry[1]) else ""
    return entry[0]


def _constraintdef(engine: CatalogEngine, oid: Any, pretty: Any = None) -> Any:
    entry = engine.names.constraintdefs.get(int(oid or 0))
    if isinstance(entry, tuple):
        head, ref, tail = entry
        return f"{head}{_qualified(engine, 'public', ref)}{tail}"
    return entry


def _viewdef(engine: CatalogEngine, view: Any, pretty: Any = None) -> Any:
    names = engine.names
    definition = names.viewdefs.get(_reg_oid(engine, "regclass", view) or 0)
    if definition is None or engine.visible("public"):
        return definition
    return qualified_view(definition, frozenset(n for s, n in names.by_name if s == "public"))


def _serial_sequence(engine: CatalogEngine, table: Any, column: Any) -> str | None:
    _, _, name = split_name(str(table))
    found = engine.names.serial_sequences.get((name, str(column)))
    return f"public.{found}" if found else None


def _description(engine: CatalogEngine, oid: Any, classoid: Any, subid: Any) -> Any:
    if oid is None:
        return None
    sql = ("SELECT description FROM pg_catalog.pg_description WHERE objoid = ?"
           " AND objsubid = ?" + ("" if classoid is None else " AND classoid = ?"))
    args = [int(oid), int(subid)] + ([] if classoid is None else [classoid])
    row = engine.db.execute(sql, args).fetchone()
    return row[0] if row else None


def _obj_description(engine: CatalogEngine, oid: Any, catalog: Any = None) -> Any:
    classoid = None if catalog is None else CATALOG_RELATIONS.get(str(catalog).split(".")[-1])
    return _description(engine, oid, classoid, 0)


def _acldefault(engine: CatalogEngine, kind: Any, owner: Any) -> Any:
    if kind is None or owner is None:
        return None
    grants = _ACL_DEFAULTS.get(str(kind))
    if grants is None:
        raise errors.InvalidParameterValue(f"unrecognized object type abbreviation: {kind}")
    role = engine.names.roles.get(int(owner), str(owner))
    return array_text([f"{role if who else ''}={privs}/{role}" for who, privs in grants])


# ---------------------------------------------------------------- the session


def _set_config(engine: CatalogEngine, name: Any, value: Any, local: Any) -> Any:
    if engine.ctx.apply is None or name is None:
        return None
    engine.ctx.apply(str(name), None if value is None else str(value),
                     local in (1, True, "t", "true", "on"))
    return engine.setting(name)


def _current_schemas(engine: CatalogEngine, implicit: Any) -> str:
    path = engine.search_path()
    return array_text((["pg_catalog"] if implicit and "pg_catalog" not in path else []) + path)


def _export_snapshot(engine: CatalogEngine) -> Any:
    raise errors.FeatureNotSupported(
        "pgproxy cannot export a snapshot: the backend's transactions share none",
        hint="pg_dump -j needs one; dump without -j (one transaction, one snapshot)")


# ---------------------------------------------------------------- arrays and text


def _size_pretty(engine: CatalogEngine, n: Any) -> Any:
    if n is None:
        return None
    return f"{int(n) // 1024} kB" if int(n) >= 10240 else f"{int(n)} bytes"


def _bool(engine: CatalogEngine, v: Any) -> Any:
    return None if v is None else v in (1, "t", "true", "1", "on", "yes", "y") or v is True


def _elem(engine: CatalogEngine, arr: Any, index: Any) -> Any:
    if isinstance(arr, str) and index is not None and not re.fullmatch(
        r"\s*(\{.*|\[.*|[-\d\s]*)", arr, re.DOTALL
    ):
        # A name is a char array from 0 (pg_dump: typname[0] = '_' finds array types).
        i = int(index)
        return arr[i] if 0 <= i < len(arr) else None
    items = parse_array(arr)
    if items is None or index is None:
        return None
    # PostgreSQL's own index, as written (translate.py does not shift it): an array
    # counts from 1, an int2vector/oidvector ('1 2') from 0.
    i = int(index) - (1 if str(arr).lstrip().startswith(("{", "[")) else 0)
    if 0 <= i < len(items):
        return items[i]
    return None


def _array_has(engine: CatalogEngine, arr: Any, value: Any) -> Any:
    if arr is None or value is None:
        return None
    return str(value) in members(arr)


def _array_to_string(engine: CatalogEngine, arr: Any, sep: Any, null: Any = None) -> Any:
    if arr is None:
        return None
    return sep.join(str(x) if x is not None else (null or "") for x in parse_array(arr)
                    if x is not None or null is not None)


def _array_remove(engine: CatalogEngine, arr: Any, v: Any) -> Any:
    if arr is None:
        return None
    return array_text([x for x in parse_array(arr) or []
                       if x is None or v is None or str(x) != str(v)])


def _series_json(engine: CatalogEngine, start: Any, stop: Any, step: Any = 1) -> str:
    return json.dumps(list(range(int(start), int(stop) + (1 if int(step) > 0 else -1),
                                 int(step))))


def _options_json(engine: CatalogEngine, arr: Any) -> str:
    return json.dumps([o.split("=", 1) if "=" in o else [o, None]
                       for o in map(str, parse_array(arr) or [])])


class _ArrayAgg:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def step(self, value: Any) -> None:
        self.items.append(value)

    def final(self) -> Any:
        return array_text(self.items) if self.items else None


class _BoolAnd:
    def __init__(self) -> None:
        self.value: bool | None = None

    def step(self, v: Any) -> None:
        if v is not None:
            self.value = bool(v) if self.value is None else self.value and bool(v)

    def final(self) -> Any:
        return self.value


class _BoolOr(_BoolAnd):
    def step(self, v: Any) -> None:
        if v is not None:
            self.value = bool(v) if self.value is None else self.value or bool(v)


# ---------------------------------------------------------------- the table

_TEXT, _NAME, _BOOL = pgtypes.TEXT, pgtypes.NAME, pgtypes.BOOL
F = Function

FUNCTIONS: dict[str, Function] = {
    # reg* casts (translate.py writes `x::regclass` as pg_reg('regclass', x)) and lookups
    "pg_reg": F(_reg_oid, 2),
    "pg_reg_name": F(_reg_name, 2),
    "to_regclass": F(_to_reg("regclass"), 1, pgtypes.REGCLASS, only_here=True),
    "to_regtype": F(_to_reg("regtype"), 1, pgtypes.REGTYPE, only_here=True),
    # Set-returning in PostgreSQL; with no partitions the only row is the relation itself.
    "pg_partition_ancestors": F(lambda e, rel: _reg_oid(e, "regclass", rel), 1),
    "pg_partition_root": F(lambda e, rel: _reg_oid(e, "regclass", rel), 1),
    # regular expressions (translate.py writes `~` and its kin as pg_regex)
    "pg_regex": F(_regex, 3),
    "regexp": F(lambda e, p, v: _regex(e, v, p, "c"), 2),
    "regexp_replace": F(_regexp_replace, returns=_TEXT),
    # visibility and definitions
    "pg_table_is_visible": F(_table_is_visible, 1, _BOOL, only_here=True),
    **{f"pg_{kind}_is_visible": F(_const(True), 1, _BOOL if kind in ("type", "function") else 0)
       for kind in ("type", "function", "operator", "opclass", "collation", "conversion",
                    "ts_config", "ts_parser", "ts_dict", "ts_template", "statistics_obj",
                    "opfamily")},
    "format_type": F(lambda e, oid, typmod: format_type(oid, typmod, e.names, e.visible), 2,
                     _TEXT, only_here=True),
    "pg_get_expr": F(_get_expr, returns=_TEXT, only_here=True),
    "pg_get_userbyid": F(lambda e, oid: e.names.roles.get(int(oid or 0), f"unknown (OID={oid})"),
                         1, _NAME, only_here=True),
    "pg_get_indexdef": F(_indexdef, returns=_TEXT, only_here=True),
    "pg_get_constraintdef": F(_constraintdef, returns=_TEXT, only_here=True),
    "pg_get_viewdef": F(_viewdef, returns=_TEXT, only_here=True),
    "pg_get_triggerdef": F(_const(None), returns=_TEXT),
    "pg_get_ruledef": F(_const(None)),
    "pg_get_partkeydef": F(_const(None), 1, _TEXT),
    "pg_get_statisticsobjdef_columns": F(_const(None), 1),
    "pg_get_function_result": F(_const(None), 1, _TEXT),
    "pg_get_function_arguments": F(_const(""), 1, _TEXT),
    "pg_get_function_identity_arguments": F(_const(""), 1),
    "pg_get_serial_sequence": F(_serial_sequence, 2, _TEXT, only_here=True),
    "pg_get_partition_constraintdef": F(_const(None), 1),
    "pg_tablespace_location": F(_const(""), 1, _TEXT, only_here=True),
    "pg_relation_is_publishable": F(_const(False), 1),
    "pg_get_keywords": F(only_here=True),  # in FROM: a relation of the engine (translate.py)
    # comments
    "obj_description": F(_obj_description, returns=_TEXT, only_here=True),
    "col_description": F(lambda e, oid, num: _description(e, oid, 1259, num), 2, _TEXT,
                         only_here=True),
    "shobj_description": F(_const(None), 2, _TEXT, only_here=True),
    # encodings
    "pg_encoding_to_char": F(lambda e, enc: "UTF8" if int(enc or 0) == 6 else "SQL_ASCII", 1,
                             _NAME, only_here=True),
    "pg_char_to_encoding": F(_const(6), 1, only_here=True),
    "getdatabaseencoding": F(_const("UTF8"), 0),
    "pg_encoding_max_length": F(_const(4), 1, pgtypes.INT4, only_here=True),
    # privileges: whoever connects may do anything the backend lets them
    **{f"has_{kind}_privilege": F(_const(True)) for kind in (
        "server", "tablespace", "language", "foreign_data_wrapper")},
    **{f"has_{kind}_privilege": F(_const(True), returns=_BOOL) for kind in (
        "column", "function", "sequence", "type", "any_column")},
    **{f"has_{kind}_privilege": F(_const(True), returns=_BOOL, only_here=True) for kind in (
        "table", "schema", "database")},
    "pg_has_role": F(_const(True), returns=_BOOL, only_here=True),
    "acldefault": F(_acldefault, 2, 1034),  # aclitem[]: its text form, as PostgreSQL prints it
    # the server and the session
    "pg_is_in_recovery": F(_const(False), 0, _BOOL, only_here=True),
    "pg_is_other_temp_schema": F(_const(False), 1, only_here=True),
    "pg_my_temp_schema": F(_const(0), 0, only_here=True),
    "pg_backend_pid": F(lambda e: e.ctx.pid, 0, pgtypes.INT4),
    # translate.py calls the session's values by these names
    "pg_current_user": F(lambda e: e.ctx.user, 0),
    "pg_current_database": F(lambda e: e.ctx.database, 0),
    "pg_current_schema": F(lambda e: next(iter(e.search_path()), None), 0),
    "pg_version": F(_const(settings.VERSION_STRING), 0),
    "current_user": F(returns=_NAME),
    "session_user": F(returns=_NAME),
    "current_database": F(returns=_NAME),
    "current_schema": F(returns=_NAME),
    "version": F(returns=_TEXT),
    "current_setting": F(lambda e, name, missing_ok=False: e.setting(name), returns=_TEXT),
    "set_config": F(_set_config, 3, _TEXT),
    "current_schemas": F(_current_schemas, 1, pgtypes.NAME_ARRAY, only_here=True),
    "pg_postmaster_start_time": F(_const(_START_TIME), 0, pgtypes.TIMESTAMPTZ, only_here=True),
    "pg_conf_load_time": F(_const(_START_TIME), 0, only_here=True),
    "txid_current": F(_const(1), 0, pgtypes.INT8, only_here=True),
    "pg_export_snapshot": F(_export_snapshot, 0),
    "pg_current_xact_id": F(_const(1), 0),
    # sizes and statistics: nothing is measured or counted
    **{size: F(_const(0), returns=pgtypes.INT8) for size in (
        "pg_table_size", "pg_relation_size", "pg_total_relation_size", "pg_indexes_size",
        "pg_database_size")},
    **{stat: F(_const(0), 1) for stat in (
        "pg_stat_get_numscans", "pg_stat_get_tuples_returned", "pg_stat_get_tuples_fetched",
        "pg_stat_get_tuples_inserted", "pg_stat_get_tuples_updated",
        "pg_stat_get_tuples_deleted", "pg_stat_get_live_tuples", "pg_stat_get_dead_tuples",
        "pg_stat_get_blocks_fetched", "pg_stat_get_blocks_hit")},
    "pg_size_pretty": F(_size_pretty, 1, _TEXT, only_here=True),
    # text
    "quote_ident": F(lambda e, s: None if s is None else ident(str(s)), 1, _TEXT),
    "quote_literal": F(lambda e, s: None if s is None else _literal(str(s)), 1, _TEXT),
    "quote_nullable": F(lambda e, s: "NULL" if s is None else _literal(str(s)), 1, _TEXT),
    "pg_left": F(lambda e, s, n: None if s is None else str(s)[: int(n)], 2),
    "pg_right": F(lambda e, s, n: None if s is None else (str(s)[-int(n):] if int(n) else ""),
                  2),
    "pg_bool": F(_bool, 1),
    # arrays: text in PostgreSQL's own spelling, parsed here
    "pg_array": F(lambda e, *items: array_text(items)),
    "pg_array_json": F(lambda e, arr: None if arr is None else json.dumps(parse_array(arr)),
                       1),
    "pg_series_json": F(_series_json),
    "pg_elem": F(_elem, 2),
    "pg_array_has": F(_array_has, 2),
    "pg_array_any_ne": F(lambda e, arr, v: None if arr is None else any(
        str(x) != str(v) for x in parse_array(arr) or []), 2),
    "array_to_string": F(_array_to_string, returns=_TEXT),
    "array_length": F(lambda e, arr, dim=1: None if arr is None or not parse_array(arr)
                      else len(parse_array(arr)), returns=pgtypes.INT4),
    "cardinality": F(lambda e, arr: None if arr is None else len(parse_array(arr)), 1,
                     pgtypes.INT4),
    "array_upper": F(lambda e, arr, dim: None if not parse_array(arr) else
                     len(parse_array(arr)) - (0 if str(arr).startswith("{") else 1), 2,
                     pgtypes.INT4),
    "array_lower": F(lambda e, arr, dim: None if not parse_array(arr) else
                     (1 if str(arr).startswith("{") else 0), 2, pgtypes.INT4),
    "array_remove": F(_array_remove, 2, pgtypes.TEXT_ARRAY),
    # pg_options_to_table(options) in FROM reads this (translate.py): rows (name, value).
    "pg_options_json": F(_options_json, 1),
    "array_position": F(lambda e, arr, v: next((i + 1 for i, x in enumerate(
        parse_array(arr) or []) if str(x) == str(v)), None), 2),
    # aggregates
    "pg_array_agg": F(aggregate=_ArrayAgg),
    "bool_and": F(aggregate=_BoolAnd, returns=_BOOL),
    "every": F(aggregate=_BoolAnd, returns=_BOOL),
    "bool_or": F(aggregate=_BoolOr, returns=_BOOL),
    # SQLite's own functions (or PostgreSQL's that translate.py rewrites), typed
    "array_agg": F(returns=pgtypes.TEXT_ARRAY),
    "string_agg": F(returns=_TEXT),
    "group_concat": F(returns=_TEXT),
    "count": F(returns=pgtypes.INT8),
    "row_number": F(returns=pgtypes.INT8),
    "length": F(returns=pgtypes.INT4),
    "lower": F(returns=_TEXT),
    "upper": F(returns=_TEXT),
    "concat": F(returns=_TEXT),
    "json_build_object": F(returns=pgtypes.JSON),
    "jsonb_build_object": F(returns=pgtypes.JSONB),
    "json_agg": F(returns=pgtypes.JSON),
    "jsonb_agg": F(returns=pgtypes.JSONB),
    "logical_and": F(returns=_BOOL),
    "logical_or": F(returns=_BOOL),
}
