"""Flight SQL statements on the proxy's core: sessions per user and database, results as
RecordBatches, update counts, parameter binding. Its coroutines run on the proxy's loop.

A Flight call is no connection: each statement takes an idle Session of its
(user, database) from a small pool, or opens one through Proxy.open_session as a
PostgreSQL client's startup would (routing, branch databases, the watch's connect
event), and gives it back, its settings RESET, when its result is read. So every
statement takes the path a wire client's does: parse and translation, hints, the
catalog, the query cache, observers, telemetry. A statement runs in autocommit; a
session left inside a transaction block (a client's BEGIN) is closed, which rolls
it back.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import itertools
import logging
import re
import struct
from collections.abc import Iterable, Sequence
from typing import Any

import dialects
from pgproxy import errors, pgtypes
from pgproxy.results import RowsResult
from pgproxy.types import TEXT, decoder, encode, oid_of, row_encoder
from pgproxy.types.registry import BINARY

log = logging.getLogger("pgproxy.flight")

# Rows per fetch from the backend: one RecordBatch each.
BATCH_ROWS = 16_384
BINARY_RESULTS = (1,)  # every result column in binary: what a cache hit replays is decoded
IDLE_PER_KEY = 8  # idle sessions kept per (user, database)
FIRST_PID = 1_000_000_000  # pg_stat_activity's pids for Flight sessions: apart from the wire's

# Parameter types whose value of exactly this Python class is as the wire decodes it.
_AS_IS: dict[int, type] = {
    pgtypes.INT2: int, pgtypes.INT4: int, pgtypes.INT8: int, pgtypes.FLOAT8: float,
    pgtypes.FLOAT4: float, pgtypes.TEXT: str, pgtypes.VARCHAR: str, pgtypes.BOOL: bool,
    pgtypes.BYTEA: bytes, pgtypes.DATE: datetime.date, pgtypes.NUMERIC: decimal.Decimal,
    pgtypes.JSON: str, pgtypes.JSONB: str,
}
_COUNT = re.compile(r"(\d+)$")
_I32 = struct.Struct("!i")


class Principal:
    """Who runs a statement, and where: an authenticated user and a database (route)."""

    __slots__ = ("database", "peer", "user")

    def __init__(self, user: str, database: str, peer: str) -> None:
        self.user = user
        self.database = database
        self.peer = peer


class Sessions:
    """Idle sessions per (user, database); used on the proxy's loop only."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy
        self._idle: dict[tuple[str, str], list[Any]] = {}
        self._pids = itertools.count(FIRST_PID)

    async def acquire(self, who: Principal) -> Any:
        idle = self._idle.get((who.user, who.database))
        if idle:
            return idle.pop()
        params = {"user": who.user, "database": who.database, "application_name": "flight sql"}
        return await self._proxy.open_session(params, next(self._pids), who.peer)

    async def release(self, session: Any, who: Principal) -> None:
        """Back to the pool when reusable; a transaction left open or failed ends with it."""
        idle = self._idle.setdefault((who.user, who.database), [])
        clean = not getattr(session, "in_transaction", False) and not getattr(
            session, "failed", False
        )
        if clean and len(idle) < IDLE_PER_KEY:
            if hasattr(session, "release_active"):  # a proxy Session (not the admin console's)
                await session.release_active()
                # RESET ALL: a SET lasts for its own call, never into another client's.
                session.apply_setting(dialects.Setting("all"))
                session.settle()  # its pooled backend connection goes back (transaction mode)
            idle.append(session)
        else:
            await session.close("flight statement done")

    async def close(self) -> None:
        idle, self._idle = self._idle, {}
        for sessions in idle.values():
            for session in sessions:
                await session.close("flight endpoint stopped")


async def execute(session: Any, prepared: Any, params: Sequence[Any]) -> Any:
    """One prepared statement on `session`: its result (rows or a tag)."""
    if prepared.empty:
        return RowsResult("EMPTY")
    result = await session.execute(prepared, params, BINARY_RESULTS)
    if getattr(result, "copy", None) is not None:
        await result.close()
        raise errors.FeatureNotSupported(
            "COPY is not available over Flight SQL: read with a query, load with "
            "CommandStatementIngest",
            sqlstate="0A000",
        )
    return result


async def run_update(session: Any, sql: str) -> int:
    """CommandStatementUpdate: every statement of `sql` (one implicit transaction, as a
    simple Query runs them); the rows they affected, -1 when no statement tells."""
    statements = await session.split(sql)
    total = -1
    for count in await _run_atomic(session, statements, (() for _ in statements)):
        if count is not None:
            total = max(total, 0) + count
    return total


