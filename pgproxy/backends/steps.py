"""Runs a statement the dialect layer turned into several steps (dialects.api.Step).

SQL steps run through the connection with their values bound; routine steps
call the backend's routines (sqlite_ddl.py, mysql_ddl.py, returning.py), which
read the schema first. On SQLite every step runs inside one savepoint, so the
statement is atomic inside or outside a transaction block; on MySQL a routine
that writes in several statements runs them through `atomic` (a transaction, or
a savepoint inside the client's), but its DDL commits on its own and cannot be
(DIFFERENCES.md).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Sequence
from typing import Any

import dialects
from pgproxy import errors
from pgproxy.backends import registry
from pgproxy.backends.base import Column, Connection, Cursor

Routine = Callable[..., Any]
_SAVEPOINT = "pgproxy_steps"


class StepsCursor:
    """The result of a steps statement: the rows of its result steps and their count."""

    def __init__(
        self, rowcount: int, columns: Sequence[Column] | None = None,
        rows: Sequence[tuple[Any, ...]] = (),
    ) -> None:
        self.rowcount = rowcount
        self.columns = columns
        self.pending = list(rows)

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        batch = self.pending[:size]
        del self.pending[:size]
        return batch

    def close(self) -> None:
        self.pending = []


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
    "sys": "SELECT 1 FROM sys.tables WHERE name = '{}'",
}


def has_table(conn: Connection, schema: str, name: str) -> bool:
    """Whether the connected database has the proxy's table `name`; `schema` as in
    Capabilities.schema_source."""
    return bool(run_sql(conn, _HAS_TABLE[schema].format(name)))


def run(
    conn: Connection, steps: Sequence[dialects.Step], values: Sequence[Any] = ()
) -> StepsCursor:
    """The steps through the engine's runner (registry.Engine.steps), with their bound values."""
    dialect = getattr(getattr(conn, "backend", None), "dialect", "")
    runner = registry.engine(dialect).steps
    if not runner:
        raise errors.FeatureNotSupported(f"{dialect or 'this backend'}: this DDL is not supported")
    module, attr = runner.split(":")
    cursor: StepsCursor = getattr(importlib.import_module(module), attr)(conn, steps, values)
    return cursor


def atomic(conn: Connection, work: Callable[[], StepsCursor]) -> StepsCursor:
    """MySQL: `work` in a transaction of its own, or a savepoint inside the client's."""
    inside = conn.in_transaction
    run_sql(conn, f"SAVEPOINT {_SAVEPOINT}" if inside else "START TRANSACTION")
    try:
        result = work()
    except BaseException:
        with contextlib.suppress(errors.PgError):  # a lost connection: the first error tells
            run_sql(conn, f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}" if inside else "ROLLBACK")
        raise
    run_sql(conn, f"RELEASE SAVEPOINT {_SAVEPOINT}" if inside else "COMMIT")
    return result


def each(
    conn: Connection, steps: Sequence[dialects.Step], routines: dict[str, Routine],
    values: Sequence[Any] = (),
) -> StepsCursor:
    """The steps in order, each with its share of the bound values."""
    rowcount = total = 0
    columns: Sequence[Column] | None = None
    rows: list[tuple[Any, ...]] = []
    offset = 0
    for step in steps:
        bound = values[offset : offset + len(step.params)]
        offset += len(step.params)
        try:
            if step.routine:
                args = (*step.args, bound) if step.params else step.args
                found = routines[step.routine](conn, *args)
                if step.result and isinstance(found, StepsCursor):
                    columns = columns if columns is not None else found.columns
                    rows.extend(found.pending)
                    total += max(found.rowcount, 0)
                continue
            sql = step.sql if step.values or step.params else literal(conn, step.sql)
            cursor = conn.execute(sql, (*step.values, *bound))
            if cursor.columns is not None:
                if step.result and columns is None:
                    columns = cursor.columns
                while batch := cursor.fetch(500):
                    if step.result:
                        rows.extend(batch)
            rowcount = max(cursor.rowcount, 0)
            if step.result:
                total += rowcount
            cursor.close()
        except dialects.TranslationError as exc:
            raise errors.from_sqlstate(exc.sqlstate, exc.message) from None
    if any(s.result for s in steps):
        return StepsCursor(total, columns, rows)
    return StepsCursor(rowcount)


def describe(conn: Connection, steps: Sequence[dialects.Step], values: Sequence[Any]) -> Any:
    """The columns of a steps statement: its first result step's (None: no rows)."""
    offset = 0
    for step in steps:
        if step.result and step.sql:
            return conn.describe(step.sql, values[offset : offset + len(step.params)])
        offset += len(step.params)
    return None
