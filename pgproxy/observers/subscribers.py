"""Where events go: a webhook, an audit log, a Python entry point. Each delivers one batch."""

from __future__ import annotations

import abc
import asyncio
import hashlib
import hmac
import http.client
import importlib
import inspect
import os
import urllib.parse
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pgproxy.observers.events import Event, json_of

SIGNATURE_HEADER = "X-Pgproxy-Signature"


class DeliveryError(Exception):
    """A batch was not taken; the bus retries, then dead-letters it."""


class Sink(abc.ABC):
    """One subscriber's way out. `deliver` raises on failure; the bus owns retries and order."""

    kind = "sink"
    # Whether it sends the events' JSON: then the bus makes it on the loop, in the batch,
    # so that a sink's thread does not hold the GIL the statement path is waiting for.
    json = False

    def __init__(self) -> None:
        # One thread per sink: blocking I/O stays off the event loop, and one
        # thread keeps a sink's batches in order.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"pgproxy-{self.kind}")

    async def deliver(self, events: list[Event]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self.deliver_sync, events)

    @abc.abstractmethod
    def deliver_sync(self, events: list[Event]) -> None:
        """Deliver one batch, blocking; raise to have the bus retry it."""

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


class Webhook(Sink):
    """HTTP POST of a JSON array of events, signed with HMAC-SHA256 over the body when a
    secret is configured (a signature anyone can make without one vouches for nothing,
    and hashing every body costs more than building its events)."""

    kind = "webhook"
    json = True

    def __init__(self, url: str, secret: str = "", timeout: float = 5.0) -> None:
        super().__init__()
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"webhook url must be http or https: {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._secret = secret.encode()
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def deliver_sync(self, events: list[Event]) -> None:
        # One copy of the batch's JSON: the brackets join the first and last event's
        # (b"[" + … + b"]" around the joined body copied all of it twice more).
        parts = json_of(events)
        if parts:
            parts[0] = b"[" + parts[0]
            parts[-1] += b"]"
        body = b",".join(parts) if parts else b"[]"
        headers = {"Content-Type": "application/json", "X-Pgproxy-Event-Count": str(len(events))}
        if self._secret:
            headers[SIGNATURE_HEADER] = self.sign(body)
        try:
            conn = self._conn
            if conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                conn = self._conn = cls(self._host, self._port, timeout=self.timeout)
            conn.request("POST", self._path, body, headers)
            response = conn.getresponse()
            response.read()
            if response.will_close:
                self._drop_connection()
        except (OSError, http.client.HTTPException) as exc:
            self._drop_connection()
            raise DeliveryError(f"POST {self.url}: {exc!r}") from None
        if not 200 <= response.status < 300:
            raise DeliveryError(f"POST {self.url}: HTTP {response.status} {response.reason}")

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        super().close()
        self._drop_connection()


class AuditLog(Sink):
    """Appends each event as one JSON line."""

    kind = "audit"
    json = True

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        # Kept open, unbuffered: a batch is one write(2) at the end of the file, so the
        # lines of several worker processes (--workers) never interleave mid-line.
        self._file = open(path, "ab", buffering=0)

    def deliver_sync(self, events: list[Event]) -> None:
        parts = json_of(events)
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
    """`package.module:name`: a callable taking one event dict, or a class built with options.

    A coroutine function runs on the event loop; anything else in the sink's thread.
    """

    kind = "python"

    def __init__(self, target: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        module, _, name = target.partition(":")
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        if inspect.isclass(obj):
            obj = obj(**dict(options or {}))
        self.target = target
        self._fn = obj
        self._async = inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
            getattr(obj, "__call__", None)  # noqa: B004 - an instance with async __call__
        )

    async def deliver(self, events: list[Event]) -> None:
        if not self._async:
            await super().deliver(events)
            return
        for e in events:
            await self._fn(e.fields.copy())

    def deliver_sync(self, events: list[Event]) -> None:
        fn = self._fn
        for e in events:
            fn(e.fields.copy())  # a dict of its own (to_dict), without a call for it


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
        return EntryPoint(section["entry_point"], section.get("options"))
    raise ValueError(f"unknown observer type {kind!r}: webhook, audit or python")

