"""DuckDB's side of a query across routes: result types as PostgreSQL columns, numerics made
exact for it, semi-join keys, and errors as SQLSTATEs."""

from __future__ import annotations

from decimal import Decimal

import duckdb  # noqa: F401  (the test extra installs it)
import pyarrow as pa
import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.federation import engine
from pgproxy.federation.duck_types import column_of
from pgproxy.federation.plan import Split


def test_duckdb_types_as_postgresql_columns() -> None:
    assert [column_of("x", t).type_oid for t in (
        "BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "VARCHAR", "DATE",
        "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "BLOB", "UUID", "INTERVAL", "STRUCT(a INT)",
    )] == [pgtypes.BOOL, pgtypes.INT2, pgtypes.INT4, pgtypes.INT8, pgtypes.NUMERIC,
           pgtypes.FLOAT8, pgtypes.TEXT, pgtypes.DATE, pgtypes.TIMESTAMP, pgtypes.TIMESTAMPTZ,
           pgtypes.BYTEA, pgtypes.UUID, pgtypes.INTERVAL, pgtypes.TEXT]
    decimal = column_of("s", "DECIMAL(38,2)")
    assert (decimal.type_oid, decimal.type_mod) == (pgtypes.NUMERIC, -1)  # as sum(numeric)'s


def test_numerics_reach_duckdb_as_wide_as_their_values() -> None:
    table = pa.table({
        "free": pa.array(["2.250", "10", "-3.125", None]),
        "odd": pa.array(["1", "NaN", None, None]),
        "wide": pa.array([Decimal("1.5"), Decimal("2")], pa.decimal256(65, 30)).take([0, 1, 0, 1]),
        "name": pa.array(["a", "b", "c", "d"]),
    })
    columns = [Column("free", pgtypes.NUMERIC), Column("odd", pgtypes.NUMERIC),
               Column("wide", pgtypes.NUMERIC, -1, ((65 << 16) | 30) + 4),
               Column("name", pgtypes.TEXT)]
    out = engine.exact_numerics(table, columns)
    assert out.schema.field("free").type == pa.decimal128(5, 3)
    assert out.column("free").to_pylist() == [Decimal("2.250"), Decimal("10.000"),
                                               Decimal("-3.125"), None]
    assert out.schema.field("odd").type == pa.string()  # NaN has no decimal form
    assert out.schema.field("wide").type == pa.decimal128(2, 1)
    assert out.schema.field("name").type == pa.string()


def test_semi_join_keys_and_their_limit() -> None:
    table = pa.table({"k": pa.array([3, 1, None, 3, 2])})
    assert sorted(engine.distinct_keys(table, "k", 10)) == [1, 2, 3]
    assert engine.distinct_keys(table, "k", 2) is None


def test_duckdb_errors_are_sqlstates() -> None:
    split = Split([], "SELECT CAST('x' AS INTEGER) AS y", [], [None])
    with pytest.raises(errors.PgError) as info:
        engine.describe(split, {}, [])
    assert info.value.sqlstate == "22P02"


def test_statement_timeout_interrupts_duckdb() -> None:
    table = pa.table({"n": pa.array(range(3000))})
    split = Split([], "SELECT count(*) FROM t a, t b, t c WHERE a.n + b.n + c.n = -1", [],
                  [None])
    with pytest.raises(errors.QueryCanceled) as info:
        engine._execute(split, {"t": table}, [], 10, timeout_ms=50)
    assert info.value.sqlstate == "57014" and "statement timeout" in str(info.value)
