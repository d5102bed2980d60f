"""Types through the proxy as PostgreSQL gives them: arrays, intervals, pg_typeof(),
bare parameters, NaN/Infinity, bytea that is not UTF-8, generate_series, byte and
character functions, division by zero.

Every case runs on a real PostgreSQL and through a real proxy process on SQLite and
on MariaDB, with psycopg in text and in binary result format; the values psycopg
decodes (type and value), the column type OIDs and the SQLSTATE of an error must
match PostgreSQL's. asyncpg, which always speaks binary and types parameters from
the server's ParameterDescription, checks the same mechanisms once more.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from decimal import Decimal
from typing import Any

import asyncpg
import psycopg
import pytest

pytestmark = pytest.mark.integration

# (statement, parameters)
CASES: list[tuple[str, tuple[Any, ...]]] = [
    # arrays: constructors, literals, parameters, ANY / ALL, functions
    ("select ARRAY[1, 2, 3]", ()),
    ("select ARRAY['a', 'b c', NULL]", ()),
    ("select '{1,2,NULL}'::int[], '{\"a,b\",c}'::text[]", ()),
    ("select %s::int[]", ([1, 2, None],)),
    ("select %s::text[]", (["x", "y z", "\x1c", "é"],)),
    ("select %s::bytea[]", ([b"\xff\x00", None],)),
    ("select %s::numeric[]", ([Decimal("1.10"), Decimal("-2")],)),
    ("select %s", ([1, 2],)),
    ("select 2 = ANY(%s), 5 = ANY(%s), 3 <> ALL(%s)", ([1, 2], [1, 2], [1, 2])),
    ("select 'b' = ANY('{a,b}'::text[])", ()),
    ("select x from unnest(%s::int[]) as t(x) order by x", ([3, 1, 2],)),
    ("select unnest(ARRAY[10, 20])", ()),
    ("select array_length(ARRAY[1, 2, 3], 1), array_length('{}'::int[], 1)", ()),
    ("select cardinality(%s::int[]), cardinality('{}'::int[])", ([4, 5],)),
    ("select array_remove(ARRAY[1, 2, 1, 3], 1)", ()),
    ("select array_agg(x order by x) from unnest(ARRAY[3, 1, 2]) as t(x)", ()),
    ("select %s::int4[] = ARRAY[1, 2], ARRAY[1, 2] <> ARRAY[2]", ([1, 2],)),
    ("select %s::bytea[] = ARRAY[set_byte('x', 0, 255)]", ([b"\xff"],)),
    # pg_typeof and regtype
    ("select pg_typeof(1), pg_typeof(1.5), pg_typeof('a'::text), pg_typeof(now())", ()),
    ("select pg_typeof(ARRAY[1]), pg_typeof('{}'::text[]), pg_typeof(true)", ()),
    ("select pg_typeof(%s), pg_typeof(%s), pg_typeof(%s)", (Decimal("1.5"), 2.5, True)),
    ("select pg_typeof(%s::int4)::regtype = %s::regtype", (1, "integer")),
    ("select pg_typeof(%s::int4)::regtype = %s::regtype", (1, "int8")),
    ("select pg_typeof(1)::oid, 'int4'::regtype, 'integer[]'::regtype::oid", ()),
    # a bare parameter keeps its type
    ("select %s, %s, %s", (Decimal("1.0"), True, 2.5)),
    ("select %s", (Decimal("123.4500"),)),
    ("select %s, %s", (dt.date(2024, 2, 29), dt.timedelta(days=1, seconds=7384))),
    # non-finite numbers as computed values
    ("select %s, %s, %s", (float("nan"), float("inf"), float("-inf"))),
    ("select %s, %s", (Decimal("NaN"), Decimal("-Infinity"))),
    ("select 'NaN'::float8, '-Infinity'::float8, 'NaN'::numeric", ()),
    # intervals
    ("select '1 day 2 hours 3 minutes 4 seconds'::interval", ()),
    ("select '-999999999 days'::interval, '1 sec'::interval, interval '1' day", ()),
    ("select '-999999999 days'::interval = %s", (dt.timedelta(days=-999999999),)),
    ("select %s::interval", (dt.timedelta(hours=-1, microseconds=5),)),
    (
        "select %s::timestamp + %s::interval",
        (dt.datetime(2024, 1, 31, 10), dt.timedelta(days=1, hours=2)),
    ),
    (
        "select '2024-01-31'::timestamp + '1 month'::interval, "
        "'2024-03-31'::date - interval '1 month 2 days'",
        (),
    ),
    ("select 'epoch'::date + 1, 'epoch'::timestamp", ()),
    ("select 'epoch'::timestamp + '1d 3h 4m 5s'::interval, %s::date - %s::interval",
     (dt.date(2024, 3, 31), dt.timedelta(days=31))),
    # bytea that is not UTF-8
    ("select %s::bytea", (b"\xff\xfe\x00\x80",)),
    ("select %s", (b"\xc3\x28",)),
    ("select '\\xdeadbeef'::bytea, 'a\\000b'::bytea", ()),
    # generate_series
    ("select * from generate_series(1, 4)", ()),
    ("select generate_series(1, %s) as n", (3,)),
    ("select x from generate_series(6, 1, -2) x", ()),
    ("select count(*) from generate_series(1, 3000)", ()),
    ("select generate_series(1, 10, %s)", (4,)),
    (
        "select * from generate_series('2024-01-30'::timestamp, '2024-02-02'::timestamp, "
        "'1 day'::interval)",
        (),
    ),
    # byte and character functions
    ("select get_byte('\\x0102ff'::bytea, 2), set_byte('\\x0102'::bytea, 0, 255)", ()),
    ("select chr(8364), ascii('€'), ascii('A'), repeat('ab', 3)", ()),
    # errors
    ("select 1 / 0", ()),
    ("select 7 % 0", ()),
    ("select %s / %s", (1, 0)),
    ("select 'nosuchtype'::regtype", ()),
]
# On MariaDB a division by zero is NULL: it has no way to raise from an expression
# (dialects/DIFFERENCES.md, "Division by zero").
MARIADB_DIVISION = {"select 1 / 0", "select 7 % 0", "select %s / %s"}


def _outcome(dsn: str, sql: str, params: tuple[Any, ...], binary: bool) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        try:
            cur.execute(sql, params or None)
        except psycopg.Error as exc:
            return ("error", exc.sqlstate)
        types = [d.type_code for d in cur.description]
        return types, [tuple(_comparable(v) for v in row) for row in cur.fetchall()]


def _comparable(value: Any) -> Any:
    """NaN is not equal to itself: compare it by name; keep the type in the comparison."""
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, Decimal) and value.is_nan():
        return ("Decimal", "NaN")
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
@pytest.mark.parametrize("sql, params", CASES, ids=[c[0][:60] for c in CASES])
def test_values_match_postgresql(sql, params, backend, binary, postgresql_url, request):
    proxy = request.getfixturevalue(f"proxy_{backend}")
    want = _outcome(postgresql_url, sql, params, binary)
    got = _outcome(proxy.dsn(), sql, params, binary)
    if backend == "mysql" and sql in MARIADB_DIVISION:
        assert want == ("error", "22012")
        assert got[0] != "error"
        return
    assert got == want


def test_session_survives_errors(proxy):
    """A 22012 or 42704 leaves the session usable, in and out of a transaction."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute("select 'nosuchtype'::regtype")
        assert conn.execute("select pg_typeof(%s)", [1.5]).fetchone() == ("double precision",)
        with pytest.raises(psycopg.errors.InFailedSqlTransaction), conn.transaction():
            with pytest.raises(psycopg.errors.UndefinedObject):
                conn.execute("select 'nosuchtype'::regtype")
            conn.execute("select 1")
        assert conn.execute("select ARRAY[1]").fetchone() == ([1],)


