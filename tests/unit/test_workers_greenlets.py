"""Workers(greenlets=True): synchronous calls run on the event loop, their I/O awaited."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from greenlet import getcurrent

from pgproxy.errors import QueryCanceled
from pgproxy.workers import ABANDONED, FINISHED, RUNNING, Workers, _driving, await_only


def _tasks() -> int:
    return len(asyncio.all_tasks())


def test_a_call_without_io_finishes_inside_call_and_makes_no_task() -> None:
    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        tasks = _tasks()
        job = pool.call(lambda a, b: a + b, 2, 3)
        assert job.done() and job.state == FINISHED
        assert _tasks() == tasks and not _driving
        assert await job == 5

    asyncio.run(main())


def test_a_coroutine_that_never_waits_finishes_inside_call() -> None:
    """await_only steps a coroutine at once: rows already read cost no trip to the loop."""

    async def ready(value: int) -> int:
        return value * 2

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        tasks = _tasks()
        job = pool.call(lambda: await_only(ready(2)) + await_only(ready(3)))
        assert job.done() and job.state == FINISHED and _tasks() == tasks
        assert await job == 10
        submitted = pool.submit(lambda: await_only(ready(4)))  # no task when it never waits
        assert submitted.done() and _tasks() == tasks and not _driving
        assert await submitted == 8

    asyncio.run(main())


def test_a_waiting_call_is_driven_by_its_awaiting_task_alone() -> None:
    """No task, no future of its own: its coroutine's every step runs in the awaiter."""
    seen: list[asyncio.Task | None] = []
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def steps() -> str:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0.01)
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)  # a bare yield: one loop turn
        seen.append(asyncio.current_task())
        return "done"

    def fn() -> tuple[str, str]:
        return await_only(steps()), var.get()

    async def main() -> None:
        pool = Workers(4, "t", greenlets=True)
        var.set("the caller's")
        tasks = _tasks()
        job = pool.call(fn)
        assert job.state == RUNNING and not job.done()
        assert _tasks() == tasks and not _driving  # nobody drives it until awaited
        assert await job == ("done", "the caller's")
        assert seen == [asyncio.current_task()] * 3
        assert _tasks() == tasks and not _driving

    asyncio.run(main())


def test_a_cancel_of_the_awaiter_never_reaches_the_driver_and_the_call_finishes() -> None:
    """The awaiting task is interrupted alone: the driver's future and coroutine go on in a
    task of the call's own, so its connection is never left mid-protocol."""
    log: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        pool = Workers(4, "t", greenlets=True)
        reply = loop.create_future()  # the driver's own (a socket read's)

        async def read() -> str:
            try:
                return await reply
            except asyncio.CancelledError:
                log.append("the driver was cancelled")
                raise

        def fn() -> str:
            value = await_only(read())
            log.append(f"call got {value}")
            return value

        async def awaiter() -> str:
            return await pool.call(fn)

        task = asyncio.ensure_future(awaiter())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not reply.cancelled() and len(_driving) == 1  # the call has its own task now
        reply.set_result("the reply")
        await asyncio.gather(*_driving)
        assert log == ["call got the reply"]
        assert await pool.run(lambda: "the runner serves on") == "the runner serves on"

    asyncio.run(main())


def test_a_timeout_around_a_call_and_a_cancel_as_its_reply_lands() -> None:
    """asyncio.timeout (a cancel) interrupts the awaiter; a cancel that comes when the
    driver's future is done already (its wakeup scheduled) loses nothing either."""
    results: list[object] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        pool = Workers(4, "t", greenlets=True)

        def wait_for(fut: asyncio.Future[str]) -> None:
            results.append(await_only(fut))

        reply: asyncio.Future[str] = loop.create_future()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await pool.call(wait_for, reply)
        assert not reply.cancelled()
        reply.set_result("late")
        await asyncio.gather(*_driving)
        assert results == ["late"]

        landed: asyncio.Future[str] = loop.create_future()
        task = asyncio.ensure_future(pool.run(wait_for, landed))
        await asyncio.sleep(0.01)
        landed.set_result("landed")  # the awaiter's wakeup is scheduled ...
        task.cancel()  # ... and its cancel comes first
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.gather(*_driving)
        assert results == ["late", "landed"]

        turn = asyncio.ensure_future(pool.run(lambda: results.append(await_only(_turn()))))
        await asyncio.sleep(0)  # the call waits at its bare yield
        turn.cancel()
        with pytest.raises(asyncio.CancelledError):
            await turn
        await asyncio.gather(*_driving)
        assert results[-1] == "turned"

    asyncio.run(main())


async def _turn() -> str:
    await asyncio.sleep(0)
    return "turned"


def test_fail_answers_the_awaiter_and_the_abandoned_call_is_cleaned_up() -> None:
    """statement_timeout's give-up: the awaiter hears the error now; the call's late
    result goes to its cleanup, in its greenlet, once it returns."""
    cleaned: list[object] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        pool = Workers(4, "t", greenlets=True)
        hung: asyncio.Future[str] = loop.create_future()
        job = pool.call(lambda: await_only(hung))

        def cleanup(result: object) -> None:
            await_only(asyncio.sleep(0))  # a cleanup may do I/O too (closing a connection)
            cleaned.append(result)

        def give_up() -> None:
            assert pool.abandon(job, cleanup) == RUNNING
            assert job.state == ABANDONED
            job.fail(QueryCanceled("canceling statement due to statement timeout"))

        loop.call_later(0.01, give_up)
        with pytest.raises(QueryCanceled):
            await job
        assert not hung.done() and len(_driving) == 1
        hung.set_result("late result")  # the server answers (or its socket is aborted)
        await asyncio.gather(*_driving)
        assert cleaned == ["late result"]

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
            while not first.done():
                ticks += 1
                await asyncio.sleep(0.005)

        results = await asyncio.gather(first, pool.run(quick), ticker())
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
        return "outer", job.done()

    async def main() -> None:
        assert await pool.run(outer) == ("outer", False)
        assert await pool.run(inner) == "inner"  # the runners work on afterwards

    asyncio.run(main())


def test_a_call_with_no_running_loop_is_refused_before_it_runs() -> None:
    """At shutdown the loop is gone: the caller (the pool closing a connection) runs the
    call itself, so nothing may have run half of it in a greenlet first."""
    pool = Workers(4, "t", greenlets=True)
    ran: list[int] = []
    with pytest.raises(RuntimeError):
        pool.submit(ran.append, 1)
    with pytest.raises(RuntimeError):
        pool.call(ran.append, 2)
    assert ran == []
