"""What the wire layer asks of the proxy behind it.

The wire knows the protocol and nothing of SQL dialects or backends: it
talks to a `Core` (open a session for a StartupMessage) and to the
`CoreSession` it gets back, through these Protocols only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class ColumnDesc(Protocol):
    name: str
    type_oid: int
    type_size: int
    type_mod: int
    table_oid: int
    column_number: int


class Prepared(Protocol):
    """A parsed statement: what Parse created, or one statement of a simple query."""

    param_types: Sequence[int]  # one OID per $n; 0 where still unknown
    empty: bool  # only whitespace or comments: EmptyQueryResponse
    # The wire's own memo, None at first: its last result's RowDescription and row
    # encoder, reused while the columns, formats and Style stay the same.
    frontend: Any


class Batch(Protocol):
    """Some of a result's rows (pgproxy/results.py): the wire encodes `rows` into
    `frames` and keeps them there; a batch may come encoded already (a cache hit,
    COPY TO's CopyData)."""

    rows: list[tuple[Any, ...]]
    frames: bytes | None
    count: int


class Result(Protocol):
    """A running statement's result, streamed as batches of rows the wire encodes.

    Optional: `row_description(formats) -> bytes | None`, a RowDescription it keeps.
    """

    columns: Sequence[ColumnDesc] | None
    done: bool  # True once every row has been fetched; `tag` is valid then
    style: Any  # the DateStyle/IntervalStyle its values are written in (wire/codecs.Style)

    @property
    def tag(self) -> str: ...

    async def fetch(self, max_rows: int) -> Batch:
        """Up to `max_rows` rows (0: one batch of the result's choosing)."""
        ...

    async def close(self) -> None: ...


class Copy(Protocol):
    """A result that is a COPY has `copy` set to one of these (wire/copyio.py drives it).

    COPY TO: the result's fetch() returns batches of CopyData messages (their
    frames), the last batch ending with CopyDone. COPY FROM: the wire feeds the client's data in.
    """

    inbound: bool  # COPY FROM STDIN
    binary: bool
    ncols: int

    async def feed(self, data: bytes) -> None:
        """One CopyData message's bytes (COPY FROM)."""
        ...

    async def finish(self) -> None:
        """CopyDone: load the rest and commit; the result's tag is `COPY n` then."""
        ...

    async def fail(self, message: str) -> None:
        """CopyFail: undo and raise 57014."""
        ...

    async def abort(self, sqlstate: str) -> None:
        """Undo after a protocol error or a lost client."""
        ...


class CoreSession(Protocol):
    """One client's session behind the wire.

    Optional: `inbox`, whose `received` deque holds (pid, channel, payload)
    notifications to send and whose `wake` the wire sets to be told of new ones
    (pgproxy/notify.py).
    """

    # The wire's Parse statements by name, set by the wire after open_session.
    protocol_statements: dict[str, Any]

    def parameter_status(self) -> Mapping[str, str]:
        """The ParameterStatus values to report after authentication."""
        ...

    def changed_parameters(self) -> list[tuple[str, str]]:
        """ParameterStatus changes since the last call (a SET TimeZone, say)."""
        ...

    @property
    def transaction_status(self) -> bytes:
        """b'I' idle, b'T' in a transaction, b'E' in a failed transaction."""
        ...

    def idle_timeout(self) -> tuple[float, Exception] | None:
        """(seconds, the FATAL error to end with) while waiting for a command, if limited."""
        ...

    async def prepare(self, sql: str, param_types: Sequence[int] = ()) -> Prepared:
        """Parse one statement for the extended protocol (42601 if several)."""
        ...

    async def split(self, sql: str) -> list[Prepared]:
        """Parse a simple query's text into its statements."""
        ...

    async def begin_implicit(self, statements: Sequence[Prepared]) -> bool:
        """Open the implicit transaction a multi-statement Query runs in; False if none."""
        ...

    async def end_implicit(self, commit: bool) -> None:
        """Commit (or, after an error, roll back) the implicit transaction."""
        ...

    def decode_params(
        self, prepared: Prepared, values: Sequence[bytes | None], formats: Sequence[int]
    ) -> list[Any]:
        """Bind's raw parameter values as Python values, by the statement's types."""
        ...

    async def describe(
        self, prepared: Prepared, params: Sequence[Any] | None = None
    ) -> Sequence[ColumnDesc] | None:
        """The columns the statement would return, without running it or any side effect
        (`params`: a portal's bound values, which may type its columns more exactly)."""
        ...

    async def execute(
        self, prepared: Prepared, params: Sequence[Any], result_formats: Sequence[int]
    ) -> Result:
        """Start the statement; rows are pulled with `Result.fetch`."""
        ...

    def cursor_description(self, name: str) -> tuple[Sequence[ColumnDesc], list[int]] | None:
        """Columns and formats of the SQL cursor `name` (DECLARE), or None if none is open."""
        ...

    def end_of_sync(self) -> None:
        """A Sync arrived: an implicit transaction ends here."""
        ...

    def cancel(self) -> None:
        """Interrupt the running statement (a CancelRequest matched this session)."""
        ...

    async def close(self, reason: str) -> None: ...


class Core(Protocol):
    """The proxy behind the listener: opens sessions and checks passwords.

    Optional: `hit_path(session)`, an object whose `answer(mtype, body, protocol,
    reader) -> bool` may write the whole reply to a Bind (taking the Describe,
    Execute and Sync after it) or a Query before its handler runs (a query-cache
    hit, pgproxy/cache/hits.py); the wire then sends ReadyForQuery. Its
    `at_wire(data, protocol) -> bytes | None` may answer a request read whole while
    the connection waits for a command, ReadyForQuery included (a cache hit; with no
    cache, a repeated SQLite read run inline, pgproxy/wire_reads.py), or
    wire/repeats.PENDING: the object's `deliver`, which the connection sets, gets the
    reply when it is ready (None: the request goes the full path), and the connection
    holds what it receives meanwhile (a MariaDB read, pgproxy/wire_reads_async.py).
    """

    async def open_session(
        self, params: Mapping[str, str], pid: int, peer: str
    ) -> CoreSession:
        """A session for an authenticated StartupMessage (raises 3D000 and friends)."""
        ...
