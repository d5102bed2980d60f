"""Results yield row batches a consumer other than the wire reads as Python values."""

from __future__ import annotations

import asyncio
from typing import Any

from pgproxy import pgtypes
from pgproxy.backends.sqlite import SQLiteBackend
from pgproxy.results import BackendResult, RowsResult
from pgproxy.wire.batches import encoder_for, frames_of


async def _inline(fn: Any, *args: Any) -> Any:
    return fn(*args)  # the worker hop, in this thread: the test has no event-loop work


def test_backend_result_batches_are_rows_in_bounded_batches():
    backend = SQLiteBackend("sqlite://:memory:")
    conn = backend.connect()
    conn.execute("CREATE TABLE t (id INTEGER, name TEXT)", []).close()
    for i in range(5):
        conn.execute("INSERT INTO t VALUES (?, ?)", [i, f"n{i}"]).close()

    async def run() -> None:
        cursor = conn.execute("SELECT id, name FROM t ORDER BY id", [])
        first = cursor.fetch(2)
        result = BackendResult("SELECT", cursor, first, False, _inline)
        batches = []
        while not result.done:
            batches.append(await result.fetch(2))
        assert [b.rows for b in batches] == [
            [(0, "n0"), (1, "n1")], [(2, "n2"), (3, "n3")], [(4, "n4")]
        ]
        assert all(b.frames is None for b in batches)  # nobody encoded them
        assert result.tag == "SELECT 5"
        await result.close()

    asyncio.run(run())
    conn.close()


def test_the_wire_encodes_a_batch_once_and_keeps_its_frames():
    from pgproxy.backends.base import Column

    columns = [Column("id", pgtypes.INT4, 4), Column("name", pgtypes.TEXT)]
    rows = [(1, "a"), (2, None)]

    async def run() -> None:
        result = RowsResult("SELECT", columns, rows)
        batch = await result.fetch(0)
        encode = encoder_for(columns, ())
        data = frames_of(batch, encode)
        assert data == encode(rows) and batch.frames is data
        assert frames_of(batch, None) is data  # kept: not encoded again
        assert batch.count == 2 and result.done and result.tag == "SELECT 2"

    asyncio.run(run())
