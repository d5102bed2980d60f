"""Backend connection pools: one per backend member, lending connections to sessions.

A session borrows a connection for one transaction, or one statement outside
a transaction block, and gives it back (pool_mode "transaction"), or keeps it
for its whole life (pool_mode "session", or a session pinned by state that
lives on its connection: see Session._settle). Borrowing an idle connection
is a pop on the event loop, with no thread hop; only opening and closing one
runs in the backend's worker threads. With every connection lent, a borrower
waits in a first-come queue for at most `pool_timeout` seconds, then gets
53300 naming the pool; a backend that cannot be reached answers with its own
08xxx error. A janitor closes idle connections past `idle_timeout` (down to
`min_idle`), connections older than `max_lifetime`, and opens up to `min_idle`.

Configuration, the [pool] section of pgproxy.toml (defaults for every backend)
and [pool.NAME] (one route's members, or one member by its name):

    pool_mode = "transaction"  # or "session"; PostgreSQL pass-through and Dolt: session only
    pool_size = 20             # connections open at most, per member
    min_idle = 0               # idle connections kept open
    max_lifetime = 3600.0      # seconds before a connection is closed and replaced
    idle_timeout = 600.0       # seconds an idle connection is kept (above min_idle)
    pool_timeout = 30.0        # seconds a borrower waits for a connection before 53300
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import dialects
from pgproxy import errors
from pgproxy.backends import steps
from pgproxy.backends.base import Backend, Connection
from pgproxy.workers import Workers

log = logging.getLogger("pgproxy.pool")

MODES = ("transaction", "session")


@dataclass(frozen=True, slots=True)
class PoolOptions:
    pool_mode: str = "transaction"
    pool_size: int = 20
    min_idle: int = 0
    max_lifetime: float = 3600.0
    idle_timeout: float = 600.0
    pool_timeout: float = 30.0

    def updated(self, section: Mapping[str, Any], where: str) -> PoolOptions:
        """These options with a section's keys applied, each checked."""
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in section.items():
            if isinstance(value, dict):
                continue  # a [pool.NAME] table inside [pool]
            if key not in known:
                raise ValueError(f"unknown {where} setting {key!r}")
            if key == "pool_mode":
                if value not in MODES:
                    raise ValueError(f"{where} pool_mode must be one of {', '.join(MODES)}")
                changes[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{where} {key} must be a number >= 0, not {value!r}")
            changes[key] = int(value) if key in ("pool_size", "min_idle") else float(value)
        opts = replace(self, **changes)
        if opts.pool_size < 1:
            raise ValueError(f"{where} pool_size must be at least 1")
        if opts.min_idle > opts.pool_size:
            raise ValueError(f"{where} min_idle must not exceed pool_size")
        if opts.pool_timeout <= 0:
            raise ValueError(f"{where} pool_timeout must be positive")
        return opts


def options_for(section: Mapping[str, Any], names: Sequence[str]) -> PoolOptions:
    """[pool]'s defaults, then [pool.NAME] for each of `names` that has one (route, member)."""
    opts = PoolOptions().updated(section, "[pool]")
    for name in names:
        sub = section.get(name)
        if isinstance(sub, dict):
            opts = opts.updated(sub, f"[pool.{name}]")
    return opts


def check_mode(opts: PoolOptions, backend: Backend, name: str) -> PoolOptions:
    """Transaction pooling where a connection carries no state the proxy cannot see."""
    caps = backend.capabilities
    if opts.pool_mode == "transaction" and (caps.passthrough or caps.branches):
        why = ("PostgreSQL keeps SET, PREPARE and advisory locks on the connection"
               if caps.passthrough else "a Dolt connection carries its checked-out branch")
        raise ValueError(f'[pool] pool_mode "transaction" is not possible for backend {name} '
                         f'({backend.name}): {why}; use pool_mode = "session"')
    return opts


def default_mode(backend: Backend) -> str:
    caps = backend.capabilities
    return "session" if caps.passthrough or caps.branches else "transaction"


class Lease:
    """One pooled connection and its ages."""

    __slots__ = ("born", "conn", "used")

    def __init__(self, conn: Connection, now: float) -> None:
        self.conn = conn
        self.born = now
        self.used = now


class ConnectionPool:
    """The connections of one backend member: idle ones, a count of lent ones, and waiters."""

    def __init__(
        self, name: str, backend: Backend, workers: Workers, options: PoolOptions,
        connect: Callable[[], Connection],
    ) -> None:
        self.name = name
        self.backend = backend
        self.workers = workers
        self.options = options
        self.transaction_mode = options.pool_mode == "transaction"
        self._connect = connect
        self._idle: deque[Lease] = deque()
        self._waiters: deque[asyncio.Future[Lease | None]] = deque()
        self.open = 0  # connections open or opening (idle + lent)
        self.lent = 0
        self.pinned = 0  # sessions in transaction mode pinned to their connection
        self.opened = 0
        self.closed = 0
        self.timeouts = 0
        self.max_wait = 0.0

    # ------------------------------------------------------------ lending

    def take_idle(self) -> Lease | None:
        """An idle connection at once, or None: the hot path, a pop on the loop (max_lifetime
        is enforced as connections come back and by the janitor, every second)."""
        if self._idle:
            self.lent += 1
            return self._idle.pop()  # the warmest; the janitor trims the coldest
        return None

    async def acquire(self) -> Lease:
        lease = self.take_idle()
        if lease is not None:
            return lease
        if self.open < self.options.pool_size:
            return await self._open()
        return await self._wait()

    async def _open(self) -> Lease:
        self.open += 1
        self.lent += 1
        try:
            conn = await self.workers.run(self._connect)
        except BaseException:
            self.open -= 1
            self.lent -= 1
            self._wake_one(None)  # a slot is free again: a waiter may try its own open
            raise
        self.opened += 1
        return Lease(conn, time.monotonic())

    async def _wait(self) -> Lease:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Lease | None] = loop.create_future()
        self._waiters.append(waiter)
        start = time.monotonic()
        timer = loop.call_later(self.options.pool_timeout, self._expire, waiter)
        try:
            lease = await waiter
        except TimeoutError:
            self.timeouts += 1
            raise errors.InsufficientResources(
                f"too many connections: no connection to backend {self.name} was free within "
                f"pool_timeout ({self.options.pool_timeout:g} s); all "
                f"{self.options.pool_size} are in use",
                sqlstate="53300",
                hint="Raise [pool] pool_size or pool_timeout, or shorten transactions.",
            ) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                given = waiter.result()
                if given is not None:
                    self.release(given)  # the connection handed over goes to the next
                else:
                    self._wake_one(None)  # so does the free slot
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            self.max_wait = max(self.max_wait, time.monotonic() - start)
        if lease is None:  # a connection closed: its slot is this waiter's to open
            return await self._open()
        return lease

    def wait_soon(self, then: Callable[[Lease | None], None]) -> None:
        """_wait for a caller with no coroutine (a read answered at the wire): `then(lease)`
        when a connection comes back to it, in turn with acquire's waiters; `then(None)`
        when a slot came free instead (acquire opens it) or pool_timeout passed."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Lease | None] = loop.create_future()
        self._waiters.append(waiter)
        start = time.monotonic()
        timer = loop.call_later(self.options.pool_timeout, self._expire, waiter)

        def lent(done: asyncio.Future[Lease | None]) -> None:
            timer.cancel()
            self.max_wait = max(self.max_wait, time.monotonic() - start)
            if done.exception() is None:
                then(done.result())
                return
            with contextlib.suppress(ValueError):
                self._waiters.remove(done)
            then(None)  # the full path waits its own turn, and reports 53300 if it must

        waiter.add_done_callback(lent)

    def _expire(self, waiter: asyncio.Future[Lease | None]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())

    def _wake_one(self, lease: Lease | None) -> bool:
        """Hand `lease` (None: a free slot) to the first waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(lease)  # None: the waiter's own open counts it
                return True
        return False

    def release(self, lease: Lease) -> None:
        """A clean connection comes back: to the first waiter, else to the idle list."""
        now = time.monotonic()
        if now - lease.born >= self.options.max_lifetime:
            self.discard(lease)
            return
        lease.used = now
        if self._waiters and self._wake_one(lease):
            return  # still lent, to the waiter
        self.lent -= 1
        self._idle.append(lease)

    def discard(
        self, lease: Lease, undo: Sequence[str] = (), closed: bool = False, lost: bool = False
    ) -> None:
        """A lent connection that must not be lent again (broken, dirty, or too old):
        closed in a worker (`closed`: its closing is already on its way), its slot freed.
        `lost`: the backend broke it off, so the idle ones are suspect too (purge)."""
        self.lent -= 1
        self.open -= 1
        if closed:
            self.closed += 1
        else:
            self._close(lease, undo, counted=True)
        if lost:
            self.purge()
        self._wake_one(None)

    def purge(self) -> None:
        """Close every idle connection: the backend restarted or went away, and a statement
        should get a fresh connection rather than find a dead one."""
        while self._idle:
            self._close(self._idle.pop())

    def _close(self, lease: Lease, undo: Sequence[str] = (), counted: bool = False) -> None:
        if not counted:
            self.open -= 1
        self.closed += 1
        try:
            self.workers.submit(close_connection, lease.conn, undo)
        except RuntimeError:  # no event loop any more (shutting down): close it here
            close_connection(lease.conn, undo)

    # ------------------------------------------------------------ upkeep

    def tidy(self) -> int:
        """Close idle connections past idle_timeout or max_lifetime; returns how many to open
        to keep min_idle (the caller opens them, never beyond pool_size)."""
        opts = self.options
        now = time.monotonic()
        keep: deque[Lease] = deque()
        spare = len(self._idle) - opts.min_idle
        for lease in self._idle:  # oldest-used first (release appends)
            old = now - lease.born >= opts.max_lifetime
            cold = now - lease.used >= opts.idle_timeout and spare > 0
            if old or cold:
                spare -= 1
                self._close(lease)
            else:
                keep.append(lease)
        self._idle = keep
        want = opts.min_idle - len(self._idle)
        return max(0, min(want, opts.pool_size - self.open))

    async def check_idle(self, unused_for: float) -> bool:
        """Ping the idle connections unused for `unused_for` seconds, in the workers, each
        taken off the idle list meanwhile; False when one is dead (all idle ones are then
        purged: a restart or a network cut took them all)."""
        now = time.monotonic()
        stale = [lease for lease in self._idle if now - lease.used >= unused_for]
        for lease in stale:
            try:
                self._idle.remove(lease)
            except ValueError:
                continue  # lent meanwhile: its borrower finds out itself
            self.lent += 1
            try:
                await self.workers.run(ping, lease.conn)
            except Exception as exc:  # any failure of the ping: the connection is done for
                log.info("pool %s: an idle connection failed its check: %s", self.name, exc)
                self.discard(lease, lost=True)
                return False
            self.lent -= 1
            if not self._wake_one(lease):
                self._idle.appendleft(lease)  # cold end: its `used` stays as it was
            else:
                self.lent += 1
        return True

    async def fill(self, count: int) -> None:
        """Open `count` connections for the idle list (min_idle)."""
        for _ in range(count):
            if self.open >= self.options.pool_size:
                return
            try:
                lease = await self._open()
            except errors.PgError as exc:
                log.debug("pool %s could not open a min_idle connection: %s", self.name,
                          exc.message)
                return
            self.release(lease)

    def close(self) -> None:
        """Shutting down: close every idle connection (lent ones close with their sessions)."""
        while self._idle:
            self._close(self._idle.pop())
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(errors.ConnectionFailure(
                    f"backend {self.name} is shutting down", sqlstate="57P01"))

    def row(self) -> tuple[Any, ...]:
        """SHOW POOLS: name, mode, size, open, in use, idle, waiting, pinned, opened, closed,
        timeouts, max wait (ms)."""
        o = self.options
        return (self.name, o.pool_mode, o.pool_size, self.open, self.lent, len(self._idle),
                sum(not w.done() for w in self._waiters), self.pinned, self.opened,
                self.closed, self.timeouts, round(self.max_wait * 1000))


def open_connection(backend: Backend, database: str | None = None) -> Connection:
    """In a worker: a new connection, set up as translated SQL needs it."""
    conn = backend.connect(database)
    for sql in dialects.session_setup(backend.dialect):
        conn.execute(sql, ()).close()
    return conn


def ping(conn: Connection) -> None:
    """In a worker: `SELECT 1` on `conn`."""
    cursor = conn.execute("SELECT 1", ())
    try:
        cursor.fetch(1)
    finally:
        cursor.close()


def close_connection(conn: Connection, undo: Sequence[str] = ()) -> None:
    """Close `conn`; a transaction block the client left open rolls back, and what its DDL
    made on a backend that committed it by itself is dropped (dialects/implicit_commit.py)."""
    if undo:
        try:
            steps.run_sql(conn, "ROLLBACK")
            for sql in reversed(undo):
                steps.run_sql(conn, steps.literal(conn, sql))
        except Exception:  # the connection may be gone with the client: nothing to undo on
            log.warning("dropping what an abandoned transaction block created failed",
                        exc_info=True)
    try:
        conn.close()
    except Exception:  # the client is gone; a failed close only needs a log line
        log.debug("error closing backend connection", exc_info=True)
