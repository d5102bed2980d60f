"""Worker pools: bounded threads, abandoned calls (queued never run, running cleaned up)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pgproxy import errors
from pgproxy.workers import FINISHED, QUEUED, RUNNING, Workers


def test_run_returns_results_and_raises_errors():
    async def main() -> None:
        pool = Workers(2, "t")
        try:
            assert await pool.run(lambda a, b: a + b, 2, 3) == 5
            with pytest.raises(ZeroDivisionError):
                await pool.run(lambda: 1 / 0)
        finally:
            pool.close()

    asyncio.run(main())


def test_an_abandoned_queued_call_never_runs_and_a_running_one_is_cleaned_up():
    async def main() -> None:
        pool = Workers(1, "t")  # one thread: the second call queues behind the first
        release = threading.Event()
        ran: list[str] = []
        cleaned: list[object] = []
        cleaned_event = threading.Event()
        try:
            first = pool.submit(lambda: (release.wait(10), ran.append("first"), "conn")[-1])
            second = pool.submit(ran.append, "second")
            await asyncio.sleep(0.05)
            assert first.state == RUNNING and second.state == QUEUED
            assert pool.abandon(second, cleaned.append) == QUEUED

            def cleanup(result: object) -> None:
                cleaned.append(result)
                cleaned_event.set()

            assert pool.abandon(first, cleanup) == RUNNING
            release.set()
            assert await asyncio.to_thread(cleaned_event.wait, 10)
            # The running call's result went to its cleanup; the queued one never ran.
            assert cleaned == ["conn"]
            assert ran == ["first"]
            assert not first.future.done() and not second.future.done()
            # The thread is free again.
            assert await pool.run(lambda: 7) == 7
            done = pool.submit(lambda: 8)
            assert await done.future == 8
            assert pool.abandon(done) == FINISHED
        finally:
            pool.close()

    asyncio.run(main())


def test_the_pool_is_bounded_and_cancels_have_their_own_threads():
    async def main() -> None:
        pool = Workers(2, "t")
        release = threading.Event()
        started = threading.Semaphore(0)
        cancelled = threading.Event()
        try:

            def block() -> None:
                started.release()
                release.wait(10)

            jobs = [pool.submit(block) for _ in range(3)]
            for _ in range(2):
                assert await asyncio.to_thread(started.acquire, True, 10)
            assert [j.state for j in jobs] == [RUNNING, RUNNING, QUEUED]
            assert len([t for t in threading.enumerate() if t.name.startswith("pgproxy-t-")]) >= 2
            # A cancel is not queued behind the busy pool; a failing one is only logged.
            pool.cancel_soon(lambda: (_ for _ in ()).throw(errors.ConnectionFailure("gone")))
            pool.cancel_soon(cancelled.set)
            assert await asyncio.to_thread(cancelled.wait, 10)
            release.set()
            await asyncio.gather(*(j.future for j in jobs))
        finally:
            release.set()
            pool.close()

    asyncio.run(main())
