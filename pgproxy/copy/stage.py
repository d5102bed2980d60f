"""The COPY stage: COPY FROM STDIN as batched INSERTs in one transaction, COPY TO as a read.

COPY FROM learns the target columns' types from the backend (a describe of
`SELECT * FROM t`, as a Parse would), turns the client's data into rows with
the reader in a worker thread, and inserts each batch with the driver's
executemany and bound parameters, in a savepoint that lets a refused row be
found by its line. Outside a transaction block it opens its
own transaction, so a bad row or a CopyFail leaves nothing behind; inside
one, it joins it (and a failure aborts it, as in PostgreSQL). Writes invalidate
the query cache as an INSERT's do; the statement is an INSERT to the observers.

COPY TO runs its query (or `SELECT cols FROM t`) on the backend, bypassing the
query cache, and has the backend result encode its batches as CopyData in
the worker that fetches them, so memory stays flat whatever the size.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

import dialects
from dialects.copy import Copy
from pgproxy import errors
from pgproxy.backends.base import Column, Connection
from pgproxy.cache import QueryCache
from pgproxy.copy.reader import Reader, Row, reader_for, shown
from pgproxy.copy.writer import writer_for
from pgproxy.core.context import StatementContext
from pgproxy.results import DEFAULT_BATCH, Batch, no_rows
from pgproxy.wire import encoding
from pgproxy.wire import messages as m


class Pipeline(Protocol):
    """What COPY uses of the statement path (pgproxy.pipeline.Pipeline)."""

    cache: QueryCache | None

    def parse(self, sql: str) -> list[dialects.Statement]: ...

    def generate(self, stmt: dialects.Statement, target: dialects.Target) -> dialects.Generated:
        ...

    def run(self, ctx: StatementContext) -> Awaitable[Any]: ...

    async def describe_statement(self, ctx: StatementContext) -> Sequence[Column] | None: ...

    async def backend_rows(self, ctx: StatementContext) -> Any: ...

log = logging.getLogger("pgproxy.copy")

# Errors PostgreSQL raises while the row's line is still at hand (NOT NULL, CHECK):
# their CONTEXT shows the line; a key's, found when a batch is flushed, does not.
_ROW_CHECKS = frozenset({"23502", "23514"})
# CopyData bytes gathered before a worker parses and inserts them: large enough
# that the thread hop and the executemany call vanish per row, small enough
# that memory stays flat whatever the COPY's size.
LOAD_BYTES = 1 << 20


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def run(pipeline: Pipeline, ctx: StatementContext, stmt: dialects.Statement) -> Any:
    spec: Copy = stmt.copy
    if spec.is_from:
        return await CopyIn.start(pipeline, ctx, spec)
    return await copy_out(pipeline, ctx, spec)


def _relation(spec: Copy) -> str:
    return ".".join(quote_ident(p) for p in spec.table)


async def _columns(
    pipeline: Pipeline, ctx: StatementContext, spec: Copy
) -> tuple[list[str], list[int]]:
    """The target columns' names and type OIDs, as the backend describes the table."""
    prepared = await ctx.prepare(f"SELECT * FROM {_relation(spec)}")
    described = await pipeline.describe_statement(ctx.sub(prepared, (), ()))
    if not described:
        raise errors.UndefinedTable(f'relation "{".".join(spec.table)}" does not exist')
    if not spec.columns:
        return [c.name for c in described], [c.type_oid for c in described]
    exact = {c.name: c for c in described}
    folded = {c.name.lower(): c for c in described}
    names, oids = [], []
    for name in spec.columns:
        if name in names:
            raise errors.DuplicateColumn(f'column "{name}" specified more than once')
        column = exact.get(name) or folded.get(name.lower())
        if column is None:
            raise errors.UndefinedColumn(
                f'column "{name}" of relation "{spec.relname}" does not exist'
            )
        names.append(column.name)
        oids.append(column.type_oid)
    return names, oids


# ---------------------------------------------------------------- COPY FROM STDIN


