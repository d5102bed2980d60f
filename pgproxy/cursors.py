"""SQL-level cursors: DECLARE, FETCH, MOVE and CLOSE, kept by the proxy.

None of the backends has PostgreSQL's named cursors, yet psycopg's
server-side cursors and pgjdbc use them to read large results in pieces. The
proxy runs the cursor's query on the backend once and keeps its streamed
result open; each FETCH takes the next rows from it, so memory stays flat.
Only forward movement is possible, as with PostgreSQL's NO SCROLL cursors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pgproxy import errors
from pgproxy.results import RowsResult, command_tag, encoder_for

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pgproxy.results import BackendResult

_NAME = r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_DECLARE = re.compile(
    rf"^\s*DECLARE\s+{_NAME}\s+((?:BINARY|ASENSITIVE|INSENSITIVE|NO\s+SCROLL|SCROLL|\s)*)"
    r"CURSOR\s+(?:(WITH|WITHOUT)\s+HOLD\s+)?FOR\s+(.*?)\s*;?\s*$",
    re.I | re.S,
)
_FETCH = re.compile(
    rf"^\s*(FETCH|MOVE)\s+(?:(NEXT|FIRST|ALL|FORWARD\s+ALL|FORWARD\s+\d+|FORWARD|\d+)\s+)?"
    rf"(?:(?:FROM|IN)\s+)?{_NAME}\s*;?\s*$",
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


def parse_declare(sql: str) -> Declare:
    match = _DECLARE.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in DECLARE CURSOR")
    options = match.group(2).upper()
    if "SCROLL" in options and "NO" not in options:
        raise errors.FeatureNotSupported("scrollable cursors are not supported by pgproxy")
    return Declare(
        _ident(match.group(1)),
        match.group(4),
        "BINARY" in options,
        (match.group(3) or "").upper() == "WITH",
    )


def parse_fetch(sql: str) -> tuple[str, str, int]:
    """(FETCH|MOVE, cursor name, count) where count -1 means ALL."""
    match = _FETCH.match(sql)
    if not match:
        raise errors.FeatureNotSupported(
            "only forward FETCH and MOVE (NEXT, FORWARD n, n, ALL) are supported"
        )
    direction = " ".join((match.group(2) or "NEXT").upper().split())
    if direction in ("ALL", "FORWARD ALL"):
        count = -1
    elif direction in ("NEXT", "FORWARD", "FIRST"):
        count = 1
    else:
        count = int(direction.split()[-1])
    return match.group(1).upper(), _ident(match.group(3)), count


def parse_close(sql: str) -> str | None:
    """The cursor name, or None for CLOSE ALL."""
    match = _CLOSE.match(sql)
    if not match:
        raise errors.SyntaxError("syntax error in CLOSE")
    return None if match.group(1).upper() == "ALL" else _ident(match.group(1))


class FetchResult:
    """The rows one FETCH takes from a cursor's open result, in the FETCH's formats."""

    __slots__ = ("_count", "_encode", "_source", "_verb", "columns", "done", "rows")

    def __init__(
        self, verb: str, source: BackendResult, count: int, formats: Sequence[int]
    ) -> None:
        self._verb = verb
        self._source = source
        self._count = count
        self.columns = source.columns if verb == "FETCH" else None
        self._encode = encoder_for(source.columns, formats, source.style)
        self.rows = 0
        self.done = False

    @property
    def tag(self) -> str:
        return command_tag(self._verb, self.rows)

    async def fetch(self, max_rows: int) -> tuple[bytes, int]:
        remaining = self._count - self.rows if self._count >= 0 else 1 << 62
        want = min(remaining, max_rows if max_rows > 0 else 2000)
        rows = await self._source.fetch_rows(want) if want > 0 else []
        self.rows += len(rows)
        if len(rows) < want or self.rows == self._count or self._source.done:
            self.done = True
        if self._verb == "MOVE" or self._encode is None or not rows:
            return b"", 0 if self._verb == "MOVE" else len(rows)
        return self._encode(rows), len(rows)

    async def close(self) -> None:
        self.done = True


class Cursors:
    """One session's open cursors, by name."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: dict[str, tuple[BackendResult, bool, bool]] = {}

    def description(self, name: str) -> tuple[Sequence[Any], list[int]] | None:
        entry = self._open.get(name)
        if entry is None:
            return None
        columns = entry[0].columns or []
        return columns, [1 if entry[2] else 0] * len(columns)

    def __contains__(self, name: str) -> bool:
        return name in self._open

    def add(self, name: str, result: BackendResult, hold: bool, binary: bool) -> RowsResult:
        if name in self._open:
            raise errors.DuplicateCursor(f'cursor "{name}" already exists')
        self._open[name] = (result, hold, binary)
        return RowsResult("DECLARE CURSOR")

    def fetch(self, verb: str, name: str, count: int, formats: Sequence[int]) -> Any:
        entry = self._open.get(name)
        if entry is None:
            raise errors.InvalidCursorName(f'cursor "{name}" does not exist')
        return FetchResult(verb, entry[0], count, formats)

    async def close(self, name: str | None) -> RowsResult:
        names = list(self._open) if name is None else [name]
        for n in names:
            entry = self._open.pop(n, None)
            if entry is None:
                raise errors.InvalidCursorName(f'cursor "{n}" does not exist')
            await entry[0].close()
        return RowsResult("CLOSE CURSOR")

    async def end_transaction(self) -> None:
        """Cursors WITHOUT HOLD close when their transaction ends."""
        for name, (result, hold, _) in list(self._open.items()):
            if not hold:
                del self._open[name]
                await result.close()
