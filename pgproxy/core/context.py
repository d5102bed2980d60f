"""The statement context: what a stage sees of one statement and of its session.

A stage gets this, never the Session or the Proxy: the statement, its
parameters and result formats, the session's settings and transaction state
to read, a way to run a call on the backend connection in a worker, and the
few shared services a stage needs. State changes are reported through its
methods, which the Session carries out (the one place session state changes).
The catalog's worker thread gets snapshots taken here on the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from operator import attrgetter
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


def _read(name: str) -> Any:
    """A context attribute that is the session's own `name` (a value, or a bound method
    the caller calls with its arguments unchanged), read by a C getter: the statement
    path makes no Python frame per delegation."""
    return property(attrgetter("_s." + name))


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
    # A name bound by _read is the session's own attribute or method, read by a C getter.

    user: str = _read("user")
    database: str = _read("database")
    pid: int = _read("pid")
    settings: Settings = _read("settings")  # to read; changes go through apply_setting
    target: Callable[[], dialects.Target] = _read("target")
    target_now: dialects.Target | None = _read("target_now")  # target() once made (None: not yet)

    # ------------------------------------------------------------ transaction state (read)

    in_transaction: bool = _read("in_transaction")
    failed: bool = _read("failed")
    lost_transaction: bool = _read("lost_transaction")
    cache_tx: Any = _read("cache_tx")
    temp_names: frozenset[str] = _read("temp_names")

    # ------------------------------------------------------------ session-owned registries

    cursors: Cursors = _read("cursors")
    savepoints: Savepoints = _read("savepoints")
    ddl_undo: list[str] = _read("ddl_undo")
    sql_statements: dict[str, PreparedStatement] = _read("sql_statements")
    protocol_statements: dict[str, Any] = _read("protocol_statements")
    inbox: notify.Inbox = _read("inbox")
    notifications: notify.Hub = _read("notifications")
    advisory: Any = _read("advisory")

    # ------------------------------------------------------------ state changes (reported)

    apply_setting: Any = _read("apply_setting")

    def end_local_settings(self) -> None:
        """set_config(…, true) outside a transaction block lasted for its statement only."""
        self._s.settings.end_transaction()

    def use(self, database: str) -> None:
        self._s.use(database)
        self.route = self._s.route

    statement_failed: Callable[[], None] = _read("statement_failed")
    # A COMMIT the backend refused: the transaction ends all the same (a ROLLBACK next).
    commit_failed: Callable[[], None] = _read("commit_failed")
    after_statement: Any = _read("after_statement")
    end_lost_transaction: Any = _read("end_lost_transaction")
    set_cache_tx: Any = _read("set_cache_tx")
    add_temp_names: Any = _read("add_temp_names")
    # The statement left state on the backend connection: the session keeps it.
    pin: Callable[[], None] = _read("pin")
    set_active: Callable[[Any], None] = _read("set_active")
    keep_open: Any = _read("keep_open")

    # What a backend result calls: run a fetch on the connection; say it has ended.
    result_callbacks: tuple[Callable[..., Awaitable[Any]], Callable[[Any], None]] = property(
        attrgetter("_s.call", "_s.forget_active"))  # type: ignore[assignment]

    def notify(self, channel: str, payload: str) -> None:
        notify.notify(self, channel, payload)

    session_by_pid: Any = _read("session_by_pid")

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

    resolve_setting: Any = _read("resolve_setting")
    session_value: Any = _read("session_value")
    read_literal: Any = _read("read_literal")
    decode_params: Any = _read("decode_params")
    prepare: Any = _read("prepare")
    split: Any = _read("split")

    # ------------------------------------------------------------ the backend connection
    # (these hand back the session's own awaitable: no frame of their own on the hot path)

    connection: Callable[[], Awaitable[Connection]] = _read("connection")
    # `run(fn, *args, retry=False)`: `fn(conn, *args)` on the session's backend connection.
    run: Callable[..., Awaitable[Any]] = _read("run")
    call: Callable[..., Awaitable[Any]] = _read("call")

    async def call_backend(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` after the open result is released (the catalog's schema reads)."""
        await self._s.release_active()
        conn = await self._s.connection()
        return await self._s.call(fn, conn, *args)

    release_active: Callable[[], Awaitable[None]] = _read("release_active")
    # The result still open on the connection (None: none), which release_active closes.
    active_result: Any = _read("_active")
    push_settings: Any = _read("push_settings")

    def in_worker(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Work that is no backend's (the catalog's SQLite) in the proxy's workers."""
        return self._s.workers.run(fn, *args)

    wait_for_lock: Any = _read("wait_for_lock")

    # ------------------------------------------------------------ snapshots for a worker

    def settings_snapshot(self) -> Settings:
        """A copy of the settings a worker may read and change (set_config) off the loop."""
        return self._s.settings.copy()

    # Every open session: (database, pid, user, application_name, is this one).
    activity: Callable[[], list[tuple[str, int, str, str, bool]]] = _read("activity")

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