class CopyIn:
    """A COPY FROM STDIN under way: the wire feeds it CopyData, then CopyDone or CopyFail.

    It is its own result (no columns; its tag is `COPY n` once done) and what
    the wire drives (`result.copy`); `sqlstate` tells the observers how it ended.
    """

    inbound = True
    columns = None
    style = None

    def __init__(
        self, pipeline: Pipeline, ctx: StatementContext, spec: Copy, reader: Reader,
        insert: dialects.Statement, sql: str, own_tx: bool,
    ) -> None:
        self._pipeline = pipeline
        self._ctx = ctx
        self._reader = reader
        self._insert = insert
        self._sql = sql
        self._own_tx = own_tx
        self._savepoints = ctx.route.backend.capabilities.savepoints
        self._pending: list[bytes] = []
        self._size = 0
        self._open = True
        self.binary = spec.options.format == "binary"
        self.ncols = len(reader.names)
        self.copy = self
        self.done = False
        self.rows = 0
        self.sqlstate: str | None = None

    @classmethod
    async def start(cls, pipeline: Pipeline, ctx: StatementContext, spec: Copy) -> CopyIn:
        names, oids = await _columns(pipeline, ctx, spec)
        marks = ", ".join(f"${i + 1}" for i in range(len(names)))
        text = (
            f"INSERT INTO {_relation(spec)} ({', '.join(quote_ident(n) for n in names)}) "
            f"VALUES ({marks})"
        )
        insert = pipeline.parse(text)[0]
        generated = pipeline.generate(insert, ctx.target())
        if generated.params != tuple(range(len(names))):
            raise errors.FeatureNotSupported(
                f"COPY cannot load {'.'.join(spec.table)} on the {ctx.route.backend.name} "
                "backend", sqlstate="0A000",
            )
        reader = reader_for(spec.options, spec.relname, names, oids)
        own_tx = not ctx.in_transaction
        if own_tx:
            await _control(pipeline, ctx, "BEGIN")
        return cls(pipeline, ctx, spec, reader, insert, generated.sql, own_tx)

    @property
    def tag(self) -> str:
        return f"COPY {self.rows}"

    async def feed(self, data: bytes) -> None:
        """One CopyData message's bytes."""
        self._pending.append(data)
        self._size += len(data)
        if self._size >= LOAD_BYTES:
            await self._load(final=False)

    async def finish(self) -> None:
        """CopyDone: load the rest, commit what this COPY began."""
        await self._load(final=True)
        if self._own_tx:
            try:
                await _control(self._pipeline, self._ctx, "COMMIT")
            except errors.PgError as exc:
                await self.abort(exc.sqlstate)
                raise
        self._open = False
        self.done = True

    async def fail(self, message: str) -> None:
        """CopyFail: undo the COPY, report 57014 as PostgreSQL does."""
        await self.abort("57014")
        raise errors.QueryCanceled(f"COPY from stdin failed: {message}")

    async def _load(self, final: bool) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        ctx = self._ctx
        # One huge CopyData message is loaded a LOAD_BYTES piece at a time, so the rows
        # in flight stay bounded whatever the client's message size.
        pieces = [data[i : i + LOAD_BYTES] for i in range(0, len(data), LOAD_BYTES)] or [b""]
        try:
            conn = await ctx.connection()
            for n, piece in enumerate(pieces):
                last = final and n == len(pieces) - 1
                self.rows += await ctx.call(self._work, conn, piece, last)
        except errors.PgError as exc:
            await self.abort(exc.sqlstate)
            raise
        cache = self._pipeline.cache
        if cache is not None:
            cache.after_execute(ctx, self._insert, True, ctx.in_transaction)

    def _work(self, conn: Connection, data: bytes, final: bool) -> int:
        """Worker-side: parse, decode and insert one load of data."""
        reader = self._reader
        reader.raw.clear()
        rows = reader.feed(data) if data else []
        if final:
            rows += reader.finish()
        if rows:
            self._insert_batch(conn, rows, reader.line - len(rows) + 1)
        return len(rows)

    def _insert_batch(self, conn: Connection, rows: list[Row], first_line: int) -> None:
        """One batch inside a savepoint, so that a row the backend refuses (a key, a NOT
        NULL) can be found and named in the error's CONTEXT, as PostgreSQL does."""
        if not self._savepoints:
            insert_many(conn, self._sql, rows)
            return
        conn.execute("SAVEPOINT pgproxy_copy", ()).close()
        try:
            insert_many(conn, self._sql, rows)
        except errors.PgError as exc:
            conn.execute("ROLLBACK TO SAVEPOINT pgproxy_copy", ()).close()
            raise self._located(conn, rows, first_line, exc) from None
        conn.execute("RELEASE SAVEPOINT pgproxy_copy", ()).close()

    def _located(
        self, conn: Connection, rows: list[Row], first_line: int, exc: errors.PgError
    ) -> errors.PgError:
        """The batch's error again, row by row, with the failing row's line as context
        (the whole transaction is undone after it either way)."""
        relname = self._reader.relname
        raw = self._reader.raw
        for i, row in enumerate(rows):
            try:
                conn.execute(self._sql, row).close()
            except errors.PgError as err:
                err.context = f"COPY {relname}, line {first_line + i}"
                if err.sqlstate in _ROW_CHECKS and len(raw) == len(rows):
                    err.context += f': "{shown(raw[i])}"'
                return err
        exc.context = f"COPY {relname}"
        return exc

    async def abort(self, sqlstate: str) -> None:
        """Undo what this COPY did: its own transaction rolls back; a joined one is failed."""
        if not self._open:
            return
        self._open = False
        self.sqlstate = sqlstate
        ctx = self._ctx
        if self._own_tx and ctx.in_transaction:
            try:
                await _control(self._pipeline, ctx, "ROLLBACK")
            except errors.PgError:
                log.warning("rolling back a failed COPY failed", exc_info=True)
        elif ctx.in_transaction:
            ctx.statement_failed()

    async def fetch(self, max_rows: int) -> Batch:
        return no_rows()

    async def close(self) -> None:
        if self._open:  # the client went away mid-COPY
            await self.abort("08006")


