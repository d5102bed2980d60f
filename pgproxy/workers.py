"""Worker threads: where every blocking driver call runs, never on the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Workers:
    """A pool for driver calls and a small separate one for cancels.

    Cancels get their own threads so that interrupting a statement never
    waits behind the statements that keep the main pool busy.
    """

    def __init__(self, size: int = 64) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix="pgproxy-db")
        self._cancel_pool = concurrent.futures.ThreadPoolExecutor(
            4, thread_name_prefix="pgproxy-cancel"
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    def cancel_soon(self, fn: Callable[[], Any]) -> None:
        """Fire-and-forget a cancel call (KILL QUERY, sqlite interrupt)."""
        self._cancel_pool.submit(fn)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._cancel_pool.shutdown(wait=False, cancel_futures=True)
