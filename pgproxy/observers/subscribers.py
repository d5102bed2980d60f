"""Where events go: a webhook, an audit log, a Python entry point. Each delivers one batch."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import hmac
import importlib
import inspect
import os
import queue
import threading
import urllib.parse
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from pgproxy.observers.events import loads
from pgproxy.observers.post import HTTPError, Poster

SIGNATURE_HEADER = "X-Pgproxy-Signature"
# Seconds a closing sink waits for the batch its thread is delivering (at shutdown).
CLOSE_WAIT = 2.0


class DeliveryError(Exception):
    """A batch was not taken; the bus retries, then dead-letters it."""


class Sink(abc.ABC):
    """One subscriber's way out, given a batch of events as their JSON (one bytes each,
    made once for every subscriber), or as dicts (each of its own) if it takes `dicts`.
    `deliver` raises on failure; the bus owns retries and order."""

    kind = "sink"
    dicts = False

    def __init__(self) -> None:
        # One thread per sink: blocking I/O stays off the event loop, and one thread keeps
        # a sink's batches in order. Its own thread and queue rather than an executor's:
        # a batch handed over is one put and one call_soon_threadsafe back, where
        # run_in_executor's futures and locks ran a few thousand bytecodes per batch.
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def deliver(self, events: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=f"pgproxy-{self.kind}",
                                            daemon=True)
            self._thread.start()
        self._jobs.put((loop, done, events))
        await done

    def _serve(self) -> None:
        """The sink's thread: each batch delivered, its outcome handed back to the loop."""
        while (job := self._jobs.get()) is not None:
            loop, done, events = job
            try:
                self.deliver_sync(events)
                outcome: BaseException | None = None
            except BaseException as exc:  # the batch's failure, for the bus to retry
                outcome = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, done, outcome)

    @abc.abstractmethod
    def deliver_sync(self, events: list[Any]) -> None:
        """Deliver one batch, blocking; raise to have the bus retry it."""

    def close(self) -> None:
        """The thread ends after the batch it is delivering, if any, which it is given
        CLOSE_WAIT seconds to finish (its thread is a daemon: the interpreter's exit
        would not wait for it) before the sink's connection or file is closed."""
        self._jobs.put(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(CLOSE_WAIT)


def _settle(done: asyncio.Future[None], outcome: BaseException | None) -> None:
    if done.cancelled():
        return
    if outcome is None:
        done.set_result(None)
    else:
        done.set_exception(outcome)


class Webhook(Sink):
    """HTTP POST of a JSON array of events, signed with HMAC-SHA256 over the body when a
    secret is configured (a signature anyone can make without one vouches for nothing,
    and hashing every body costs more than building its events)."""

    kind = "webhook"

    def __init__(self, url: str, secret: str = "", timeout: float = 5.0) -> None:
        super().__init__()
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"webhook url must be http or https: {url!r}")
        self.url = url
        host = parts.hostname or "localhost"
        self._poster = Poster(host, parts.port, parts.scheme == "https", timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        name = f"[{host}]" if ":" in host else host  # an IPv6 literal in brackets
        if parts.port is not None:
            name += f":{parts.port}"
        # The request's head but for each batch's length, count and signature.
        self._head = (f"POST {path} HTTP/1.1\r\nHost: {name}\r\n"
                      "Content-Type: application/json\r\n").encode("latin-1")
        self._secret = secret.encode()
        self.timeout = timeout

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def deliver_sync(self, events: list[bytes]) -> None:
        # One copy of the batch's JSON: the brackets join the first and last event's
        # (b"[" + … + b"]" around the joined body copied all of it twice more).
        parts = list(events)
        if parts:
            parts[0] = b"[" + parts[0]
            parts[-1] += b"]"
        body = b",".join(parts) if parts else b"[]"
        head = self._head + b"Content-Length: %d\r\nX-Pgproxy-Event-Count: %d\r\n" % (
            len(body), len(events))
        if self._secret:
            head += f"{SIGNATURE_HEADER}: {self.sign(body)}\r\n".encode()
        try:
            status, reason = self._poster.post(head + b"\r\n", body)
        except (OSError, HTTPError) as exc:
            raise DeliveryError(f"POST {self.url}: {exc!r}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"POST {self.url}: HTTP {status} {reason}")

    def close(self) -> None:
        super().close()
        self._poster.close()


class AuditLog(Sink):
    """Appends each event as one JSON line."""

    kind = "audit"

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        # Kept open, unbuffered: a batch is one write(2) at the end of the file, so the
        # lines of several worker processes (--workers) never interleave mid-line.
        self._file = open(path, "ab", buffering=0)

    def deliver_sync(self, events: list[bytes]) -> None:
        parts = list(events)
        parts.append(b"")  # the last line's newline, in the same copy as the rest
        data = memoryview(b"\n".join(parts))
        try:
            while data:
                data = data[self._file.write(data) or 0 :]
        except OSError as exc:
            raise DeliveryError(f"write {self.path}: {exc}") from None

    def close(self) -> None:
        super().close()
        self._file.close()


class EntryPoint(Sink):
    """`package.module:name`: a callable, or a class built with options, called with each
    event as a dict of its own (`calls = "event"`), or once per batch with an EventBatch
    (`calls = "batch"`: no dict made per event unless it is read).

    A coroutine function runs on the event loop; anything else in the sink's thread.
    """

    kind = "python"

    def __init__(self, target: str, options: Mapping[str, Any] | None = None,
                 calls: str = "event") -> None:
        if calls not in ("event", "batch"):
            raise ValueError(f"python observer {target}: calls must be event or batch, "
                             f"not {calls!r}")
        super().__init__()
        module, _, name = target.partition(":")
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        if inspect.isclass(obj):
            obj = obj(**dict(options or {}))
        self.target = target
        self._fn = obj
        self._batch = calls == "batch"
        self.dicts = not self._batch  # a batch is given the JSON, decoded if read
        self._async = inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
            getattr(obj, "__call__", None)  # noqa: B004 - an instance with async __call__
        )

    async def deliver(self, events: list[Any]) -> None:
        if not self._async:
            await super().deliver(events)
        elif self._batch:
            await self._fn(EventBatch(events))
        else:
            for d in events:
                await self._fn(d)

    def deliver_sync(self, events: list[Any]) -> None:
        fn = self._fn
        if self._batch:
            fn(EventBatch(events))
            return
        deque(map(fn, events), 0)  # a call per event, in order, with no loop of Python's


class EventBatch(Sequence[dict[str, Any]]):
    """The events of one delivery to a batch entry point, in order: each read as a dict
    of its own (decoded from its JSON when read: one C call); `json`, their JSON."""

    __slots__ = ("json",)

    def __init__(self, json: list[bytes]) -> None:
        self.json = json

    def __len__(self) -> int:
        return len(self.json)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return list(map(loads, self.json[i]))
        return loads(self.json[i])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(loads, self.json)


def sink_from_section(section: Mapping[str, Any]) -> Sink:
    kind = section.get("type")
    if kind == "webhook":
        secret = section.get("secret", "")
        if not secret and section.get("secret_env"):
            secret = os.environ.get(section["secret_env"], "")
        return Webhook(section["url"], secret, float(section.get("timeout", 5.0)))
    if kind == "audit":
        return AuditLog(section["path"])
    if kind == "python":
        return EntryPoint(section["entry_point"], section.get("options"),
                          str(section.get("calls", "event")))
    raise ValueError(f"unknown observer type {kind!r}: webhook, audit or python")

