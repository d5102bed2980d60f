"""Runs a statement the dialect layer turned into several steps (dialects.api.Step).

SQL steps run through the connection with their values bound; routine steps
call the backend's DDL routines (sqlite_ddl.py, mysql_ddl.py), which read
the schema first. On SQLite every step runs inside one savepoint, so the
statement is atomic inside or outside a transaction block; MySQL's DDL
commits on its own and cannot be (DIFFERENCES.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import dialects
from pgproxy import errors
from pgproxy.backends import registry
from pgproxy.backends.base import Connection, Cursor

Routine = Callable[..., None]


class StepsCursor:
    """The result of a steps statement: no rows, the last step's row count."""

    columns = None

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        return []

    def close(self) -> None:
        pass


def run_sql(conn: Connection, sql: str, values: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """One statement, its rows read whole (schema lookups are small)."""
    cursor: Cursor = conn.execute(sql, values)
    try:
        rows: list[tuple[Any, ...]] = []
        if cursor.columns is not None:
            while batch := cursor.fetch(500):
                rows.extend(batch)
        return rows
    finally:
        cursor.close()


def literal(conn: Connection, sql: str) -> str:
    """SQL without placeholders, as the driver takes it: pymysql %-formats every statement."""
    backend = getattr(conn, "backend", None)
    return sql.replace("%", "%%") if getattr(backend, "paramstyle", "") == "format" else sql


# How each way of reading the schema (Capabilities.schema_source) asks for one table; the
# names asked for are the proxy's own constants (pgproxy_enums ...), never a client's.
_HAS_TABLE = {
    "sqlite_master": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{}'",
    "information_schema": "SELECT 1 FROM information_schema.TABLES WHERE"
                          " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{}'",
}


def has_table(conn: Connection, schema: str, name: str) -> bool:
    """Whether the connected database has the proxy's table `name`; `schema` as in
    Capabilities.schema_source."""
    return bool(run_sql(conn, _HAS_TABLE[schema].format(name)))


def run(conn: Connection, steps: Sequence[dialects.Step]) -> StepsCursor:
    """The steps through the engine's runner (registry.Engine.steps)."""
    dialect = getattr(getattr(conn, "backend", None), "dialect", "")
    runner = registry.engine(dialect).steps
    if not runner:
        raise errors.FeatureNotSupported(f"{dialect or 'this backend'}: this DDL is not supported")
    module, attr = runner.split(":")
    cursor: StepsCursor = getattr(importlib.import_module(module), attr)(conn, steps)
    return cursor


def each(conn: Connection, steps: Sequence[dialects.Step], routines: dict[str, Routine]) -> int:
    rowcount = 0
    for step in steps:
        try:
            if step.routine:
                routines[step.routine](conn, *step.args)
                continue
            sql = step.sql if step.values else literal(conn, step.sql)
            cursor = conn.execute(sql, step.values)
            if cursor.columns is not None:
                while cursor.fetch(500):
                    pass
            rowcount = max(cursor.rowcount, 0)
            cursor.close()
        except dialects.TranslationError as exc:
            raise errors.from_sqlstate(exc.sqlstate, exc.message) from None
    return rowcount
