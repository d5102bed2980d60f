"""SQL cursors, advisory locks and the per-session catalog views drivers read.

Each test runs the same client code on a real PostgreSQL and through the proxy
(SQLite, then MariaDB) and compares what the client gets: psycopg's named
(server-side) cursors with parameters, SCROLL cursors in every FETCH / MOVE
direction, NO SCROLL refusals, WITH HOLD cursors across COMMIT,
pg_cursors, pg_prepared_statements, pg_advisory_lock() and its kin across
sessions, and asyncpg's pool, which resets every connection it takes back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest
from psycopg import errors as pgerrors

pytestmark = pytest.mark.integration


@pytest.fixture
def dsns(proxy, postgresql_url) -> tuple[str, str]:
    return postgresql_url, proxy.dsn()


@pytest.fixture
def table(dsns) -> Iterator[str]:
    """Ten rows, x 0..9, on both sides."""
    name = f"cur_{uuid.uuid4().hex[:8]}"
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"CREATE TABLE {name} (x INTEGER PRIMARY KEY, v TEXT)")
            c.cursor().executemany(
                f"INSERT INTO {name} (x, v) VALUES (%s, %s)", [(i, f"v{i}") for i in range(10)]
            )
    yield name
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {name}")


def on_both(dsns, fn) -> None:
    """fn(conn) on PostgreSQL and through the proxy; their answers must be equal."""
    answers = []
    for dsn in dsns:
        with psycopg.connect(dsn) as conn:
            answers.append(fn(conn))
    assert answers[1] == answers[0]
    assert answers[0]  # the scenario produced something to compare


def test_named_cursor_with_parameters(dsns, table):
    def run(conn):
        cur = conn.cursor("c")
        cur.execute(f"SELECT x, v FROM {table} WHERE x > %s AND v <> %s ORDER BY x", [4, "v7"])
        first = cur.fetchmany(2)
        # Another statement between fetches: the cursor's result stays open (or is kept).
        other = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return first, other, cur.fetchall()

    on_both(dsns, run)


def test_scroll_cursor_every_direction(dsns, table):
    statements = [
        "FETCH LAST s", "FETCH PRIOR s", "FETCH ABSOLUTE 2 s", "FETCH RELATIVE 2 s",
        "FETCH BACKWARD 2 s", "FETCH BACKWARD ALL s", "MOVE FORWARD ALL IN s", "FETCH -1 FROM s",
        "FETCH FIRST s", "FETCH RELATIVE 0 s", "FETCH ABSOLUTE -3 s", "FETCH 3 s",
        "MOVE ABSOLUTE 0 s", "FETCH FORWARD 4 s", "MOVE BACKWARD 2 IN s", "FETCH NEXT s",
        "FETCH ALL s", "FETCH PRIOR s", "MOVE RELATIVE -3 s", "FETCH BACKWARD 20 s",
        "FETCH PRIOR s", "FETCH ABSOLUTE 11 s", "FETCH PRIOR s",
    ]

    def run(conn):
        conn.execute(f"DECLARE s SCROLL CURSOR FOR SELECT x FROM {table} ORDER BY x")
        out = []
        for sql in statements:
            cur = conn.execute(sql)
            out.append((sql, cur.statusmessage, cur.fetchall() if cur.description else None))
        return out

    on_both(dsns, run)


def test_psycopg_scrollable_cursor(dsns, table):
    def run(conn):
        cur = conn.cursor("sc", scrollable=True)
        cur.execute(f"SELECT x FROM {table} WHERE x >= %s ORDER BY x", [2])
        out = [cur.fetchmany(3)]
        cur.scroll(-2)
        out.append(cur.fetchone())
        cur.scroll(5, mode="absolute")
        out.append(cur.fetchone())
        return out

    on_both(dsns, run)


@pytest.mark.parametrize("declare", ["NO SCROLL CURSOR", "CURSOR"])
@pytest.mark.parametrize("fetch", ["FETCH PRIOR c", "FETCH FIRST c", "FETCH ABSOLUTE 1 c",
                                   "FETCH LAST c", "MOVE BACKWARD 1 IN c", "FETCH RELATIVE 0 c"])
def test_no_scroll_refuses_backward_moves(proxy, postgresql_url, table, declare, fetch):
    # A cursor without SCROLL only moves forward through the proxy (PostgreSQL also
    # allows backward moves on a plain cursor when its plan can; NO SCROLL never does).
    dsns = [proxy.dsn()] + ([postgresql_url] if declare.startswith("NO") else [])
    for dsn in dsns:
        with psycopg.connect(dsn) as conn:
            conn.execute(f"DECLARE c {declare} FOR SELECT x FROM {table} ORDER BY x")
            assert conn.execute("FETCH 2 c").fetchall() == [(0,), (1,)]
            with pytest.raises(pgerrors.ObjectNotInPrerequisiteState) as info:
                conn.execute(fetch)
            assert info.value.diag.message_primary == "cursor can only scan forward"
            assert "SCROLL" in (info.value.diag.message_hint or "")
            with pytest.raises(pgerrors.InFailedSqlTransaction):  # the error aborted it
                conn.execute("SELECT 1")
            conn.rollback()
            assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_scroll_cursor_memory_is_bounded(proxy):
    """A SCROLL cursor keeps the rows it read, up to KEPT_ROWS: past that a clear 54000
    (PostgreSQL spills to disk; the proxy refuses rather than grow without bound)."""
    from pgproxy.cursors import KEPT_ROWS

    side = int(KEPT_ROWS**0.5) + 10  # rows x rows, each side within MariaDB's recursion cap
    rows = side * side
    assert rows > KEPT_ROWS
    series = (f"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {side})"
              f" SELECT a.x * {side} + b.x AS x FROM n a CROSS JOIN n b")
    with psycopg.connect(proxy.dsn()) as conn:
        conn.execute(f"DECLARE s SCROLL CURSOR FOR {series}")
        assert len(conn.execute("FETCH ABSOLUTE 1000 s").fetchall()) == 1
        with pytest.raises(pgerrors.ProgramLimitExceeded) as info:
            conn.execute("FETCH LAST s")
        assert "would keep more than" in info.value.diag.message_primary
        conn.rollback()
        # A forward-only cursor over the same rows streams them all.
        conn.execute(f"DECLARE f CURSOR FOR {series}")
        assert conn.execute("MOVE FORWARD ALL IN f").statusmessage == f"MOVE {rows}"
        conn.rollback()


def test_with_hold_cursor_survives_commit(dsns, table):
    def run(conn):
        conn.execute(f"DECLARE h CURSOR WITH HOLD FOR SELECT x FROM {table} ORDER BY x")
        out = [conn.execute("FETCH 2 h").fetchall()]
        conn.commit()
        out.append(conn.execute("FETCH 2 h").fetchall())
        conn.execute(f"INSERT INTO {table} (x, v) VALUES (100, 'new')")  # not in the cursor
        out.append(conn.execute("FETCH ALL h").fetchall())
        out.append(conn.execute("SELECT name, is_holdable FROM pg_cursors").fetchall())
        conn.execute("CLOSE h")
        conn.rollback()
        with conn.cursor("wh", withhold=True) as cur:
            cur.execute(f"SELECT x FROM {table} WHERE x < %s ORDER BY x", [4])
            conn.commit()
            out.append(cur.fetchall())
        return out

    on_both(dsns, run)


def test_rollback_closes_cursors_declared_in_it(dsns, table):
    def run(conn):
        conn.execute(f"DECLARE a CURSOR WITH HOLD FOR SELECT x FROM {table}")
        conn.execute(f"DECLARE b CURSOR FOR SELECT x FROM {table}")
        conn.rollback()
        with pytest.raises(pgerrors.InvalidCursorName) as info:
            conn.execute("FETCH a")
        return info.value.sqlstate

    on_both(dsns, run)


def test_pg_cursors(dsns, table):
    def run(conn):
        conn.execute(f"DECLARE s1 SCROLL CURSOR FOR SELECT x FROM {table}")
        # (A plain cursor is forward-only through the proxy: PostgreSQL calls it scrollable
        # when its plan can go backward. NO SCROLL is the same on both.)
        conn.execute(f"DECLARE s2 BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT x FROM {table}")
        rows = conn.execute(
            "SELECT name, statement, is_holdable, is_binary, is_scrollable, creation_time "
            "FROM pg_cursors ORDER BY name").fetchall()
        return [(*r[:5], _recent(r[5])) for r in rows]

    on_both(dsns, run)


def test_pg_prepared_statements(dsns, table):
    def run(conn):
        conn.autocommit = True
        conn.execute(f"PREPARE p1 (int, text) AS SELECT x FROM {table} WHERE x = $1 AND v = $2")
        conn.execute(f"SELECT x FROM {table} WHERE x = %s", [1], prepare=True)
        rows = conn.execute(
            "SELECT name, statement, parameter_types, from_sql, prepare_time "
            "FROM pg_prepared_statements ORDER BY from_sql DESC, name"
        ).fetchall()
        rows = [(*r[:4], _recent(r[4])) for r in rows]
        conn.execute("DEALLOCATE p1")
        rows += conn.execute("SELECT name FROM pg_prepared_statements WHERE from_sql").fetchall()
        return rows

    on_both(dsns, run)


def test_deallocate_drops_protocol_statements(dsns, table):
    def run(conn):
        conn.autocommit = True
        conn.execute(f"SELECT x FROM {table} WHERE x = %s", [1], prepare=True)
        (name,) = conn.execute("SELECT name FROM pg_prepared_statements").fetchone()
        conn.execute(f'DEALLOCATE "{name}"')
        out = [conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()]
        with pytest.raises(pgerrors.InvalidSqlStatementName) as info:
            conn.execute("DEALLOCATE nosuch")
        out.append(info.value.diag.message_primary)
        conn.execute(f"PREPARE q AS SELECT x FROM {table}")
        conn.execute("DEALLOCATE ALL")
        out.append(conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone())
        return out

    on_both(dsns, run)


def test_pg_prepared_xacts_is_empty(dsns):
    def run(conn):
        cur = conn.execute("SELECT gid, owner, database FROM pg_prepared_xacts")
        return [d.name for d in cur.description], cur.fetchall()

    on_both(dsns, run)


# ---------------------------------------------------------------- advisory locks

def test_advisory_locks_across_sessions(dsns):
    key = int(uuid.uuid4().int % 1_000_000)

    def run(dsn):
        with (psycopg.connect(dsn, autocommit=True) as a,
              psycopg.connect(dsn, autocommit=True) as b):
            out = [
                a.execute("SELECT pg_try_advisory_lock(%s), pg_advisory_lock(%s, 2)",
                          [key, key]).fetchall(),
                b.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchall(),
                b.execute("SELECT pg_try_advisory_lock(%s, 2)", [key]).fetchall(),
                b.execute("SELECT pg_try_advisory_lock_shared(%s, 3)", [key]).fetchall(),
                a.execute("SELECT pg_try_advisory_lock_shared(%s, 3)", [key]).fetchall(),
                a.execute(
                    "SELECT classid, objid, objsubid, mode, granted, pid = pg_backend_pid() "
                    "FROM pg_locks WHERE locktype = 'advisory' "
                    "ORDER BY objsubid, objid, mode, pid = pg_backend_pid()"
                ).fetchall(),
                a.execute("SELECT pg_advisory_unlock(%s), pg_advisory_unlock(%s)",
                          [key, key]).fetchall(),
                b.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchall(),
                a.execute("SELECT pg_advisory_unlock_all()").fetchall(),
                b.execute("SELECT pg_try_advisory_lock(%s, 2)", [key]).fetchall(),
            ]
            b.execute("SELECT pg_advisory_unlock_all()")
            # Transaction-level: held until COMMIT, then free.
            a.execute("BEGIN")
            out.append(a.execute("SELECT pg_try_advisory_xact_lock(%s)", [key]).fetchall())
            out.append(b.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchall())
            a.execute("COMMIT")
            out.append(b.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchall())
            return out

    assert run(dsns[1]) == run(dsns[0])


def test_advisory_lock_waits_until_released(dsns):
    key = int(uuid.uuid4().int % 1_000_000)
    for dsn in dsns:
        with (psycopg.connect(dsn, autocommit=True) as a,
              psycopg.connect(dsn, autocommit=True) as b):
            a.execute("SELECT pg_advisory_lock(%s)", [key])
            timer = threading.Timer(0.5, a.execute, ["SELECT pg_advisory_unlock(%s)", [key]])
            started = time.monotonic()
            timer.start()
            b.execute("SELECT pg_advisory_lock(%s)", [key])  # blocks until a lets go
            assert time.monotonic() - started >= 0.4
            timer.join()
            b.execute("SET statement_timeout = 200")
            b.execute("SELECT pg_advisory_unlock(%s)", [key])
            a.execute("SELECT pg_advisory_lock(%s)", [key])
            with pytest.raises(pgerrors.QueryCanceled):
                b.execute("SELECT pg_advisory_lock(%s)", [key])
            assert b.execute("SELECT 1").fetchone() == (1,)


def test_advisory_lock_wait_cancelled(dsns):
    key = int(uuid.uuid4().int % 1_000_000)
    for dsn in dsns:
        with (psycopg.connect(dsn, autocommit=True) as a,
              psycopg.connect(dsn, autocommit=True) as b):
            a.execute("SELECT pg_advisory_lock(%s)", [key])
            timer = threading.Timer(0.3, b.cancel)
            timer.start()
            with pytest.raises(pgerrors.QueryCanceled) as info:
                b.execute("SELECT pg_advisory_lock(%s)", [key])
            timer.join()
            assert info.value.diag.message_primary == "canceling statement due to user request"
            assert b.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone() == (False,)


def test_advisory_locks_go_with_the_session(dsns):
    key = int(uuid.uuid4().int % 1_000_000)
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as a:
            a.execute("SELECT pg_advisory_lock(%s)", [key])
        with psycopg.connect(dsn, autocommit=True) as b:
            assert b.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone() == (True,)


def test_asyncpg_pool_release_and_cursor(dsns, table):
    # The pool's reset sends SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    # RESET ALL; asyncpg's cursors are protocol portals read in pieces.
    async def run(dsn: str) -> list[object]:
        url = dsn if dsn.startswith("postgresql://") else _url(dsn)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
        try:
            out: list[object] = []
            async with pool.acquire() as con:
                out.append(await con.fetchval("SELECT pg_try_advisory_lock($1)", 4242))
                async with con.transaction():
                    cur = await con.cursor(f"SELECT x FROM {table} WHERE x > $1 ORDER BY x", 3)
                    out.append([r["x"] for r in await cur.fetch(2)])
                    out.append([r["x"] for r in await cur.fetch(10)])
            async with pool.acquire() as con:  # reset: the lock is gone
                out.append(await con.fetchval("SELECT pg_try_advisory_lock(4242)"))
                await con.execute("SELECT pg_advisory_unlock_all()")
            return out
        finally:
            await pool.close()

    pg, px = dsns
    assert asyncio.run(run(px)) == asyncio.run(run(pg))


def _recent(when: dt.datetime) -> bool:
    return abs((dt.datetime.now(dt.UTC) - when).total_seconds()) < 60


def _url(dsn: str) -> str:
    parts = dict(p.split("=", 1) for p in dsn.split())
    auth = parts["user"] + (f":{parts['password']}" if "password" in parts else "")
    return f"postgresql://{auth}@{parts['host']}:{parts['port']}/{parts['dbname']}"
