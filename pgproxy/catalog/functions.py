"""PostgreSQL's catalog functions, registered on a catalog engine's SQLite connection.

format_type, pg_get_indexdef, pg_get_constraintdef, pg_table_is_visible,
has_*_privilege, the regex operators and the rest: each a Python function
SQLite calls, so catalog queries run as written, as real SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pgproxy import errors, settings
from pgproxy.catalog.deparse import qualified_expr, qualified_view
from pgproxy.catalog.engine import (
    _CATALOG_NAMES,
    _CATALOG_RELATIONS,
    _array_text,
    _ident,
    _maybe,
    _members,
    _pg_regex,
    _split_name,
    format_type,
    parse_array,
)

if TYPE_CHECKING:
    from pgproxy.catalog.engine import CatalogDB

# acldefault(kind, owner): PostgreSQL 15's built-in privileges per object kind, as
# (to the owner?, privileges); the other entry is PUBLIC's (acldefault() in acl.c).
_ACL_DEFAULTS = {
    "c": [], "r": [(True, "arwdDxt")], "s": [(True, "rwU")],
    "d": [(False, "Tc"), (True, "CTc")],
    "f": [(False, "X"), (True, "X")], "l": [(False, "U"), (True, "U")],
    "L": [(True, "rw")], "n": [(True, "UC")], "t": [(True, "C")], "F": [(True, "U")],
    "S": [(True, "U")], "T": [(False, "U"), (True, "U")], "p": [(True, "sA")],
}


def _literal(text: str) -> str:
    """quote_literal(): a backslash makes it an E'' string, as PostgreSQL writes it."""
    quoted = "'" + text.replace("'", "''").replace("\\", "\\\\") + "'"
    return "E" + quoted if "\\" in text else quoted


def register(catalog: CatalogDB) -> None:
    """Register every function on `catalog.db` (once, when the engine is built)."""
    names = catalog.names
    db = catalog.db

    def fn(name: str, f: Callable[..., Any], nargs: int = -1) -> None:
        db.create_scalar_function(name, f, nargs, deterministic=False)

    def reg_oid(kind: str, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int):
            return value
        s = str(value).strip()
        if re.fullmatch(r"\d+", s):
            return int(s)
        if kind == "regclass":
            ns, _, name = _split_name(s)
            for schema in [ns] if ns else ["pg_catalog", *catalog.search_path()]:
                oid = names.by_name.get((schema, name))
                if oid is None and schema == "pg_catalog":
                    oid = _CATALOG_RELATIONS.get(name)
                if oid is not None:
                    return oid
            raise errors.UndefinedTable(f'relation "{s}" does not exist')
        if kind == "regtype":
            name = s.lower().removeprefix("pg_catalog.")
            if '"' in s and s != '"char"':
                # A quoted name, as sql.Identifier writes one: '"text"', '"public"."mood"'
                # ('s.t' for a type of schema s: the key the catalog keeps it by).
                ns, _, name = _split_name(s)
                if ns not in ("", "public", "pg_catalog"):
                    name = f"{ns}.{name}"
            name = {"integer": "int4", "int": "int4", "smallint": "int2", "bigint": "int8",
                    "boolean": "bool", "character varying": "varchar", "real": "float4",
                    "double precision": "float8", '"char"': "char"}.get(name, name)
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

    def reg_name(kind: str, value: Any) -> Any:
        if value is None:
            return None
        oid = reg_oid(kind, value)
        if kind == "regclass":
            rel = names.relations.get(oid)
            if rel is None:
                return _CATALOG_NAMES.get(oid, str(oid))
            return qualified(rel[0], rel[1])
        if kind == "regtype":
            return format_type(oid, -1, names, catalog.visible) if oid in names.types \
                else str(oid)
        if kind == "regnamespace":
            return names.namespaces.get(oid, str(oid))
        if kind == "regrole":
            return names.roles.get(oid, str(oid))
        if kind in ("regproc", "regprocedure"):
            return "-" if oid == 0 else str(value)
        return str(oid)

    def qualified(schema: str, name: str) -> str:
        """A relation's name as PostgreSQL prints it: qualified when search_path misses it."""
        return _ident(name) if catalog.visible(schema) else f"{_ident(schema)}.{_ident(name)}"

    fn("pg_reg", reg_oid, 2)
    fn("pg_reg_name", reg_name, 2)
    # Set-returning in PostgreSQL; with no partitions the only row is the relation itself.
    fn("pg_partition_ancestors", lambda rel: reg_oid("regclass", rel), 1)
    fn("pg_partition_root", lambda rel: reg_oid("regclass", rel), 1)
    fn("to_regclass", lambda s: _maybe(lambda: reg_oid("regclass", s)), 1)
    fn("to_regtype", lambda s: _maybe(lambda: reg_oid("regtype", s)), 1)

    def regex(value: Any, pattern: Any, flags: str) -> Any:
        if value is None or pattern is None:
            return None
        return re.search(_pg_regex(str(pattern)), str(value),
                         re.I if "i" in flags else 0) is not None

    fn("pg_regex", regex, 3)
    fn("regexp", lambda p, v: regex(v, p, "c"), 2)
    fn("regexp_replace", lambda s, p, r, flags="": None if s is None else re.sub(
        _pg_regex(p), re.sub(r"\\(\d)", r"\\\1", r), s, count=0 if "g" in flags else 1))

    def visible(oid: Any) -> bool:
        rel = names.relations.get(int(oid)) if oid is not None else None
        return rel is None or catalog.visible(rel[0])

    fn("pg_table_is_visible", visible, 1)
    for kind in ("type", "function", "operator", "opclass", "collation", "conversion",
                 "ts_config", "ts_parser", "ts_dict", "ts_template", "statistics_obj",
                 "opfamily"):
        fn(f"pg_{kind}_is_visible", lambda oid: True, 1)
    fn("format_type", lambda oid, typmod: format_type(oid, typmod, names, catalog.visible), 2)
    fn("pg_get_expr", lambda expr, rel=None, pretty=None: None if expr is None else
       qualified_expr(str(expr), catalog.visible("public")))
    fn("pg_get_userbyid", lambda oid: names.roles.get(int(oid or 0), f"unknown (OID={oid})"),
       1)

    def indexdef(oid: Any, column: Any = 0, pretty: Any = None) -> Any:
        entry = names.indexdefs.get(int(oid or 0))
        if entry is None:
            return None
        column = int(column or 0)
        if column:
            return entry[1][column - 1] if column <= len(entry[1]) else ""
        return entry[0]

    fn("pg_get_indexdef", indexdef)

    def constraintdef(oid: Any, pretty: Any = None) -> Any:
        entry = names.constraintdefs.get(int(oid or 0))
        if isinstance(entry, tuple):
            head, ref, tail = entry
            return f"{head}{qualified('public', ref)}{tail}"
        return entry

    fn("pg_get_constraintdef", constraintdef)

    def viewdef(view: Any, pretty: Any = None) -> Any:
        definition = names.viewdefs.get(reg_oid("regclass", view) or 0)
        if definition is None or catalog.visible("public"):
            return definition
        return qualified_view(definition, frozenset(n for s, n in names.by_name if s == "public"))

    fn("pg_get_viewdef", viewdef)
    fn("pg_get_triggerdef", lambda oid, pretty=None: None)
    fn("pg_get_ruledef", lambda oid, pretty=None: None)
    fn("pg_get_partkeydef", lambda oid: None, 1)
    fn("pg_get_statisticsobjdef_columns", lambda oid: None, 1)
    fn("pg_get_function_result", lambda oid: None, 1)
    fn("pg_get_function_arguments", lambda oid: "", 1)
    fn("pg_get_function_identity_arguments", lambda oid: "", 1)

    def serial_sequence(table: Any, column: Any) -> str | None:
        _, _, name = _split_name(str(table))
        found = names.serial_sequences.get((name, str(column)))
        return f"public.{found}" if found else None

    fn("pg_get_serial_sequence", serial_sequence, 2)
    fn("pg_get_partition_constraintdef", lambda oid: None, 1)
    fn("pg_tablespace_location", lambda oid: "", 1)
    fn("pg_relation_is_publishable", lambda oid: False, 1)

    def description(oid: Any, classoid: Any, subid: Any) -> Any:
        if oid is None:
            return None
        sql = ("SELECT description FROM pg_catalog.pg_description WHERE objoid = ?"
               " AND objsubid = ?" + ("" if classoid is None else " AND classoid = ?"))
        args = [int(oid), int(subid)] + ([] if classoid is None else [classoid])
        row = db.execute(sql, args).fetchone()
        return row[0] if row else None

    fn("obj_description", lambda oid, catalog=None: description(
        oid, None if catalog is None else _CATALOG_RELATIONS.get(str(catalog).split(".")[-1]),
        0))
    fn("col_description", lambda oid, num: description(oid, 1259, num), 2)
    fn("shobj_description", lambda oid, catalog: None, 2)
    fn("pg_encoding_to_char", lambda enc: "UTF8" if int(enc or 0) == 6 else "SQL_ASCII", 1)
    fn("pg_char_to_encoding", lambda name: 6, 1)
    fn("getdatabaseencoding", lambda: "UTF8", 0)
    fn("pg_encoding_max_length", lambda enc: 4, 1)
    for kind in ("table", "column", "schema", "database", "function", "sequence",
                 "type", "any_column", "server", "tablespace", "language",
                 "foreign_data_wrapper"):
        fn(f"has_{kind}_privilege", lambda *args: True)
    fn("pg_has_role", lambda *args: True)
    fn("pg_is_in_recovery", lambda: False, 0)
    fn("pg_is_other_temp_schema", lambda oid: False, 1)
    fn("pg_my_temp_schema", lambda: 0, 0)
    fn("pg_backend_pid", lambda: catalog.ctx.pid, 0)
    fn("pg_current_user", lambda: catalog.ctx.user, 0)
    fn("pg_current_database", lambda: catalog.ctx.database, 0)
    fn("pg_current_schema", lambda: next(iter(catalog.search_path()), None), 0)
    fn("pg_version", lambda: settings.VERSION_STRING, 0)
    fn("current_setting", lambda name, missing_ok=False: catalog._setting(name))

    def set_config(name: Any, value: Any, local: Any) -> Any:
        if catalog.ctx.apply is None or name is None:
            return None
        catalog.ctx.apply(str(name), None if value is None else str(value),
                          local in (1, True, "t", "true", "on"))
        return catalog._setting(name)

    fn("set_config", set_config, 3)
    fn("current_schemas", lambda implicit: _array_text(
        (["pg_catalog"] if implicit and "pg_catalog" not in catalog.search_path() else [])
        + catalog.search_path()), 1)
    fn("pg_postmaster_start_time", lambda: "2024-01-01 00:00:00+00", 0)
    fn("pg_conf_load_time", lambda: "2024-01-01 00:00:00+00", 0)
    fn("txid_current", lambda: 1, 0)

    def export_snapshot() -> Any:
        raise errors.FeatureNotSupported(
            "pgproxy cannot export a snapshot: the backend's transactions share none",
            hint="pg_dump -j needs one; dump without -j (one transaction, one snapshot)")

    fn("pg_export_snapshot", export_snapshot, 0)
    fn("pg_current_xact_id", lambda: 1, 0)
    for size in ("pg_table_size", "pg_relation_size", "pg_total_relation_size",
                 "pg_indexes_size", "pg_database_size"):
        fn(size, lambda *args: 0)
    for stat in ("pg_stat_get_numscans", "pg_stat_get_tuples_returned",
                 "pg_stat_get_tuples_fetched", "pg_stat_get_tuples_inserted",
                 "pg_stat_get_tuples_updated", "pg_stat_get_tuples_deleted",
                 "pg_stat_get_live_tuples", "pg_stat_get_dead_tuples",
                 "pg_stat_get_blocks_fetched", "pg_stat_get_blocks_hit"):
        fn(stat, lambda oid: 0, 1)  # no statistics collector: nothing counted
    fn("pg_size_pretty", lambda n: None if n is None else f"{int(n) // 1024} kB" if int(n)
       >= 10240 else f"{int(n)} bytes", 1)
    fn("quote_ident", lambda s: None if s is None else _ident(str(s)), 1)
    fn("quote_literal", lambda s: None if s is None else _literal(str(s)), 1)
    fn("quote_nullable", lambda s: "NULL" if s is None else _literal(str(s)), 1)

    def acldefault(kind: Any, owner: Any) -> Any:
        if kind is None or owner is None:
            return None
        grants = _ACL_DEFAULTS.get(str(kind))
        if grants is None:
            raise errors.InvalidParameterValue(f'unrecognized object type abbreviation: {kind}')
        role = names.roles.get(int(owner), str(owner))
        return _array_text([f"{role if who else ''}={privs}/{role}" for who, privs in grants])

    fn("acldefault", acldefault, 2)
    fn("pg_left", lambda s, n: None if s is None else str(s)[: int(n)], 2)
    fn("pg_right", lambda s, n: None if s is None else (
        str(s)[-int(n):] if int(n) else ""), 2)
    fn("pg_bool", lambda v: None if v is None else v in (1, "t", "true", "1", "on", "yes",
                                                         "y") or v is True, 1)

    # Arrays: text in PostgreSQL's own spelling, helpers parse it.
    fn("pg_array", lambda *items: _array_text(items))
    fn("pg_array_json", lambda arr: None if arr is None else json.dumps(parse_array(arr)), 1)
    fn("pg_series_json", lambda start, stop, step=1: json.dumps(
        list(range(int(start), int(stop) + (1 if int(step) > 0 else -1), int(step)))))

    def elem(arr: Any, index: Any) -> Any:
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

    fn("pg_elem", elem, 2)

    def has(arr: Any, value: Any) -> Any:
        if arr is None or value is None:
            return None
        return str(value) in _members(arr)

    fn("pg_array_has", has, 2)
    fn("pg_array_any_ne", lambda arr, v: None if arr is None else any(
        str(x) != str(v) for x in parse_array(arr) or []), 2)
    fn("array_to_string", lambda arr, sep, null=None: None if arr is None else sep.join(
        str(x) if x is not None else (null or "") for x in parse_array(arr)
        if x is not None or null is not None))
    fn("array_length", lambda arr, dim=1: None if arr is None or not parse_array(arr)
       else len(parse_array(arr)))
    fn("cardinality", lambda arr: None if arr is None else len(parse_array(arr)), 1)
    fn("array_upper", lambda arr, dim: None if not parse_array(arr) else
       len(parse_array(arr)) - (0 if str(arr).startswith("{") else 1), 2)
    fn("array_lower", lambda arr, dim: None if not parse_array(arr) else
       (1 if str(arr).startswith("{") else 0), 2)
    fn("array_remove", lambda arr, v: None if arr is None else _array_text(
        [x for x in parse_array(arr) or [] if x is None or v is None or str(x) != str(v)]), 2)
    # pg_options_to_table(options) in FROM reads this (translate.py): rows (name, value).
    fn("pg_options_json", lambda arr: json.dumps([
        o.split("=", 1) if "=" in o else [o, None] for o in map(str, parse_array(arr) or [])]),
       1)
    fn("array_position", lambda arr, v: next((i + 1 for i, x in enumerate(
        parse_array(arr) or []) if str(x) == str(v)), None), 2)

    class ArrayAgg:
        def __init__(catalog) -> None:
            catalog.items: list[Any] = []

        def step(catalog, value: Any) -> None:
            catalog.items.append(value)

        def final(catalog) -> Any:
            return _array_text(catalog.items) if catalog.items else None

    db.create_aggregate_function("pg_array_agg", ArrayAgg)

    class BoolAnd:
        def __init__(catalog) -> None:
            catalog.value: bool | None = None

        def step(catalog, v: Any) -> None:
            if v is not None:
                catalog.value = bool(v) if catalog.value is None else catalog.value and bool(v)

        def final(catalog) -> Any:
            return catalog.value

    class BoolOr(BoolAnd):
        def step(catalog, v: Any) -> None:
            if v is not None:
                catalog.value = bool(v) if catalog.value is None else catalog.value or bool(v)

    db.create_aggregate_function("bool_and", BoolAnd)
    db.create_aggregate_function("every", BoolAnd)
    db.create_aggregate_function("bool_or", BoolOr)
