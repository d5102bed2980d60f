"""SQL-level cursors: DECLARE, FETCH, MOVE and CLOSE, kept by the proxy.

None of the backends has PostgreSQL's named cursors, yet psycopg's
server-side cursors and pgjdbc use them to read large results in pieces. The
proxy runs the cursor's query on the backend once (with the DECLARE's bound
parameters) and keeps its streamed result open; each FETCH takes rows from it.

A cursor declared without SCROLL only moves forward and keeps no rows, so its
memory stays flat whatever the result size; a backward move is refused with
55000 as PostgreSQL refuses it for NO SCROLL cursors. A SCROLL cursor keeps
the rows it has read, so any FETCH direction can be served; it, and a WITH HOLD
cursor at COMMIT (PostgreSQL materialises those too), and an open cursor whose
backend cannot keep a result open while other statements run (MySQL), hold at
most KEPT_ROWS rows in memory: past that, a clear 54000.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pgproxy import errors
from pgproxy.results import Batch, RowsResult, command_tag, no_rows

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pgproxy.results import BackendResult

# Rows a cursor may keep in the proxy's memory (SCROLL, WITH HOLD after COMMIT, spilled).
KEPT_ROWS = 200_000
_BATCH = 2000  # rows read from the backend per hop when a FETCH gives no limit
_ALL = 1 << 62

_NAME = r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_DECLARE = re.compile(
    rf"^\s*DECLARE\s+{_NAME}\s+((?:BINARY|ASENSITIVE|INSENSITIVE|NO\s+SCROLL|SCROLL|\s)*)"
    r"CURSOR\s+(?:(WITH|WITHOUT)\s+HOLD\s+)?FOR\s+(.*?)\s*;?\s*$",
    re.I | re.S,
)
_COUNT = r"[+-]?\d+"
_DIRECTION = (
    rf"NEXT|PRIOR|FIRST|LAST|ABSOLUTE\s+{_COUNT}|RELATIVE\s+{_COUNT}|ALL|"
    rf"FORWARD\s+ALL|FORWARD\s+{_COUNT}|FORWARD|BACKWARD\s+ALL|BACKWARD\s+{_COUNT}|BACKWARD|"
    rf"{_COUNT}"
)
_FETCH = re.compile(
    rf"^\s*(FETCH|MOVE)\s+(?:({_DIRECTION})\s+)?(?:(?:FROM|IN)\s+)?{_NAME}\s*;?\s*$",
    re.I | re.S,
)
_CLOSE = re.compile(rf"^\s*CLOSE\s+(ALL|{_NAME})\s*;?\s*$", re.I | re.S)


def _ident(name: str) -> str:
    if name.startswith('"'):
        return name[1:-1].replace('""', '"')
    return name.lower()


@dataclass(slots=True)
class Declare:
    name: str
    query: str
    binary: bool
    hold: bool
    scroll: bool


@dataclass(slots=True, frozen=True)
class Move:
    """One FETCH/MOVE: `step` rows forward (negative: backward), or to row `target`.

    target counts from 1; a negative target counts from the end (-1 is LAST),
    0 is before the first row. `relative` targets count from the position.
    """

    verb: str
    name: str
    step: int | None = None
    target: int | None = None
    relative: bool = False


def parse_declare(sql: str) -> Declare:
    match = _DECLARE.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in DECLARE CURSOR")
    options = " ".join(match.group(2).upper().split())
    return Declare(
        _ident(match.group(1)),
        match.group(4),
        "BINARY" in options,
        (match.group(3) or "").upper() == "WITH",
        "SCROLL" in options and "NO SCROLL" not in options,
    )


def parse_fetch(sql: str) -> Move:
    match = _FETCH.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in FETCH or MOVE")
    verb, name = match.group(1).upper(), _ident(match.group(3))
    words = (match.group(2) or "NEXT").upper().split()
    head, arg = words[0], words[1] if len(words) > 1 else None
    count = _ALL if arg == "ALL" else int(arg) if arg is not None else 1
    if head in ("NEXT", "FORWARD"):
        return Move(verb, name, step=count)
    if head == "ALL":
        return Move(verb, name, step=_ALL)
    if head in ("PRIOR", "BACKWARD"):
        return Move(verb, name, step=-count)
    if head == "FIRST":
        return Move(verb, name, target=1)
    if head == "LAST":
        return Move(verb, name, target=-1)
    if head == "ABSOLUTE":
        return Move(verb, name, target=count)
    if head == "RELATIVE":
        return Move(verb, name, target=count, relative=True)
    return Move(verb, name, step=int(head))  # FETCH 5, FETCH -5


def parse_close(sql: str) -> str | None:
    """The cursor name, or None for CLOSE ALL."""
    match = _CLOSE.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in CLOSE")
    return None if match.group(1).upper() == "ALL" else _ident(match.group(1))


def _forward_only() -> errors.PgError:
    return errors.ObjectNotInPrerequisiteState(
        "cursor can only scan forward",
        hint="Declare it with SCROLL option to enable backward scan.",
    )


class OpenCursor:
    """A declared cursor: its backend result, the rows it keeps, and its position.

    `kept` holds rows `first` .. `first + len(kept) - 1` (row numbers count from
    1). A SCROLL cursor keeps every row read (first stays 1); a forward-only one
    keeps only rows read ahead of its position (after a spill).
    """

    __slots__ = (
        "binary",
        "columns",
        "created",
        "declared_in_tx",
        "first",
        "hold",
        "kept",
        "name",
        "pos",
        "read",
        "scroll",
        "source",
        "statement",
        "style",
    )

    def __init__(
        self,
        name: str,
        statement: str,
        source: BackendResult,
        declare: Declare,
        in_transaction: bool,
    ) -> None:
        self.name = name
        self.statement = statement
        self.source: BackendResult | None = source
        self.columns = source.columns or []
        self.style = source.style
        self.hold = declare.hold
        self.binary = declare.binary
        self.scroll = declare.scroll
        self.declared_in_tx = in_transaction
        self.created = time.time()
        self.kept: list[tuple[Any, ...]] = []
        self.first = 1
        self.read = 0  # rows taken from the backend so far
        self.pos = 0  # 0: before the first row; read + 1 at most: after the last

    @property
    def exhausted(self) -> bool:
        return self.source is None or self.source.done

    async def _read(self, want: int) -> list[tuple[Any, ...]]:
        if self.exhausted or want <= 0:
            return []
        assert self.source is not None
        rows = await self.source.fetch_rows(want)
        self.read += len(rows)
        if self.source.done:
            await self.source.close()
            self.source = None
        return rows

    def _keep(self, rows: list[tuple[Any, ...]]) -> None:
        if len(self.kept) + len(rows) > KEPT_ROWS:
            raise errors.ProgramLimitExceeded(
                f'cursor "{self.name}" would keep more than {KEPT_ROWS} rows in pgproxy',
                hint="Scrollable and WITH HOLD cursors (and, on this backend, cursors left "
                "open while other statements run) keep their rows in the proxy; read "
                "large results with a forward-only cursor in its own transaction.",
            )
        self.kept.extend(rows)

    async def spill(self) -> None:
        """Read the rest of the backend result into memory (bounded), releasing it."""
        while not self.exhausted:
            self._keep(await self._read(_BATCH))

    async def _row_count(self) -> int:
        await self.spill()
        return self.read

    async def take(self, count: int) -> list[tuple[Any, ...]]:
        """Up to `count` rows after the position, moving it past them."""
        out: list[tuple[Any, ...]] = []
        while len(out) < count:
            index = self.pos + 1 - self.first  # the next row's index in `kept`
            if 0 <= index < len(self.kept):
                batch = self.kept[index : index + count - len(out)]
            else:
                batch = await self._read(min(count - len(out), _BATCH))
                if not batch:
                    break
                if self.scroll:
                    self._keep(batch)
            out.extend(batch)
            self.pos += len(batch)
            if not self.scroll:  # forward-only: rows behind the position are dropped
                drop = self.pos + 1 - self.first
                del self.kept[:drop]
                self.first += drop
        if len(out) < count:
            self.pos = self.read + 1
        return out

    async def back(self, count: int) -> list[tuple[Any, ...]]:
        """Up to `count` rows before the position, nearest first (a SCROLL cursor's)."""
        if self.pos > self.read:
            await self.spill()  # after the last row: its number is the row count + 1
            self.pos = self.read + 1
        start = max(self.pos - count, 1)
        out = self.kept[start - 1 : max(self.pos - 1, 0)][::-1]
        self.pos = start if len(out) == count else 0
        return out

    def check(self, move: Move) -> None:
        """55000 for a move a forward-only cursor cannot make (before it moves at all)."""
        if self.scroll:
            return
        if move.step is not None:
            backward = move.step < 0
        else:
            assert move.target is not None
            target = move.target + self.pos if move.relative else move.target
            backward = (not move.relative and move.target < 0) or target < self.pos or (
                target == self.pos and target > 0)
        if backward:
            raise _forward_only()

    async def goto(self, target: int, relative: bool) -> list[tuple[Any, ...]]:
        """ABSOLUTE / RELATIVE / FIRST / LAST: the one row there, if any."""
        if relative:
            if self.pos > self.read and target < 0:
                await self.spill()
                self.pos = self.read + 1
            target += self.pos
            if target < 0:
                target = 0
        elif target < 0:
            target = max(await self._row_count() + 1 + target, 0)
        if target == 0:
            self.pos = 0
            return []
        if target > self.pos:
            if target - self.pos > 1:
                await self.take(target - self.pos - 1)
                if self.pos != target - 1:
                    return []  # ran off the end
            return await self.take(1)
        self.pos = target  # a SCROLL cursor, at or before the position
        return self.kept[target - 1 : target]


class FetchResult:
    """The rows one FETCH or MOVE takes from a cursor.

    A forward FETCH streams: each protocol fetch reads the next batch from the
    backend, so FETCH ALL of a forward-only cursor keeps nothing in memory.
    """

    __slots__ = ("_cursor", "_move", "_pending", "_remaining", "columns", "done", "rows", "style")

    def __init__(self, move: Move, cursor: OpenCursor) -> None:
        self._move = move
        self._cursor = cursor
        self.columns = cursor.columns if move.verb == "FETCH" else None
        self.style = cursor.style
        self._remaining = move.step if move.step is not None and move.step > 0 else 0
        self._pending: list[tuple[Any, ...]] | None = None  # a backward or positioned answer
        self.rows = 0
        self.done = False

    @property
    def tag(self) -> str:
        return command_tag(self._move.verb, self.rows)

    async def _rows(self, want: int) -> list[tuple[Any, ...]]:
        move, cursor = self._move, self._cursor
        if self._pending is None and not self._remaining:
            if move.step is not None and move.step < 0:  # a SCROLL cursor's (check())
                self._pending = await cursor.back(-move.step)
            elif move.target is not None:
                self._pending = await cursor.goto(move.target, move.relative)
            else:
                if move.step == 0 and cursor.scroll:  # FETCH 0, FORWARD 0: the current row
                    self._pending = await cursor.goto(0, relative=True)
                else:
                    self._pending = []
        if self._pending is not None:
            batch, self._pending = self._pending[:want], self._pending[want:]
            if not self._pending:
                self.done = True
            return batch
        batch = await cursor.take(min(self._remaining, want))
        self._remaining -= len(batch)
        if len(batch) < want or not self._remaining:
            self.done = True
            step = move.step or 0
            if not self._remaining and cursor.source is not None and step < _ALL:
                # All it asked for: the backend reads as many more while the client works.
                cursor.source.read_ahead(step)
        return batch

    async def fetch(self, max_rows: int) -> Batch:
        if self._move.verb == "MOVE":  # moves, counts, sends nothing
            while not self.done:
                self.rows += len(await self._rows(_BATCH))
            return no_rows()
        rows = await self._rows(max_rows if max_rows > 0 else _BATCH)
        self.rows += len(rows)
        return Batch(rows)

    async def close(self) -> None:
        self.done = True


class Cursors:
    """One session's open cursors, by name."""

    __slots__ = ("_open", "open")

    def __init__(self) -> None:
        self._open: dict[str, OpenCursor] = {}
        self.open = self._open  # read only: the open cursors by name (len() of it: no frame)

    def description(self, name: str) -> tuple[Sequence[Any], list[int]] | None:
        cursor = self._open.get(name)
        if cursor is None:
            return None
        return cursor.columns, [1 if cursor.binary else 0] * len(cursor.columns)

    def __contains__(self, name: str) -> bool:
        return name in self._open

    def __len__(self) -> int:
        return len(self._open)

    async def add(
        self, declare: Declare, statement: str, result: BackendResult, in_transaction: bool
    ) -> RowsResult:
        if declare.name in self._open:
            raise errors.DuplicateCursor(f'cursor "{declare.name}" already exists')
        cursor = OpenCursor(declare.name, statement, result, declare, in_transaction)
        self._open[declare.name] = cursor
        if declare.hold and not in_transaction:
            await self._spill_or_close(cursor)  # its (implicit) transaction ends now
        return RowsResult("DECLARE CURSOR")

    def fetch(self, move: Move) -> FetchResult:
        cursor = self._open.get(move.name)
        if cursor is None:
            raise errors.InvalidCursorName(f'cursor "{move.name}" does not exist')
        cursor.check(move)
        return FetchResult(move, cursor)

    async def close(self, name: str | None) -> RowsResult:
        names = list(self._open) if name is None else [name]
        for n in names:
            cursor = self._open.pop(n, None)
            if cursor is None:
                raise errors.InvalidCursorName(f'cursor "{n}" does not exist')
            if cursor.source is not None:
                await cursor.source.close()
        return RowsResult("CLOSE CURSOR")

    def rows(self) -> list[tuple[Any, ...]]:
        """pg_cursors: (name, statement, is_holdable, is_binary, is_scrollable, created)."""
        return [
            (c.name, c.statement, c.hold, c.binary, c.scroll, c.created)
            for c in self._open.values()
        ]

    async def _spill_or_close(self, cursor: OpenCursor) -> None:
        try:
            await cursor.spill()
        except errors.PgError:
            self._open.pop(cursor.name, None)
            if cursor.source is not None:
                await cursor.source.close()
            raise

    async def detach(self) -> None:
        """Another statement is about to run on a connection that cannot keep a result
        open meanwhile: each open cursor reads the rest of its result first."""
        for cursor in list(self._open.values()):
            if cursor.source is not None:
                await self._spill_or_close(cursor)

    async def before_commit(self) -> None:
        """WITH HOLD cursors outlive the transaction: their rows are read before it ends."""
        for cursor in list(self._open.values()):
            if cursor.hold and cursor.source is not None:
                await self._spill_or_close(cursor)

    async def end_transaction(self, commit: bool = True) -> None:
        """Cursors WITHOUT HOLD close when their transaction ends, and a ROLLBACK also
        closes the WITH HOLD cursors declared inside it."""
        for name, cursor in list(self._open.items()):
            if not cursor.hold or (not commit and cursor.declared_in_tx):
                del self._open[name]
                if cursor.source is not None:
                    await cursor.source.close()
            else:
                cursor.declared_in_tx = False
