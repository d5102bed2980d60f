"""A SQL cursor on SQLite streams to its end even when the catalog reads the schema on the
same connection meanwhile (its first query after start, a FETCH's Parse, another statement)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

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
