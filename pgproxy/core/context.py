"""The statement context: what a stage sees of one statement and of its session.

A stage gets this, never the Session or the Proxy: the statement, its
parameters and result formats, the session's settings and transaction state
to read, a way to run a call on the backend connection in a worker, and the
few shared services a stage needs. State changes are reported through its
methods, which the Session carries out (the one place session state changes).
The catalog's worker thread gets snapshots taken here on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import dialects
from pgproxy import advisory, notify
from pgproxy.backends.base import Connection
from pgproxy.core.statement import PreparedStatement
from pgproxy.cursors import Cursors
from pgproxy.routing.router import Route
from pgproxy.savepoints import Savepoints
from pgproxy.session import Session
from pgproxy.settings import Settings

T = TypeVar("T")
# The statement of a context built for Parse-time work, before any statement runs.
_NONE = dialects.Statement("", dialects.Kind.EMPTY, "")


class StatementContext:
    """One statement on its way through the stages (also built bare for Parse-time work)."""

    __slots__ = ("_s", "formats", "param_types", "params", "prepared", "route", "stmt")

    def __init__(
        self,
        session: Session,
        prepared: PreparedStatement | None,
        params: Sequence[Any] = (),
        formats: Sequence[int] = (),
    ) -> None:
        self._s = session
        # Where the session's statements go; only USE moves it, and USE answers itself.
        self.route: Route = session.route
        self.prepared = prepared
        self.stmt = _NONE if prepared is None else prepared.statement
        self.params = params
        self.formats = formats
        self.param_types: Sequence[int] = () if prepared is None else prepared.param_types

    @property
    def session_id(self) -> int:
        """Tells sessions apart (the statements of one session share it)."""
        return id(self._s)

    def sub(
        self, prepared: PreparedStatement, params: Sequence[Any], formats: Sequence[int]
    ) -> StatementContext:
        """Another statement of the same session (EXECUTE's, COPY's query)."""
        return StatementContext(self._s, prepared, params, formats)

    # ------------------------------------------------------------ who and where (read)

    @property
    def user(self) -> str:
        return self._s.user

    @property
    def database(self) -> str:
        return self._s.database

    @property
    def pid(self) -> int:
        return self._s.pid

    @property
    def settings(self) -> Settings:
        """To read; changes go through apply_setting."""
        return self._s.settings

    def target(self) -> dialects.Target:
        return self._s.target()

    # ------------------------------------------------------------ transaction state (read)

    @property
    def in_transaction(self) -> bool:
        return self._s.in_transaction

    @property
    def failed(self) -> bool:
        return self._s.failed

    @property
    def lost_transaction(self) -> bool:
        return self._s.lost_transaction

    @property
    def cache_tx(self) -> Any:
        return self._s.cache_tx

    @property
    def temp_names(self) -> frozenset[str]:
        return self._s.temp_names

    # ------------------------------------------------------------ session-owned registries

    @property
    def cursors(self) -> Cursors:
        return self._s.cursors

    @property
    def savepoints(self) -> Savepoints:
        return self._s.savepoints

    @property
    def ddl_undo(self) -> list[str]:
        return self._s.ddl_undo

    @property
    def sql_statements(self) -> dict[str, PreparedStatement]:
        return self._s.sql_statements

    @property
    def protocol_statements(self) -> dict[str, Any]:
        return self._s.protocol_statements

    @property
    def inbox(self) -> notify.Inbox:
        return self._s.inbox

    @property
    def notifications(self) -> notify.Hub:
        return self._s.notifications

    @property
    def advisory(self) -> Any:
        return self._s.advisory

    # ------------------------------------------------------------ state changes (reported)

    def apply_setting(self, setting: dialects.Setting) -> None:
        self._s.apply_setting(setting)

    def end_local_settings(self) -> None:
        """set_config(…, true) outside a transaction block lasted for its statement only."""
        self._s.settings.end_transaction()

    def use(self, database: str) -> None:
        self._s.use(database)
        self.route = self._s.route

    def statement_failed(self) -> None:
        self._s.statement_failed()

    def commit_failed(self) -> None:
        """A COMMIT the backend refused: the transaction ends all the same (a ROLLBACK next)."""
        self._s.commit_failed()

    def after_statement(self, kind: dialects.Kind, in_transaction: bool) -> None:
        self._s.after_statement(kind, in_transaction)

    def end_lost_transaction(self) -> Awaitable[None]:
        return self._s.end_lost_transaction()

    def set_cache_tx(self, tx: Any) -> None:
        self._s.set_cache_tx(tx)

    def add_temp_names(self, names: set[str]) -> None:
        self._s.add_temp_names(names)

    def pin(self) -> None:
        """The statement left state on the backend connection: the session keeps it."""
        self._s.pin()

    def set_active(self, result: Any) -> None:
        self._s.set_active(result)

    def keep_open(self, result: Any) -> None:
        self._s.keep_open(result)

    def result_callbacks(self) -> tuple[Callable[..., Awaitable[Any]], Callable[[Any], None]]:
        """What a backend result calls: run a fetch on the connection; say it has ended."""
        return self._s.call, self._s.forget_active

    def notify(self, channel: str, payload: str) -> None:
        notify.notify(self, channel, payload)

    def session_by_pid(self, pid: int) -> Session | None:
        return self._s.session_by_pid(pid)

    def is_own(self, session: Session) -> bool:
        return session is self._s

    async def activity_elsewhere(self) -> list[tuple[str, int, str, str | None, bool]]:
        """The other worker processes' sessions (--workers), as activity() gives them."""
        elsewhere = self._s.elsewhere()
        return [] if elsewhere is None else await elsewhere.activity()

    async def locks_elsewhere(self) -> list[tuple[Any, ...]]:
        """pg_locks rows of the other worker processes' sessions on this backend."""
        elsewhere = self._s.elsewhere()
        if elsewhere is None:
            return []
        return await elsewhere.locks(advisory.space(self._s.route.backend))

    async def signal_elsewhere(self, pid: int, terminate: bool) -> str:
        """pg_cancel_backend / pg_terminate_backend of another worker's session:
        'ok', 'denied' or 'none'."""
        elsewhere = self._s.elsewhere()
        return "none" if elsewhere is None else await elsewhere.signal(pid, terminate, self.user)

    # ------------------------------------------------------------ values

    def resolve_setting(
        self, setting: dialects.Setting, params: Sequence[Any]
    ) -> dialects.Setting:
        return self._s.resolve_setting(setting, params)

    def session_value(self, name: str, params: Sequence[Any] = ()) -> Any:
        return self._s.session_value(name, params)

    def read_literal(self, oid: int, text: str) -> Any:
        return self._s.read_literal(oid, text)

    def decode_params(
        self, prepared: PreparedStatement, values: Sequence[bytes | None], formats: Sequence[int]
    ) -> list[Any]:
        return self._s.decode_params(prepared, values, formats)

    def prepare(
        self, sql: str, param_types: Sequence[int] = ()
    ) -> Awaitable[PreparedStatement]:
        return self._s.prepare(sql, param_types)

    def split(self, sql: str) -> Awaitable[list[PreparedStatement]]:
        return self._s.split(sql)

    # ------------------------------------------------------------ the backend connection
    # (these hand back the session's own awaitable: no frame of their own on the hot path)

    def connection(self) -> Awaitable[Connection]:
        return self._s.connection()

    def run(self, fn: Callable[..., T], *args: Any, retry: bool = False) -> Awaitable[T]:
        """`fn(conn, *args)` on the session's backend connection, in a worker."""
        return self._s.run(fn, *args, retry=retry)

    def call(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        return self._s.call(fn, *args)

    async def call_backend(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` after the open result is released (the catalog's schema reads)."""
        await self._s.release_active()
        conn = await self._s.connection()
        return await self._s.call(fn, conn, *args)

    def release_active(self) -> Awaitable[None]:
        return self._s.release_active()

    def push_settings(self, conn: Connection) -> Awaitable[None]:
        return self._s.push_settings(conn)

    def in_worker(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Work that is no backend's (the catalog's SQLite) in the proxy's workers."""
        return self._s.workers.run(fn, *args)

    def wait_for_lock(self, waiter: asyncio.Future[None]) -> Any:
        return self._s.wait_for_lock(waiter)

    # ------------------------------------------------------------ snapshots for a worker

    def settings_snapshot(self) -> Settings:
        """A copy of the settings a worker may read and change (set_config) off the loop."""
        return self._s.settings.copy()

    def activity(self) -> list[tuple[str, int, str, str, bool]]:
        """Every open session: (database, pid, user, application_name, is this one)."""
        return self._s.activity()

    def cursor_rows(self) -> list[tuple[Any, ...]]:
        return self._s.cursors.rows()

    def prepared_rows(self) -> list[tuple[str, str, float, list[int], bool]]:
        return self._s.prepared_rows()

    def lock_rows(self) -> list[tuple[Any, ...]]:
        return self._s.advisory.rows(advisory.space(self._s.route.backend))

    # ------------------------------------------------------------ sessions of the proxy's own

    def internal(self, route: Route, user: str, peer: str) -> StatementContext:
        """A context on a new session of the proxy's own (a cache refresh)."""
        return StatementContext(self._s.spawn(route, user, peer), None)

    def on_cancel(self, stop: Callable[[], None]) -> Callable[[], None]:
        """Have a cancel request of this session also call `stop` (until the returned
        function is called): work of a stage's own the backend connection does not run."""
        hooks = self._s.on_cancel
        hooks.add(stop)
        return lambda: hooks.discard(stop)

    def cancel(self) -> None:
        """Cancel what this context's session runs (an internal session's statement)."""
        self._s.cancel()

    def drop(self) -> Awaitable[None]:
        """Close an internal session's backend connection; it never was a client: no event."""
        return self._s.drop_connection()
