"""Session behaviour drivers rely on, compared with a real PostgreSQL through the proxy.

Integrity violations with their schema / table / column / constraint fields
(psycopg's e.diag), reused savepoint names, the idle timeouts that end a
session with FATAL, and the database name that is no route (3D000); on
SQLite and MariaDB, with psycopg and asyncpg.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest
from psycopg import errors as pgerrors

from tests.fix_proxy import run_proxy

pytestmark = pytest.mark.integration


@pytest.fixture
def dsns(proxy, postgresql_url) -> tuple[str, str]:
    return postgresql_url, proxy.dsn()


@pytest.fixture
def tables(dsns) -> Iterator[tuple[str, str]]:
    """(parent, child): the child with a primary key, a UNIQUE, a NOT NULL, a foreign
    key, a column CHECK and a named CHECK; one row in each."""
    tag = uuid.uuid4().hex[:6]
    parent, child = f"par_{tag}", f"chi_{tag}"
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"CREATE TABLE {parent} (id INTEGER PRIMARY KEY)")
            c.execute(
                f"CREATE TABLE {child} (x INTEGER PRIMARY KEY, u INTEGER UNIQUE, v TEXT NOT NULL,"
                f" p INTEGER REFERENCES {parent} (id), c INTEGER CHECK (c > 0),"
                f" CONSTRAINT {child}_small CHECK (c < 100))"
            )
            c.execute(f"INSERT INTO {parent} VALUES (1)")
            c.execute(f"INSERT INTO {child} VALUES (1, 1, 'a', 1, 1)")
    yield parent, child
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {child}")
            c.execute(f"DROP TABLE IF EXISTS {parent}")


def _diag(dsn: str, sql: str) -> tuple[object, ...]:
    with psycopg.connect(dsn, autocommit=True) as c:
        with pytest.raises(pgerrors.IntegrityError) as info:
            c.execute(sql)
        d = info.value.diag
        assert c.execute("SELECT 1").fetchone() == (1,)  # the session goes on
        return (info.value.sqlstate, d.message_primary, d.schema_name, d.table_name,
                d.column_name, d.constraint_name)


@pytest.mark.parametrize("case", ["primary key", "unique", "not null", "not null update",
                                  "check named", "fk insert"])
def test_integrity_errors_carry_postgresql_fields(proxy, dsns, tables, case):
    _, child = tables
    sql = {
        "primary key": f"INSERT INTO {child} VALUES (1, 2, 'b', 1, 1)",
        "unique": f"INSERT INTO {child} VALUES (2, 1, 'b', 1, 1)",
        "not null": f"INSERT INTO {child} VALUES (2, 2, NULL, 1, 1)",
        "not null update": f"UPDATE {child} SET v = NULL",
        "check named": f"INSERT INTO {child} VALUES (2, 2, 'b', 1, 200)",
        "fk insert": f"INSERT INTO {child} VALUES (2, 2, 'b', 9, 1)",
    }[case]
    expected = _diag(dsns[0], sql)
    got = _diag(dsns[1], sql)
    sqlite = proxy.backend_url.startswith("sqlite")
    if case == "unique" and not sqlite:
        # MySQL names a column's UNIQUE key after the column (the catalog shows it so).
        expected = (*expected[:1], 'duplicate key value violates unique constraint "u"',
                    *expected[2:5], "u")
    if case == "fk insert" and sqlite:
        # SQLite's "FOREIGN KEY constraint failed" names no constraint: the table is the
        # INSERT's own.
        assert got == ("23503", "FOREIGN KEY constraint failed", *expected[2:5], None)
        return
    assert got == expected


def test_integrity_fields_reach_asyncpg(dsns, tables):
    _, child = tables

    async def run(dsn: str) -> tuple[object, ...]:
        con = await asyncpg.connect(dsn if dsn.startswith("postgresql") else _url(dsn))
        try:
            with pytest.raises(asyncpg.UniqueViolationError) as info:
                await con.execute(f"INSERT INTO {child} VALUES ($1, 5, 'z', 1, 1)", 1)
            e = info.value
            return e.schema_name, e.table_name, e.constraint_name, e.message
        finally:
            await con.close()

    assert asyncio.run(run(dsns[1])) == asyncio.run(run(dsns[0]))


def test_reused_savepoint_names(dsns):
    name = f"sp_{uuid.uuid4().hex[:8]}"
    steps = [
        f"INSERT INTO {name} VALUES (1)", "SAVEPOINT a", f"INSERT INTO {name} VALUES (2)",
        "SAVEPOINT a", f"INSERT INTO {name} VALUES (3)", "ROLLBACK TO a",
        f"SELECT count(*), sum(x) FROM {name}", "RELEASE a", f"SELECT count(*) FROM {name}",
        "ROLLBACK TO a", f"SELECT count(*) FROM {name}", "SAVEPOINT a", "SAVEPOINT b",
        "SAVEPOINT a", "RELEASE b", "ROLLBACK TO a", "RELEASE a", "ROLLBACK TO a",
    ]

    def run(dsn: str) -> list[object]:
        out: list[object] = []
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"CREATE TABLE {name} (x INTEGER)")
            try:
                c.execute("BEGIN")
                for sql in steps:
                    try:
                        cur = c.execute(sql)
                        out.append((sql, cur.statusmessage,
                                    cur.fetchall() if cur.description else None))
                    except psycopg.Error as e:
                        out.append((sql, e.sqlstate, e.diag.message_primary))
                c.execute("ROLLBACK")
            finally:
                c.execute(f"DROP TABLE {name}")
        return out

    assert run(dsns[1]) == run(dsns[0])


@pytest.mark.parametrize("setting,begin,sqlstate,message", [
    ("idle_in_transaction_session_timeout", True, "25P03",
     "terminating connection due to idle-in-transaction timeout"),
    ("idle_session_timeout", False, "57P05",
     "terminating connection due to idle-session timeout"),
])
def test_idle_timeouts_end_the_session(dsns, setting, begin, sqlstate, message):
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"SET {setting} = 300")
            if begin:
                c.execute("BEGIN")
            c.execute("SELECT 1")
            time.sleep(0.1)
            c.execute("SELECT 1")  # activity restarts the clock
            time.sleep(0.7)
            with pytest.raises(psycopg.Error) as info:
                c.execute("SELECT 1")
            assert info.value.sqlstate == sqlstate
            assert info.value.diag.severity == "FATAL"
            assert info.value.diag.message_primary == message
            assert c.closed


def test_idle_timeout_zero_or_unset_waits(dsns):
    with psycopg.connect(dsns[1], autocommit=True) as c:
        c.execute("SET idle_session_timeout = 0")
        time.sleep(0.3)
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_unknown_database_without_a_default_backend(tmp_path, postgresql_url):
    """With [backends] naming routes and no `default`, other names do not exist (3D000);
    with a default backend every name reaches it (README: the name picks the route)."""
    config = f'[backends]\nshop = "sqlite:///{tmp_path / "shop.db"}"\n'
    with run_proxy("", config=config) as proxy:
        with psycopg.connect(proxy.dsn("shop")) as c:
            assert c.execute("SELECT 1").fetchone() == (1,)
        for dsn in (proxy.dsn("nope"), postgresql_url.rsplit("/", 1)[0] + "/nope"):
            with pytest.raises(psycopg.OperationalError) as info:
                psycopg.connect(dsn)
            assert 'database "nope" does not exist' in str(info.value)
        assert proxy.alive()

        async def asyncpg_refused() -> str:
            with pytest.raises(asyncpg.InvalidCatalogNameError) as info:
                await asyncpg.connect(proxy.url("nope"))
            return info.value.sqlstate

        assert asyncio.run(asyncpg_refused()) == "3D000"


def _url(dsn: str) -> str:
    parts = dict(p.split("=", 1) for p in dsn.split())
    auth = parts["user"] + (f":{parts['password']}" if "password" in parts else "")
    return f"postgresql://{auth}@{parts['host']}:{parts['port']}/{parts['dbname']}"
