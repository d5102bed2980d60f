"""Composite types and schemas on SQLite and MySQL/MariaDB: rows of the proxy's tables
`pgproxy_composites` and `pgproxy_schemas` (dialects/composites.py says what they hold)."""

from __future__ import annotations

from typing import Any

from dialects import composites
from pgproxy import errors
from pgproxy.backends.steps import has_table, run_sql


def _mark(conn: Any) -> str:
    return "?" if conn.backend.paramstyle == "qmark" else "%s"


def table_exists(conn: Any, table: str) -> bool:
    """Whether the connected database has the proxy's table `table`."""
    return has_table(conn, conn.backend.capabilities.schema_source, table)


def _schema_of(name: str) -> str:
    return name.rpartition(".")[0]


def _check_schema(conn: Any, name: str) -> None:
    schema = _schema_of(name)
    if schema and schema not in schemas(conn):
        raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')


def schemas(conn: Any) -> set[str]:
    if not table_exists(conn, composites.SCHEMAS):
        return set()
    return {r[0] for r in run_sql(conn, f"SELECT name FROM {composites.SCHEMAS}")}


def composite_names(conn: Any) -> set[str]:
    if not table_exists(conn, composites.TYPES):
        return set()
    return {r[0] for r in run_sql(conn, f"SELECT DISTINCT type_name FROM {composites.TYPES}")}


def _ensure(conn: Any, table: str) -> None:
    if not table_exists(conn, table):
        run_sql(conn, composites.create_table_sql(table, conn.backend.dialect))


def create_composite(conn: Any, name: str, fields: tuple[tuple[str, str], ...]) -> None:
    from pgproxy.backends.enums import labels

    _check_schema(conn, name)
    _ensure(conn, composites.TYPES)
    if name in composite_names(conn) or labels(conn, {name}):
        raise errors.DuplicateObject(f'type "{name.rpartition(".")[2]}" already exists')
    m = _mark(conn)
    # Row 0 marks the type, which may have no fields (CREATE TYPE t AS ()).
    for attnum, (attname, atttype) in enumerate((("", ""), *fields)):
        run_sql(conn, f"INSERT INTO {composites.TYPES} (type_name, attnum, attname, atttype)"
                      f" VALUES ({m}, {m}, {m}, {m})", (name, attnum, attname, atttype))


def drop_composite(conn: Any, name: str) -> bool:
    """Forget the composite type `name`; False when there is none."""
    if name not in composite_names(conn):
        return False
    run_sql(conn, f"DELETE FROM {composites.TYPES} WHERE type_name = {_mark(conn)}", (name,))
    return True


def create_schema(conn: Any, name: str, if_not_exists: bool) -> None:
    _ensure(conn, composites.SCHEMAS)
    if name in schemas(conn) or name in ("public", "pg_catalog", "information_schema"):
        if if_not_exists:
            return
        raise errors.DuplicateSchema(f'schema "{name}" already exists')
    run_sql(conn, f"INSERT INTO {composites.SCHEMAS} (name) VALUES ({_mark(conn)})", (name,))


def drop_schemas(conn: Any, names: tuple[str, ...], if_exists: bool, cascade: bool) -> None:
    present = schemas(conn)
    for name in names:
        if name not in present:
            if if_exists:
                continue
            raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
        inside = sorted(t for t in composite_names(conn) if _schema_of(t) == name)
        if inside and not cascade:
            raise errors.DependentObjectsStillExist(
                f"cannot drop schema {name} because other objects depend on it",
                detail="\n".join(f"type {t} depends on schema {name}" for t in inside))
        for t in inside:
            drop_composite(conn, t)
        run_sql(conn, f"DELETE FROM {composites.SCHEMAS} WHERE name = {_mark(conn)}", (name,))


ROUTINES = {
    "create_composite": create_composite,
    "create_schema": create_schema,
    "drop_schemas": drop_schemas,
}