def insert_many(conn: Connection, sql: str, rows: Sequence[Row]) -> None:
    """All rows through one prepared INSERT: the driver's executemany where it has one."""
    many = getattr(conn, "executemany", None)
    if many is not None:
        many(sql, rows)
        return
    for row in rows:
        conn.execute(sql, row).close()


async def _control(pipeline: Pipeline, ctx: StatementContext, verb: str) -> None:
    """BEGIN / COMMIT / ROLLBACK through the pipeline, so state and cache stay true."""
    result = await pipeline.run(ctx.sub((await ctx.split(verb))[0], (), ()))
    await result.close()


# ---------------------------------------------------------------- COPY TO STDOUT


async def copy_out(pipeline: Pipeline, ctx: StatementContext, spec: Copy) -> CopyOut:
    if spec.query is not None:
        text = spec.query
    elif spec.columns:
        # Checked against the table first: SQLite would read an unknown "name" as a string.
        names, _ = await _columns(pipeline, ctx, spec)
        text = f"SELECT {', '.join(quote_ident(c) for c in names)} FROM {_relation(spec)}"
    else:
        text = f"SELECT * FROM {_relation(spec)}"
    statements = await ctx.split(text)
    inner = statements[0].statement
    if not inner.returns_rows:
        if inner.kind in (dialects.Kind.INSERT, dialects.Kind.UPDATE, dialects.Kind.DELETE):
            raise errors.FeatureNotSupported("COPY query must have a RETURNING clause")
        raise errors.SyntaxError(f'syntax error at or near "{text.split()[0]}"')
    result = await pipeline.backend_rows(ctx.sub(statements[0], (), ()))
    columns = result.columns or []
    names = [c.name for c in columns]
    for name in spec.options.force_quote:
        if name != "*" and name not in names:
            await result.close()
            raise errors.from_sqlstate(
                "42P10", f'FORCE_QUOTE column "{name}" not referenced by COPY'
            )
    client = encoding.lookup(ctx.settings.get("client_encoding"))
    writer = writer_for(
        spec.options, names, [c.type_oid for c in columns], ctx.settings.tz(),
        client.codec if client is not None else None,
    )
    return CopyOut(result, writer, spec.options.format == "binary", len(columns))


class CopyOut:
    """The backend result streamed as CopyData rows, then the trailer and CopyDone."""

    __slots__ = ("_inner", "_started", "_writer", "binary", "copy", "done", "ncols")
    inbound = False
    columns = None
    style = None  # its batches come as CopyData already

    def __init__(self, inner: Any, writer: Any, binary: bool, ncols: int) -> None:
        self._inner = inner
        self._writer = writer
        self._started = False
        self.binary = binary
        self.ncols = ncols
        self.copy = self
        self.done = False

    @property
    def tag(self) -> str:
        return f"COPY {self._inner.rows}"

    async def fetch(self, max_rows: int) -> Batch:
        """The next rows as CopyData (the header first, the trailer and CopyDone last)."""
        head = b""
        if not self._started:
            self._started = True
            head = self._writer.start()
        rows = await self._inner.fetch_rows(DEFAULT_BATCH)
        data = self._writer.rows(rows) if rows else b""
        if self._inner.done:
            self.done = True
            data += self._writer.end() + m.COPY_DONE
        return Batch([], head + data if head else data, len(rows))

    async def close(self) -> None:
        await self._inner.close()
