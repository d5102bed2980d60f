"""The Arrow Flight SQL endpoint: Flight RPCs (gRPC threads) to statements on the proxy's
asyncio loop, results streamed back as RecordBatches.

GetFlightInfo runs the statement (so its errors and its schema come at once) and keeps
the open result under a ticket; DoGet streams that result batch by batch, each fetched
on the loop while the previous one is sent, so memory stays at two batches whatever the
result size. DoPut runs updates, binds prepared statements' parameters and ingests;
DoAction creates and closes prepared statements. A ticket or prepared statement left
unused expires after IDLE_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as fl

from pgproxy import errors
from pgproxy.flight import core, ingest, metadata
from pgproxy.flight.auth import MIDDLEWARE, Authenticator, Caller, Handshake
from pgproxy.flight.core import Principal, RowReader, Sessions, run_sync
from pgproxy.flight.messages import M, pack, unpack
from pgproxy.types.arrow import BatchBuilder, arrow_field, arrow_schema, rows_of

log = logging.getLogger("pgproxy.flight")

IDLE_SECONDS = 300.0


class _Open:
    """A ticket's open result (or a metadata table), or a prepared statement's handle:
    the session it holds and who may use it."""

    __slots__ = ("expires", "params", "prepared", "result", "session", "table", "who")

    def __init__(
        self,
        who: Principal,
        session: Any = None,
        result: Any = None,
        table: pa.Table | None = None,
        prepared: Any = None,
    ) -> None:
        self.who = who
        self.session = session
        self.result = result
        self.table = table
        self.prepared = prepared
        self.params: list[tuple[Any, ...]] = []  # bound parameter sets (prepared statements)
        self.expires = time.monotonic() + IDLE_SECONDS


class FlightSqlServer(fl.FlightServerBase):
    """Flight SQL over the proxy's core (pgproxy.proxy.Proxy) on `loop`."""

    def __init__(
        self,
        location: str,
        proxy: Any,
        loop: asyncio.AbstractEventLoop,
        authenticator: Authenticator,
        default_database: str,
        tls_certificates: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(
            location,
            auth_handler=Handshake(),
            middleware={MIDDLEWARE: authenticator},
            tls_certificates=tls_certificates or [],
        )
        self._loop = loop
        self._sessions = Sessions(proxy)
        self._default_db = default_database
        self._open: dict[bytes, _Open] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ plumbing

    def _who(self, context: Any) -> Principal:
        caller: Caller | None = context.get_middleware(MIDDLEWARE)
        if caller is None:
            raise fl.FlightUnauthenticatedError("not authenticated (SQLSTATE 28000)")
        return Principal(caller.user, caller.database or self._default_db, _peer(context.peer()))

    def _command(self, context: Any, descriptor: fl.FlightDescriptor) -> tuple[Principal, str, Any]:
        """Who calls, and the Flight SQL command the descriptor carries (its name, message)."""
        who = self._who(context)  # before the command: a stranger learns nothing of it
        name, command = unpack(descriptor.command or b"")
        return who, name, command

    def _run(self, coro: Any) -> Any:
        return run_sync(self._loop, coro)

    def _keep(self, entry: _Open) -> bytes:
        handle = secrets.token_bytes(16)
        now = time.monotonic()
        with self._lock:
            stale = [h for h, e in self._open.items() if e.expires < now]
            expired = [self._open.pop(h) for h in stale]
            self._open[handle] = entry
        for old in expired:  # a ticket never fetched, a statement never closed
            self._run(self._drop(old))
        return handle

    def _take(self, handle: bytes, who: Principal, *, keep: bool = False) -> _Open:
        with self._lock:
            entry = self._open.get(handle)
            if entry is None or entry.who.user != who.user:  # another user's: not theirs
                raise errors.InvalidSqlStatementName("unknown or expired Flight SQL handle")
            if not keep:
                del self._open[handle]
        entry.expires = time.monotonic() + IDLE_SECONDS
        return entry

    async def _drop(self, entry: _Open) -> None:
        if entry.result is not None:
            await entry.result.close()
        if entry.session is not None:
            await self._sessions.release(entry.session, entry.who)

    def shutdown_sessions(self) -> None:
        with self._lock:
            entries, self._open = list(self._open.values()), {}
        for entry in entries:
            self._run(self._drop(entry))
        self._run(self._sessions.close())

    # ------------------------------------------------------------ GetFlightInfo / DoGet

    def get_flight_info(self, context: Any, descriptor: fl.FlightDescriptor) -> fl.FlightInfo:
        return _flight_errors(self._flight_info, context, descriptor)

    def _flight_info(self, context: Any, descriptor: fl.FlightDescriptor) -> fl.FlightInfo:
        who, name, command = self._command(context, descriptor)
        if name == "CommandStatementQuery":
            entry = self._run(self._open_query(who, command.query))
        elif name == "CommandPreparedStatementQuery":
            prepared = self._take(command.prepared_statement_handle, who, keep=True)
            entry = self._run(self._open_prepared(prepared))
        elif name in _METADATA:
            entry = _Open(who, table=self._run(self._metadata(who, name, command)))
        else:
            raise _unsupported(name)
        schema = entry.table.schema if entry.table is not None else _schema_of(entry.result)
        ticket = pack(M["TicketStatementQuery"](statement_handle=self._keep(entry)))
        endpoint = fl.FlightEndpoint(ticket, [])
        rows = entry.table.num_rows if entry.table is not None else -1
        return fl.FlightInfo(schema, descriptor, [endpoint], rows, -1)

    def get_schema(self, context: Any, descriptor: fl.FlightDescriptor) -> fl.SchemaResult:
        return _flight_errors(self._schema, context, descriptor)

    def _schema(self, context: Any, descriptor: fl.FlightDescriptor) -> fl.SchemaResult:
        who, name, command = self._command(context, descriptor)
        if name == "CommandStatementQuery":
            return fl.SchemaResult(self._run(self._describe(who, command.query)))
        if name == "CommandPreparedStatementQuery":
            entry = self._take(command.prepared_statement_handle, who, keep=True)
            return fl.SchemaResult(self._run(self._describe_prepared(entry)))
        if name in _METADATA:
            return fl.SchemaResult(self._run(self._metadata(who, name, command)).schema)
        raise _unsupported(name)

    def do_get(self, context: Any, ticket: fl.Ticket) -> fl.FlightDataStream:
        return _flight_errors(self._do_get, context, ticket)

    def _do_get(self, context: Any, ticket: fl.Ticket) -> fl.FlightDataStream:
        who = self._who(context)
        name, command = unpack(ticket.ticket)
        if name != "TicketStatementQuery":
            raise NotImplementedError("not a Flight SQL ticket")
        entry = self._take(command.statement_handle, who)
        if entry.table is not None:
            return fl.RecordBatchStream(entry.table)
        result = entry.result
        return fl.GeneratorStream(_schema_of(result), self._stream(entry))

    def _stream(self, entry: _Open) -> Iterator[pa.RecordBatch]:
        """The result's batches: the next one fetched on the loop while this one is sent."""
        result = entry.result
        pending = None
        try:
            if result.columns is None:
                return
            builder = BatchBuilder(result.columns, result.style)
            reader = RowReader(result)
            pending = asyncio.run_coroutine_threadsafe(reader.next(), self._loop)
            while pending is not None:
                rows = _flight_errors(pending.result)
                pending = (
                    None
                    if result.done
                    else asyncio.run_coroutine_threadsafe(reader.next(), self._loop)
                )
                if rows:
                    yield _flight_errors(builder.build, rows)
        finally:
            if _on_thread_of(self._loop):
                # Closed by the garbage collector on the loop's own thread (a client gone
                # mid-stream): waiting here would block the loop that is to answer.
                self._loop.create_task(self._drop_after(pending, entry))
            else:
                if pending is not None:
                    with contextlib.suppress(Exception):  # the stream is over: moot now
                        pending.result()
                self._run(self._drop(entry))

    async def _drop_after(self, pending: Any, entry: _Open) -> None:
        if pending is not None:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(pending)
        await self._drop(entry)

    # ------------------------------------------------------------ DoPut

    def do_put(
        self,
        context: Any,
        descriptor: fl.FlightDescriptor,
        reader: fl.MetadataRecordBatchReader,
        writer: fl.FlightMetadataWriter,
    ) -> None:
        _flight_errors(self._do_put, context, descriptor, reader, writer)

    def _do_put(
        self,
        context: Any,
        descriptor: fl.FlightDescriptor,
        reader: fl.MetadataRecordBatchReader,
        writer: fl.FlightMetadataWriter,
    ) -> None:
        who, name, command = self._command(context, descriptor)
        if name == "CommandStatementUpdate":
            count = self._run(self._with_session(who, core.run_update, command.query))
        elif name == "CommandPreparedStatementQuery":
            entry = self._take(command.prepared_statement_handle, who, keep=True)
            entry.params = _parameter_sets(reader)
            handle = command.prepared_statement_handle
            writer.write(
                pa.py_buffer(
                    M["DoPutPreparedStatementResult"](
                        prepared_statement_handle=handle
                    ).SerializeToString()
                )
            )
            return
        elif name == "CommandPreparedStatementUpdate":
            entry = self._take(command.prepared_statement_handle, who, keep=True)
            count = self._run(
                core.run_prepared_update(entry.session, entry.prepared, _parameter_sets(reader))
            )
        elif name == "CommandStatementIngest":
            count = ingest.run(self._loop, self._sessions, who, command, reader)
        else:
            raise NotImplementedError(
                f"Flight SQL command {name or 'unknown'} is not supported by DoPut"
            )
        writer.write(pa.py_buffer(M["DoPutUpdateResult"](record_count=count).SerializeToString()))

    # ------------------------------------------------------------ DoAction

    def list_actions(self, context: Any) -> list[tuple[str, str]]:
        return [
            ("CreatePreparedStatement", "prepare a statement; its handle"),
            ("ClosePreparedStatement", "close a prepared statement's handle"),
        ]

    def do_action(self, context: Any, action: fl.Action) -> Iterator[fl.Result]:
        return iter(_flight_errors(self._do_action, context, action))

    def _do_action(self, context: Any, action: fl.Action) -> list[fl.Result]:
        who = self._who(context)
        body = action.body.to_pybytes() if action.body is not None else b""
        _, command = unpack(body)
        if action.type == "CreatePreparedStatement" and command is not None:
            entry = self._run(self._prepare(who, command.query))
            dataset, params = self._run(self._prepared_schemas(entry))
            result = M["ActionCreatePreparedStatementResult"](
                prepared_statement_handle=self._keep(entry),
                dataset_schema=dataset.serialize().to_pybytes() if dataset is not None else b"",
                parameter_schema=params.serialize().to_pybytes(),
            )
            return [fl.Result(pa.py_buffer(pack(result)))]
        if action.type == "ClosePreparedStatement" and command is not None:
            with self._lock:
                entry = self._open.pop(command.prepared_statement_handle, None)
            if entry is not None:
                self._run(self._drop(entry))
            return []
        raise NotImplementedError(f"Flight SQL action {action.type} is not supported")

    # ------------------------------------------------------------ on the loop

    async def _with_session(self, who: Principal, fn: Callable[..., Any], *args: Any) -> Any:
        session = await self._sessions.acquire(who)
        try:
            return await fn(session, *args)
        finally:
            await self._sessions.release(session, who)

    async def _open_query(self, who: Principal, sql: str) -> _Open:
        session = await self._sessions.acquire(who)
        try:
            prepared = await session.prepare(sql)
            result = await core.execute(session, prepared, ())
        except BaseException:
            await self._sessions.release(session, who)
            raise
        return await self._ticket(who, session, result)

    async def _open_prepared(self, entry: _Open) -> _Open:
        """A prepared query run with its bound parameters: a ticket on a session of its own,
        so the statement's session is free for its next execution."""
        params = entry.params[0] if entry.params else ()
        return await self._open_query_prepared(entry.who, entry.prepared.text, params)

    async def _open_query_prepared(self, who: Principal, sql: str, params: Any) -> _Open:
        session = await self._sessions.acquire(who)
        try:
            prepared = await session.prepare(sql)
            values = (
                core.coerce(prepared.param_types, params) if params or prepared.param_types else []
            )
            result = await core.execute(session, prepared, values)
        except BaseException:
            await self._sessions.release(session, who)
            raise
        return await self._ticket(who, session, result)

    async def _ticket(self, who: Principal, session: Any, result: Any) -> _Open:
        """A ticket for `result`. A command's (no rows: an INSERT run through a query, as
        ADBC does) ends now, its session and backend connection back at once: a client
        need not fetch it, and an unfetched ticket would hold them until it expires."""
        if result.columns is not None:
            return _Open(who, session, result)
        await result.close()
        await self._sessions.release(session, who)
        return _Open(who, table=pa.table({}))

    async def _prepare(self, who: Principal, sql: str) -> _Open:
        session = await self._sessions.acquire(who)
        try:
            prepared = await session.prepare(sql)
        except BaseException:
            await self._sessions.release(session, who)
            raise
        # The statement keeps its session, not a backend connection (transaction pool mode).
        session.settle()
        return _Open(who, session, prepared=prepared)

    async def _prepared_schemas(self, entry: _Open) -> tuple[pa.Schema | None, pa.Schema]:
        prepared = entry.prepared
        params = pa.schema(
            [arrow_field(f"${i + 1}", oid) for i, oid in enumerate(prepared.param_types)]
        )
        if prepared.empty:
            return None, params
        try:
            columns = await entry.session.describe(prepared)
        except errors.PgError:
            # Told when it runs instead (a table that is not there): then the error goes
            # through the statement path, its span and its observers' event, as on the wire.
            return None, params
        finally:
            entry.session.settle()
        return (arrow_schema(columns) if columns is not None else None), params

    async def _describe(self, who: Principal, sql: str) -> pa.Schema:
        session = await self._sessions.acquire(who)
        try:
            prepared = await session.prepare(sql)
            columns = None if prepared.empty else await session.describe(prepared)
        finally:
            await self._sessions.release(session, who)
        return arrow_schema(columns or [])

    async def _describe_prepared(self, entry: _Open) -> pa.Schema:
        dataset, _ = await self._prepared_schemas(entry)
        return dataset if dataset is not None else pa.schema([])

    async def _metadata(self, who: Principal, name: str, command: Any) -> pa.Table:
        if name == "CommandGetSqlInfo":
            return metadata.sql_info(list(command.info))
        if name == "CommandGetXdbcTypeInfo":
            return metadata.xdbc_type_info(_opt(command, "data_type"))
        session = await self._sessions.acquire(who)
        try:
            return await _METADATA[name](session, command)
        finally:
            await self._sessions.release(session, who)


def _opt(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


_METADATA: dict[str, Callable[[Any, Any], Any]] = {
    "CommandGetSqlInfo": lambda s, c: None,  # these two: without a session (_metadata)
    "CommandGetXdbcTypeInfo": lambda s, c: None,
    "CommandGetCatalogs": lambda s, c: metadata.catalogs(s),
    "CommandGetDbSchemas": lambda s, c: metadata.db_schemas(
        s, _opt(c, "catalog"), _opt(c, "db_schema_filter_pattern")
    ),
    "CommandGetTables": lambda s, c: metadata.tables(
        s,
        _opt(c, "catalog"),
        _opt(c, "db_schema_filter_pattern"),
        _opt(c, "table_name_filter_pattern"),
        list(c.table_types),
        c.include_schema,
    ),
    "CommandGetTableTypes": lambda s, c: metadata.table_types(s),
    "CommandGetPrimaryKeys": lambda s, c: metadata.primary_keys(
        s, _opt(c, "catalog"), _opt(c, "db_schema"), c.table
    ),
}


def _on_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _peer(grpc_peer: str) -> str:
    """gRPC's `ipv4:127.0.0.1:5000` / `ipv6:[::1]:5000` as the wire writes a peer."""
    kind, _, address = grpc_peer.partition(":")
    return address if kind in ("ipv4", "ipv6") else grpc_peer


def _schema_of(result: Any) -> pa.Schema:
    return arrow_schema(result.columns) if result.columns is not None else pa.schema([])


def _parameter_sets(reader: fl.MetadataRecordBatchReader) -> list[tuple[Any, ...]]:
    """The parameter sets a client bound: the rows of the record batches it put."""
    rows: list[tuple[Any, ...]] = []
    for chunk in reader:
        if chunk.data is not None:
            rows.extend(rows_of(chunk.data))
    return rows


def _unsupported(name: str) -> NotImplementedError:
    return NotImplementedError(f"Flight SQL command {name or 'unknown'} is not supported")


def _flight_errors(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)`, a PgError raised as the Flight error of its class, the SQLSTATE in the
    message and, with detail and hint, in extra_info (JSON)."""
    try:
        return fn(*args)
    except errors.PgError as exc:
        raise flight_error(exc) from None


def flight_error(exc: errors.PgError) -> Exception:
    code = exc.sqlstate
    text = f"{exc.message} (SQLSTATE {code})"
    if exc.detail:
        text += f"; DETAIL: {exc.detail}"
    extra = json.dumps(
        {"sqlstate": code, "message": exc.message, "detail": exc.detail, "hint": exc.hint}
    ).encode()
    if code.startswith("28"):
        return fl.FlightUnauthenticatedError(text, extra_info=extra)
    if code == "42501":
        return fl.FlightUnauthorizedError(text, extra_info=extra)
    if (code.startswith("08") and code != "08P01") or code in ("57P01", "57P02", "57P03"):
        return fl.FlightUnavailableError(text, extra_info=extra)
    if code == "57014":
        return fl.FlightCancelledError(text, extra_info=extra)
    return fl.FlightServerError(text, extra_info=extra)
