"""The workers' shared invalidation log: what one worker's writes made stale, for the others.

A small file in the supervisor's run directory, mapped by every worker: per
worker a ring of table codes (a CRC of the table's name; EVERYTHING for all
tables) and a head counter that only that worker writes, so no lock is
needed. A write publishes its tables before its CommandComplete is sent; every
other worker compares the heads on each cache lookup (one slice compare) and
drops what the new codes name before it answers. A worker that falls a whole
ring behind drops everything.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from functools import lru_cache

RING = 4096  # codes per worker
EVERYTHING = 0xFFFFFFFF
_MAGIC = b"pgpxinv1"
_HEAD = 16  # magic, worker count
_ROW = RING * 4


def path(rundir: str) -> str:
    return os.path.join(rundir, "cache-invalidation")


def create(rundir: str, workers: int) -> None:
    """The supervisor's part: an empty log for `workers` workers."""
    with open(path(rundir), "wb") as f:
        f.write(_MAGIC + struct.pack("<Q", workers) + bytes(8 * workers + _ROW * workers))


@lru_cache(maxsize=8192)
def code(table: str) -> int:
    """A table name's code: the same in every worker (str hashes are per process)."""
    return zlib.crc32(table.encode()) & 0x7FFFFFFF


class SharedLog:
    """One worker's view of the log: publish its own codes, read the others'."""

    __slots__ = ("_codes", "_heads", "_map", "_seen", "_span", "worker", "workers")

    def __init__(self, rundir: str, worker: int) -> None:
        fd = os.open(path(rundir), os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, 0)
        finally:
            os.close(fd)
        if self._map[:8] != _MAGIC:
            raise ValueError(f"{path(rundir)} is not a pgproxy invalidation log")
        self.workers = struct.unpack_from("<Q", self._map, 8)[0]
        self.worker = worker
        self._span = slice(_HEAD, _HEAD + 8 * self.workers)
        view = memoryview(self._map)
        self._heads = view[self._span].cast("Q")
        self._codes = view[self._span.stop :].cast("I")
        self._seen = self._map[self._span]  # the heads as this worker last read them

    def pending(self) -> bool:
        """True if another worker published since the last changes()."""
        return self._map[self._span] != self._seen

    def publish(self, codes: list[int]) -> None:
        mine = self.worker
        head = self._heads[mine]
        base = mine * RING
        for c in codes:
            self._codes[base + head % RING] = c
            head += 1
        # The codes first, then the head: a reader that sees the head sees them.
        self._heads[mine] = head
        self._seen = self._seen[: 8 * mine] + struct.pack("<Q", head) + self._seen[8 * mine + 8 :]

    def changes(self) -> set[int]:
        """The codes the other workers published since the last call ({EVERYTHING}: all)."""
        now = list(struct.unpack(f"<{self.workers}Q", self._seen))
        out: set[int] = set()
        for w in range(self.workers):
            head, last = self._heads[w], now[w]
            if head == last or w == self.worker:
                now[w] = head
                continue
            now[w] = head
            if head - last > RING:
                out.add(EVERYTHING)
                continue
            base = w * RING
            out.update(self._codes[base + i % RING] for i in range(last, head))
            if self._heads[w] - last > RING:  # lapped while reading: the codes are unsure
                out.add(EVERYTHING)
        self._seen = struct.pack(f"<{self.workers}Q", *now)
        return out
