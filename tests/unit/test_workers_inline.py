"""Inline calls: a marked call runs on the event loop under a budget, and moves to a worker
when SQLite says it must (a long read past the budget, a write, a wait, a busy lock)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import apsw
import pytest

import dialects
from pgproxy import errors, workers
from pgproxy.backends import from_url
from pgproxy.backends.sqlite import SQLiteConnection
from pgproxy.pipeline import _begin_or_end

LONG = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) " \
    "SELECT count(*) FROM c"


@workers.inline
def _select(conn: SQLiteConnection, sql: str, params: tuple) -> tuple[list, str]:
    cursor = conn.execute(sql, params)
    rows = cursor.fetch(100)
    cursor.close()
    return rows, threading.current_thread().name


def _plain(sql: str) -> str:
    return threading.current_thread().name


async def _submit(pool: workers.Workers, fn, *args) -> tuple[bool, object]:
    job = pool.submit(fn, *args)
    done_at_once = job.future.done()  # inline: settled before submit returned
    return done_at_once, await job.future


@pytest.fixture
def conn(tmp_path: Path):
    backend = from_url(f"sqlite:///{tmp_path}/inline.db")
    c = backend.connect()
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", ()).close()
    c.execute("INSERT INTO t VALUES (1, 'one')", ()).close()
    yield c
    backend.close()


def test_a_short_read_runs_on_the_loop(conn: SQLiteConnection) -> None:
    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        at_once, (rows, thread) = await _submit(pool, _select, conn, "SELECT v FROM t WHERE id = ?",
                                                (1,))
        assert at_once and rows == [("one",)] and thread == threading.current_thread().name
        # An unmarked call never runs inline, nor does anything in a pool without the capability.
        at_once, thread = await _submit(pool, _plain, "x")
        assert not at_once and thread.startswith("pgproxy-t")
        plain = workers.Workers(4, "p")
        at_once, (rows, thread) = await _submit(plain, _select, conn, "SELECT 1", ())
        assert not at_once and thread.startswith("pgproxy-p")
        pool.close()
        plain.close()

    asyncio.run(main())


def test_a_read_past_the_budget_moves_and_gives_the_whole_answer(
    conn: SQLiteConnection,
) -> None:
    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        loop_thread = threading.current_thread().name
        at_once, (rows, thread) = await _submit(pool, _select, conn, LONG, (2_000_000,))
        assert not at_once and rows == [(2_000_000,)] and thread != loop_thread
        # Back on the loop for the next short read: the progress handler is off again.
        at_once, (rows, _) = await _submit(pool, _select, conn, "SELECT count(*) FROM t", ())
        assert at_once and rows == [(1,)]
        pool.close()

    asyncio.run(main())


def test_a_write_never_starts_on_the_loop(conn: SQLiteConnection) -> None:
    """Moved before its first step: the write runs once, in a worker, and the open
    transaction around it is intact (an interrupted write would have rolled it back)."""

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        conn.execute("BEGIN", ()).close()
        conn.execute("INSERT INTO t VALUES (2, 'two')", ()).close()
        at_once, (rows, thread) = await _submit(
            pool, _select, conn, "INSERT INTO t VALUES (3, 'three') RETURNING id", ()
        )
        assert not at_once and rows == [(3,)] and thread.startswith("pgproxy-t")
        assert conn.in_transaction
        conn.execute("COMMIT", ()).close()
        at_once, (rows, _) = await _submit(pool, _select, conn, "SELECT id FROM t ORDER BY id", ())
        assert at_once and rows == [(1,), (2,), (3,)]
        pool.close()

    asyncio.run(main())


def test_a_begin_and_the_end_of_a_block_that_only_read_run_on_the_loop(
    conn: SQLiteConnection, tmp_path: Path,
) -> None:
    """pipeline._begin_or_end: a BEGIN, and the COMMIT or ROLLBACK of a block that only
    read, run on the loop (nothing to write back, no lock to wait for); the COMMIT or
    ROLLBACK of a block that wrote moves to a worker, and does what it says."""

    def run(pool: workers.Workers, sql: str) -> Any:
        return _submit(pool, _begin_or_end, conn, dialects.Generated(sql), [], 100)

    def committed() -> list[tuple[int]]:
        with sqlite3.connect(tmp_path / "inline.db") as other:
            return other.execute("SELECT id FROM t ORDER BY id").fetchall()

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        for end in ("COMMIT", "ROLLBACK"):
            at_once, _ = await run(pool, "BEGIN")
            assert at_once and conn.in_transaction
            at_once, (rows, _) = await _submit(pool, _select, conn, "SELECT v FROM t", ())
            assert at_once and rows == [("one",)]
            at_once, _ = await run(pool, end)
            assert at_once and not conn.in_transaction
        at_once, _ = await run(pool, "BEGIN")
        conn.execute("INSERT INTO t VALUES (2, 'two')", ()).close()
        at_once, _ = await run(pool, "ROLLBACK")
        assert not at_once and not conn.in_transaction and committed() == [(1,)]
        await run(pool, "BEGIN")
        conn.execute("INSERT INTO t VALUES (3, 'three')", ()).close()
        at_once, _ = await run(pool, "COMMIT")
        assert not at_once and not conn.in_transaction and committed() == [(1,), (3,)]
        pool.close()

    asyncio.run(main())


def test_the_end_of_a_block_a_read_ahead_holds_waits_in_a_worker(conn: SQLiteConnection) -> None:
    """While a cursor's read-ahead holds the connection, a COMMIT is not run on the loop,
    nor does the loop wait for the connection: it moves, and commits once it is free."""

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        conn.execute("BEGIN", ()).close()
        conn.shared = True  # as once a cursor has read ahead
        held, done = threading.Event(), threading.Event()

        def read_ahead() -> None:  # holds the connection, as a read-ahead in its thread
            with conn._lock:
                held.set()
                done.wait(10)

        holder = threading.Thread(target=read_ahead)
        holder.start()
        held.wait(10)
        job = pool.submit(_begin_or_end, conn, dialects.Generated("COMMIT"), [], 100)
        assert not job.future.done()  # moved: a worker waits for the connection
        done.set()
        await job.future
        holder.join()
        assert not conn.in_transaction
        pool.close()

    asyncio.run(main())


def test_pg_sleep_waits_in_a_worker(conn: SQLiteConnection) -> None:
    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        at_once, (rows, thread) = await _submit(pool, _select, conn, "SELECT pg_sleep(0.05)", ())
        assert not at_once and rows == [(None,)] and thread.startswith("pgproxy-t")
        pool.close()

    asyncio.run(main())


def test_a_locked_database_is_not_waited_for_on_the_loop(tmp_path: Path) -> None:
    """A lock another connection holds: no busy wait on the loop, the read moves and
    waits for the lock (busy_timeout) in a worker."""
    backend = from_url(f"sqlite:///{tmp_path}/locked.db?journal_mode=delete")
    conn = backend.connect()
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", ()).close()
    other = apsw.Connection(backend.filename)
    other.execute("BEGIN EXCLUSIVE")

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        job = pool.submit(_select, conn, "SELECT count(*) FROM t", ())
        assert not job.future.done()
        await asyncio.sleep(0.1)
        other.execute("COMMIT")
        rows, thread = await job.future
        assert rows == [(0,)] and thread.startswith("pgproxy-t")
        pool.close()

    asyncio.run(main())
    other.close()
    backend.close()


def test_an_error_inline_is_the_statement_error(conn: SQLiteConnection) -> None:
    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        job = pool.submit(_select, conn, "SELECT nope FROM t", ())
        assert job.future.done()
        with pytest.raises(errors.UndefinedColumn):
            await job.future
        pool.close()

    asyncio.run(main())


def test_a_read_interrupted_inside_a_transaction_leaves_the_transaction_whole(
    conn: SQLiteConnection,
) -> None:
    """Interrupting a read does not roll back the open transaction (it would a write's):
    the moved read sees the transaction's own uncommitted row, and COMMIT keeps it."""

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        conn.execute("BEGIN", ()).close()
        conn.execute("INSERT INTO t VALUES (2, 'two')", ()).close()
        sql = LONG.replace("SELECT count(*) FROM c", "SELECT count(*) + (SELECT count(*) FROM t) "
                           "FROM c")
        at_once, (rows, _) = await _submit(pool, _select, conn, sql, (2_000_000,))
        assert not at_once and rows == [(2_000_002,)]
        assert conn.in_transaction
        conn.execute("COMMIT", ()).close()
        at_once, (rows, _) = await _submit(pool, _select, conn, "SELECT count(*) FROM t", ())
        assert at_once and rows == [(2,)]
        pool.close()

    asyncio.run(main())


@workers.inline
def _busy(seconds: float) -> str:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return threading.current_thread().name


def test_many_short_calls_in_a_row_let_the_loop_turn() -> None:
    """A session with many reads queued (a pipelining client) runs them inline only until
    they add up to the budget; the next goes to a worker, so the loop serves others."""

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        step = workers.INLINE_BUDGET / 4
        inline_in_a_row = 0
        while pool.submit(_busy, step).future.done():
            inline_in_a_row += 1
            assert inline_in_a_row < 10, "the loop never got a turn"
        assert inline_in_a_row >= 3
        await asyncio.sleep(0)  # the loop turns: inline again
        assert pool.submit(_busy, step).future.done()
        pool.close()

    asyncio.run(main())


def test_inline_answers_the_value_at_once_or_not_inline(conn: SQLiteConnection) -> None:
    """Workers.inline, which a session asks before it submits: the value with no job or
    future, NOT_INLINE for what must go to a worker, a statement's error as raised."""

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        rows, thread = pool.inline(_select, conn, "SELECT v FROM t WHERE id = ?", (1,))
        assert rows == [("one",)] and thread == threading.current_thread().name
        assert workers.current.deadline == 0.0  # only while the call runs
        assert pool.inline(_plain, "x") is workers.NOT_INLINE
        assert pool.inline(_select, conn, LONG, (2_000_000,)) is workers.NOT_INLINE
        await asyncio.sleep(0)  # the loop turns: the budget that read spent is back
        assert pool.inline(_select, conn, "UPDATE t SET v = 'x'", ()) is workers.NOT_INLINE
        with pytest.raises(errors.UndefinedColumn):
            pool.inline(_select, conn, "SELECT nope FROM t", ())
        assert workers.Workers(4, "p").inline(_select, conn, "SELECT 1", ()) is \
            workers.NOT_INLINE
        # What moved had no effect: the update runs once, in a worker.
        rows, thread = await pool.run(_select, conn, "UPDATE t SET v = 'x' RETURNING v", ())
        assert rows == [("x",)] and thread.startswith("pgproxy-t")
        pool.close()

    asyncio.run(main())


def test_a_statement_in_a_worker_after_inline_ones_runs_unwatched(conn: SQLiteConnection) -> None:
    """The progress handler stays on between inline statements and is off for one in a
    worker thread, which runs past the budget untouched; a long wait for a lock there
    follows busy_timeout, not the loop's no-wait rule."""

    async def main() -> None:
        pool = workers.Workers(4, "t", inline=True)
        for _ in range(3):
            assert pool.inline(_select, conn, "SELECT count(*) FROM t", ()) == ([(1,)], ANY)
        assert conn._watched
        rows, thread = await pool.run(_plain_select, conn, LONG, (1_000_000,))
        assert rows == [(1_000_000,)] and thread.startswith("pgproxy-t")
        assert not conn._watched
        pool.close()

    asyncio.run(main())


def _plain_select(conn: SQLiteConnection, sql: str, params: tuple) -> tuple[list, str]:
    return _select(conn, sql, params)
