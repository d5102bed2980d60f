"""Results as the core yields them: columns, batches of rows, a command tag.

A frontend encodes the rows (the wire as DataRow frames, pgproxy/wire/batches.py);
a batch may arrive already encoded (a cache hit replays its frames, COPY TO
sends CopyData), and keeps the frames its frontend made of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from operator import attrgetter
from typing import Any

from pgproxy.backends.base import Column, Cursor
from pgproxy.errors import ProgramLimitExceeded

DEFAULT_BATCH = 2000
# The least rows a client's request (FETCH n, Execute's row limit) must have asked for
# to have the backend read as many more ahead (BackendResult.read_ahead): psycopg's
# default itersize; fewer are not worth a thread's hand-off.
AHEAD_MIN = 100

Row = tuple[Any, ...]


def command_tag(verb: str, rows: int) -> str:
    """CommandComplete text exactly as PostgreSQL writes it."""
    if verb == "INSERT":
        return f"INSERT 0 {rows}"
    if verb in ("SELECT", "UPDATE", "DELETE", "MERGE", "FETCH", "MOVE", "COPY"):
        return f"{verb} {rows}"
    return verb


class Batch:
    """Up to a fetch's worth of a result's rows; `frames` once encoded (or only frames:
    a cache hit's replay, COPY TO's CopyData), `count` rows either way."""

    __slots__ = ("count", "frames", "rows")

    def __init__(self, rows: list[Row], frames: bytes | None = None, count: int = -1) -> None:
        self.rows = rows
        self.frames = frames
        self.count = len(rows) if count < 0 else count


def no_rows() -> Batch:
    return Batch([], b"", 0)


class RowsResult:
    """Rows the proxy computed itself (SHOW, settings, version()); also a plain tag."""

    __slots__ = ("_rows", "_verb", "columns", "done", "notices", "style")

    def __init__(
        self,
        verb: str,
        columns: Sequence[Column] | None = None,
        rows: Sequence[Row] = (),
        style: Any = None,
    ) -> None:
        self.columns = columns
        self._verb = verb
        self._rows = list(rows)
        self.style = style  # the date/time Style its values are to be written in
        self.done = columns is None
        self.notices: tuple[str, ...] = ()  # NoticeResponses sent before CommandComplete

    @property
    def tag(self) -> str:
        return command_tag(self._verb, len(self._rows)) if self.columns is not None else self._verb

    async def fetch(self, max_rows: int) -> Batch:
        self.done = True
        return Batch(self._rows) if self.columns is not None else no_rows()

    async def close(self) -> None:
        self.done = True


class BackendResult:
    """A backend cursor streamed in batches, each fetched off the loop.

    The first rows arrive with the execute call itself (one thread hop for a
    small query) and are served before the cursor is asked again.
    """

    __slots__ = (
        "_closed",
        "_cursor",
        "_exhausted",
        "_on_done",
        "_prefetched",
        "_run",
        "columns",
        "done",
        "held",
        "notices",
        "rows",
        "style",
        "verb",
        "watch",
    )

    def __init__(
        self,
        verb: str,
        cursor: Cursor,
        prefetched: list[Row],
        exhausted: bool,
        run: Callable[..., Awaitable[Any]],
        on_done: Callable[[BackendResult], None] | None = None,
        closed: bool = False,
        style: Any = None,
    ) -> None:
        self.verb = verb  # the command tag's: "SELECT" in "SELECT 3"
        self._cursor = cursor
        self.columns = cursor.columns
        self.style = style  # the session's date/time Style when it ran, to write values in
        self._prefetched = prefetched
        self._exhausted = exhausted  # the cursor has nothing beyond the prefetched rows
        self._run = run
        self._on_done = on_done
        self._closed = closed  # the worker already closed an exhausted cursor
        self.rows = 0
        self.done = False
        self.held = False  # a suspended portal's: it outlives the statements run meanwhile
        self.notices: tuple[str, ...] = ()  # NoticeResponses sent before CommandComplete
        # An observer's `(report, a, b, c)`, told `report(a, b, c, self)` once, when the
        # result ends (done, or closed first): a settled result needs no wrapper.
        self.watch: tuple[Callable[..., None], Any, Any, Any] | None = None
        if self.columns is None:
            self._finish()

    @property
    def tag(self) -> str:
        if self.columns is None:
            return command_tag(self.verb, max(self._cursor.rowcount, 0))
        return command_tag(self.verb, self.rows)

    # Every row is here already (the cursor had no more): a fetch does no I/O and cannot
    # fail (the observers' watch need not wrap it). A C getter: no frame.
    settled = property(attrgetter("_exhausted"))

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            if self._on_done is not None:
                self._on_done(self)
            watch = self.watch
            if watch is not None:  # (_watched inlined: a point query's usual end)
                self.watch = None
                watch[0](watch[1], watch[2], watch[3], self)

    def _watched(self) -> None:
        report, a, b, c = self.watch  # type: ignore[misc]
        self.watch = None
        report(a, b, c, self)

    async def fetch(self, max_rows: int) -> Batch:
        want = max_rows if max_rows > 0 else DEFAULT_BATCH
        pre = self._prefetched
        if pre and self._exhausted and len(pre) <= want:
            # The whole result came with the execute call (a point query): the hot path.
            self._prefetched = []
            self.rows += len(pre)
            self._finish()
            return Batch(pre)
        return Batch(await self.fetch_rows(want))

    async def fetch_rows(self, want: int) -> list[Row]:
        """Up to `want` rows (fewer only at the end)."""
        if self.done:
            return []
        pre = self._prefetched
        if pre:
            if len(pre) > want:
                batch, self._prefetched = pre[:want], pre[want:]
            else:
                batch, self._prefetched = pre, []
                if self._exhausted:
                    self._finish()
            self.rows += len(batch)
            return batch
        if self._exhausted:
            self._finish()
            return []
        ready = getattr(self._cursor, "ready", None)  # rows read ahead: no hand-off
        rows = ready(want) if ready is not None else None
        if rows is None:
            rows = await self._run(self._fetch, want)
        elif len(rows) < want:  # the end, read ahead: closed (in a worker) before it is done
            self._closed = True
            await self._run(self._cursor.close)
        self.rows += len(rows)
        if len(rows) < want:
            self._finish()
        return rows

    def read_ahead(self, want: int) -> None:
        """The client has what it asked for and will likely ask for `want` rows more: a
        cursor that can (SQLite's) reads them in the background meanwhile."""
        if want < AHEAD_MIN or self.done or self._exhausted or len(self._prefetched) >= want:
            return
        ahead = getattr(self._cursor, "read_ahead", None)
        if ahead is not None:
            ahead(want - len(self._prefetched))

    def suspended(self, want: int) -> None:
        """Its portal stopped at its row limit (PortalSuspended): the client may run other
        statements before it asks for (likely) `want` rows more."""
        self.held = True
        self.read_ahead(want)

    async def spill(self, limit: int) -> None:
        """Read the rest of the rows into the proxy and close the cursor, so that another
        statement can run on a connection that keeps one result open at a time while a
        suspended portal keeps its place. More than `limit` rows: 54000, closed."""
        rows = self._prefetched
        while not self._exhausted:
            batch = await self._run(self._fetch, DEFAULT_BATCH)
            rows = rows + batch if rows else batch
            self._exhausted = len(batch) < DEFAULT_BATCH
            if len(rows) > limit:
                self._prefetched = []
                await self.close()
                raise ProgramLimitExceeded(
                    f"a suspended portal would keep more than {limit} rows in pgproxy",
                    hint="On this backend another statement can run only once an open "
                    "portal's rows are read: fetch them first, or use a cursor WITH HOLD.",
                )
        self._prefetched = rows

    def _fetch(self, want: int) -> list[Row]:
        rows = self._cursor.fetch(want)
        if len(rows) < want:
            # Exhausted: close here, in the worker, so close() needs no second thread hop.
            self._cursor.close()
            self._closed = True
        return rows

    async def close(self) -> None:
        if self._closed:
            if self.watch is not None:  # closed before its end (a portal left part way)
                self._watched()
            return
        self._closed = True
        try:
            await self._run(self._cursor.close)
        finally:
            # After the close: a pooled connection may go to another session once done.
            self._finish()


class PassThrough:
    """A result wrapped by a stage (cache fill, observer watch): the inner result's face."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def inner(self) -> Any:
        return self._inner

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
    def style(self) -> Any:
        return self._inner.style

    @property
    def notices(self) -> tuple[str, ...]:
        """The inner result's NOTICEs (a DDL's ignored options): a watched result sends them."""
        return getattr(self._inner, "notices", ())

    @property
    def copy(self) -> Any:
        """The COPY the inner result is (pgproxy.copy.stage), if it is one."""
        return getattr(self._inner, "copy", None)

    @property
    def held(self) -> bool:
        return getattr(self._inner, "held", False)

    def suspended(self, want: int) -> None:
        inner = getattr(self._inner, "suspended", None)
        if inner is not None:
            inner(want)

    def spill(self, limit: int) -> Awaitable[None]:
        return self._inner.spill(limit)

    def row_description(self, formats: list[int]) -> bytes | None:
        """The inner result's encoded RowDescription, if it keeps one (a cache hit)."""
        inner = getattr(self._inner, "row_description", None)
        return inner(formats) if inner is not None else None
