"""The cancel-key registry: each live session's (pid, secret), for CancelRequest."""

from __future__ import annotations

import hmac
import itertools
import logging
import secrets
from typing import Protocol

log = logging.getLogger("pgproxy.wire")


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class CancelKeys:
    """Hands out BackendKeyData and finds whom a CancelRequest is for."""

    __slots__ = ("_live", "_pids")

    def __init__(self, first_pid: int = 10_000) -> None:
        self._pids = itertools.count(first_pid)
        self._live: dict[int, tuple[Cancellable, int]] = {}

    def register(self, target: Cancellable) -> tuple[int, int]:
        """A new (pid, secret) for `target`."""
        pid, secret = next(self._pids), secrets.randbits(31)
        self._live[pid] = (target, secret)
        return pid, secret

    def forget(self, pid: int, target: Cancellable) -> None:
        entry = self._live.get(pid)
        if entry is not None and entry[0] is target:
            del self._live[pid]

    def cancel(self, pid: int, secret: int) -> None:
        """Cancel `pid`'s running statement if `secret` is its own; otherwise nothing."""
        entry = self._live.get(pid)
        # Compare in constant time: the secret is what stops one client cancelling another's work.
        if entry is None or not hmac.compare_digest(entry[1].to_bytes(4), secret.to_bytes(4)):
            log.debug("cancel request for unknown backend %d ignored", pid)
            return
        entry[0].cancel()

    def __len__(self) -> int:
        return len(self._live)