async def run_prepared_update(
    session: Any, prepared: Any, param_sets: Sequence[Sequence[Any]]
) -> int:
    """CommandPreparedStatementUpdate: the statement once per bound parameter set, all of
    them one atomic execution (an implicit transaction when there are several)."""
    sets = list(param_sets) or [()]
    # coerced one set at a time, as each runs: a bad set rolls back those before it
    params = (coerce(prepared.param_types, p) for p in sets)
    counts = await _run_atomic(session, [prepared] * len(sets), params)
    return sum(count or 0 for count in counts)


async def _run_atomic(
    session: Any, statements: list[Any], params: Iterable[Sequence[Any]]
) -> list[int | None]:
    """Each statement with its parameters, in one implicit transaction when there are
    several; the rows each affected (None where its tag tells none)."""
    implicit = await session.begin_implicit(statements)
    counts: list[int | None] = []
    try:
        for prepared, values in zip(statements, params, strict=True):
            result = await execute(session, prepared, values)
            try:
                while result.columns is not None and not result.done:
                    await result.fetch(BATCH_ROWS)  # a query among them: read and dropped
            finally:
                await result.close()
            counts.append(affected(result.tag))
        if implicit:
            implicit = False
            await session.end_implicit(commit=True)
    except BaseException:
        if implicit:
            await session.end_implicit(commit=False)
        raise
    return counts


def affected(tag: str) -> int | None:
    """The row count a command tag carries (INSERT 0 5, UPDATE 3, SELECT 2); None for DDL."""
    m = _COUNT.search(tag)
    return int(m.group(1)) if m else None


def coerce(types: Sequence[int], values: Sequence[Any]) -> list[Any]:
    """A parameter set from Arrow as the statement's parameter types: a value of another
    type is read as PostgreSQL reads its literal (an int64 for an int4 $1, a string for a
    date), exactly as the wire decodes a text parameter; a value of the type itself as the
    wire decodes a binary one."""
    if len(values) != len(types):
        raise errors.ProtocolViolation(
            f"the statement has {len(types)} parameters, the bound record batch "
            f"{len(values)} columns"
        )
    out: list[Any] = []
    for oid, value in zip(types, values, strict=True):
        if value is None or value.__class__ is _AS_IS.get(oid) or (
                oid == pgtypes.TIMESTAMP and value.__class__ is datetime.datetime
                and value.tzinfo is None):
            out.append(value)  # already what the wire's decoder gives (the bulk of ingest)
        elif oid_of(value) == oid:
            # As the wire's binary parameter of that type decodes (a timestamptz in UTC).
            out.append(decoder(oid, BINARY)(encode(value, oid, BINARY)))
        else:
            text = value if isinstance(value, str) else encode(value, oid_of(value))
            data = text.encode() if isinstance(text, str) else text
            out.append(decoder(oid, TEXT)(data))
    return out


class RowReader:
    """Rows out of a result batch by batch: a batch's own rows, or, for what the query
    cache replays, its binary DataRow frames decoded; a result the cache is recording is
    handed its frames as the wire would encode them."""

    __slots__ = ("_decoders", "_encode", "result")

    def __init__(self, result: Any) -> None:
        self.result = result
        columns = result.columns or ()
        self._decoders = [decoder(c.type_oid, BINARY) for c in columns]
        self._encode = None
        if getattr(result, "hit", None) is False:  # a cache fill: it keeps frames
            self._encode = row_encoder(
                [c.type_oid for c in columns], BINARY_RESULTS, style=result.style
            )

    async def next(self) -> list[tuple[Any, ...]]:
        batch = await self.result.fetch(BATCH_ROWS)
        if batch.rows or batch.frames is None:
            if self._encode is not None and batch.frames is None and batch.rows:
                batch.frames = self._encode(batch.rows)
            return batch.rows
        return rows_of_frames(batch.frames, self._decoders)


def rows_of_frames(data: bytes, decoders: Sequence[Any]) -> list[tuple[Any, ...]]:
    """DataRow messages (binary columns) back to rows of Python values."""
    rows: list[tuple[Any, ...]] = []
    view = memoryview(data)
    pos, end = 0, len(data)
    while pos < end:
        length = _I32.unpack_from(view, pos + 1)[0]
        stop = pos + 1 + length
        p = pos + 7  # type byte, length, column count
        row = []
        for dec in decoders:
            n = _I32.unpack_from(view, p)[0]
            p += 4
            if n < 0:
                row.append(None)
            else:
                row.append(dec(bytes(view[p : p + n])))
                p += n
        rows.append(tuple(row))
        pos = stop
    return rows


def run_sync(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    """Run `coro` on the proxy's loop from a Flight (gRPC) thread and wait for it."""
    return asyncio.run_coroutine_threadsafe(coro, loop).result()