def test_division_by_zero_sqlite(proxy_sqlite):
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as conn:
        conn.execute("drop table if exists tv_div")
        conn.execute("create table tv_div (a int, b int)")
        conn.execute("insert into tv_div values (6, 3), (1, 0)")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("select a / b from tv_div").fetchall()
        rows = conn.execute("select a / b, a % b from tv_div where b <> 0").fetchall()
        assert rows == [(2, 0)]
        conn.execute("drop table tv_div")


def test_asyncpg_arrays_intervals_typeof(proxy, postgresql_url):
    """asyncpg: binary everywhere, parameter types from ParameterDescription."""
    # Array parameters and results are left out: asyncpg builds its array codecs from
    # the catalog's answer to its type introspection query, which the catalog engine
    # cannot answer yet for arrays (it binds `$1::oid[]` as a list).
    queries: list[tuple[str, tuple[Any, ...]]] = [
        ("select $1::interval", (dt.timedelta(days=-3, seconds=5),)),
        ("select '1 day 02:03:04'::interval", ()),
        ("select pg_typeof($1::numeric)", (Decimal("2.5"),)),
        ("select $1::bytea", (b"\xff\x00\xfe",)),
        ("select $1::numeric", (Decimal("1.50"),)),
        ("select generate_series(1, $1::int)", (3,)),
    ]

    async def run(dsn: str) -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            out = []
            for sql, args in queries:
                rows = await conn.fetch(sql, *args)
                out.append([tuple(r) for r in rows])
            return out
        finally:
            await conn.close()

    want = asyncio.run(run(postgresql_url))
    got = asyncio.run(run(proxy.url()))
    assert got == want


def test_non_finite_storage(proxy):
    """SQLite keeps NaN / ±Infinity (as text it reads back); MariaDB cannot: 22003."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("drop table if exists tv_nan")
        conn.execute("create table tv_nan (x float8, n numeric)")
        insert = "insert into tv_nan values (%s, %s)"
        values = (float("-inf"), Decimal("NaN"))
        if proxy.backend_url.startswith("sqlite"):
            conn.execute(insert, values)
            (x, n) = conn.execute("select x, n from tv_nan").fetchone()
            assert x == float("-inf") and n.is_nan()
        else:
            with pytest.raises(psycopg.errors.NumericValueOutOfRange):
                conn.execute(insert, values)
        conn.execute("insert into tv_nan values (1.5, 2.25)")
        assert conn.execute("select x from tv_nan where n = 2.25").fetchone() == (1.5,)
        conn.execute("drop table tv_nan")


def test_blob_where_text_or_integer_is_declared(proxy_sqlite):
    """SQLite lets any column hold a blob: it reaches the client as bytea text in a text
    column, as 22P02 in an integer or range one, and never as a traceback (XX000)."""
    logged = len(proxy_sqlite.log())
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as conn:
        conn.execute("drop table if exists tv_blob")
        conn.execute("create table tv_blob (t text, i bigint, r int4range)")
        blob = b"\xff\xfe\x00"
        conn.execute("insert into tv_blob values (%s, 1, %s)", [blob, blob])
        assert conn.execute("select t from tv_blob").fetchone() == ("\\xfffe00",)
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute("select r from tv_blob").fetchone()
        conn.execute("update tv_blob set i = %s", [blob])
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute("select i from tv_blob").fetchone()
        assert conn.execute("select 1").fetchone() == (1,)
        conn.execute("drop table tv_blob")
    assert "Traceback" not in proxy_sqlite.log()[logged:]
