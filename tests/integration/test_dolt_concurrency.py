"""100 concurrent client sessions on the embedded Dolt backend, through the proxy."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from tests.fix_proxy import run_proxy

pytestmark = pytest.mark.integration

SESSIONS = 100
QUERIES_EACH = 20


def test_hundred_concurrent_sessions(libdolt, tmp_path):
    url = f"dolt://{tmp_path}/dbs?database=concurrent"
    with run_proxy(url, extra_args=("--log-level", "info")) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id INT PRIMARY KEY, owner INT, label TEXT)")
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO items VALUES (%s, %s, %s)",
                    [(i, i % SESSIONS, f"item {i}") for i in range(SESSIONS * 5)],
                )

        async def client(n: int) -> int:
            async with await psycopg.AsyncConnection.connect(proxy.dsn(), autocommit=True) as c:
                seen = 0
                for q in range(QUERIES_EACH):
                    cur = await c.execute(
                        "SELECT id, label FROM items WHERE owner = %s ORDER BY id", (n,)
                    )
                    rows = await cur.fetchall()
                    assert [r[0] % SESSIONS for r in rows] == [n] * 5
                    assert rows[q % 5][1] == f"item {rows[q % 5][0]}"
                    seen += len(rows)
                # Each session also writes, so sessions interleave reads and writes.
                await c.execute("UPDATE items SET label = %s WHERE id = %s", (f"done {n}", n))
                return seen

        async def everyone() -> list[int]:
            return await asyncio.gather(*(client(n) for n in range(SESSIONS)))

        counts = asyncio.run(everyone())
        assert counts == [5 * QUERIES_EACH] * SESSIONS
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            done = conn.execute("SELECT count(*) FROM items WHERE label LIKE 'done %'").fetchone()
            assert done == (SESSIONS,)
        assert proxy.alive()
