"""A session's backend connection: borrowed from its pool, given back, and the calls run on it.

The backend connection is borrowed from its member's pool (routing/pool.py).
In pool_mode "transaction" it goes back between transactions (settle) unless
the session came to depend on it (_pin): a temporary table, a sequence's
currval, an open SQL cursor, a branch or USE, a statement the proxy cannot
see into. A read outside a transaction block may borrow a replica's instead
(routing/groups.py), and is retried once on another member when its own
cannot be reached. Each call runs in the backend's workers (workers.py), at
once on the event loop where the pool can, under statement_timeout.

BackendLink is Session's base class (pgproxy/session.py): the session's
transaction state, settings and cursors stay the session's, and are read and
set here as its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from time import perf_counter
from typing import Any, Protocol, TypeVar

from pgproxy import errors
from pgproxy.backends.base import Connection, abort, broken
from pgproxy.cursors import KEPT_ROWS, Cursors
from pgproxy.health import UNAVAILABLE
from pgproxy.routing.groups import Member
from pgproxy.routing.pool import ConnectionPool, Lease, close_connection, open_connection
from pgproxy.routing.router import Route
from pgproxy.settings import Settings
from pgproxy.workers import FINISHED, NOT_INLINE, QUEUED, Job

log = logging.getLogger("pgproxy.session")
T = TypeVar("T")

# How long a timed-out statement's cancel may take before the call is abandoned
# (a hung backend never answers it): its statement_timeout, within these bounds.
CANCEL_GRACE = (0.1, 1.0)


class Pools(Protocol):
    """The connection pools a session borrows from (pgproxy.proxy.Proxy)."""

    def connections(self, member: Member) -> ConnectionPool: ...

    def unreachable(self, member: Member) -> None: ...


class BackendLink:
    """The session's hold on a backend connection, and the driver calls it runs there."""

    # The session's own (pgproxy.session.Session), which this part reads and sets.
    _services: Pools
    route: Route
    settings: Settings
    in_transaction: bool
    failed: bool
    lost_transaction: bool
    cursors: Cursors
    ddl_undo: list[str]
    temp_names: frozenset[str]
    _closed: bool

    def __init__(self, services: Pools, route: Route) -> None:
        self._services = services
        self.conn: Connection | None = None
        self._conn_branch: str | None = None  # the branch `conn` has open
        # SET pgproxy.branch, read again only when the settings have changed (their version).
        self._branch_set: str | None = None
        self._branch_seen = -1
        # The connection's pool, and its member's workers (a replica's while a read holds one).
        self._home = services.connections(route.group.primary)  # type: ignore[union-attr]
        self.pool = self._home.workers
        self._lease: Lease | None = None
        self._lease_pool: ConnectionPool | None = None
        self._member: Member = route.group.primary  # type: ignore[union-attr]
        # Transaction pooling: the connection goes back between transactions, until pinned.
        self._lend = self._home.transaction_mode
        self._dirty = False  # the connection holds state of this session's (see _pin)
        group = route.group
        self._replicas = bool(group and group.replicas)
        self._sticky = group.options.sticky_after_write if self._replicas else 0.0  # type: ignore[union-attr]
        self._sticky_until = 0.0  # reads stay on the primary until then (sticky_after_write)
        self._active: Any = None  # the result whose cursor is open on `conn`
        self._running = False
        self._timed_out = False
        self._abandoned = False  # the last call was given up on (statement_timeout)
        self._timer: asyncio.TimerHandle | None = None
        # A PostgreSQL backend reads literals by its own TimeZone and DateStyle order:
        # what was last sent to it, and whether inside a transaction (a ROLLBACK undoes it).
        self._pushed: tuple[str, str] | None = None
        self._pushed_in_tx = False

    def _put_back(self) -> None:
        """End the session's hold on its connection: back to its pool if it is as clean as a
        new one, else closed (rolling back, and undoing DDL: pool.close_connection)."""
        conn, lease, pool = self.conn, self._lease, self._lease_pool
        clean = not (self._active is not None or self.in_transaction or self.failed
                     or self._depends())
        self._active = None
        self.cursors = Cursors()
        undo, self.ddl_undo = self.ddl_undo, []
        self._unhold()
        if conn is None:
            return
        if lease is None or pool is None:  # a branch's own connection, never pooled
            self.pool.submit(close_connection, conn, undo)
        elif clean:
            pool.release(lease)
        else:
            pool.discard(lease, undo)

    def _unhold(self) -> None:
        self.conn = None
        self._lease = self._lease_pool = None
        self._conn_branch = None
        self._member = self.route.group.primary  # type: ignore[union-attr]
        self.pool = self._home.workers

    def _depends(self) -> bool:
        """The connection holds state of this session's that a new one would not have."""
        return bool(self._dirty or self.temp_names or self.cursors.open or self.ddl_undo
                    or self._conn_branch)

    def _pin(self) -> None:
        """From now on the session keeps its connection (transaction mode's exception)."""
        self._dirty = True
        if self._lend and self._lease_pool is self._home:
            self._lend = False
            self._home.pinned += 1

    def pin(self) -> None:
        """A statement left state on the backend connection (a temporary table, a sequence's
        currval, what an unknown statement or a CALL may have set)."""
        self._pin()

    def settle(self) -> None:
        """Give the connection back if the session no longer needs it (transaction mode)."""
        lease = self._lease
        if lease is None or self._running or self._active is not None or self.in_transaction \
                or self.failed or self.lost_transaction:
            return
        pool = self._lease_pool
        if pool is self._home:
            if not self._lend:
                return
            if self._depends():
                self._pin()
                return
            # _unhold, inlined: this runs once per statement in transaction mode
            self.conn = self._lease = self._lease_pool = self._conn_branch = None
        elif len(self.cursors):  # a cursor read on a replica keeps it until detached
            return
        else:
            self._unhold()
        pool.release(lease)  # type: ignore[union-attr]

    async def run(self, fn: Callable[..., T], *args: Any, retry: bool = False) -> T:
        """`fn(conn, *args)` on the session's connection, opened first if need be.

        `retry`: the call is safe to repeat (a read with no side effects whose
        rows have not reached the client). Outside a transaction block, such a
        call that lost its connection runs once more on a fresh one, so a
        session open through a backend restart carries on unnoticed.
        """
        if retry and self._replicas and self._to_replicas():
            if self.conn is not None:  # lent for an earlier call (the catalog's schema read)
                self.settle()
            if self.conn is None:
                return await self._read(fn, args)
        conn = self._connection_now()
        if conn is None:
            conn = await self.connection()
        member = self._member
        if not retry and self._sticky:  # a write: the session's reads stay on the primary
            self._sticky_until = time.monotonic() + self._sticky
        start = perf_counter()
        try:
            try:  # at once on the loop where its pool can: no job, no future, no timer
                out = self.pool.inline(fn, conn, *args)
            except errors.PgError as exc:
                self._timed_out = self._abandoned = False
                raise await self._failed(exc, conn) from None
            if out is NOT_INLINE:
                out = await self.call(fn, conn, *args)
        except errors.PgError as exc:
            member.record(perf_counter() - start, False)
            lost = self.conn is None and exc.sqlstate in UNAVAILABLE
            if not (retry and lost and not self.in_transaction and not self._closed):
                if lost:
                    raise self._unreachable(member, exc) from None
                raise
            backend = self.route.backend.redacted_url()
            log.info("retrying a read on a new connection to %s: %s", backend, exc.message)
            member.retries += 1
        else:
            member.record(perf_counter() - start, True)
            return out
        conn = await self.connection()
        if self.route.backend.capabilities.passthrough:
            await self.push_settings(conn)  # the new connection has the backend's defaults
        return await self.call(fn, conn, *args)

    def _to_replicas(self) -> bool:
        """Whether a read may borrow a replica's connection now."""
        group = self.route.group
        return bool(
            group is not None and group.replicas and self._lend and not self.in_transaction
            and not self.failed and not len(self.cursors)
            and time.monotonic() >= self._sticky_until
            # A result kept open on a replica could not follow the session to the primary.
            and not self.route.backend.capabilities.open_results
        )

    async def _read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """A read on the member the route picks; once more on another should it be
        unreachable, at connect or before any of its rows reached the client."""
        group = self.route.group
        assert group is not None
        tried: frozenset[Member] = frozenset()
        while True:
            member = group.pick_read(tried)
            pool = self._home if member is group.primary else self._services.connections(member)
            start = perf_counter()
            try:
                conn = await self._borrow(pool, member)
                out = await self.call(fn, conn, *args)
            except errors.PgError as exc:
                member.record(perf_counter() - start, False)
                lost = self.conn is None and exc.sqlstate in UNAVAILABLE
                if not lost or tried or self._closed or self.in_transaction:
                    raise
                self._services.unreachable(member)
                group.ban(member, exc.message)
                tried = frozenset({member})
                nxt = group.pick_read(tried)
                if nxt is member:
                    raise
                group.failover(member, nxt, exc.message)
                log.info("read on %s failed (%s): retrying on %s", member.name, exc.message,
                         nxt.name)
                continue
            member.record(perf_counter() - start, True)
            return out

    async def _borrow(self, pool: ConnectionPool, member: Member) -> Connection:
        """A connection of `member`'s pool becomes the session's."""
        lease = pool.take_idle()
        if lease is None:
            group = self.route.group
            if member.down and group is not None and group.replicas:
                raise self._unreachable(member, errors.ConnectionFailure(
                    f"backend {member.name} is down"))
            try:
                lease = await self._acquire(pool)
            except errors.PgError as exc:
                if exc.sqlstate in UNAVAILABLE:
                    raise self._unreachable(member, exc) from None
                raise
        return self._hold(lease, pool, member)

    def _hold(self, lease: Lease, pool: ConnectionPool, member: Member) -> Connection:
        self._lease, self._lease_pool, self._member = lease, pool, member
        self.pool = pool.workers
        self.conn = lease.conn
        self._pushed = None
        return lease.conn

    async def _acquire(self, pool: ConnectionPool) -> Lease:
        """A connection opened or waited for, within statement_timeout: given up on, one
        that arrives later goes to the pool's idle list."""
        timeout = self.settings.statement_timeout_ms()
        if timeout <= 0:
            return await pool.acquire()
        task = asyncio.ensure_future(pool.acquire())
        done, _ = await asyncio.wait({task}, timeout=timeout / 1000)
        if not done:
            task.add_done_callback(partial(_late_lease, pool))
            raise errors.QueryCanceled("canceling statement due to statement timeout")
        return task.result()

    def _unreachable(self, member: Member, exc: errors.PgError) -> errors.PgError:
        """The error for a member that cannot be reached: for a route with replicas it names
        the route, and says 58000 when no member at all is left."""
        group = self.route.group
        if group is None or not group.replicas:
            return exc
        if member.role == "replica":
            return exc  # a read: _read tries another member
        now = time.monotonic()
        if all(m.down or m.banned(now) for m in group.replicas):
            return errors.SystemError(
                f'route "{group.name}" is down: no member can be reached',
                detail=f"primary {member.name}: {exc.message}",
            )
        return errors.ConnectionFailure(
            f'route "{group.name}": its primary {member.backend.redacted_url()} cannot be '
            "reached; only reads outside a transaction block can run now",
            detail=exc.message, hint=exc.hint,
        )

    def call(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Run a driver call on the session's connection in the backend's workers (its
        awaitable: no frame of its own on the hot path).

        Keeps the transaction state true afterwards, and drops a connection the
        backend lost, so the next statement gets a new one.
        """
        return self._wait(self.pool.call(fn, *args), self.conn)

    async def _wait(self, job: Job[T], conn: Connection | None) -> T:
        """The result of `job`, running on `conn` (None: it opens one).

        statement_timeout is enforced here: the timer cancels the backend
        statement; should the backend not answer the cancel within a grace
        period (a hung server), the call is abandoned and the connection broken
        off and closed in the worker, so the client gets 57014 on time either way.
        """
        timeout = self.settings.timeout_ms("statement_timeout")
        self._timed_out = self._abandoned = False
        if timeout > 0:
            self._timer = asyncio.get_running_loop().call_later(
                timeout / 1000, self._on_timeout, job, conn, timeout / 1000
            )
        self._running = True
        try:
            return await job
        except errors.PgError as exc:
            raise await self._failed(exc, conn) from None
        except asyncio.CancelledError:  # the session is going: the call goes on by itself
            self._leave(job, conn)
            raise
        finally:
            self._running = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    async def _failed(self, exc: errors.PgError, conn: Connection | None) -> errors.PgError:
        """Bring the session's state in line with a failed call; returns the error to send."""
        if exc.sqlstate == "57014":
            why = "statement timeout" if self._timed_out else "user request"
            exc = errors.QueryCanceled(f"canceling statement due to {why}")
        if conn is None or conn is not self.conn:
            return exc  # a connect that failed, or a call whose connection is gone already
        if self._abandoned:  # queued behind a hung backend: the connection is as it was
            self.failed = self.in_transaction
            return exc
        if exc.sqlstate in UNAVAILABLE and broken(conn):
            in_transaction = self.in_transaction
            self._lose_connection(conn)
            if in_transaction:
                return errors.ConnectionFailure(
                    "the connection to the backend was lost inside a transaction block; "
                    "the backend rolled the transaction back",
                    detail=exc.message,
                    hint="ROLLBACK, then run the transaction again.",
                )
            return exc
        self.in_transaction = await self.pool.run(_in_transaction, conn)
        if self.in_transaction:
            self.failed = True
        return exc

    def _lose_connection(self, conn: Connection, closing: bool = False, lost: bool = True) -> None:
        """`conn` is gone: the next statement opens another; an open transaction went with it.
        It is closed in a worker (`closing`: its closing is on its way already). `lost`: the
        backend broke it off (the pool's idle ones are suspect too)."""
        if self.conn is conn:
            lease, pool = self._lease, self._lease_pool
            self._unhold()
            self._active = None
            if lease is not None and pool is not None:
                pool.discard(lease, closed=closing, lost=lost)
            elif not closing:
                self.pool.submit(close_connection, conn)
            if self.in_transaction:
                self.failed = True
                self.lost_transaction = True

    def _on_timeout(self, job: Job[Any], conn: Connection | None, timeout: float) -> None:
        self._timed_out = True
        if job.state == QUEUED:  # still waiting for a worker: nothing to cancel
            self._give_up(job, conn)
            return
        if conn is not None:
            self.pool.cancel_soon(conn.cancel)
        grace = min(max(timeout, CANCEL_GRACE[0]), CANCEL_GRACE[1])
        self._timer = asyncio.get_running_loop().call_later(grace, self._give_up, job, conn)

    def _give_up(self, job: Job[Any], conn: Connection | None) -> None:
        """The cancel has not landed: answer 57014 now and leave the call behind."""
        state = self._leave(job, conn, lost=True)
        if state == FINISHED:
            return  # it came back meanwhile: its own result stands
        if state != QUEUED and conn is not None:
            abort(conn)  # wakes the worker blocked on the hung socket
        self._abandoned = True
        job.fail(errors.QueryCanceled("canceling statement due to statement timeout"))

    def _leave(self, job: Job[Any], conn: Connection | None, lost: bool = False) -> int:
        """Abandon `job`; returns the state it had. A call under way keeps its connection
        (mid-statement: never back to the pool) and closes it once it returns. `lost`: the
        backend does not answer (see _lose_connection)."""
        state = self.pool.abandon(job, partial(_discard, conn))
        if state not in (FINISHED, QUEUED) and conn is not None:
            self._lose_connection(conn, closing=True, lost=lost)
        return state

    def _branch(self) -> str | None:
        """The branch the session's connection is to have open (None: the URL's database)."""
        settings = self.settings
        if settings.version != self._branch_seen:  # SET pgproxy.branch: read after a change
            self._branch_seen = settings.version
            self._branch_set = settings.value("pgproxy.branch")
        return self._branch_set or self.route.branch or None

    def _connection_now(self) -> Connection | None:
        """connection() when no wait is needed (the one held, or an idle one of the pool):
        the statement path's, with no coroutine; None: await connection()."""
        if self.settings.version != self._branch_seen or self._branch_set or self.route.branch:
            return None  # a branch, or a setting to read again: connection() sees to it
        conn = self.conn
        if conn is not None:
            if self._conn_branch is None and (
                    self._lease is None or self._lease_pool is self._home):
                return conn
            return None
        lease = self._home.take_idle()
        if lease is None:
            return None
        self._conn_branch = None
        return self._hold(lease, self._home, self.route.group.primary)  # type: ignore[union-attr]

    def lease_soon(self, then: Callable[[Connection | None], None]) -> bool:
        """For a caller with no coroutine (a read answered at the wire) that
        _connection_now() left without one, while every connection of the pool is lent:
        True, and `then(conn)` once one comes back and is the session's, in turn with the
        sessions waiting in connection() (None: a slot came free instead, or pool_timeout
        passed: connection() is the way). False: connection() would not simply wait."""
        pool = self._home
        if self.conn is not None or self._branch() or pool.open < pool.options.pool_size:
            return False
        primary = self.route.group.primary  # type: ignore[union-attr]

        def lent(lease: Lease | None) -> None:
            then(None if lease is None else self._hold(lease, pool, primary))

        pool.wait_soon(lent)
        return True

    async def connection(self) -> Connection:
        # A branch (the route's `db/branch`, USE, or SET pgproxy.branch) is the
        # connection's own database, Dolt's revision database, so dolt_commit()
        # and active_branch() act on it too, not only the tables the dialect
        # qualifies; any other name uses the database in the backend's URL.
        route = self.route
        branch = self._branch()
        conn = self.conn
        if conn is not None and self._lease_pool is not self._home and self._lease is not None:
            self.settle()  # a replica's, lent for a read: the primary's is wanted now
            conn = self.conn
            if conn is not None:  # held by a cursor: released by release_active first
                await self.release_active()
                lease, pool = self._lease, self._lease_pool
                self._unhold()
                pool.release(lease)  # type: ignore[union-attr]
                conn = None
        if conn is None:
            if branch:  # a branch's connection is the session's own, never pooled
                self._pin()
                job = self.pool.call(open_connection, route.backend, f"{route.name}/{branch}")
                self.conn = await self._wait(job, None)
                self._pushed = None
            else:
                primary = route.group.primary  # type: ignore[union-attr]
                lease = self._home.take_idle()  # the hot path: no coroutine, no thread hop
                if lease is not None:
                    self._hold(lease, self._home, primary)
                else:
                    await self._borrow(self._home, primary)
            self._conn_branch = branch
        elif branch != self._conn_branch:
            database = (
                f"{route.name}/{branch}" if branch
                else getattr(route.backend, "database", None) or route.name
            )
            use = "USE `{}`".format(database.replace("`", "``"))
            self._pin()
            await self.call(_run_closed, self.conn, use)
            self._conn_branch = branch
        return self.conn  # type: ignore[return-value]

    async def push_settings(self, conn: Connection) -> None:
        """Give a PostgreSQL backend the session's TimeZone and DateStyle order, so it reads
        literals as the client's PostgreSQL would (output stays ISO: the proxy prints)."""
        settings = self.settings
        want = (settings.get("timezone"), settings.style().order)
        if want == self._pushed or self.failed:
            return
        await self.call(_run_closed_params, conn,
                        "SELECT set_config('TimeZone', $1, false), "
                        "set_config('DateStyle', $2, false)", [want[0], f"ISO, {want[1]}"])
        self._pushed, self._pushed_in_tx = want, self.in_transaction

    async def release_active(self) -> None:
        """Close a result still open on the connection before another statement runs."""
        active, self._active = self._active, None
        if active is not None:
            if not getattr(active, "held", False) or active.done:
                await active.close()
            elif not self.route.backend.capabilities.open_results:
                # A suspended portal outlives the statements run between its Executes, as
                # in PostgreSQL (a backend that keeps results open just leaves it be: the
                # portal's Close, or the Sync ending its transaction, closes it).
                await active.spill(KEPT_ROWS)
        if not self.route.backend.capabilities.open_results:
            await self.cursors.detach()  # another statement would end their results

    def set_active(self, result: Any) -> None:
        self._active = result

    def keep_open(self, result: Any) -> None:
        """A DECLAREd cursor's result outlives the statements that follow it."""
        if self._active is result:
            self._active = None

    def forget_active(self, result: Any) -> None:
        """`result` has ended: it no longer holds the connection (nor does the stage's
        wrapper of it that is the active one: a cache fill's recording)."""
        active = self._active
        if active is result or (active is not None and getattr(active, "inner", None) is result):
            self._active = None
            if self._lease is not None:
                self.settle()


def _run_closed(conn: Connection, sql: str) -> None:
    conn.execute(sql, ()).close()


def _run_closed_params(conn: Connection, sql: str, params: list[Any]) -> None:
    conn.execute(sql, params).close()


def _in_transaction(conn: Connection) -> bool:
    try:
        return conn.in_transaction
    except Exception:  # a broken connection is in no transaction we can continue
        return False


def _discard(conn: Connection | None, result: Any) -> None:
    """Worker-side, after an abandoned call returned: close the connection it used or opened."""
    if conn is None:
        conn = result  # an abandoned connect: its new connection
    if conn is not None:
        close_connection(conn)


def _late_lease(pool: ConnectionPool, task: asyncio.Future[Lease]) -> None:
    """A connection its borrower gave up waiting for: the pool keeps it."""
    if not task.cancelled() and task.exception() is None:
        pool.release(task.result())
