"""information_schema's *_catalog columns through the proxy, compared with PostgreSQL 15:
filled with the current database's name where PostgreSQL fills them, NULL elsewhere.
"""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.integration

SETUP = [
    "DROP VIEW IF EXISTS isc_view",
    "DROP TABLE IF EXISTS isc_child",
    "DROP TABLE IF EXISTS isc_parent",
    "CREATE TABLE isc_parent (id integer PRIMARY KEY, t text UNIQUE)",
    "CREATE TABLE isc_child (id integer PRIMARY KEY, p integer REFERENCES isc_parent,"
    " v varchar(10) DEFAULT 'x', n numeric(5, 2))",
    "CREATE VIEW isc_view AS SELECT id, t FROM isc_parent",
]

# relation -> (its *_catalog columns the proxy has, the rows of this test's tables)
RELATIONS = {
    "schemata": (["catalog_name", "default_character_set_catalog"], "schema_name = 'public'"),
    "tables": (["table_catalog", "user_defined_type_catalog"], "table_name LIKE 'isc_%'"),
    "columns": (["table_catalog", "character_set_catalog", "collation_catalog",
                 "domain_catalog", "udt_catalog", "scope_catalog"], "table_name LIKE 'isc_%'"),
    "views": (["table_catalog"], "table_name = 'isc_view'"),
    "table_constraints": (["constraint_catalog", "table_catalog"],
                          "table_name LIKE 'isc_%' AND constraint_type <> 'CHECK'"),
    "key_column_usage": (["constraint_catalog", "table_catalog"], "table_name LIKE 'isc_%'"),
    "referential_constraints": (["constraint_catalog", "unique_constraint_catalog"],
                                "constraint_name LIKE 'isc_%'"),
}


def catalogs(conn: psycopg.Connection, relation: str) -> tuple[str, set[tuple]]:
    """What each *_catalog column holds: 'db' for the current database, else the value."""
    columns, where = RELATIONS[relation]
    database = conn.execute("SELECT current_database()").fetchone()[0]
    cur = conn.execute(f"SELECT {', '.join(columns)} FROM information_schema.{relation}"
                       f" WHERE {where}")
    types = [d.type_code for d in cur.description]
    rows = {tuple("db" if v == database else v for v in row) for row in cur.fetchall()}
    return types, rows


@pytest.mark.parametrize("relation", sorted(RELATIONS))
def test_catalog_columns_match_postgresql(relation, postgresql_url, proxy):
    found = []
    for dsn in (postgresql_url, proxy.dsn()):
        with psycopg.connect(dsn, autocommit=True) as conn:
            for sql in SETUP:
                conn.execute(sql)
            found.append(catalogs(conn, relation))
    assert found[1] == found[0]
    assert any("db" in row for row in found[0][1])  # the test looks at filled columns


def test_catalog_is_each_session_own_database(proxy):
    """One engine serves every database name on a route: each session sees its own."""
    for name in ("app", "other_db"):
        with psycopg.connect(proxy.dsn(name), autocommit=True) as conn:
            for sql in SETUP:
                conn.execute(sql)
            rows = conn.execute(
                "SELECT DISTINCT table_catalog FROM information_schema.columns"
                " WHERE table_catalog = current_database()").fetchall()
            assert rows == [(name,)]
