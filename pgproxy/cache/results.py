"""Results the cache hands the wire: a stored result replayed, and a live one recorded.

The cache stores what a hit replays: the DataRow frames the wire encoded of
the rows (each batch keeps its frames once its frontend encoded it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgproxy.cache.store import Entry
from pgproxy.results import Batch, PassThrough
from pgproxy.wire.described import row_description


def split_rows(data: bytes, n: int) -> int:
    """Byte offset just past the first `n` DataRow frames of `data`."""
    pos = 0
    for _ in range(n):
        pos += 1 + int.from_bytes(data[pos + 1 : pos + 5], "big")
    return pos


def described(entry: Entry, formats: list[int]) -> bytes:
    """The entry's RowDescription: on its first hit the one the wire encoded for its
    columns and formats already (wire/described.py: a statement's entries share it),
    then kept with the entry."""
    done = entry.described
    if done is None or done[0] != formats:
        done = entry.described = (list(formats), row_description(entry.columns, formats))
    return done[1]


class CachedResult:
    """A hit: the stored frames, written as they are, honouring Execute's row limit."""

    __slots__ = ("_batches", "_entry", "_head", "columns", "done", "hit")
    style = None  # its frames are encoded already

    def __init__(self, entry: Entry) -> None:
        self._entry = entry
        self._batches = entry.batches
        self._head = 0  # index of the next batch to send
        self.columns = entry.columns
        self.done = False
        self.hit = True

    @property
    def tag(self) -> str:
        return self._entry.tag

    @property
    def rows(self) -> int:
        return self._entry.rows

    def row_description(self, formats: list[int]) -> bytes:
        return described(self._entry, formats)

    async def fetch(self, max_rows: int) -> Batch:
        batches = self._batches
        out: list[bytes] = []
        sent = 0
        while self._head < len(batches):
            data, n = batches[self._head]
            if max_rows > 0 and sent + n > max_rows:
                if sent == 0:
                    # Split one batch; keep its tail as the next one (a copy, not the entry's list).
                    cut = split_rows(data, max_rows)
                    if self._batches is self._entry.batches:
                        self._batches = batches = list(batches)
                    batches[self._head] = (data[cut:], n - max_rows)
                    out.append(data[:cut])
                    sent = max_rows
                break
            out.append(data)
            sent += n
            self._head += 1
        if self._head >= len(batches):
            self.done = True
        return Batch([], b"".join(out) if len(out) != 1 else out[0], sent)

    async def close(self) -> None:
        self.done = True


class FillingResult(PassThrough):
    """A miss streamed to its client while its frames are kept, up to the size limit.

    A batch's frames are taken at the next fetch or at close, once its reader has
    encoded it. `finish(batches, size)` is called exactly once: with the frames
    when the result was read to its end within the limit, with None when it grew
    too large, failed, was closed early or read without being encoded; coalesced
    clients waiting on the same key learn the outcome through it.
    """

    __slots__ = ("_batches", "_finish", "_last", "_limit", "_size", "hit")

    def __init__(
        self,
        inner: Any,
        limit: int,
        finish: Callable[[list[tuple[bytes, int]] | None, int], None],
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._finish = finish
        self._batches: list[tuple[bytes, int]] | None = []
        self._last: Batch | None = None
        self._size = 0
        self.hit = False

    @property
    def rows(self) -> int:
        return self._inner.rows

    async def fetch(self, max_rows: int) -> Batch:
        self._keep()
        try:
            batch = await self._inner.fetch(max_rows)
        except BaseException:
            self._end(None)
            raise
        if self._batches is not None:
            self._last = batch
        return batch

    def _keep(self) -> None:
        """The last batch's frames into the recording, now that its reader encoded it."""
        last, self._last = self._last, None
        if last is None or self._batches is None:
            return
        data = last.frames
        if data is None and last.rows:  # read as rows only: nothing a hit could replay
            self._end(None)
        elif data:
            self._size += len(data)
            if self._size > self._limit:
                self._end(None)
            else:
                self._batches.append((data, last.count))

    async def close(self) -> None:
        self._keep()
        self._end(self._batches if self._inner.done else None)
        await self._inner.close()

    def _end(self, batches: list[tuple[bytes, int]] | None) -> None:
        if self._batches is not None:
            self._batches = None
            self._finish(batches, self._size)
