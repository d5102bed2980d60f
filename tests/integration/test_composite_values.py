"""Composite types, records and schemas as PostgreSQL has them, through the proxy on SQLite
and MariaDB (psycopg's CompositeInfo and register_composite, text and binary), with
PostgreSQL itself (pass-through) as the reference."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from psycopg.types.composite import CompositeInfo, register_composite

from tests.fix_proxy import ProxyProcess

_ids = itertools.count()


@pytest.fixture(params=["sqlite", "mysql", "postgresql"])
def conn(request: pytest.FixtureRequest) -> psycopg.Connection:
    proxy: ProxyProcess = request.getfixturevalue(f"proxy_{request.param}")
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        yield conn


def test_anonymous_records(request: pytest.FixtureRequest, conn: psycopg.Connection) -> None:
    cur = conn.execute("select row('a b', null, 'x\"y\\z', ''), (1, 'c') as pair, row()")
    assert [d.type_code for d in cur.description] == [2249] * 3
    assert [d.name for d in cur.description] == ["row", "pair", "row"]
    assert cur.fetchone() == (("a b", None, 'x"y\\z', ""), ("1", "c"), ())
    assert conn.execute("select 1 where row(1, 2) = (1, 2)").fetchone() == (1,)
    if conn.info.port == request.getfixturevalue("proxy_postgresql").port:
        return  # pass-through re-encodes a record from its text: each field as text
    # binary: each field in its own type, a string literal's as unknown (bytes to psycopg)
    cur = conn.cursor(binary=True).execute(
        "select row(10::int, 'a', null, 2.5::float8, true), row(null), row()"
    )
    assert cur.fetchone() == ((10, b"a", None, 2.5, True), (None,), ())


@pytest.mark.parametrize("binary", [False, True])
def test_composite_type(
    request: pytest.FixtureRequest, conn: psycopg.Connection, binary: bool
) -> None:
    if binary and conn.info.port == request.getfixturevalue("proxy_postgresql").port:
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "a known gap: the PostgreSQL pass-through backend re-encodes a binary "
            "user-defined type's value as text and loses its OID")))
    n = next(_ids)
    schema, inner, outer = f"cv_schema_{n}", f"cv_inner_{n}", f"cv_outer_{n}"
    conn.execute(f"create schema {schema}")
    conn.execute(f"create schema if not exists {schema}")
    with pytest.raises(psycopg.errors.DuplicateSchema):
        conn.execute(f"create schema {schema}")
    conn.execute(f"create type {inner} as (name text, n int8, x float8)")
    conn.execute(f"create type {outer} as (id int8, inner_value {inner})")
    conn.execute(f"create type {schema}.{inner} as (flag bool)")
    try:
        info = CompositeInfo.fetch(conn, inner)
        assert info.field_names == ("name", "n", "x") and info.field_types == (25, 20, 701)
        other = CompositeInfo.fetch(conn, f"{schema}.{inner}")
        assert other.oid != info.oid and other.field_types == (16,)
        info2 = CompositeInfo.fetch(conn, outer)
        assert info2.field_types == (20, info.oid)
        assert conn.execute(
            "select count(*) from pg_namespace where nspname = %s", [schema]
        ).fetchone() == (1,)
        register_composite(info, conn)
        register_composite(info2, conn)
        cur = conn.cursor(binary=binary)
        cur.execute(
            f"select row(42, row('a b', 10, 2.5)::{inner})::{outer}, %s::{inner}", [("x", 1, None)]
        )
        assert [d.type_code for d in cur.description] == [info2.oid, info.oid]
        value, param = cur.fetchone()
        assert value.id == 42 and value.inner_value == info.python_type("a b", 10, 2.5)
        assert param == info.python_type("x", 1, None)
        if conn.info.port != request.getfixturevalue("proxy_postgresql").port:
            # ($1).field: pass-through sends $1 untyped (it loses the composite's OID)
            value = info.python_type("z", 7, 1.5)
            got = cur.execute("select (%(v)s).n, (%(v)s).name", {"v": value}).fetchone()
            assert got == (7, "z")
            if not binary:  # binary: regtype is its OID's bytes
                assert cur.execute("select pg_typeof(%s)", [value]).fetchone() == (inner,)
        cur.execute(f"select array[row('h', 1, 3)::{inner}]")
        assert cur.description[0].type_code == info.array_oid
        assert cur.fetchone()[0] == [info.python_type("h", 1, 3.0)]
    finally:
        conn.execute(f"drop type {outer}")
        conn.execute(f"drop type {inner}")
        with pytest.raises(psycopg.errors.DependentObjectsStillExist):
            conn.execute(f"drop schema {schema}")
        conn.execute(f"drop schema {schema} cascade")
    with pytest.raises(psycopg.errors.UndefinedObject):
        conn.execute(f"drop type {inner}")


def test_composite_column(conn: psycopg.Connection) -> None:
    n = next(_ids)
    kind, table = f"cv_pair_{n}", f"cv_pairs_{n}"
    conn.execute(f"create type {kind} as (a text, b int4)")
    conn.execute(f"create table {table} (id int primary key, p {kind})")
    try:
        info = CompositeInfo.fetch(conn, kind)
        register_composite(info, conn)
        conn.execute(
            f"insert into {table} values (1, %s), (2, null)", [info.python_type("x, y", 3)]
        )
        cur = conn.execute(f"select p from {table} order by id")
        assert cur.description[0].type_code == info.oid
        assert cur.fetchall() == [(info.python_type("x, y", 3),), (None,)]
    finally:
        conn.execute(f"drop table {table}")
        conn.execute(f"drop type {kind}")
