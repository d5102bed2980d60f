"""Checks shared by the tests of reads answered at the wire, on SQLite (wire_reads.py) and
MariaDB (wire_reads_async.py): each runs real clients against a real proxy and compares
the answers at the wire with the full path's."""

from __future__ import annotations

import asyncio
import datetime
import threading
from decimal import Decimal

import asyncpg
import psycopg

from tests.fix_proxy import ProxyProcess
from tests.fix_wire import SYNC, RawClient, Reply, frame, parse
from tests.integration.test_cache_hits import (
    bind_named,
    describe_portal,
    execute,
    parse_named,
    session,
)


def answered(proxy: ProxyProcess) -> int:
    """SHOW STATS reads_at_wire: reads answered at the wire, every worker's."""
    with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        return int(dict(admin.execute("SHOW STATS").fetchall())["reads_at_wire"])


def ask(client: RawClient, data: bytes) -> Reply:
    client.send(data)
    reply = client.reply()
    assert reply.ready, reply.messages
    return reply


def in_block(conn: psycopg.Connection, sql: str, params: tuple, binary: bool) -> list:
    """The full path's answer: inside a transaction block nothing is answered at the wire."""
    with conn.transaction():
        return conn.execute(sql, params, binary=binary).fetchall()


def repeats_match_the_full_path(
    proxy: ProxyProcess, by_id: str, describe: bool, result_formats: tuple[int, ...]
) -> None:
    """A named statement's repeats, answered at the wire, in the full path's bytes."""
    with session(proxy) as client:
        ask(client, parse_named(b"s", by_id, (23,)) + SYNC)
        for key in (b"1", b"2", b"3"):
            request = (bind_named(b"s", [key], result_formats)
                       + (describe_portal() if describe else b"") + execute() + SYNC)
            full = ask(client, request)  # the full path, which the plan is learned from
            before = answered(proxy)
            repeats = [ask(client, request) for _ in range(3)]
            assert answered(proxy) - before == 3
            assert all(r.messages == full.messages for r in repeats)
            assert not full.errors and full.rows()


def unnamed_repeats_match_the_full_path(proxy: ProxyProcess, by_id: str) -> None:
    """The unnamed Parse a driver sends again before each Bind, answered at the wire."""
    with session(proxy) as client:
        request = (parse(by_id) + frame(b"B", b"\0\0\0\0\0\x01\0\0\0\x011\0\0")
                   + describe_portal() + execute() + SYNC)
        full = ask(client, request)
        before = answered(proxy)
        repeats = [ask(client, request) for _ in range(3)]
        assert answered(proxy) - before >= 2  # the Parse is known from the second on
        assert all(r.messages == full.messages for r in repeats)


def simple_queries_match_the_full_path(proxy: ProxyProcess, table: str) -> None:
    """Simple Queries of one shape with other literals, answered at the wire."""
    with session(proxy) as client:
        full = {}
        for key in (1, 2, 3):  # the full path's answers, in a transaction block
            ask(client, frame(b"Q", b"BEGIN\0"))
            sql = f"SELECT * FROM {table} WHERE id = {key}".encode() + b"\0"
            full[key] = ask(client, frame(b"Q", sql)).messages[:-1]
            ask(client, frame(b"Q", b"COMMIT\0"))
        ask(client, frame(b"Q", f"SELECT * FROM {table} WHERE id = 1\0".encode()))  # learned
        before = answered(proxy)
        for key in (1, 2, 3, 2, 1):  # other literals of the shape are answered here too
            sql = f"SELECT * FROM {table} WHERE id = {key}".encode() + b"\0"
            reply = ask(client, frame(b"Q", sql))
            assert reply.messages[:-1] == full[key]
            assert reply.messages[-1] == (b"Z", b"I")
        assert answered(proxy) - before == 5


def psycopg_rows_match_the_full_path(
    proxy: ProxyProcess, table: str, prepare: bool, binary: bool
) -> tuple:
    """psycopg's values of repeats against the full path's; the last row read."""
    sql = f"SELECT * FROM {table} WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        before = answered(proxy)
        for key in (1, 2, 3):
            want = in_block(conn, sql, (key,), binary)
            got = [conn.execute(sql, (key,), prepare=prepare, binary=binary).fetchall()
                   for _ in range(4)]
            assert got == [want] * 4
        assert answered(proxy) - before >= 6
    return want[0]


def asyncpg_rows_match_the_full_path(proxy: ProxyProcess, by_id: str) -> list[tuple]:
    """asyncpg's values of a prepared statement's repeats against the full path's; the
    first row of each key."""
    async def main() -> list[tuple]:
        conn = await asyncpg.connect(proxy.url())
        try:
            statement = await conn.prepare(by_id)
            seen = []
            for key in (1, 2, 3):
                async with conn.transaction():
                    want = [tuple(r) for r in await statement.fetch(key)]
                got = [[tuple(r) for r in await statement.fetch(key)] for _ in range(4)]
                assert got == [want] * 4
                seen.append(want[0])
            return seen
        finally:
            await conn.close()

    before = answered(proxy)
    rows = asyncio.run(main())
    assert answered(proxy) - before >= 9
    return rows


def many_clients_get_their_own_rows(proxy: ProxyProcess, table: str) -> None:
    """32 clients at once, each reading keys of its own, half prepared."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, v TEXT)")
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)",
                            [(i, f"v{i}") for i in range(64)])
    wrong: list[tuple[int, object]] = []

    def client(me: int) -> None:
        with psycopg.connect(proxy.dsn(), autocommit=True) as c:
            for n in range(60):
                key = (me + n) % 64
                rows = c.execute(f"SELECT v FROM {table} WHERE id = %s", (key,),
                                 prepare=n % 2 == 0).fetchall()
                if rows != [(f"v{key}",)]:
                    wrong.append((key, rows))

    before = answered(proxy)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert answered(proxy) - before >= 32 * 50


def ddl_from_another_session_gives_the_new_columns(
    proxy: ProxyProcess, conn: psycopg.Connection, table: str
) -> None:
    """Repeats on `conn` across ALTER ADD COLUMN and DROP + CREATE with other types, done
    by another session: each time the new columns, their values and types."""
    sql = f"SELECT * FROM {table} WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as other:
        other.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, t TEXT)")
        other.execute(f"INSERT INTO {table} VALUES (1, 'x')")
        for _ in range(3):
            assert conn.execute(sql, (1,), prepare=True).fetchall() == [(1, "x")]
        other.execute(f"ALTER TABLE {table} ADD COLUMN extra INT DEFAULT 5")
        for _ in range(3):
            cur = conn.execute(sql, (1,), prepare=True)
            assert cur.fetchall() == [(1, "x", 5)]
            assert [c.name for c in cur.description] == ["id", "t", "extra"]
        other.execute(f"DROP TABLE {table}")
        other.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, t NUMERIC(6,1), d DATE)")
        other.execute(f"INSERT INTO {table} VALUES (1, 2.5, '2020-01-02')")
        for prepare in (True, True, False, False):
            cur = conn.execute(sql, (1,), prepare=prepare)
            assert cur.fetchall() == [(1, Decimal("2.5"), datetime.date(2020, 1, 2))]
            assert [c.type_code for c in cur.description] == [23, 1700, 1082]
