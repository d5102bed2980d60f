"""Real asyncpg through the real proxy: uncast $n typed from their columns, as PostgreSQL does.

asyncpg encodes each argument by the type ParameterDescription reports; the
proxy must report a column's type for `$n` bound to that column (INSERT
targets, UPDATE SET, comparisons) and int8 for LIMIT / OFFSET.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

ROWS = [
    (
        i,
        10_000_000_000 + i,
        f"name {i}",
        Decimal(f"{i}.25"),
        i % 2 == 0,
        dt.datetime(2024, 1, 1 + i, 12, 30, 15),
        dt.date(2024, 2, 1 + i),
        bytes([i, 0, 255]),
        i + 0.5,
    )
    for i in range(1, 6)
]
COLUMNS = "id, big, name, amount, flag, at, day, blob, ratio"


async def _connect(proxy) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=proxy.host, port=proxy.port, user=proxy.user, database="app"
    )


def _run(proxy, body) -> None:
    async def main() -> None:
        conn = await _connect(proxy)
        try:
            await body(conn)
        finally:
            await conn.close()

    asyncio.run(main())


async def _fresh_table(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {name}")
    await conn.execute(
        f"CREATE TABLE {name} (id int4 PRIMARY KEY, big int8, name text, amount numeric(10, 2),"
        " flag boolean, at timestamp, day date, blob bytea, ratio float8)"
    )


def test_native_values_with_uncast_params(proxy):
    async def body(conn: asyncpg.Connection) -> None:
        await _fresh_table(conn, "apg_types")
        first = ROWS[0]
        # execute with plain $n: every argument a native Python value
        await conn.execute(
            f"INSERT INTO apg_types ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            *first,
        )
        # executemany, and an INSERT without a column list (types by position)
        await conn.executemany("INSERT INTO apg_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                               ROWS[1:])
        assert await conn.fetchval("SELECT count(*) FROM apg_types") == len(ROWS)

        row = await conn.fetchrow(f"SELECT {COLUMNS} FROM apg_types WHERE id = $1", 3)
        assert tuple(row) == ROWS[2]
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM apg_types WHERE id >= $1 AND flag = $2 ORDER BY id", 2, True
        )
        assert [tuple(r) for r in rows] == [r for r in ROWS if r[0] >= 2 and r[4]]
        # comparisons on each type, both sides, IN, BETWEEN, LIKE
        assert await conn.fetchval("SELECT id FROM apg_types WHERE big = $1", ROWS[3][1]) == 4
        assert await conn.fetchval("SELECT id FROM apg_types WHERE $1 = name", "name 5") == 5
        assert await conn.fetchval(
            "SELECT id FROM apg_types WHERE amount = $1", Decimal("2.25")) == 2
        assert await conn.fetchval("SELECT id FROM apg_types WHERE at = $1", ROWS[0][5]) == 1
        assert await conn.fetchval("SELECT id FROM apg_types WHERE day = $1", ROWS[1][6]) == 2
        assert await conn.fetchval("SELECT id FROM apg_types WHERE blob = $1", ROWS[2][7]) == 3
        assert await conn.fetchval("SELECT id FROM apg_types WHERE ratio > $1", 5.0) == 5
        assert [r[0] for r in await conn.fetch(
            "SELECT id FROM apg_types WHERE id IN ($1, $2, $3) ORDER BY id", 1, 3, 99
        )] == [1, 3]
        assert [r[0] for r in await conn.fetch(
            "SELECT id FROM apg_types t WHERE t.day BETWEEN $1 AND $2 ORDER BY id",
            dt.date(2024, 2, 2), dt.date(2024, 2, 3),
        )] == [1, 2]
        assert await conn.fetchval(
            "SELECT count(*) FROM apg_types WHERE name LIKE $1", "name %") == len(ROWS)
        # UPDATE SET with native values, then read back
        status = await conn.execute(
            "UPDATE apg_types SET amount = $1, flag = $2, at = $3 WHERE id = $4",
            Decimal("99.50"), False, dt.datetime(2030, 6, 1, 8, 0), 1,
        )
        assert status == "UPDATE 1"
        assert tuple(await conn.fetchrow(
            "SELECT amount, flag, at FROM apg_types WHERE id = $1", 1
        )) == (Decimal("99.50"), False, dt.datetime(2030, 6, 1, 8, 0))
        # a declared cast still wins over the column
        assert await conn.fetchval("SELECT id FROM apg_types WHERE name = $1::text", "name 2") == 2
        await conn.execute("DROP TABLE apg_types")

    _run(proxy, body)


def test_limit_offset_prepared_and_transaction(proxy):
    async def body(conn: asyncpg.Connection) -> None:
        await _fresh_table(conn, "apg_more")
        await conn.executemany(
            f"INSERT INTO apg_more ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", ROWS
        )
        # LIMIT / OFFSET $n take ints
        rows = await conn.fetch("SELECT id FROM apg_more ORDER BY id LIMIT $1", 2)
        assert [r[0] for r in rows] == [1, 2]
        rows = await conn.fetch(
            "SELECT id FROM apg_more WHERE flag = $1 ORDER BY id LIMIT $2 OFFSET $3", False, 5, 1
        )
        assert [r[0] for r in rows] == [3, 5]

        # a prepared statement, reused with different native arguments
        stmt = await conn.prepare("SELECT name, ratio FROM apg_more WHERE id = $1")
        assert [p.name for p in stmt.get_parameters()] == ["int4"]
        assert tuple(await stmt.fetchrow(2)) == ("name 2", 2.5)
        assert tuple(await stmt.fetchrow(4)) == ("name 4", 4.5)
        assert await stmt.fetchrow(42) is None
        insert = await conn.prepare(
            "INSERT INTO apg_more (id, big, name, day) VALUES ($1, $2, $3, $4)"
        )
        assert [p.name for p in insert.get_parameters()] == ["int4", "int8", "text", "date"]
        await insert.executemany([(100, 1, "a", dt.date(2025, 1, 1)), (101, 2, "b", None)])

        # a transaction: rolled back, then committed
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await conn.execute("DELETE FROM apg_more WHERE id = $1", 100)
                raise RuntimeError("roll back")
        assert await conn.fetchval("SELECT count(*) FROM apg_more WHERE id = $1", 100) == 1
        async with conn.transaction():
            await conn.execute("UPDATE apg_more SET name = $1 WHERE id = $2", "renamed", 101)
            await conn.execute("DELETE FROM apg_more WHERE id = $1", 100)
        assert await conn.fetchval("SELECT name FROM apg_more WHERE id = $1", 101) == "renamed"
        assert await conn.fetchval("SELECT count(*) FROM apg_more WHERE id >= $1", 100) == 1

        # an error, then the connection works on
        with pytest.raises(asyncpg.UndefinedTableError):
            await conn.fetch("SELECT * FROM apg_no_such_table WHERE id = $1", 1)
        assert await conn.fetchval("SELECT big FROM apg_more WHERE id = $1", 1) == ROWS[0][1]
        await conn.execute("DROP TABLE apg_more")

    _run(proxy, body)


def test_schema_change_retypes_params(proxy_sqlite):
    """DDL through the proxy forgets the inferred types: the new column type applies."""

    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("DROP TABLE IF EXISTS apg_ddl")
        await conn.execute("CREATE TABLE apg_ddl (id int4, v int8)")
        await conn.execute("INSERT INTO apg_ddl (id, v) VALUES ($1, $2)", 1, 7)
        await conn.execute("DROP TABLE apg_ddl")
        await conn.execute("CREATE TABLE apg_ddl (id int4, v text)")
        # asyncpg keeps its own statement cache per connection: ask on a new one
        other = await _connect(proxy_sqlite)
        try:
            await other.execute("INSERT INTO apg_ddl (id, v) VALUES ($1, $2)", 1, "seven")
            assert await other.fetchval("SELECT v FROM apg_ddl WHERE id = $1", 1) == "seven"
        finally:
            await other.close()
        await conn.execute("DROP TABLE apg_ddl")

    _run(proxy_sqlite, body)


def test_a_cursor_reads_on_after_other_statements_in_its_transaction(proxy):
    """A suspended portal outlives the statements run between its fetches, as in
    PostgreSQL: walking a cursor while updating what it walked loses no row."""

    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("DROP TABLE IF EXISTS walk")
        await conn.execute("CREATE TABLE walk (n int4 PRIMARY KEY, seen int4)")
        await conn.executemany("INSERT INTO walk VALUES ($1, 0)", [(n,) for n in range(1, 5001)])
        seen: list[int] = []
        async with conn.transaction():
            cursor = await conn.cursor("SELECT n FROM walk ORDER BY n")
            while batch := await cursor.fetch(1200):
                seen.extend(row[0] for row in batch)
                await conn.execute("UPDATE walk SET seen = 1 WHERE n <= $1", seen[-1])
                assert await conn.fetchval("SELECT count(*) FROM walk WHERE seen = 1") == len(seen)
        assert seen == list(range(1, 5001))
        assert await conn.fetchval("SELECT count(*) FROM walk WHERE seen = 1") == 5000

    _run(proxy, body)
