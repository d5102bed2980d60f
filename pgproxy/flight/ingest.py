"""CommandStatementIngest: an Arrow stream loaded into a backend table, through the core.

The table is made (CREATE TABLE from the stream's Arrow schema, pgproxy/types/arrow.py),
kept, emptied or refused as the table definition options ask; the rows go in as
multi-row INSERTs whose values are bound parameters, a record batch at a time (memory
stays at one batch), all of it one transaction: an error leaves the table as it was.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyarrow as pa
import pyarrow.flight as fl

from pgproxy import errors
from pgproxy.flight import core
from pgproxy.flight.core import Principal, Sessions, run_sync
from pgproxy.flight.messages import (
    IF_EXISTS_APPEND,
    IF_EXISTS_FAIL,
    IF_EXISTS_REPLACE,
    IF_NOT_EXIST_CREATE,
    IF_NOT_EXIST_FAIL,
)
from pgproxy.flight.metadata import query_rows, quote
from pgproxy.types.arrow import pg_type, rows_of

MAX_PARAMS = 30_000  # bound values per INSERT: under SQLite's and MySQL's limits
MAX_ROWS = 1000  # rows per INSERT


def run(
    loop: asyncio.AbstractEventLoop,
    sessions: Sessions,
    who: Principal,
    command: Any,
    reader: fl.MetadataRecordBatchReader,
) -> int:
    """Ingest the stream `reader` carries as `command` says; the rows loaded."""
    if command.temporary:
        raise errors.FeatureNotSupported(
            "temporary ingest is not available over Flight SQL: a Flight call has no session "
            "for the table to live in",
            sqlstate="0A000",
        )
    if not command.table:
        raise errors.from_sqlstate("42602", "CommandStatementIngest names no table")
    schema = reader.schema
    if not len(schema):
        raise errors.from_sqlstate("42601", "the ingested stream has no columns")
    target = (quote(command.schema) + "." if command.HasField("schema") else "") + quote(
        command.table
    )
    session = run_sync(loop, sessions.acquire(who))
    ok = False
    try:
        run_sync(loop, core.run_update(session, "BEGIN"))
        run_sync(loop, _make_table(session, command, target, schema))
        load = _Loader(session, target, schema)
        count = 0
        for chunk in reader:  # one batch at a time, read in this (gRPC) thread
            if chunk.data is not None and chunk.data.num_rows:
                count += run_sync(loop, load.insert(rows_of(chunk.data)))
        run_sync(loop, core.run_update(session, "COMMIT"))
        ok = True
        return count
    finally:
        if not ok and session.in_transaction:
            run_sync(loop, _quiet_rollback(session))
        run_sync(loop, sessions.release(session, who))


async def _quiet_rollback(session: Any) -> None:
    try:
        await core.run_update(session, "ROLLBACK")
    except errors.PgError:  # the connection went with the error: nothing left to undo
        pass


async def _make_table(session: Any, command: Any, target: str, schema: pa.Schema) -> None:
    options = command.table_definition_options
    if_not_exist = options.if_not_exist or IF_NOT_EXIST_CREATE
    if_exists = options.if_exists or IF_EXISTS_FAIL
    where = "table_name = $1" + (" AND table_schema = $2" if command.HasField("schema") else "")
    params = [command.table] + ([command.schema] if command.HasField("schema") else [])
    exists = bool(
        await query_rows(session, f"SELECT 1 FROM information_schema.tables WHERE {where}", params)
    )
    if exists:
        if if_exists == IF_EXISTS_FAIL:
            raise errors.from_sqlstate("42P07", f'relation "{command.table}" already exists')
        if if_exists == IF_EXISTS_APPEND:
            return
        if if_exists != IF_EXISTS_REPLACE:
            raise errors.from_sqlstate("22023", f"unknown if_exists option {if_exists}")
        await core.run_update(session, f"DROP TABLE {target}")
    elif if_not_exist == IF_NOT_EXIST_FAIL:
        raise errors.from_sqlstate("42P01", f'relation "{command.table}" does not exist')
    elif if_not_exist != IF_NOT_EXIST_CREATE:
        raise errors.from_sqlstate("22023", f"unknown if_not_exist option {if_not_exist}")
    columns = ", ".join(
        f"{quote(f.name)} {pg_type(f.type, f)[1]}{'' if f.nullable else ' NOT NULL'}"
        for f in schema
    )
    await core.run_update(session, f"CREATE TABLE {target} ({columns})")


class _Loader:
    """Multi-row INSERTs of bound values, prepared once per row count."""

    def __init__(self, session: Any, target: str, schema: pa.Schema) -> None:
        self._session = session
        self._target = target
        self._names = ", ".join(quote(f.name) for f in schema)
        self._types = [pg_type(f.type, f)[0] for f in schema]
        self._per = max(1, min(MAX_ROWS, MAX_PARAMS // len(schema)))
        self._prepared: dict[int, Any] = {}

    async def _statement(self, nrows: int) -> Any:
        prepared = self._prepared.get(nrows)
        if prepared is None:
            width = len(self._types)
            values = ", ".join(
                "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
                for r in range(nrows)
            )
            sql = f"INSERT INTO {self._target} ({self._names}) VALUES {values}"
            prepared = await self._session.prepare(sql, self._types * nrows)
            if len(self._prepared) > 4:
                self._prepared.clear()
            self._prepared[nrows] = prepared
        return prepared

    async def insert(self, rows: list[tuple[Any, ...]]) -> int:
        count = 0
        for start in range(0, len(rows), self._per):
            part = rows[start : start + self._per]
            prepared = await self._statement(len(part))
            flat = tuple(v for row in part for v in row)
            count += await core.run_prepared_update(self._session, prepared, [flat])
        return count
