"""A SQL cursor on SQLite streams to its end even when the catalog reads the schema on the
same connection meanwhile (its first query after start, a FETCH's Parse, another statement)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy

ROWS = 10_000


@pytest.fixture
def cold(tmp_path: Path) -> Iterator[ProxyProcess]:
    """A proxy that has read nothing of a table made outside it."""
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
        c.executemany("INSERT INTO big VALUES (?, ?)", [(i, f"v{i}") for i in range(ROWS)])
    with run_proxy(f"sqlite:///{db}") as proxy:
        yield proxy


def test_a_named_cursor_as_the_first_query_reads_every_row(cold: ProxyProcess) -> None:
    with psycopg.connect(cold.dsn()) as conn, conn.cursor(name="big") as cur:
        cur.itersize = 5000
        cur.execute("SELECT id, v FROM big ORDER BY id")
        assert sum(1 for _ in cur) == ROWS


def test_fetch_goes_on_after_other_statements(cold: ProxyProcess) -> None:
    with psycopg.connect(cold.dsn()) as conn:
        conn.execute("DECLARE c CURSOR FOR SELECT id FROM big ORDER BY id")
        first = conn.execute("FETCH 3000 FROM c").fetchall()
        assert [r[0] for r in first] == list(range(3000))
        conn.execute("SELECT 1")
        conn.execute("SELECT v FROM big WHERE id = %s", (5,)).fetchall()
        rest = conn.execute("FETCH ALL FROM c").fetchall()
        assert [r[0] for r in rest] == list(range(3000, ROWS))


def test_interleaved_cursors_and_writes_read_every_row_once(cold: ProxyProcess) -> None:
    """Each full FETCH has the next one read ahead in the background: two cursors, a write
    and point reads between their FETCHes take turns on the one connection, in order."""
    with psycopg.connect(cold.dsn()) as conn:
        conn.execute("CREATE TABLE log (n INT)")
        conn.execute("DECLARE a CURSOR FOR SELECT id FROM big ORDER BY id")
        conn.execute("DECLARE b CURSOR FOR SELECT id, v FROM big ORDER BY id DESC")
        got_a: list[int] = []
        got_b: list[int] = []
        for step in range(ROWS // 1000):
            got_a += [r[0] for r in conn.execute("FETCH 1000 FROM a")]
            conn.execute("INSERT INTO log VALUES (%s)", (step,))
            got_b += [r[0] for r in conn.execute("FETCH FORWARD 1000 FROM b")]
            assert conn.execute("SELECT v FROM big WHERE id = %s", (step,)).fetchone() == (
                f"v{step}",)
        assert conn.execute("FETCH 1000 FROM a").fetchall() == []
        conn.execute("CLOSE a")
        conn.execute("CLOSE b")  # its last read-ahead found the end: nothing left to read
        assert got_a == list(range(ROWS))
        assert got_b == list(range(ROWS - 1, -1, -1))
        assert conn.execute("SELECT count(*) FROM log").fetchone() == (ROWS // 1000,)


def test_closing_or_leaving_while_reading_ahead(cold: ProxyProcess) -> None:
    """A cursor closed, its transaction ended, or its client gone right after a FETCH
    (its read-ahead perhaps under way) leaves the session and the proxy serving."""
    with psycopg.connect(cold.dsn()) as conn:
        for end in ("CLOSE c", "COMMIT", "ROLLBACK"):
            conn.execute("BEGIN")
            conn.execute("DECLARE c CURSOR FOR SELECT id FROM big ORDER BY id")
            assert len(conn.execute("FETCH 2000 FROM c").fetchall()) == 2000
            conn.execute(end)
            if end == "CLOSE c":
                conn.execute("COMMIT")
            assert conn.execute("SELECT count(*) FROM big").fetchone() == (ROWS,)
    for _ in range(3):
        conn = psycopg.connect(cold.dsn())
        conn.execute("BEGIN")
        conn.execute("DECLARE c CURSOR FOR SELECT id FROM big ORDER BY id")
        conn.execute("FETCH 5000 FROM c")
        conn.close()
    with psycopg.connect(cold.dsn()) as conn, conn.cursor(name="again") as cur:
        cur.itersize = 3000
        cur.execute("SELECT id FROM big ORDER BY id")
        assert [r[0] for r in cur] == list(range(ROWS))
    assert cold.alive()


def test_a_portal_read_in_pieces(cold: ProxyProcess) -> None:
    """Execute with a row limit (asyncpg's cursor, pgjdbc's fetch size): each suspended
    portal's next rows are read ahead while the client works on the last piece."""

    async def main() -> list[int]:
        conn = await asyncpg.connect(host=cold.host, port=cold.port, user=cold.user,
                                     database="app")
        try:
            async with conn.transaction():
                cur = await conn.cursor("SELECT id FROM big ORDER BY id")
                got: list[int] = []
                while piece := await cur.fetch(1500):
                    got += [r[0] for r in piece]
                    await asyncio.sleep(0.001)  # the client at work: the read-ahead's time
            return got
        finally:
            await conn.close()

    assert asyncio.run(main()) == list(range(ROWS))
