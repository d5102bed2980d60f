"""Workers(greenlets=True): synchronous calls run on the event loop, their I/O awaited."""

from __future__ import annotations

import asyncio
import threading

import pytest
from greenlet import getcurrent

from pgproxy.errors import QueryCanceled
from pgproxy.workers import ABANDONED, FINISHED, RUNNING, Workers, await_only


def test_a_call_without_io_finishes_inside_submit() -> None:
    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        job = pool.submit(lambda a, b: a + b, 2, 3)
        assert job.future.done() and job.state == FINISHED
        assert await job.future == 5

    asyncio.run(main())


def test_a_coroutine_that_never_waits_finishes_inside_submit() -> None:
    """await_only steps a coroutine at once: rows already read cost no trip to the loop."""

    async def ready(value: int) -> int:
        return value * 2

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        job = pool.submit(lambda: await_only(ready(2)) + await_only(ready(3)))
        assert job.future.done() and job.state == FINISHED
        assert await job.future == 10

    asyncio.run(main())


def test_a_coroutine_stepped_at_once_then_waiting_goes_on_in_its_driving_task() -> None:
    seen: list[asyncio.Task | None] = []

    async def two_steps() -> str:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0.01)
        seen.append(asyncio.current_task())
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "cancel thrown in"
        return "not cancelled"

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        job = pool.submit(lambda: await_only(two_steps()))
        caller = asyncio.current_task()
        await asyncio.sleep(0.05)
        assert job.state == RUNNING
        assert seen[0] is caller and seen[1] is not caller  # first step in the caller's
        seen[1].cancel()  # the driving task's cancel reaches the coroutine where it waits
        assert await job.future == "cancel thrown in"

    asyncio.run(main())


def test_await_only_suspends_the_call_and_the_loop_serves_others() -> None:
    order: list[str] = []

    def slow() -> str:
        order.append("slow starts")
        await_only(asyncio.sleep(0.05))
        order.append("slow ends")
        return "slow"

    def quick() -> str:
        order.append("quick")
        return "quick"

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        first = pool.submit(slow)
        assert first.state == RUNNING
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while not first.future.done():
                ticks += 1
                await asyncio.sleep(0.005)

        results = await asyncio.gather(first.future, pool.run(quick), ticker())
        assert results[:2] == ["slow", "quick"]
        assert ticks >= 3  # the loop ran on while `slow` waited

    asyncio.run(main())
    assert order == ["slow starts", "quick", "slow ends"]


def test_errors_cross_both_ways() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("from the driver")

    def handles() -> str:
        try:
            await_only(fails())
        except ValueError as exc:
            return f"caught {exc}"
        return "not raised"

    def raises() -> None:
        await_only(asyncio.sleep(0))
        raise QueryCanceled("canceling statement due to user request")

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        assert await pool.run(handles) == "caught from the driver"
        with pytest.raises(QueryCanceled):
            await pool.run(raises)

    asyncio.run(main())


def test_greenlets_are_reused_and_each_call_gets_its_own_while_running() -> None:
    def me(pause: float) -> object:
        await_only(asyncio.sleep(pause))
        return getcurrent()

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        first = await pool.run(me, 0)
        second = await pool.run(me, 0)
        assert first is second  # the idle greenlet served the next call
        a, b = await asyncio.gather(pool.run(me, 0.01), pool.run(me, 0.01))
        assert a is not b

    asyncio.run(main())


def test_an_abandoned_call_hands_its_result_to_the_cleanup_in_its_greenlet() -> None:
    cleaned: list[object] = []
    release = threading.Event()

    def hangs() -> str:
        await_only(asyncio.sleep(0.05))
        return "late result"

    def cleanup(result: object) -> None:
        await_only(asyncio.sleep(0))  # a cleanup may do I/O too (closing a connection)
        cleaned.append(result)
        release.set()

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        job = pool.submit(hangs)
        assert pool.abandon(job, cleanup) == RUNNING
        assert job.state == ABANDONED
        job.future.set_exception(QueryCanceled("canceling statement due to statement timeout"))
        for _ in range(100):
            if release.is_set():
                break
            await asyncio.sleep(0.01)
        with pytest.raises(QueryCanceled):
            await job.future  # the session's answer stands; the late result went to cleanup

    asyncio.run(main())
    assert cleaned == ["late result"]


def test_cancel_soon_runs_on_the_loop_and_logs_failures(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        done = asyncio.Event()
        pool = Workers(4, "t", greenlets=True)

        def cancel() -> None:
            await_only(asyncio.sleep(0))
            done.set()
            raise RuntimeError("cancel bug")

        pool.cancel_soon(cancel)
        await asyncio.wait_for(done.wait(), 1)
        await asyncio.sleep(0)

    with caplog.at_level("WARNING", logger="pgproxy.workers"):
        asyncio.run(main())
    assert "cancel failed" in caplog.text


def test_await_only_refuses_to_block_the_loop() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="block"):
            await_only(asyncio.sleep(0))

    asyncio.run(main())


def test_await_only_in_a_thread_runs_on_the_background_loop() -> None:
    async def where() -> int:
        await asyncio.sleep(0)
        return threading.get_ident()

    caller = threading.get_ident()
    assert await_only(where()) not in (caller, None)


def test_a_call_may_submit_another_and_both_finish() -> None:
    pool = Workers(4, "t", greenlets=True)

    def inner() -> str:
        await_only(asyncio.sleep(0.01))
        return "inner"

    def outer() -> tuple[str, bool]:
        job = pool.submit(inner)  # from inside a running call
        await_only(asyncio.sleep(0))
        return "outer", job.future.done()

    async def main() -> None:
        assert await pool.run(outer) == ("outer", False)
        assert await pool.run(inner) == "inner"  # the runners work on afterwards

    asyncio.run(main())
