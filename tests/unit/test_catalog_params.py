"""Catalog.param_types: $n typed from the cached schema's columns, cached until invalidate."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from dialects import parse
from pgproxy.backends import registry
from pgproxy.catalog import Catalog
from pgproxy.catalog.introspect import ColumnInfo, Schema, TableInfo

INT4, INT8, TEXT, BOOL, DATE = 23, 20, 25, 16, 1082


def _schema() -> Schema:
    return Schema([
        TableInfo("T", columns=[ColumnInfo("ID", INT4), ColumnInfo("name", TEXT),
                                ColumnInfo("flag", BOOL)]),
        TableInfo("u", columns=[ColumnInfo("id", INT8), ColumnInfo("day", DATE)]),
    ])


class _Catalog(Catalog):
    """A catalog whose engine is a stand-in holding a schema; counts builds."""

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        self.schema = schema
        self.builds = 0

    async def _engine(self, session):
        self.builds += 1
        engine = SimpleNamespace(schema=self.schema)
        self._engines[id(session.route.backend)] = (engine, None, 0.0)
        return engine


def _session(dialect: str = "sqlite"):
    backend = SimpleNamespace(dialect=dialect, capabilities=registry.capabilities(dialect))
    return SimpleNamespace(route=SimpleNamespace(backend=backend))


def _types(catalog: Catalog, session, sql: str) -> list[int]:
    (stmt,) = parse(sql)
    return asyncio.run(catalog.param_types(session, stmt))


def test_types_from_columns_and_cache():
    catalog, session = _Catalog(_schema()), _session()
    assert _types(catalog, session, "INSERT INTO t (id, name, flag) VALUES ($1, $2, $3)") == [
        INT4, TEXT, BOOL]
    assert _types(catalog, session, "INSERT INTO t VALUES ($1, $2, $3)") == [INT4, TEXT, BOOL]
    assert _types(catalog, session, "SELECT * FROM u WHERE day BETWEEN $1 AND $2") == [
        DATE, DATE]
    # ambiguous `id` between t and u: unknown; `day` only in u: found
    assert _types(catalog, session,
                  "SELECT * FROM t JOIN u ON t.id = u.id WHERE id = $1 AND day = $2") == [0, DATE]
    # a cast or LIMIT keeps its own type (0 here: the session fills it from param_types)
    assert _types(catalog, session, "SELECT * FROM t WHERE id = $1::int8 LIMIT $2") == [0, 0]
    assert catalog.builds == 1  # built once, then the cached schema
    before = catalog._param_types.get_stats()
    _types(catalog, session, "SELECT * FROM u WHERE day BETWEEN $1 AND $2")
    assert catalog._param_types.get_stats()[0] == before[0] + 1  # an LRU hit


def test_invalidate_forgets_types():
    catalog, session = _Catalog(_schema()), _session()
    assert _types(catalog, session, "SELECT * FROM t WHERE flag = $1") == [BOOL]
    catalog.schema = Schema([TableInfo("t", columns=[ColumnInfo("flag", TEXT)])])
    assert _types(catalog, session, "SELECT * FROM t WHERE flag = $1") == [BOOL]  # cached
    catalog.invalidate(session.route.backend)
    assert _types(catalog, session, "SELECT * FROM t WHERE flag = $1") == [TEXT]
    assert catalog.builds == 2


def test_unknown_table_rechecks_schema_and_is_not_cached():
    catalog, session = _Catalog(_schema()), _session()
    assert _types(catalog, session, "SELECT * FROM t WHERE id = $1") == [INT4]
    assert _types(catalog, session, "SELECT * FROM newer WHERE x = $1") == [0]
    assert catalog.builds == 2  # the cached schema lacked the table: checked again
    catalog.schema = Schema([TableInfo("newer", columns=[ColumnInfo("x", INT8)])])
    assert _types(catalog, session, "SELECT * FROM newer WHERE x = $1") == [INT8]


def test_backend_without_introspection():
    # a dialect the registry does not know (a backend registered from outside): no catalog
    catalog = _Catalog(_schema())
    assert _types(catalog, _session("external"), "SELECT * FROM t WHERE id = $1") == [0]
    assert catalog.builds == 0
