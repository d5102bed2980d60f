"""Worker threads: where every blocking driver call runs, never on the event loop.

A statement costs at least one hop from the loop to a worker and back, so the
hop is kept lean: a plain queue of (function, arguments, future) and a
`call_soon_threadsafe` back, rather than concurrent.futures' Future, its
locks and asyncio's future chaining, which cost about as much again as the
point query itself.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("pgproxy.workers")

_STOP = object()


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the awaiting task was cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Workers:
    """A pool of daemon threads for driver calls, and a separate small one for cancels.

    Threads start on demand up to `size`; cancels get their own threads so
    interrupting a statement never waits behind the statements that keep the
    main pool busy.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._cancels: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cancel_threads: list[threading.Thread] = []

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._idle == 0 and len(self._threads) < self._size:
                self._spawn()
            else:
                self._idle -= 1
        self._queue.put((fn, args, future, loop))
        return await future

    def _spawn(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"pgproxy-db-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is _STOP:
                return
            fn, args, future, loop = item
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting task, which re-raises it
                ok, value = False, exc
            else:
                ok, value = True, result
            try:
                loop.call_soon_threadsafe(_resolve, future, ok, value)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                pass
            with self._lock:
                self._idle += 1

    def cancel_soon(self, fn: Callable[[], Any]) -> None:
        """Fire-and-forget a cancel call (KILL QUERY, sqlite interrupt)."""
        if len(self._cancel_threads) < 4:
            thread = threading.Thread(target=self._cancel_work, name="pgproxy-cancel", daemon=True)
            self._cancel_threads.append(thread)
            thread.start()
        self._cancels.put(fn)

    def _cancel_work(self) -> None:
        while True:
            fn = self._cancels.get()
            if fn is _STOP:
                return
            try:
                fn()
            except Exception:  # a cancel that fails leaves the statement to finish
                log.warning("cancel failed", exc_info=True)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for _ in self._cancel_threads:
            self._cancels.put(_STOP)
