"""DuckDB over the parts' Arrow tables: the join, aggregates, order and limit, streamed out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.core.context import StatementContext
from pgproxy.federation.duck_types import column_of, renamed
from pgproxy.federation.plan import Split
from pgproxy.results import DEFAULT_BATCH, BackendResult
from pgproxy.types.arrow import MAX_DECIMAL128, arrow_schema

log = logging.getLogger("pgproxy.federation")


class Cancel:
    """A cancel request for one query across routes: its other routes' sessions are
    cancelled, DuckDB's connection interrupted, and what has not started yet never does."""

    __slots__ = ("con", "requested")

    def __init__(self) -> None:
        self.requested = False
        self.con: Any = None  # DuckDB's connection while it works

    def stop(self, sessions: Sequence[StatementContext]) -> None:
        self.requested = True
        for pctx in sessions:
            pctx.cancel()
        if self.con is not None:
            self.con.interrupt()

    def check(self) -> None:
        if self.requested:
            raise errors.QueryCanceled("canceling statement due to user request")


class DuckCursor:
    """A DuckDB result as a backend Cursor (pgproxy/backends/base.py), for BackendResult."""

    __slots__ = ("_con", "_cur", "columns", "rowcount")

    def __init__(self, con: Any, cur: Any, columns: list[Column]) -> None:
        self._con = con
        self._cur = cur
        self.columns = columns
        self.rowcount = -1

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        try:
            return self._cur.fetchmany(size)
        except duckdb.Error as exc:  # a value that fails late in the result
            raise _error(exc) from None

    def close(self) -> None:
        self._con.close()  # the registered Arrow tables go with it


async def run(
    ctx: StatementContext,
    split: Split,
    tables: dict[str, pa.Table],
    columns: dict[str, list[Column]],
    params: Sequence[Any],
    cancel: Cancel | None = None,
) -> BackendResult:
    """DuckDB's answer, its first rows fetched; the rest streams as the client reads."""
    started = time.perf_counter()
    cursor, rows, exhausted = await ctx.in_worker(
        _execute,
        split,
        tables,
        params,
        DEFAULT_BATCH,
        ctx.settings.statement_timeout_ms(),
        cancel,
    )
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
    tables = {k: empty(cols) for k, cols in parts.items()}
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


def distinct_keys(table: pa.Table, column: str, limit: int) -> list[Any] | None:
    """A part's distinct non-NULL values of `column` (a semi-join's keys); None past
    `limit` (then the other part is read whole)."""
    values = pc.unique(table.column(column)).drop_null()
    return None if len(values) > limit else values.to_pylist()


def exact_numerics(table: pa.Table, columns: Sequence[Column]) -> pa.Table:
    """Numeric columns DuckDB cannot take as they travel (an unconstrained numeric is its
    exact text; numeric(65,30), MariaDB's, a decimal256) as decimal128 of the largest scale
    and width their values have, so DuckDB computes on numbers, exactly; a column with NaN,
    infinities or more than 38 digits stays text."""
    for i, column in enumerate(columns):
        typ = table.schema[i].type
        if column.type_oid != pgtypes.NUMERIC or not (
            pa.types.is_string(typ) or pa.types.is_decimal256(typ)
        ):
            continue
        text = table.column(i)
        if len(text) == text.null_count:
            continue
        if pa.types.is_decimal256(typ):
            text = pc.cast(text, pa.string())
        if pc.any(pc.match_substring_regex(text, "[^0-9.+-]")).as_py():
            continue
        # The value's own digits: 1.500 is 1.5, 2.000 is 2.
        text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
        text = pc.replace_substring_regex(text, r"\.$", "")
        dot = pc.find_substring(text, ".")
        length = pc.utf8_length(text)
        has_dot = pc.greater_equal(dot, 0)
        scale = pc.max(pc.if_else(has_dot, pc.subtract(pc.subtract(length, dot), 1), 0))
        whole = pc.max(pc.if_else(has_dot, dot, length))
        scale, whole = scale.as_py() or 0, whole.as_py() or 1
        if whole + scale > MAX_DECIMAL128:
            continue
        decimal = pa.decimal128(max(whole + scale, 1), scale)
        table = table.set_column(i, pa.field(column.name, decimal), pc.cast(text, decimal))
    return table


def _execute(
    split: Split,
    tables: dict[str, pa.Table],
    params: Sequence[Any],
    prefetch: int,
    timeout_ms: int = 0,
    cancel: Cancel | None = None,
) -> tuple[DuckCursor, list[tuple[Any, ...]], bool]:
    """Worker side: DuckDB's query over the parts, its first rows; `timeout_ms` (the
    session's statement_timeout) and a cancel request interrupt DuckDB's work up to them."""
    con = duckdb.connect(":memory:")
    timer = threading.Timer(timeout_ms / 1000, con.interrupt) if timeout_ms > 0 else None
    if cancel is not None:
        cancel.con = con
        if cancel.requested:  # before DuckDB began
            con.close()
            cancel.check()
    try:
        for key, table in tables.items():
            con.register(key, table)
        if timer is not None:
            timer.start()
        cur = con.execute(split.sql, list(params))
        columns = [column_of(d[0], str(d[1])) for d in cur.description]
        rows = cur.fetchmany(prefetch)
    except duckdb.Error as exc:
        con.close()
        if isinstance(exc, duckdb.InterruptException):
            why = (
                "user request" if cancel is not None and cancel.requested else ("statement timeout")
            )
            raise errors.QueryCanceled(f"canceling statement due to {why}") from None
        raise _error(exc) from None
    finally:
        if timer is not None:
            timer.cancel()
        if cancel is not None:
            cancel.con = None
    cursor = DuckCursor(con, cur, columns)
    exhausted = len(rows) < prefetch
    if exhausted:
        cursor.close()
    return cursor, rows, exhausted


def empty(columns: Sequence[Column]) -> pa.Table:
    """A part with no rows, for a plan: numerics DuckDB would get as text or decimal256
    (exact_numerics decides their width from the rows) as a wide decimal128."""
    schema = arrow_schema(columns)
    for i, column in enumerate(columns):
        typ = schema[i].type
        if column.type_oid == pgtypes.NUMERIC and (
            pa.types.is_string(typ) or pa.types.is_decimal256(typ)
        ):
            scale = min(typ.scale, 18) if pa.types.is_decimal256(typ) else 10
            schema = schema.set(i, pa.field(column.name, pa.decimal128(MAX_DECIMAL128, scale)))
    return schema.empty_table()


def explain(sql: str, parts: dict[str, list[Column]], params: Sequence[Any]) -> str:
    """DuckDB's plan of `sql` over empty parts."""
    con = duckdb.connect(":memory:")
    try:
        for key, columns in parts.items():
            con.register(key, empty(columns))
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
