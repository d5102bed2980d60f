"""Which reader reads a backend's schema, by its Capabilities.schema_source."""

from __future__ import annotations

from pgproxy.backends.base import Connection
from pgproxy.catalog import introspect as generic
from pgproxy.catalog import introspect_mssql
from pgproxy.catalog.introspect import Schema

# SQL Server: INFORMATION_SCHEMA and sys.* (introspect_mssql.py).
SYS_CATALOG = "sys"


def introspect(conn: Connection, schema: str) -> Schema:
    """The backend's schema: SQL Server's reader, else introspect.py's (SQLite, MySQL)."""
    if schema == SYS_CATALOG:
        return introspect_mssql.introspect(conn)
    return generic.introspect(conn, schema)
