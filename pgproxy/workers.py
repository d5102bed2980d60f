"""Worker threads: where every blocking driver call runs, never on the event loop.

Each backend has pools of its own (Proxy.pool): a bounded set of threads for
its driver calls and a few for its cancels. A backend that hangs holds only
its own threads, so it never slows another backend's statements or cancels.

A call its awaiting session has given up on (statement_timeout against a
hung server) is abandoned: still queued, it never runs; running, its result
goes to a cleanup in the worker thread when it returns, which closes the
connection there, off the event loop.

A statement costs at least one hop from the loop to a worker and back, so the
hop is kept lean: a plain queue of jobs and a `call_soon_threadsafe` back,
rather than concurrent.futures' Future, its locks and asyncio's future
chaining, which cost about as much again as the point query itself.

An in-process engine (SQLite) answers a point query in a few microseconds,
less than the hop itself; its pool runs calls marked `inline` on the event
loop under a time budget (INLINE_BUDGET), with `current.deadline` set for the
engine to read. The call may refuse by raising Moved, before any side effect
or after undoing it all (the engine interrupts a read that runs past the
deadline): the same call then goes to a worker thread from the start, so a
long scan never stalls the loop for more than the budget. Nor do many short
ones: once the calls run inline since the loop last turned add up to the
budget (a client pipelining reads), the next goes to a worker, and its session
waits for it while the loop serves the others. A caller that can take a value
at once asks `Workers.inline` first (no job, no future), and submits the call
only when that answers NOT_INLINE.

A backend whose driver is asyncio-native (asyncmy for MariaDB/MySQL) needs no
thread at all: its pool (`greenlets=True`) runs each call in a greenlet on the
event loop, and the driver's I/O inside it, `await_only(coroutine)`, suspends
that greenlet while the loop awaits the coroutine (SQLAlchemy's greenlet_spawn
and await_only, sqlalchemy.util._concurrency_py3k). The backend interface stays
synchronous, so a call that runs several statements in a row (DDL undo,
sequences, COPY batches) is unchanged. The call runs up to its first I/O at
once, inside `call`, and the task that awaits it drives it from there (no task
and no future per call: see _Call); a call with no I/O (the transaction
state) finishes inside `call`. `await_only` steps a coroutine at once in the
greenlet: one that never waits (rows already read) returns with no switch to
the loop. A call its awaiter stops waiting for (a cancel, a timeout) goes on in
a task of its own, never cut mid-protocol; abandoned, it gives its result to
the cleanup in its greenlet. The same backend's calls made from a thread (the
health checker) run their coroutines on one shared background loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet

from pgproxy.errors import PgError

T = TypeVar("T")
log = logging.getLogger("pgproxy.workers")

_STOP = object()
# Job states. A job moves QUEUED -> RUNNING -> FINISHED, or to ABANDONED before FINISHED.
QUEUED, RUNNING, FINISHED, ABANDONED = range(4)
CANCEL_THREADS = 4
# How long a call may run inline on the event loop before the engine hands it to a worker.
INLINE_BUDGET = 0.002


class Moved(Exception):
    """Raised by a call running inline that must run in a worker thread instead.

    Raised only where re-running the call from the start is safe: before it
    changed anything, or after the engine undid all it did."""


class _Here(threading.local):
    """What this thread runs: `deadline` (time.perf_counter) while it runs an inline call."""

    deadline = 0.0  # 0.0: no inline call (always so in a worker thread)


current = _Here()
# What Workers.inline answers when the call did not run there: submit it.
NOT_INLINE: Any = object()


def inline(fn: Callable[..., T]) -> Callable[..., T]:
    """Mark `fn` as one an inline-capable pool may run on the event loop (see Moved)."""
    fn.inline = True  # type: ignore[attr-defined]
    return fn


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the awaiting side settled it meanwhile (a timeout)
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Job(Generic[T]):
    """One driver call: its function, arguments, future and state."""

    __slots__ = ("args", "cleanup", "fn", "future", "loop", "state")

    def __init__(
        self, fn: Callable[..., T], args: tuple[Any, ...], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.fn = fn
        self.args = args
        self.loop = loop
        self.future: asyncio.Future[T] = loop.create_future()
        self.state = QUEUED
        self.cleanup: Callable[[Any], None] | None = None

    def __await__(self) -> Any:
        """`await job`: its result (a worker's, or one settled inline)."""
        return self.future.__await__()

    def fail(self, exc: BaseException) -> None:
        """Its awaiter gets `exc` now, whatever becomes of the call (see Workers.abandon)."""
        _resolve(self.future, False, exc)


class Workers:
    """A bounded pool of daemon threads for driver calls, and a separate small one for cancels.

    Threads start on demand up to `size`; cancels get their own threads so
    interrupting a statement never waits behind the statements that keep the
    main pool busy.
    """

    def __init__(
        self, size: int = 64, name: str = "db", inline: bool = False, greenlets: bool = False
    ) -> None:
        self._inline = inline  # calls marked `inline` run on the event loop first
        self._greenlets = greenlets  # every call runs in a greenlet on the loop (await_only)
        self._runners: list[_Runner] = []  # idle greenlets for the next calls
        # When the inline calls since the loop last turned began: [start], or [] (none). The
        # loop clears it once it turns (`call_soon(list.clear)`: no Python frame to run).
        self._streak: list[float] = []
        self._size = max(1, size)
        self._name = name
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._cancels: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cancel_threads: list[threading.Thread] = []

    def submit(self, fn: Callable[..., T], *args: Any) -> Job[T]:
        """Queue `fn(*args)`; await the job for its result, or leave it to run."""
        if self._greenlets:
            call = self._start(fn, args)
            if call.runner is not None:  # nobody drives it: a task of its own does
                call._hand_over()
            return call
        job = Job(fn, args, asyncio.get_running_loop())
        if self._inline:
            try:
                value = self.inline(fn, *args)
            except Exception as exc:  # the awaiting task re-raises it, as from a worker
                job.state = FINISHED
                job.future.set_exception(exc)
                return job
            if value is not NOT_INLINE:
                job.state = FINISHED
                job.future.set_result(value)
                return job
        with self._lock:
            if self._idle == 0 and len(self._threads) < self._size:
                self._spawn()
            else:
                self._idle -= 1
        self._queue.put(job)
        return job

    def call(self, fn: Callable[..., T], *args: Any) -> Job[T]:
        """`fn(*args)` started, for the caller to await at once: in a `greenlets` pool the
        awaiting task drives it (no task, no future: see _Call); else as submit."""
        if self._greenlets:
            return self._start(fn, args)
        return self.submit(fn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.call(fn, *args)

    def _start(self, fn: Callable[..., T], args: tuple[Any, ...]) -> _Call[T]:
        """A greenlet call run up to its first wait (to its end, when it never waits)."""
        call = _Call(fn, args)
        idle = self._runners
        (idle.pop() if idle else _Runner(idle)).start(call)
        return call

    def inline(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` run here on the loop, its value or its exception; NOT_INLINE when it
        may not run here (not marked `inline`, no such pool, the budget spent) or moved
        (it is then to be submitted as it is)."""
        if not self._inline or not getattr(fn, "inline", False):
            return NOT_INLINE
        now = time.perf_counter()
        streak = self._streak
        if not streak:
            streak.append(now)
            asyncio.get_running_loop().call_soon(streak.clear)  # runs once the loop turns
        elif now - streak[0] > INLINE_BUDGET:
            return NOT_INLINE  # no turn for a budget's worth
        here = current
        here.deadline = now + INLINE_BUDGET
        try:
            return fn(*args)
        except Moved:
            return NOT_INLINE
        finally:
            here.deadline = 0.0

    def spent(self) -> bool:
        """Whether the calls run inline since the loop last turned used up the budget:
        until it turns, inline() runs none (an answer at the wire waits for the turn)."""
        streak = self._streak
        return bool(streak) and time.perf_counter() - streak[0] > INLINE_BUDGET

    def abandon(self, job: Job[Any], cleanup: Callable[[Any], None] | None = None) -> int:
        """Give up on `job`; returns the state it had (FINISHED: too late, its result stands).

        A queued job will not run; a running one hands its result (None if it
        raised) to `cleanup` in its worker thread (its greenlet) once it returns.
        The awaiting side answers its awaiter itself (Job.fail).
        """
        with self._lock:
            state = job.state
            if state in (QUEUED, RUNNING):
                job.state = ABANDONED
                job.cleanup = cleanup
            return state

    def _spawn(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"pgproxy-{self._name}-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        get = self._queue.get
        lock = self._lock
        while True:
            job = get()
            if job is _STOP:
                return
            with lock:
                start = job.state == QUEUED
                if start:
                    job.state = RUNNING
            ok, value = True, None
            if start:
                try:
                    value = job.fn(*job.args)
                except BaseException as exc:  # handed to the awaiting task, which re-raises it
                    ok, value = False, exc
            with lock:
                abandoned = job.state == ABANDONED
                job.state = FINISHED
                self._idle += 1
            if abandoned:
                if start:  # a call that never ran left nothing to clean up
                    _clean_up(job, value if ok else None)
                continue
            try:
                job.loop.call_soon_threadsafe(_resolve, job.future, ok, value)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                pass

    def cancel_soon(self, fn: Callable[[], Any]) -> None:
        """Fire-and-forget a cancel call (KILL QUERY, sqlite interrupt)."""
        if self._greenlets:  # its own greenlet: it never waits behind a statement
            self.submit(_cancel, fn, self._name)
            return
        if len(self._cancel_threads) < CANCEL_THREADS:
            thread = threading.Thread(
                target=self._cancel_work, name=f"pgproxy-{self._name}-cancel", daemon=True
            )
            self._cancel_threads.append(thread)
            thread.start()
        self._cancels.put(fn)

    def _cancel_work(self) -> None:
        while True:
            fn = self._cancels.get()
            if fn is _STOP:
                return
            _cancel(fn, self._name)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for _ in self._cancel_threads:
            self._cancels.put(_STOP)


def _cancel(fn: Callable[[], Any], name: str) -> None:
    try:
        fn()
    except PgError as exc:  # the backend unreachable: the statement's timeout goes on
        log.debug("cancel did not reach the %s backend: %s", name, exc.message)
    except Exception:  # a bug in a backend's cancel: leaves the statement to finish
        log.warning("cancel failed", exc_info=True)


def _clean_up(job: Job[Any], result: Any) -> None:
    if job.cleanup is None:
        return
    try:
        job.cleanup(result)
    except Exception:  # the session has moved on; a failed close only needs a log line
        log.debug("cleaning up an abandoned call failed", exc_info=True)


# --- greenlets: a synchronous call on the loop, its driver's I/O awaited -------------


class _Runner(greenlet):  # type: ignore[misc]
    """A greenlet running the calls of a `greenlets` pool, one after another.

    Kept for the next call (a few idle ones per pool): making a greenlet and
    entering it costs about 10 µs, as much as a point query, and switching into
    a live one under a microsecond. Each `await_only` steps its awaitable up to
    its first wait and switches to its driver (see _Call) with it.
    """

    def __init__(self, idle: list[_Runner]) -> None:
        super().__init__(self._serve, getcurrent())  # parent: the loop thread's own greenlet
        self.idle = idle

    def start(self, call: _Call[Any]) -> None:
        """Run `call` up to its first wait (or to its end)."""
        call.runner = self
        caller = getcurrent()
        if self.parent is not caller:  # its await_only comes back here, to the caller
            self.parent = caller
        self.gr_context = caller.gr_context  # the caller's context variables
        call.took(self.switch(call))

    def _serve(self, call: _Call[Any]) -> None:
        while True:
            _call(call)
            call = self.parent.switch(_DONE)


def _call(call: _Call[Any]) -> None:
    ok, value = True, None
    try:
        value = call.fn(*call.args)
    except GreenletExit:  # the runner is being collected (its loop closed): let it end
        raise
    except BaseException as exc:  # handed to the awaiting task, which re-raises it
        ok, value = False, exc
    call.ok, call.value = ok, value
    if call.state == ABANDONED:
        call.state = FINISHED
        _clean_up(call, value if ok else None)  # here: its closing may await I/O too
        return
    call.state = FINISHED
    if call.future is not None:  # awaited while a task of its own drove it
        _resolve(call.future, ok, value)


_DONE = object()  # what a runner switches to its driver with when its call has returned
IDLE_GREENLETS = 16  # idle runners a pool keeps
_driving: set[asyncio.Task[None]] = set()


class _Call(Job[T]):
    """A call of a `greenlets` pool: its runner, and what it waits for, driven by its awaiter.

    The task that awaits the call drives it: it waits for what the call's
    coroutine waits for (`blocked`, the driver's own future), steps the
    coroutine on and switches into the runner with its value, until the call
    returns; no task, no future of its own, no extra loop turn. The task waits
    on the call itself, a stand-in for `blocked` (asyncio's Task takes any
    object with the future protocol, `_asyncio_future_blocking`), so that the
    task's cancel never reaches the driver's future, nor the coroutine, which
    would leave its connection mid-protocol: the cancel (or `fail`, a timeout)
    interrupts the awaiting task alone, and a task of its own takes the call
    over and drives it to its end (then an abandoned call's cleanup runs). A
    call nobody awaits (`submit`) gets that task at once.
    """

    __slots__ = (
        "_asyncio_future_blocking",
        "_loop",
        "blocked",
        "context",
        "driver",
        "interrupt",
        "it",
        "ok",
        "runner",
        "value",
        "wakeup",
    )

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        # On the loop only (RuntimeError otherwise, before it runs: a caller with no loop any
        # more, at shutdown, runs it itself).
        self._loop = asyncio.get_running_loop()
        self.fn = fn
        self.args = args
        self.state = RUNNING
        self.cleanup = None
        self.future = None  # type: ignore[assignment]  # only for an awaiter it does not drive
        self.runner: _Runner | None = None
        self.it: Any = None  # the coroutine (or awaitable's iterator) the call waits in
        self.blocked: Any = None  # what `it` yielded: a future, or None (one loop turn)
        self.driver: asyncio.Task[None] | None = None  # the task of its own, once it has one
        self.interrupt: BaseException | None = None  # why its awaiter stops waiting
        self.wakeup: Any = None  # the awaiting task's wakeup, added to `blocked`
        # True while its awaiting task is to take it as the future to wait on; None (not
        # False) otherwise, else asyncio.isfuture (ensure_future, gather) takes it for one.
        self._asyncio_future_blocking: bool | None = None
        self.ok = True
        self.value: Any = None

    def took(self, out: Any) -> None:
        """What its runner switched back with: _DONE (the call returned) or a new wait."""
        if out is _DONE:
            runner = self.runner
            self.runner = self.it = self.blocked = None
            if len(runner.idle) < IDLE_GREENLETS:  # type: ignore[union-attr]
                runner.idle.append(runner)  # type: ignore[union-attr]
        else:
            self.it, self.blocked = out

    def advance(self, exc: BaseException | None = None) -> None:
        """What the call waited for is ready (or `exc` is thrown at it): step its coroutine
        on, and when that returns, the call's greenlet, up to the next wait or the end."""
        try:
            if exc is None:
                blocked = self.it.send(None)
            else:
                blocked = self.it.throw(exc)
        except StopIteration as stop:
            runner, value, throw = self.runner, stop.value, False
        except BaseException as error:  # raised into the call, at its await_only
            runner, value, throw = self.runner, error, True
        else:
            self.blocked = blocked
            return
        here = getcurrent()
        if runner.parent is not here:  # type: ignore[union-attr]
            runner.parent = here  # type: ignore[union-attr]
        self.took(runner.throw(value) if throw else runner.switch(value))  # type: ignore[union-attr]

    def __await__(self) -> Any:
        """Drive the call from the awaiting task (see the class), to its value."""
        while self.runner is not None:
            if self.driver is not None or self.interrupt is not None:
                return (yield from self._handed_over())
            try:
                if self.blocked is None:
                    yield None  # one loop turn (asyncio.sleep(0) in the driver)
                else:
                    self._asyncio_future_blocking = True
                    yield self  # see add_done_callback: the task waits for `blocked`
            except GeneratorExit:  # the task is gone with its loop: nothing to drive it
                raise
            except BaseException as exc:
                if self.interrupt is None and self.blocked is None:
                    self.interrupt = exc  # a cancel at the loop turn
                if self.interrupt is not None:
                    self._hand_over()
                    raise
                # else `blocked` failed: its coroutine reads that when stepped on
            self.wakeup = self._asyncio_future_blocking = None  # no future to others
            if self.interrupt is not None:  # set while `blocked` was done already
                return (yield from self._handed_over())
            self.advance()
        if self.ok:
            return self.value
        raise self.value

    def _handed_over(self) -> Any:
        """The call drives on in a task of its own: its awaiter hears `interrupt`, or waits
        for its end."""
        self._hand_over()
        if self.interrupt is not None:
            raise self.interrupt
        if self.future is None:
            self.future = self._loop.create_future()
        return (yield from self.future)

    def _hand_over(self) -> None:
        self.wakeup = self._asyncio_future_blocking = None
        if self.driver is None and self.runner is not None:
            self.driver = task = self._loop.create_task(_drive(self))
            _driving.add(task)  # the loop holds tasks weakly
            task.add_done_callback(_driving.discard)

    def fail(self, exc: BaseException) -> None:
        """Its awaiter gets `exc` now; the call goes on in a task of its own."""
        if self.interrupt is None:
            self.interrupt = exc
        self._wake()
        if self.future is not None:
            _resolve(self.future, False, exc)

    def _wake(self) -> bool:
        """Wake the awaiting task, should it wait on `blocked`, with `interrupt` (result())."""
        wakeup = self.wakeup
        if wakeup is None or not self.blocked.remove_done_callback(wakeup):
            return False  # not waiting, or `blocked` is done and the task about to run
        self.wakeup = None
        self._loop.call_soon(wakeup, self, context=self.context)
        return True

    # The future protocol, as asyncio's Task uses it on what its coroutine yields.

    def add_done_callback(self, fn: Callable[..., Any], *, context: Any = None) -> None:
        self.wakeup, self.context = fn, context
        self.blocked.add_done_callback(fn, context=context)

    def cancel(self, msg: Any = None) -> bool:
        """The awaiting task's cancel: the task alone is interrupted (see the class)."""
        if self.interrupt is None:
            self.interrupt = (
                asyncio.CancelledError(msg) if msg is not None else asyncio.CancelledError()
            )
        return self._wake()

    def result(self) -> Any:
        raise self.interrupt  # type: ignore[misc]  # only called from _wake's wakeup

    def done(self) -> bool:
        return self.runner is None


async def _drive(call: _Call[Any]) -> None:
    """Drive a call nobody awaits (submitted, or its awaiter interrupted) to its end."""
    while call.runner is not None:
        blocked = call.blocked
        thrown = None
        try:
            await _until(blocked)
        except BaseException as exc:
            if blocked is None or not blocked.done():
                thrown = exc  # this task's own cancel (its loop closing): into the call
            # else `blocked` failed: its coroutine reads that when stepped on
        call.advance(thrown)


@types.coroutine
def _until(blocked: Any) -> Any:
    """Wait for `blocked` as the call's coroutine yielded it, its outcome left in it."""
    if blocked is not None:
        blocked._asyncio_future_blocking = True
    yield blocked


def await_only(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` from synchronous code: suspends the call's greenlet (see _Call).

    It is stepped here at once: one that never waits (rows already read) returns
    with no switch at all. Its later steps run in the task that drives the call,
    the awaiting one (or, after its cancel, one of the call's own), so it must not
    tie itself to the current task (asyncio.timeout does; wait in a task of its own).
    Called from a thread instead (the health checker's), it runs on a shared
    background loop and blocks that thread; on the event loop outside a
    greenlet it would block the loop, so it refuses.
    """
    current = getcurrent()
    if isinstance(current, _Runner):
        it = awaitable if hasattr(awaitable, "send") else awaitable.__await__()
        try:
            blocked = it.send(None)  # type: ignore[union-attr]
        except StopIteration as stop:  # no wait (rows already read): no switch at all
            return stop.value  # type: ignore[no-any-return]
        return current.parent.switch((it, blocked))  # type: ignore[no-any-return]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run_coroutine_threadsafe(_awaited(awaitable), background_loop()).result()
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()  # never awaited: no "coroutine was never awaited" warning
    raise RuntimeError("await_only on the event loop outside a greenlet call would block it")


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


_background: asyncio.AbstractEventLoop | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The loop threads run an async driver's calls on (await_only outside a greenlet)."""
    global _background
    with _background_lock:
        if _background is None:
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="pgproxy-async-driver", daemon=True
            ).start()
            _background = loop
        return _background


_background_lock = threading.Lock()


def _forget_background() -> None:
    """In a forked worker: the parent's loop thread did not come along; start another."""
    global _background, _background_lock
    _background, _background_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_background)
