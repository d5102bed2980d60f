"""What every backend implements: Backend -> Connection -> Cursor.

Shaped like buenavista's Connection/Session/QueryResult split. All methods
except `Connection.cancel` block and are called from a worker thread, one
thread at a time per connection; the event loop never calls them. Errors are
raised as `pgproxy.errors.PgError` subclasses with a real SQLSTATE: each
backend owns its map from driver errors to SQLSTATEs, keeps the backend's
message readable and never lets credentials into a message.

Values crossing this interface are plain Python objects: None, bool, int,
float, Decimal, str, bytes, datetime.date/time/datetime/timedelta, uuid.UUID,
and for JSON either str or dict/list. A backend may return a str for any type
(SQLite keeps dates as text); the wire's encoders accept that.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

ParamStyle = Literal["qmark", "format", "dollar"]
log = logging.getLogger("pgproxy.backends")


@dataclass(frozen=True, slots=True)
class Column:
    """One result column as RowDescription describes it."""

    name: str
    type_oid: int
    type_size: int = -1
    type_mod: int = -1
    table_oid: int = 0
    column_number: int = 0


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can honour; the dialect layer refuses the rest with 0A000."""

    as_of_commit: bool = False  # AS OF '<commit|branch|tag|HEAD~n>'
    as_of_timestamp: bool = False  # AS OF TIMESTAMP / FOR SYSTEM_TIME AS OF
    branches: bool = False  # branch hints, revision databases
    transactions: bool = True
    savepoints: bool = True
    transactional_ddl: bool = True  # DDL waits for COMMIT (MySQL commits it by itself)
    returning: bool = False  # INSERT/UPDATE/DELETE ... RETURNING natively
    # A result stays readable while other statements run on the same connection
    # (SQL cursors need not read theirs into memory first).
    open_results: bool = False
    # What the proxy makes up for; the pipeline and the catalog test these, never a name.
    # PostgreSQL itself: statements pass untranslated, and its own catalog, session
    # settings and advisory locks answer (the proxy emulates none of them).
    passthrough: bool = False
    typed_results: bool = True  # each result column has a declared type (not SQLite's min())
    # How the catalog reads the schema (catalog/introspect.py): 'sqlite_master',
    # 'information_schema', or '' for a backend the catalog does not emulate.
    schema_source: str = ""
    # An in-process engine whose reads may run on the event loop under a time budget
    # (workers.Moved): a point query costs less than the hop to a worker thread.
    inline_reads: bool = False


@runtime_checkable
class Cursor(Protocol):
    """The result of one statement: its columns, then rows fetched in batches."""

    columns: Sequence[Column] | None  # None when the statement returns no rows
    rowcount: int  # rows affected by a write, or -1

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        """Up to `size` rows; an empty list once the result is exhausted."""
        ...

    def close(self) -> None:
        """Discard the rest of the result; the connection is usable afterwards."""
        ...

    # Optional, called on the event loop and never blocking (BackendResult uses them):
    #   read_ahead(size) -> None   start reading the next `size` rows in the background
    #                              (the client works on the last batch meanwhile); the
    #                              next fetch or close waits for it;
    #   ready(size) -> list | None  up to `size` rows a finished read-ahead holds, taken
    #                              without touching the connection; None: call fetch().


@runtime_checkable
class Connection(Protocol):
    """One backend connection, used by one client session at a time."""

    def execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        """Run one statement in the backend's dialect with bound parameters."""
        ...

    def describe(self, sql: str, params: Sequence[Any]) -> Sequence[Column] | None:
        """The columns `sql` would return, without side effects; None if it returns none."""
        ...

    # Optional: `executemany(sql, rows) -> None` runs one statement for many rows (COPY
    # FROM's batches); without it, COPY calls `execute` once per row.

    @property
    def in_transaction(self) -> bool:
        """The driver's real transaction state (never guessed from SQL text)."""
        ...

    def cancel(self) -> None:
        """Interrupt the running statement; called from another thread."""
        ...

    def close(self) -> None: ...

    # Optional, read through abort() and broken() below:
    #   abort() -> None   break the connection off at once from any thread, with no
    #                     blocking call (a socket shutdown), so a call blocked on a
    #                     hung server returns with an error;
    #   broken: bool      after a connection error (08xxx), whether the connection
    #                     can serve no more statements;
    #   writing: bool     whether the open transaction has written (an inline_reads
    #                     engine's: a BEGIN, COMMIT or ROLLBACK runs on the loop only
    #                     when it has not, pipeline._begin_or_end).


@runtime_checkable
class Backend(Protocol):
    """A configured backend URL: its dialect, capabilities and connections."""

    name: str  # 'sqlite', 'mysql', 'mariadb', 'postgresql', 'dolt', 'dolt+mysql'
    dialect: str  # the dialects/ target, a key of registry.ENGINES
    paramstyle: ParamStyle
    capabilities: Capabilities

    def connect(self, database: str | None = None) -> Connection:
        """A new connection; `database` is the client's database name when it picks one."""
        ...

    def close(self) -> None:
        """Release everything the backend holds (engines, pools)."""
        ...

    def redacted_url(self) -> str:
        """The URL with any password removed, for logs and messages."""
        ...


def abort(conn: Any) -> None:
    """`conn.abort()` for a backend that has it; failures only logged (best effort)."""
    method = getattr(conn, "abort", None)
    if method is not None:
        try:
            method()
        except Exception:  # the call then ends when the backend answers
            log.debug("error aborting a backend connection", exc_info=True)


def broken(conn: Any) -> bool:
    """After a connection error: is `conn` done for? (Without the attribute: assume so.)"""
    return bool(getattr(conn, "broken", True))
