"""Event delivery: a bounded queue and a worker per subscriber, retries, the dead-letter store.

The statement path lays a record of what is at hand at the end of one flat list
(`raw`, in order: events.WIDTH fields each) and never waits; a collector task
on the loop takes them in batches (one wake-up per `linger`), makes the events'
JSON (events.encode: once for all subscribers, a batch of statements column by
column in C calls), filters it per subscriber and queues it: an event that does
not fit a subscriber's queue goes to the dead-letter store instead of slowing
the query down. Each subscriber's worker then hands its sink a batch: one POST,
one write, one call per event of a Python entry point.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from pgproxy.observers.deadletter import DeadLetterStore
from pgproxy.observers.events import (
    TYPES,
    WIDTH,
    Event,
    Filter,
    encode,
    loads,
    ready,
    record,
    with_data,
)
from pgproxy.observers.subscribers import Sink, sink_from_section

log = logging.getLogger("pgproxy.observers")


@dataclass
class Subscriber:
    name: str
    sink: Sink
    filter: Filter = field(default_factory=Filter)
    queue_size: int = 10_000
    batch: int = 500
    retries: int = 3
    backoff: float = 0.2  # seconds before the first retry; doubles each time, with jitter
    max_backoff: float = 10.0
    # Seconds to gather a batch after the first event: one delivery (one thread
    # hop, one POST) per batch rather than per statement keeps the proxy's own
    # threads and the GIL free for queries.
    linger: float = 0.05
    extra_linger: float = 0.0  # what the bus's collector has not lingered already
    delivered: int = 0
    failed: int = 0  # delivery attempts that failed
    dead_lettered: int = 0
    dropped: int = 0  # overflowed the queue (and went to the dead-letter store)
    # The bounded queue: events as the sink takes them (their JSON; their dicts if it
    # takes dicts).
    pending: deque[Any] = field(default_factory=deque)
    busy: int = 0  # events the worker has taken and not yet settled
    wake: asyncio.Future[None] | None = None  # set while the worker sleeps on an empty queue
    task: asyncio.Task[None] | None = None

    def queued(self) -> int:
        return len(self.pending) + self.busy

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Subscriber:
        return cls(
            name=str(section.get("name") or section.get("type")),
            sink=sink_from_section(section),
            filter=Filter.from_section(section),
            queue_size=int(section.get("queue", 10_000)),
            batch=max(1, int(section.get("batch", 500))),
            retries=int(section.get("retries", 3)),
            backoff=float(section.get("backoff", 0.2)),
            max_backoff=float(section.get("max_backoff", 10.0)),
            linger=float(section.get("linger", 0.05)),
        )


class Observers:
    """Fans events out to subscribers; owns their queues, workers and dead letters."""

    def __init__(self, subscribers: list[Subscriber], dead_letters: DeadLetterStore) -> None:
        self.subscribers = {s.name: s for s in subscribers}
        if len(self.subscribers) != len(subscribers):
            raise ValueError("observer names must be unique")
        self._list = list(self.subscribers.values())
        # Per event type, the subscribers that take it: the path makes no event nobody takes.
        self._takers = {
            t: tuple(s for s in self._list if not s.filter.types or t in s.filter.types)
            for t in TYPES
        }
        self.dead_letters = dead_letters
        self.emitted = 0
        # What the statement path handed over and the collector has not taken yet:
        # records (events.WIDTH fields each, events.Build), end to end, in order.
        self.raw: list[Any] = []
        # Told of each batch of records the collector takes, before their events are made:
        # the watch sums its counters there (pgproxy/observers/watch.py), not per statement.
        self.tally: Callable[[list[Any]], None] | None = None
        self._idle: asyncio.Future[None] | None = None  # set while the collector sleeps
        self._collector: asyncio.Task[None] | None = None
        # The collector waits the shortest linger (unless a batch is there already); a
        # subscriber with a longer one the rest.
        self._linger = min((s.linger for s in self._list), default=0.0)
        self._batch = min((s.batch for s in self._list), default=1)
        for s in self._list:
            s.extra_linger = s.linger - self._linger
        self._dicts = any(s.sink.dicts for s in self._list)  # made only if a sink takes them
        self._dl_thread = ThreadPoolExecutor(1, thread_name_prefix="pgproxy-deadletter")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Observers | None:
        """The [observers] section: dead_letter path and [[observers.subscriber]] tables."""
        subs = [Subscriber.from_section(s) for s in section.get("subscriber", ())]
        if not subs:
            return None
        return cls(subs, DeadLetterStore(str(section.get("dead_letter", "pgproxy-deadletter.db"))))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._collector = asyncio.create_task(self._collect(), name="observers")
        for sub in self._list:
            sub.task = asyncio.create_task(self._deliver(sub), name=f"observer {sub.name}")

    async def stop(self, grace: float = 2.0) -> None:
        """Let queues drain for up to `grace` seconds; what is left goes to the dead letters."""
        self._stopped = True
        try:
            await self._drained(grace)
        except TimeoutError:
            pass
        if self._collector is not None:
            self._collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._collector
        # What the path still hands over from now on is dropped.
        raw, self.raw = self.raw, _Dropped()
        self._take(raw)  # then with the queues to the dead letters
        for sub in self._list:
            if sub.task is not None:
                sub.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sub.task
            left = list(sub.pending)
            sub.pending.clear()
            if left:
                self.dead_letters.add(sub.name, left, "proxy shut down before delivery", 0)
            sub.sink.close()
        self._dl_thread.shutdown(wait=True)
        self.dead_letters.close()

    # ------------------------------------------------------------ the statement path

    def wants(self, type: str) -> bool:
        return bool(self._takers.get(type))

    def emit(self, type: str, data: dict[str, Any]) -> None:
        """Report an event made of `data` (off the hot path: connects, backends, routes)."""
        if self._takers.get(type):
            self.hand((with_data, type, time.perf_counter(), data))

    def hand(self, item: tuple[Any, ...]) -> None:
        """Take a record (events.Build; padded to events.WIDTH fields); on the loop's
        thread, never waits.

        The statement path inlines this (pgproxy/observers/watch.py): `kick` when the
        list of records was empty, then extend it by one of WIDTH fields."""
        raw = self.raw
        if not raw:
            self.kick()
        raw.extend(record(item))

    def publish(self, event: Event) -> None:
        """Queue a ready `event` for every subscriber that takes its type."""
        if self._takers.get(event.type):
            self.hand((ready, event.type, 0.0, event))

    def kick(self) -> None:
        """Wake the collector: the first raw item since it last took them is coming."""
        idle = self._idle
        if idle is not None:
            self._idle = None
            if not idle.done():
                idle.set_result(None)

    # ------------------------------------------------------------ collection

    async def _collect(self) -> None:
        """Once per linger: make the events handed over since, and queue them."""
        loop = asyncio.get_running_loop()
        while True:
            if not self.raw:
                self._idle = loop.create_future()
                await self._idle
                continue
            if self._linger > 0 and len(self.raw) < self._batch * WIDTH:
                await asyncio.sleep(self._linger)
            raw, self.raw = self.raw, []
            self._take(raw)

    def _take(self, raw: list[Any]) -> None:
        """The records taken from the path: tallied, made into events and queued."""
        if self.tally is not None:
            self.tally(raw)
        self._queue(*encode(raw, self._dicts))

    def _queue(self, types: list[str], parts: list[bytes],
               dicts: list[dict[str, Any]] | None) -> None:
        """Each subscriber's events onto its queue as its sink takes them (their JSON,
        `parts`, or their `dicts`; `types`, theirs); what does not fit: dead letters."""
        if not parts:
            return
        self.emitted += len(parts)
        given = False  # the dicts went to a subscriber already: the next one gets copies
        for sub in self._list:
            f = sub.filter
            batch: list[Any] = parts
            if sub.sink.dicts:
                batch = list(map(dict.copy, dicts)) if given else dicts  # type: ignore[arg-type]
                given = True
            if f.types:
                mine = list(compress(batch, map(f.types.__contains__, types)))
            else:
                mine = batch
            if f.detailed:  # tables, operations, users: looked at here, off the statement path
                mine = [e for e in mine if f.matches(Event(e if sub.sink.dicts else loads(e)))]
            if not mine:
                continue
            pending = sub.pending
            room = sub.queue_size - len(pending)
            if len(mine) > room:
                over = mine[max(room, 0):]
                mine = mine[: max(room, 0)]
                sub.dropped += len(over)
                self._dead(sub, over, "queue full", 0)
            pending.extend(mine)
            wake = sub.wake
            if wake is not None and mine:
                sub.wake = None
                if not wake.done():
                    wake.set_result(None)

    # ------------------------------------------------------------ delivery

    async def _deliver(self, sub: Subscriber) -> None:
        pending = sub.pending
        loop = asyncio.get_running_loop()
        while True:
            if not pending:
                sub.wake = loop.create_future()
                await sub.wake
                continue
            if sub.extra_linger > 0 and len(pending) < sub.batch:
                await asyncio.sleep(sub.extra_linger)
            if len(pending) <= sub.batch:  # the usual case: all of it, in two C calls
                batch = list(pending)
                pending.clear()
            else:
                batch = [pending.popleft() for _ in range(sub.batch)]
            sub.busy = len(batch)
            try:
                await self._with_retries(sub, batch)
            except asyncio.CancelledError:
                self.dead_letters.add(sub.name, batch, "proxy shut down during delivery", 0)
                raise
            finally:
                sub.busy = 0

    async def _drained(self, timeout: float) -> None:
        """Wait until every subscriber's queue is empty and nothing is being delivered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.raw or any(s.pending or s.busy for s in self._list):
            if loop.time() >= deadline:
                raise TimeoutError
            await asyncio.sleep(0.005)

    async def _with_retries(self, sub: Subscriber, batch: list[Any]) -> None:
        error = ""
        for attempt in range(sub.retries + 1):
            if attempt:
                delay = min(sub.max_backoff, sub.backoff * 2 ** (attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            try:
                await sub.sink.deliver(batch)
            except Exception as exc:  # any failure of a sink is that batch's failure
                sub.failed += 1
                error = str(exc) or repr(exc)
                log.debug("observer %s: attempt %d failed: %s", sub.name, attempt + 1, error)
                continue
            sub.delivered += len(batch)
            return
        log.warning("observer %s: %d events to the dead-letter store: %s", sub.name,
                    len(batch), error)
        self._dead(sub, batch, error, sub.retries + 1)

    def _dead(self, sub: Subscriber, events: list[Any], error: str, attempts: int) -> None:
        sub.dead_lettered += len(events)
        if self._loop is not None and not self._stopped:
            self._loop.run_in_executor(
                self._dl_thread, self.dead_letters.add, sub.name, events, error, attempts
            )
        else:
            self.dead_letters.add(sub.name, events, error, attempts)

    # ------------------------------------------------------------ admin

    async def replay(self, subscriber: str | None = None) -> int:
        """Queue dead letters again (of one subscriber, or all that still exist)."""
        names = [subscriber] if subscriber else list(self.subscribers)
        names = [n for n in names if n in self.subscribers]
        loop = asyncio.get_running_loop()
        # Pending dead-letter writes first, so a replay right after a failure sees them.
        await loop.run_in_executor(self._dl_thread, lambda: None)
        taken = await loop.run_in_executor(self._dl_thread, self.dead_letters.take, names)
        for name, event in taken:
            sub = self.subscribers[name]
            if len(sub.pending) >= sub.queue_size:
                self._dead(sub, [event], "queue full on replay", 0)
                continue
            sub.pending.append(event.fields if sub.sink.dicts else event.json())
            wake, sub.wake = sub.wake, None
            if wake is not None and not wake.done():
                wake.set_result(None)
        return len(taken)

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queue is empty and the dead-letter writes are on disk (tests, admin)."""
        await self._drained(timeout)
        await asyncio.get_running_loop().run_in_executor(self._dl_thread, lambda: None)

    def describe(self) -> list[tuple[Any, ...]]:
        return [
            (
                s.name,
                s.sink.kind,
                ",".join(sorted(s.filter.types)) or "*",
                s.queued(),
                s.delivered,
                s.failed,
                s.dead_lettered,
                s.dropped,
            )
            for s in self._list
        ]

    async def in_store(self, fn: Any, *args: Any) -> Any:
        """Run a dead-letter store call on its own thread, never on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._dl_thread, fn, *args)

    async def totals(self) -> dict[str, int]:
        return {
            "events_emitted": self.emitted,
            "events_delivered": sum(s.delivered for s in self._list),
            "events_dead_lettered": sum(s.dead_lettered for s in self._list),
            "dead_letters_stored": await self.in_store(self.dead_letters.count),
        }


class _Dropped(list):  # type: ignore[type-arg]
    """Observers.raw once stopped: what the path still hands over goes nowhere."""

    def extend(self, items: Any) -> None:
        pass

    def __iadd__(self, items: Any) -> _Dropped:  # (the path's `raw += record`)
        return self
