"""DuckDB over the parts' Arrow tables: the join, aggregates, order and limit, streamed out."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from pgproxy import errors
from pgproxy.backends.base import Column
from pgproxy.core.context import StatementContext
from pgproxy.federation.duck_types import column_of, renamed
from pgproxy.federation.plan import Split
from pgproxy.results import DEFAULT_BATCH, BackendResult
from pgproxy.types.arrow import arrow_schema

log = logging.getLogger("pgproxy.federation")


class DuckCursor:
    """A DuckDB result as a backend Cursor (pgproxy/backends/base.py), for BackendResult."""

    __slots__ = ("_con", "_cur", "columns", "rowcount")

    def __init__(self, con: Any, cur: Any, columns: list[Column]) -> None:
        self._con = con
        self._cur = cur
        self.columns = columns
        self.rowcount = -1

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        return self._cur.fetchmany(size)

    def close(self) -> None:
        self._con.close()  # the registered Arrow tables go with it


async def run(
    ctx: StatementContext,
    split: Split,
    tables: dict[str, pa.Table],
    columns: dict[str, list[Column]],
    params: Sequence[Any],
) -> BackendResult:
    """DuckDB's answer, its first rows fetched; the rest streams as the client reads."""
    started = time.perf_counter()
    cursor, rows, exhausted = await ctx.in_worker(_execute, split, tables, params, DEFAULT_BATCH)
    log.debug("DuckDB's first %d rows in %.3f s", len(rows), time.perf_counter() - started)
    cursor.columns = typed(split, cursor.columns, columns)
    return BackendResult(
        "SELECT",
        cursor,
        rows,
        exhausted,
        ctx.in_worker,
        None,
        closed=exhausted,
        style=ctx.settings.style(),
    )


def describe(split: Split, parts: dict[str, list[Column]], params: Sequence[Any]) -> list[Column]:
    """Worker side: the result's columns, from DuckDB's query over empty parts."""
    tables = {k: arrow_schema(cols).empty_table() for k, cols in parts.items()}
    cursor, _, _ = _execute(split, tables, params, 1)
    cursor.close()
    return typed(split, cursor.columns, parts)


def typed(split: Split, columns: list[Column], parts: dict[str, list[Column]]) -> list[Column]:
    """DuckDB's result columns named as PostgreSQL names them; a part's column shown as is
    keeps its source's type (a varchar(40) stays one, a json column json)."""
    out = []
    for i, column in enumerate(columns):
        origin = split.origins[i] if i < len(split.origins) else None
        name = split.names[i] if i < len(split.names) else column.name
        if origin is not None:
            by_name = {c.name: c for c in parts[origin[0]]}
            column = by_name.get(origin[1], column)
        out.append(renamed(column, name))
    return out


def _connect(tables: dict[str, pa.Table]) -> Any:
    con = duckdb.connect(":memory:")
    for key, table in tables.items():
        con.register(key, table)
    return con


def _execute(
    split: Split, tables: dict[str, pa.Table], params: Sequence[Any], prefetch: int
) -> tuple[DuckCursor, list[tuple[Any, ...]], bool]:
    con = _connect(tables)
    try:
        cur = con.execute(split.sql, list(params))
        columns = [column_of(d[0], str(d[1])) for d in cur.description]
        rows = cur.fetchmany(prefetch)
    except duckdb.Error as exc:
        con.close()
        raise _error(exc) from None
    cursor = DuckCursor(con, cur, columns)
    exhausted = len(rows) < prefetch
    if exhausted:
        cursor.close()
    return cursor, rows, exhausted


def explain(sql: str, schemas: dict[str, pa.Schema], params: Sequence[Any]) -> str:
    """DuckDB's plan of `sql` over empty tables of the parts' schemas."""
    con = _connect({k: s.empty_table() for k, s in schemas.items()})
    try:
        rows = con.execute(f"EXPLAIN {sql}", list(params)).fetchall()
    except duckdb.Error as exc:
        raise _error(exc) from None
    finally:
        con.close()
    return "\n".join(str(r[1]) for r in rows)


# DuckDB's exception classes -> the SQLSTATE PostgreSQL gives the same failure.
_CODES = (
    ("ConversionException", "22P02"),
    ("OutOfRangeException", "22003"),
    ("DivisionByZero", "22012"),
    ("BinderException", "42883"),
    ("CatalogException", "42P01"),
    ("ParserException", "42601"),
    ("NotImplementedException", "0A000"),
    ("OutOfMemoryException", "53200"),
    ("InterruptException", "57014"),
)


def _error(exc: Exception) -> errors.PgError:
    name = type(exc).__name__
    message = str(exc)
    for prefix, code in _CODES:
        if name.startswith(prefix) or (code == "22012" and "Division by zero" in message):
            return errors.from_sqlstate(code, f"query across routes: {message}")
    return errors.from_sqlstate("XX000", f"query across routes: {message}")
