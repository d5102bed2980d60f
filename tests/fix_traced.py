"""A proxy with in-memory telemetry on its own event loop thread, for the telemetry tests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from pgproxy.backends import from_url
from pgproxy.observers import Watch
from pgproxy.proxy import Proxy
from pgproxy.router import Router
from pgproxy.telemetry import Telemetry

# Given the proxy: what a test connects to, and the coroutine function that stops serving.
Serve = Callable[[Proxy], Awaitable[tuple[Any, Callable[[], Awaitable[None]]]]]


@contextlib.contextmanager
def traced_proxy(
    database: str, sqlite_path: str, serve: Serve
) -> Iterator[tuple[Any, Telemetry]]:
    """A SQLite-backed proxy (`database` routes to it) wired with in-memory telemetry as
    `pgproxy serve` wires it, served by `serve`; yields (what serve gave, telemetry)."""
    telemetry = Telemetry.from_config({"exporter": "memory"})
    assert telemetry is not None
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict = {}

    async def main() -> None:
        proxy = Proxy(Router({database: from_url(f"sqlite:///{sqlite_path}")}))
        telemetry.instrument(proxy.pipeline.hooks)
        proxy.watch = Watch.build(None, telemetry)
        box["target"], close = await serve(proxy)
        box["stop"] = stop = asyncio.Event()
        started.set()
        await stop.wait()
        await close()
        proxy.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield box["target"], telemetry
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(20)
    assert not thread.is_alive(), "the proxy did not shut down"
