"""The connection pool with real SQLite connections: lend, return, wait, time out, age out."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pgproxy import errors
from pgproxy.backends.sqlite import SQLiteBackend
from pgproxy.routing.pool import ConnectionPool, PoolOptions, open_connection
from pgproxy.workers import Workers


def aio(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a loop of its own (the pool needs one)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


def _pool(tmp_path: Path, **opts: object) -> ConnectionPool:
    backend = SQLiteBackend(f"sqlite:///{tmp_path / 'pool.db'}")
    options = PoolOptions().updated(opts, "[pool]")
    return ConnectionPool("app", backend, Workers(4, "test"), options,
                          partial(open_connection, backend, None))


def _value(conn: object, sql: str) -> object:
    cursor = conn.execute(sql, ())  # type: ignore[attr-defined]
    try:
        return cursor.fetch(1)[0][0]
    finally:
        cursor.close()


@aio
async def test_a_returned_connection_is_lent_again_without_opening(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=2)
    first = await pool.acquire()
    assert await pool.workers.run(_value, first.conn, "SELECT 41 + 1") == 42
    pool.release(first)
    again = await pool.acquire()
    assert again is first
    assert (pool.opened, pool.open, pool.lent) == (1, 1, 1)
    pool.release(again)
    assert pool.row()[3:6] == (1, 0, 1)  # open, in use, idle


@aio
async def test_a_waiter_gets_the_next_returned_connection_first_come(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=1, pool_timeout=5)
    held = await pool.acquire()
    order: list[str] = []

    async def borrow(name: str) -> None:
        lease = await pool.acquire()
        order.append(name)
        await asyncio.sleep(0.01)
        pool.release(lease)

    tasks = [asyncio.create_task(borrow(n)) for n in ("a", "b", "c")]
    await asyncio.sleep(0.05)
    assert pool.row()[6] == 3  # waiting
    pool.release(held)
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"]
    assert pool.opened == 1  # one connection served all four
    assert pool.max_wait > 0


@aio
async def test_a_wait_past_pool_timeout_is_53300_naming_the_backend(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=1, pool_timeout=0.2)
    held = await pool.acquire()
    start = time.monotonic()
    with pytest.raises(errors.PgError) as info:
        await pool.acquire()
    assert 0.15 < time.monotonic() - start < 2
    assert info.value.sqlstate == "53300"
    assert "app" in info.value.message and "pool_timeout" in info.value.message
    assert pool.timeouts == 1
    pool.release(held)
    assert (await pool.acquire()) is held  # the pool is fine afterwards


@aio
async def test_a_discarded_connection_frees_its_slot_for_a_waiter(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=1, pool_timeout=5)
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.02)
    pool.discard(held)  # broken: closed, and the waiter opens a new one
    fresh = await waiter
    assert fresh is not held
    assert (pool.opened, pool.closed, pool.open) == (2, 1, 1)
    assert await pool.workers.run(_value, fresh.conn, "SELECT 1") == 1


@aio
async def test_max_lifetime_replaces_an_old_connection(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=2, max_lifetime=0.05)
    first = await pool.acquire()
    await asyncio.sleep(0.1)
    pool.release(first)  # too old: closed, not kept
    assert pool.row()[5] == 0 and pool.closed == 1
    second = await pool.acquire()
    assert second is not first


@aio
async def test_idle_timeout_closes_down_to_min_idle_and_fill_opens_up_to_it(
    tmp_path: Path,
) -> None:
    pool = _pool(tmp_path, pool_size=4, min_idle=1, idle_timeout=0.05)
    leases = [await pool.acquire() for _ in range(3)]
    for lease in leases:
        pool.release(lease)
    await asyncio.sleep(0.1)
    assert pool.tidy() == 0
    assert pool.row()[5] == 1 and pool.closed == 2  # min_idle kept
    busy = await pool.acquire()  # the idle one is lent: min_idle wants another
    want = pool.tidy()
    assert want == 1
    await pool.fill(want)
    assert pool.row()[3:6] == (2, 1, 1)
    pool.release(busy)


@aio
async def test_an_unreachable_backend_is_08xxx_and_frees_the_slot(tmp_path: Path) -> None:
    backend = SQLiteBackend(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    pool = ConnectionPool("app", backend, Workers(2, "test"),
                          PoolOptions().updated({"pool_size": 1}, "[pool]"),
                          partial(open_connection, backend, None))
    with pytest.raises(errors.PgError):
        await pool.acquire()
    assert (pool.open, pool.lent) == (0, 0)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="pool_mode"):
        PoolOptions().updated({"pool_mode": "statement"}, "[pool]")
    with pytest.raises(ValueError, match="unknown"):
        PoolOptions().updated({"size": 3}, "[pool]")
    with pytest.raises(ValueError, match="min_idle"):
        PoolOptions().updated({"pool_size": 2, "min_idle": 3}, "[pool]")
    opts = PoolOptions().updated({"pool_size": 5, "shop": {"pool_size": 7}}, "[pool]")
    assert opts.pool_size == 5


@aio
async def test_a_lost_connection_purges_the_idle_ones(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=3)
    leases = [await pool.acquire() for _ in range(3)]
    pool.release(leases[0])
    pool.release(leases[1])
    pool.discard(leases[2], lost=True)  # the backend broke one off: the idle two go too
    assert pool.row()[3:6] == (0, 0, 0) and pool.closed == 3
    fresh = await pool.acquire()
    assert fresh not in leases


@aio
async def test_idle_checks_keep_live_connections_and_drop_dead_ones(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=3)
    leases = [await pool.acquire() for _ in range(2)]
    for lease in leases:
        pool.release(lease)
    assert await pool.check_idle(0.0)  # both answer: both stay idle
    assert pool.row()[3:6] == (2, 0, 2)
    await pool.workers.run(leases[0].conn.close)  # one dies behind the pool's back
    assert not await pool.check_idle(0.0)
    assert pool.row()[3:6] == (0, 0, 0)  # the dead one, and the rest with it
    assert await pool.check_idle(3600.0)  # nothing unused that long: nothing pinged


@aio
async def test_a_cancelled_waiter_passes_its_connection_on(tmp_path: Path) -> None:
    pool = _pool(tmp_path, pool_size=1, pool_timeout=5)
    held = await pool.acquire()
    first = asyncio.create_task(pool.acquire())
    second = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.02)
    pool.release(held)  # handed to `first`, which is cancelled before it runs
    first.cancel()
    assert await second is held
    assert (pool.open, pool.lent) == (1, 1)



@aio
async def test_a_waiter_with_no_coroutine_gets_a_connection_in_turn(tmp_path: Path) -> None:
    """wait_soon (a read answered at the wire): its turn among acquire's waiters; None
    when a slot comes free instead, or pool_timeout passes."""
    pool = _pool(tmp_path, pool_size=1, pool_timeout=0.2)
    held = await pool.acquire()
    got: list[object] = []
    first = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.wait_soon(got.append)
    assert pool.row()[6] == 2  # waiting
    pool.release(held)
    lease = await first  # first come, first served
    assert got == []
    pool.release(lease)
    await asyncio.sleep(0)
    assert got == [lease] and pool.lent == 1  # handed over, still lent
    pool.wait_soon(got.append)
    pool.discard(lease)  # its slot comes free: the waiter's to open, through acquire
    await asyncio.sleep(0)
    assert got == [lease, None]
    held = await pool.acquire()
    pool.wait_soon(got.append)
    await asyncio.sleep(0.3)
    assert got == [lease, None, None]  # pool_timeout passed
    assert pool.row()[6] == 0 and pool.max_wait >= 0.2
    pool.release(held)
