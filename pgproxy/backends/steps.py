"""Runs a statement the dialect layer turned into several steps (dialects.api.Step).

SQL steps run through the connection with their values bound; routine steps
call the backend's DDL routines (sqlite_ddl.py, mysql_ddl.py), which read
the schema first. On SQLite every step runs inside one savepoint, so the
statement is atomic inside or outside a transaction block; MySQL's DDL
commits on its own and cannot be (DIFFERENCES.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dialects
from pgproxy import errors
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


def run(conn: Connection, steps: Sequence[dialects.Step]) -> StepsCursor:
    dialect = getattr(getattr(conn, "backend", None), "dialect", "")
    if dialect == "sqlite":
        from pgproxy.backends import sqlite_ddl

        return sqlite_ddl.run(conn, steps)
    if dialect in ("mysql", "mariadb"):
        from pgproxy.backends import enums, mysql_ddl

        return StepsCursor(each(conn, steps, {**mysql_ddl.ROUTINES, **enums.ROUTINES}))
    raise errors.FeatureNotSupported(f"{dialect or 'this backend'}: this DDL is not supported")


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
