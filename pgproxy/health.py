"""Backend health: a cheap ping per backend, on a connection of its own, every few seconds.

Each backend the router knows (every member of every route: primaries and
replicas) is pinged (`SELECT 1`) in a thread of the
checker's own, so a backend that hangs never takes a query worker. A backend
is `unknown` until its first check, then `up` or `down`; a change is
reported through `on_change(name, up, detail)` (the watch turns it into
backend_up / backend_down events and the health metric). Only the ping
decides: a statement that fails to connect, or loses its connection (08xxx,
57P01), asks for a check now (at most one in flight per backend), so a dead
server is down within one ping while one session's broken socket never flaps
a backend that is up. A ping whose kept connection broke (a restart the
server is already back from) tries once more on a new connection before
saying down; a ping that times out has its connection broken off, so its
thread comes back even from a hung server. For a replica whose route sets
max_replica_lag, the ping also reads its replication lag (MariaDB/MySQL:
SHOW REPLICA STATUS, else SHOW SLAVE STATUS, Seconds_Behind_Master; no row
or NULL: not replicating) and reports it through `on_lag(name, seconds)`.

Configuration, the [health] section of pgproxy.toml:

    enabled = true     # false: no checks; SHOW BACKENDS says "unknown"
    interval = 2.0     # seconds between checks of each backend
    timeout = 5.0      # seconds a ping may take before the backend counts as down
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pgproxy import errors
from pgproxy.backends.base import Backend, abort
from pgproxy.core.hooks import Hook

log = logging.getLogger("pgproxy.health")

# SQLSTATEs that say the backend, not the statement, failed.
UNAVAILABLE = frozenset({"08000", "08001", "08003", "08004", "08006", "57P01", "57P03"})


@dataclass
class HealthOptions:
    enabled: bool = True
    interval: float = 2.0
    timeout: float = 5.0

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> HealthOptions:
        opts = cls()
        for key, value in section.items():
            if not hasattr(opts, key):
                raise ValueError(f"unknown [health] setting {key!r}")
            setattr(opts, key, bool(value) if key == "enabled" else float(value))
        if opts.interval <= 0 or opts.timeout <= 0:
            raise ValueError("[health] interval and timeout must be positive")
        return opts


@dataclass
class BackendHealth:
    name: str
    state: str = "unknown"  # unknown, up, down
    since: float = field(default_factory=time.time)  # Unix seconds of the last change
    detail: str = ""  # why it is down
    checks: int = 0
    failures: int = 0
    lag: float | None = None  # a replica's seconds behind its primary (None: not replicating)
    conn: Any = None  # the ping's own connection; used by one ping at a time
    busy: bool = False  # a ping is running (or hung) in the thread
    soon: bool = False  # a prompt check is scheduled or running


class HealthChecker:
    """Pings every routed backend every `interval` seconds; keeps and reports their state."""

    def __init__(
        self,
        backends: Callable[[], Mapping[str, Backend]],
        options: HealthOptions | None = None,
        on_change: Callable[[str, bool, str], None] | None = None,
        *,
        lag: Callable[[], set[str]] | None = None,
        on_lag: Callable[[str, float | None], None] | None = None,
    ) -> None:
        self._backends = backends
        self.options = options or HealthOptions()
        self.on_change = on_change
        self._lag = lag
        self.on_lag = on_lag
        self.states: dict[str, BackendHealth] = {}
        self._threads = ThreadPoolExecutor(4, thread_name_prefix="pgproxy-health")
        self._task: asyncio.Task[None] | None = None
        self._rechecks: set[asyncio.Task[None]] = set()
        self.hook = _Accounting(self)  # on the statement path: failures that say "down"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="health checks")

    async def stop(self) -> None:
        for task in [self._task, *self._rechecks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        states = list(self.states.values())
        self._threads.submit(_close_all, [s for s in states if not s.busy])
        self._threads.shutdown(wait=False)

    async def _run(self) -> None:
        while True:
            await self.check_all()
            await asyncio.sleep(self.options.interval)

    # ------------------------------------------------------------ checks

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(name) for name in list(self._backends())))

    async def check(self, name: str) -> None:
        backend = self._backends().get(name)
        if backend is None:
            return
        st = self.states.get(name)
        if st is None:
            st = self.states[name] = BackendHealth(name)
        if st.busy:
            return  # the last ping has not come back: its timeout already said so
        st.checks += 1
        loop = asyncio.get_running_loop()
        lag = self._lag is not None and name in self._lag()
        try:
            await asyncio.wait_for(
                loop.run_in_executor(self._threads, _ping, st, backend, lag),
                self.options.timeout,
            )
        except TimeoutError:
            abort(st.conn)  # the hung ping's thread returns once its socket is shut
            self._set(st, False, f"no answer to a ping within {self.options.timeout:g} s")
        except Exception as exc:  # any failure of the ping is the backend's
            self._set(st, False, _describe(exc))
        else:
            self._set(st, True, "")
            if lag and self.on_lag is not None:
                self.on_lag(name, st.lag)

    def check_soon(self, backend: Backend) -> None:
        """A statement could not reach `backend`: ping it now, unless a check is on its way."""
        for name, b in list(self._backends().items()):
            if b is not backend:
                continue
            st = self.states.get(name)
            if st is None:
                st = self.states[name] = BackendHealth(name)
            if st.soon or st.busy:
                continue
            st.soon = True
            task = asyncio.get_running_loop().create_task(self._check_soon(st, name))
            self._rechecks.add(task)
            task.add_done_callback(self._rechecks.discard)

    async def _check_soon(self, st: BackendHealth, name: str) -> None:
        try:
            await self.check(name)
        finally:
            st.soon = False

    def _set(self, st: BackendHealth, up: bool, detail: str) -> None:
        state = "up" if up else "down"
        if not up:
            st.failures += 1
            st.detail = detail
        if st.state == state:
            return
        was, st.state, st.since = st.state, state, time.time()
        if up:
            st.detail = ""
        if was == "unknown" and up:
            log.info("backend %s is up", st.name)
            return  # the first check finding it up is no event
        if up:
            log.warning("backend %s is up again", st.name)
        else:
            log.warning("backend %s is down: %s", st.name, detail)
        if self.on_change is not None:
            try:
                self.on_change(st.name, up, detail)
            except Exception:  # reporting must never stop the checks
                log.exception("reporting backend %s %s failed", st.name, state)

    # ------------------------------------------------------------ admin

    def state(self, name: str) -> str:
        st = self.states.get(name)
        return st.state if st is not None else "unknown"

    def detail(self, name: str) -> str:
        st = self.states.get(name)
        return st.detail if st is not None else ""


class _Accounting(Hook):
    """A statement that could not reach its backend asks for a check now (the ping decides)."""

    def __init__(self, checker: HealthChecker) -> None:
        self._checker = checker

    def error(self, ctx: Any, state: Any, exc: BaseException) -> None:
        if isinstance(exc, errors.PgError) and exc.sqlstate in UNAVAILABLE:
            self._checker.check_soon(ctx.route.backend)


def _ping(st: BackendHealth, backend: Backend, lag: bool = False) -> None:
    """In the checker's thread: `SELECT 1` on the ping's own connection, opened as needed;
    `lag`: then the replica's replication lag."""
    st.busy = True
    try:
        if st.conn is not None:
            try:
                _select_1(st.conn)
            except Exception:  # a connection from before a restart: try a new one
                _drop(st)
        if st.conn is None:
            st.conn = backend.connect(None)
            _select_1(st.conn)
        if lag:
            st.lag = replica_lag(st.conn)
    except BaseException:
        _drop(st)
        raise
    finally:
        st.busy = False


def _select_1(conn: Any) -> None:
    cursor = conn.execute("SELECT 1", ())
    try:
        cursor.fetch(1)
    finally:
        cursor.close()


def replica_lag(conn: Any) -> float | None:
    """Seconds_Behind_Master of a MariaDB/MySQL replica; None when it is not replicating."""
    for sql in ("SHOW REPLICA STATUS", "SHOW SLAVE STATUS"):
        try:
            cursor = conn.execute(sql, ())
        except errors.PgError:
            continue  # MariaDB before 10.5 knows only SHOW SLAVE STATUS
        try:
            rows = cursor.fetch(1)
            names = [c.name.lower() for c in cursor.columns or ()]
        finally:
            cursor.close()
        if not rows or "seconds_behind_master" not in names:
            return None
        value = rows[0][names.index("seconds_behind_master")]
        return None if value is None else float(value)
    return None


def _drop(st: BackendHealth) -> None:
    conn, st.conn = st.conn, None
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


def _close_all(states: list[BackendHealth]) -> None:
    for st in states:
        _drop(st)


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    code = getattr(exc, "sqlstate", None)
    return f"{code}: {message}" if code else message
