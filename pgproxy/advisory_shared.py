"""Advisory locks between worker processes: POSIX record locks on one file of the run directory.

Inside a process, pgproxy/advisory.py decides between sessions; a process that
holds a lock for any of its sessions also holds a byte of this file (the key's
hash is the offset): shared while its holders are all shared, exclusive once one
is not. Record locks are the kernel's, so a worker that dies drops its own.
Taking one never blocks the event loop: a lock another worker holds is retried
on a short timer while the session waits as for a local holder.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Hashable

POLL = 0.02  # seconds between tries at a lock another worker holds
_NONE, _SHARED, _EXCLUSIVE = 0, 1, 2


def path(rundir: str) -> str:
    return os.path.join(rundir, "advisory-locks")


class FileLocks:
    """This process's hold on each (backend, key) byte: none, shared or exclusive."""

    __slots__ = ("_fd", "_held")

    def __init__(self, rundir: str) -> None:
        # Never closed while the process lives: closing any descriptor of the file
        # would drop every record lock the process holds on it.
        self._fd = os.open(path(rundir), os.O_RDWR | os.O_CREAT, 0o600)
        self._held: dict[Hashable, int] = {}

    def hold(self, backend: str, key: Hashable, exclusive: bool) -> bool:
        """Make sure this process holds the key at least shared (or exclusive); False:
        another worker's hold is in the way."""
        want = _EXCLUSIVE if exclusive else _SHARED
        held = self._held.get((backend, key), _NONE)
        if held >= want:
            return True
        try:
            fcntl.lockf(
                self._fd,
                (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB,
                1,
                _offset(backend, key),
            )
        except OSError:  # EAGAIN / EACCES: held elsewhere in a conflicting mode
            return False
        self._held[(backend, key)] = want
        return True

    def settle(self, backend: str, key: Hashable, exclusive: bool | None) -> None:
        """The process's holders changed: keep exclusive, step down to shared (False) or
        let go (None)."""
        held = self._held.get((backend, key), _NONE)
        want = _NONE if exclusive is None else _EXCLUSIVE if exclusive else _SHARED
        if held == want or (held == _NONE and want != _NONE):
            return
        if want == _EXCLUSIVE:
            return  # only hold() takes a stronger lock, since it may be refused
        cmd = fcntl.LOCK_UN if want == _NONE else fcntl.LOCK_SH | fcntl.LOCK_NB
        fcntl.lockf(self._fd, cmd, 1, _offset(backend, key))  # a step down never conflicts
        if want == _NONE:
            del self._held[(backend, key)]
        else:
            self._held[(backend, key)] = want


def _offset(backend: str, key: Hashable) -> int:
    digest = hashlib.blake2b(repr((backend, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest) >> 2  # a positive off_t
