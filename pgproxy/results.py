"""Results as the wire streams them: columns, encoded DataRow batches, a command tag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pgproxy.backends.base import Column, Cursor
from pgproxy.wire.codecs import Style, row_encoder
from pgproxy.wire.messages import formats_for

DEFAULT_BATCH = 2000

RowEncoder = Callable[[list[tuple[Any, ...]]], bytes]


def command_tag(verb: str, rows: int) -> str:
    """CommandComplete text exactly as PostgreSQL writes it."""
    if verb == "INSERT":
        return f"INSERT 0 {rows}"
    if verb in ("SELECT", "UPDATE", "DELETE", "MERGE", "FETCH", "MOVE", "COPY"):
        return f"{verb} {rows}"
    return verb


_ENCODERS: dict[tuple[Any, ...], RowEncoder] = {}


def encoder_for(
    columns: Sequence[Column] | None, formats: Sequence[int], style: Style | None = None
) -> RowEncoder | None:
    """The batch encoder for these column types, formats and date/time Style, built once each."""
    if columns is None:
        return None
    key = (tuple(c.type_oid for c in columns), tuple(formats), style)
    encoder = _ENCODERS.get(key)
    if encoder is None:
        if len(_ENCODERS) > 4096:  # bound the table; the combinations in use come back
            _ENCODERS.clear()
        encoder = _ENCODERS[key] = row_encoder(
            key[0], formats_for(formats, len(columns)), style=style
        )
    return encoder


class RowsResult:
    """Rows the proxy computed itself (SHOW, settings, version()); also a plain tag."""

    __slots__ = ("_encode", "_rows", "_verb", "columns", "done", "notices")

    def __init__(
        self,
        verb: str,
        columns: Sequence[Column] | None = None,
        rows: Sequence[tuple[Any, ...]] = (),
        formats: Sequence[int] = (),
        style: Style | None = None,
    ) -> None:
        self.columns = columns
        self._verb = verb
        self._rows = list(rows)
        self._encode = encoder_for(columns, formats, style)
        self.done = columns is None
        self.notices: tuple[str, ...] = ()  # NoticeResponses sent before CommandComplete

    @property
    def tag(self) -> str:
        return command_tag(self._verb, len(self._rows)) if self.columns is not None else self._verb

    async def fetch(self, max_rows: int) -> tuple[bytes, int]:
        self.done = True
        if self._encode is None or not self._rows:
            return b"", 0
        return self._encode(self._rows), len(self._rows)

    async def close(self) -> None:
        self.done = True


class BackendResult:
    """A backend cursor streamed in batches; each batch is fetched and encoded off the loop.

    The first rows arrive with the execute call itself (one thread hop for a
    small query) and are served before the cursor is asked again.
    """

    __slots__ = (
        "_closed",
        "_cursor",
        "_encode",
        "_exhausted",
        "_on_done",
        "_prefetched",
        "_run",
        "_verb",
        "columns",
        "done",
        "notices",
        "rows",
        "style",
    )

    def __init__(
        self,
        verb: str,
        cursor: Cursor,
        prefetched: list[tuple[Any, ...]],
        exhausted: bool,
        formats: Sequence[int],
        run: Callable[..., Awaitable[Any]],
        on_done: Callable[[BackendResult], None] | None = None,
        closed: bool = False,
        style: Style | None = None,
    ) -> None:
        self._verb = verb
        self._cursor = cursor
        self.columns = cursor.columns
        self.style = style  # the session's date/time Style, for a cursor's FETCH to encode with
        self._encode = encoder_for(self.columns, formats, style)
        self._prefetched = prefetched
        self._exhausted = exhausted  # the cursor has nothing beyond the prefetched rows
        self._run = run
        self._on_done = on_done
        self._closed = closed  # the worker already closed an exhausted cursor
        self.rows = 0
        self.done = False
        self.notices: tuple[str, ...] = ()  # NoticeResponses sent before CommandComplete
        if self.columns is None:
            self._finish()

    @property
    def tag(self) -> str:
        if self.columns is None:
            return command_tag(self._verb, max(self._cursor.rowcount, 0))
        return command_tag(self._verb, self.rows)

    def encode_with(self, encode: RowEncoder) -> None:
        """Encode batches with `encode` instead of as DataRows (COPY TO's CopyData)."""
        self._encode = encode

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            if self._on_done is not None:
                self._on_done(self)

    async def fetch(self, max_rows: int) -> tuple[bytes, int]:
        encode = self._encode
        if self.done or encode is None:
            self._finish()
            return b"", 0
        want = max_rows if max_rows > 0 else DEFAULT_BATCH
        pre = self._prefetched
        if pre:
            if len(pre) > want:
                batch, self._prefetched = pre[:want], pre[want:]
            else:
                batch, self._prefetched = pre, []
                if self._exhausted:
                    self._finish()
            self.rows += len(batch)
            return encode(batch), len(batch)
        if self._exhausted:
            self._finish()
            return b"", 0
        data, n = await self._run(self._fetch_encoded, want)
        self.rows += n
        if n < want:
            self._finish()
        return data, n

    async def fetch_rows(self, want: int) -> list[tuple[Any, ...]]:
        """Up to `want` rows as Python values, for a cursor's FETCH to encode itself."""
        if self.done:
            return []
        pre = self._prefetched
        if pre:
            batch, self._prefetched = pre[:want], pre[want:]
            if not self._prefetched and self._exhausted:
                self._finish()
            self.rows += len(batch)
            return batch
        if self._exhausted:
            self._finish()
            return []
        rows = await self._run(self._cursor.fetch, want)
        self.rows += len(rows)
        if len(rows) < want:
            self._finish()
        return rows

    def _fetch_encoded(self, want: int) -> tuple[bytes, int]:
        rows = self._cursor.fetch(want)
        if len(rows) < want:
            # Exhausted: close here, in the worker, so close() needs no second thread hop.
            self._cursor.close()
            self._closed = True
        assert self._encode is not None
        return (self._encode(rows) if rows else b""), len(rows)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finish()
        await self._run(self._cursor.close)


class PassThrough:
    """A result wrapped by a stage (cache fill, observer watch): the inner result's face."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def columns(self) -> Any:
        return self._inner.columns

    @property
    def done(self) -> bool:
        return self._inner.done

    @property
    def tag(self) -> str:
        return self._inner.tag

    @property
    def copy(self) -> Any:
        """The COPY the inner result is (pgproxy.copy.stage), if it is one."""
        return getattr(self._inner, "copy", None)

    def row_description(self, formats: list[int]) -> bytes | None:
        """The inner result's encoded RowDescription, if it keeps one (a cache hit)."""
        inner = getattr(self._inner, "row_description", None)
        return inner(formats) if inner is not None else None
