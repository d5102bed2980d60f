"""asyncmy calls driven by their awaiting task, on a real MariaDB: a cancel or a timeout in
the middle of a call never cuts the driver mid-protocol, and a session that gives up on a
call never hands its connection, mid-statement, back to the pool."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pgproxy.backends import from_url
from pgproxy.proxy import Proxy
from pgproxy.routing.router import Router
from pgproxy.session import Session
from pgproxy.workers import Workers, _driving

pytestmark = pytest.mark.integration


def _select(conn: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetch(100_000)
    finally:
        cursor.close()


def _first_rows(conn: Any, sql: str, count: int) -> list[Any]:
    cursor = conn.execute(sql, ())
    try:
        return [row[0] for row in cursor.fetch(count)]
    finally:
        cursor.close()


async def _until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_cancel_mid_call_leaves_the_connection_whole(mariadb_url: str) -> None:
    """The awaiter goes at once; the statement runs on to its end in a task of the call's
    own (the driver never sees the cancel), and the connection answers the next one."""

    async def main() -> None:
        pool = Workers(4, "test", greenlets=True)
        conn = await pool.run(from_url(f"{mariadb_url}?driver=asyncmy").connect, None)
        try:
            task = asyncio.ensure_future(pool.run(_select, conn, "SELECT SLEEP(%s), 'slept'", 1))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # Not held until the statement ends: it goes on, driven by a task of its own.
            assert len(_driving) == 1 and not next(iter(_driving)).done()
            await asyncio.gather(*_driving)
            assert not conn.broken  # asyncmy closes a connection cut mid-read: not here
            rows = await pool.run(_select, conn, "SELECT %s + 1", 41)
            assert rows == [(42,)]
            # A timeout (a cancel too) in the middle of reading a large result.
            sql = "SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000"
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.001):
                    await pool.run(_select, conn, sql)
            await asyncio.gather(*_driving)
            assert len(await pool.run(_select, conn, sql)) == 20000
            assert await pool.run(_select, conn, "SELECT 'still in step'") == [("still in step",)]
            # A result closed early: the rest is read and dropped, the next one is in step.
            assert await pool.run(_first_rows, conn, sql, 10) == list(range(1, 11))
            assert await pool.run(_select, conn, "SELECT 'after'") == [("after",)]
        finally:
            await pool.run(conn.close)

    asyncio.run(main())


def test_a_session_cancelled_mid_call_never_pools_its_connection(
    mariadb_url: str, tmp_path: Any
) -> None:
    """The session's task cancelled in the middle of a statement (the server shutting down):
    the connection, mid-statement, is dropped by the session, closed once the statement
    returns, and never lent again; the session's next statement gets another."""

    async def main() -> None:
        proxy = Proxy(Router({"default": from_url(f"{mariadb_url}?driver=asyncmy")}))
        session = Session(proxy, {"user": "alice", "database": "app"},
                          proxy.router.resolve("app"), 1, "test")
        try:
            first = await session.run(_select, "SELECT connection_id()")
            pool = proxy.connections(session.route.group.primary)  # type: ignore[union-attr]
            task = asyncio.ensure_future(session.run(_select, "SELECT SLEEP(%s)", 0.3))
            await asyncio.sleep(0.05)
            conn = session.conn
            assert conn is not None
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert session.conn is None and pool.lent == 0
            assert all(lease.conn is not conn for lease in pool._idle)
            await _until(lambda: conn.broken)  # closed by the call's cleanup once it returned
            assert session.conn is None
            again = await session.run(_select, "SELECT connection_id()")
            assert again != first
        finally:
            await session.close("done")
            proxy.close()

    asyncio.run(main())
