"""The cancel-key registry: each live session's (pid, secret), for CancelRequest.

With several worker processes (pgproxy/supervisor.py) the pid carries the
worker id in its high bits, so a CancelRequest that the kernel hands to
another worker is forwarded to the owner (wire/peers.py), as PgBouncer's
peering forwards it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("pgproxy.wire")

WORKER_SHIFT = 24  # pid = worker << 24 | serial: 64 workers keep the pid a positive int32
_SERIALS = 1 << WORKER_SHIFT


def worker_of(pid: int) -> int:
    """The worker process a BackendKeyData pid was handed out by."""
    return pid >> WORKER_SHIFT


def _bytes(secret: int) -> bytes:
    return secret.to_bytes(4, signed=True)  # a client's secret is any int32


class Cancellable(Protocol):
    def cancel(self) -> None: ...


# (worker, pid, secret): hand a CancelRequest to the worker that owns the pid.
Forward = Callable[[int, int, int], None]


class CancelKeys:
    """Hands out BackendKeyData and finds whom a CancelRequest is for."""

    __slots__ = ("_live", "_serial", "forward", "worker")

    def __init__(self, first_pid: int = 10_000, worker: int = 0) -> None:
        self.worker = worker
        self.forward: Forward | None = None  # set when there are other workers
        self._serial = first_pid - 1
        self._live: dict[int, tuple[Cancellable, int]] = {}

    def register(self, target: Cancellable) -> tuple[int, int]:
        """A new (pid, secret) for `target`."""
        while True:
            # Serials wrap after 16M sessions; a pid still live is skipped.
            self._serial = (self._serial + 1) % _SERIALS or 1
            pid = self.worker << WORKER_SHIFT | self._serial
            if pid not in self._live:
                break
        secret = secrets.randbits(31)
        self._live[pid] = (target, secret)
        return pid, secret

    def forget(self, pid: int, target: Cancellable) -> None:
        entry = self._live.get(pid)
        if entry is not None and entry[0] is target:
            del self._live[pid]

    def cancel(self, pid: int, secret: int, *, forwarded: bool = False) -> None:
        """Cancel `pid`'s running statement if `secret` is its own; otherwise nothing.

        A pid of another worker goes to that worker, once (`forwarded` stops a loop)."""
        owner = worker_of(pid)
        if owner != self.worker and not forwarded and self.forward is not None:
            log.debug("cancel request for backend %d forwarded to worker %d", pid, owner)
            self.forward(owner, pid, secret)
            return
        entry = self._live.get(pid)
        # Compare in constant time: the secret is what stops one client cancelling another's work.
        if entry is None or not hmac.compare_digest(_bytes(entry[1]), _bytes(secret)):
            log.debug("cancel request for unknown backend %d ignored", pid)
            return
        entry[0].cancel()

    def __len__(self) -> int:
        return len(self._live)
