"""The proxy behind the wire: backends, router, pools, pipeline and workers, a session per client.

It is what a Session is given (session.SessionServices) and where the
optional concerns are registered on the statement path as hooks: the watch
(observers and telemetry) and health accounting. It owns one connection pool
per route member (routing/pool.py) and their janitor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from pgproxy import notify
from pgproxy.advisory import AdvisoryLocks
from pgproxy.backends.base import Backend
from pgproxy.backends.unavailable import UnavailableBackend
from pgproxy.cache.hits import Hits
from pgproxy.health import HealthChecker
from pgproxy.observers.watch import Watch
from pgproxy.pipeline import Pipeline
from pgproxy.routing import pool as pool_mod
from pgproxy.routing.groups import Member
from pgproxy.routing.pool import ConnectionPool, PoolOptions
from pgproxy.routing.router import Router
from pgproxy.session import Elsewhere, Session
from pgproxy.wire_reads import Reads, Shared
from pgproxy.wire_reads_async import AsyncReads
from pgproxy.workers import Workers

log = logging.getLogger("pgproxy")


class Proxy:
    """Implements the wire's Core: opens a Session for each authenticated client."""

    def __init__(
        self, router: Router, *, workers: int = 64, cache_size: int = 4096,
        pool: Mapping[str, Any] | None = None,
    ) -> None:
        self.router = router
        self.pool_section = dict(pool or {})  # [pool]: defaults and [pool.NAME] overrides
        self._connections: dict[int, ConnectionPool] = {}
        self._janitor: asyncio.Task[None] | None = None
        for group in router.groups.values():
            group.active = self._lent
            group.on_event = self.route_event
            for member in group.members:  # a bad [pool] or pool_mode stops start-up
                if not isinstance(member.backend, UnavailableBackend):  # checked once open
                    self.pool_options(member)
        self.pipeline = Pipeline(cache_size)
        self.reads = Shared()  # what the sessions' wire_reads.Reads share
        # Work that is no backend's (the catalog's SQLite, reopening a backend);
        # each backend's driver calls run in a pool of its own (pool()).
        self.workers = Workers(workers, "proxy")
        self._pool_size = workers
        self._pools: dict[int, tuple[Backend, Workers]] = {}
        self.sessions: set[Session] = set()
        self.notifications = notify.Hub()  # LISTEN / NOTIFY channels, per database
        self.advisory = AdvisoryLocks()  # pg_advisory_lock() across sessions
        self.admin: Any = None  # pgproxy.admin.Admin: answers database "pgproxy"
        self.elsewhere: Elsewhere | None = None  # the other worker processes' sessions
        self._watch: Watch | None = None
        self._health: HealthChecker | None = None

    @property
    def watch(self) -> Watch | None:
        """Events and spans, when configured: a hook on every statement."""
        return self._watch

    @watch.setter
    def watch(self, watch: Watch | None) -> None:
        if self._watch is not None:
            self.pipeline.hooks.remove(self._watch)
        self._watch = watch
        if watch is not None:
            self.pipeline.hooks.add(watch)
            if watch.telemetry is not None:
                watch.telemetry.observe_members(self.members)

    @property
    def health(self) -> HealthChecker | None:
        """Backend up/down, when enabled: a statement that lost its backend asks for a ping."""
        return self._health

    @health.setter
    def health(self, health: HealthChecker | None) -> None:
        if self._health is not None:
            self.pipeline.hooks.remove(self._health.hook)
        self._health = health
        if health is not None:
            self.pipeline.hooks.add(health.hook)

    async def open_session(self, params: Mapping[str, str], pid: int, peer: str) -> Any:
        if self.admin is not None and params["database"] == self.admin.database:
            return self.admin.open_session(params, pid, peer)
        route = self.router.resolve(params["database"])
        if isinstance(route.backend, UnavailableBackend):
            # It failed to open at start-up: try again, else the client gets why.
            self.router.replace(route.backend, await self.workers.run(route.backend.reopen))
            route = self.router.resolve(params["database"])
        if self._janitor is None:
            self._janitor = asyncio.get_running_loop().create_task(self._tidy(), name="pools")
        session = Session(self, params, route, pid, peer)
        if route.branch or not getattr(route.backend, "probed", True):
            # `db/branch` opens now, so a branch that does not exist fails the connect;
            # so does a backend whose server (hence dialect) the first connection tells.
            await session.connection()
            session.settle()
        self.sessions.add(session)
        if self.watch is not None:
            self.watch.connected(session)
        return session

    def hit_path(self, session: Any) -> Hits | Reads | None:
        """What answers a session's repeated reads at the wire: the query cache's hits
        (pgproxy/cache/hits.py), and on a backend whose reads run inline, the reads
        themselves (pgproxy/wire_reads.py), and on one whose driver is asyncio's, reads
        started there and answered when they return (pgproxy/wire_reads_async.py); with
        the cache on, the reads answer its misses, which they keep in the cache as the
        full path would."""
        if not isinstance(session, Session):
            return None  # the admin console
        pipeline = self.pipeline
        backend = session.route.backend
        plain = not backend.capabilities.passthrough  # a backend whose SQL is translated
        reads: Reads | None = None
        if plain and Reads.serves(backend):
            reads = Reads(pipeline, session, pipeline.hooks, self.reads)
        elif plain and AsyncReads.serves(backend):  # an asyncio driver
            reads = AsyncReads(pipeline, session, pipeline.hooks, self.reads)
        cache = pipeline.cache
        if cache is not None:
            return Hits(cache, session, pipeline.hooks, pipeline.parse_shaped, pipeline.generate,
                        reads)
        return reads

    def pool(self, backend: Backend) -> Workers:
        """The workers of `backend`: a hung backend holds only its own threads."""
        entry = self._pools.get(id(backend))
        if entry is None or entry[0] is not backend:
            name = getattr(backend, "name", "backend")
            inline = backend.capabilities.inline_reads
            greenlets = getattr(backend, "greenlets", False)  # an asyncio driver: no threads
            entry = self._pools[id(backend)] = (
                backend, Workers(self._pool_size, name, inline, greenlets))
        return entry[1]

    # ------------------------------------------------------------ connection pools

    def pool_options(self, member: Member) -> PoolOptions:
        """[pool], then [pool.ROUTE], then [pool.MEMBER]. The mode defaults by backend kind;
        [pool]'s own pool_mode applies where it can, a [pool.NAME] one must."""
        names = list(dict.fromkeys([member.route, member.name]))
        opts = pool_mod.options_for(self.pool_section, names)
        own = any("pool_mode" in self.pool_section.get(n, {}) for n in names)
        default = pool_mod.default_mode(member.backend)
        if not own and ("pool_mode" not in self.pool_section or default == "session"):
            opts = opts.updated({"pool_mode": default}, "[pool]")
        return pool_mod.check_mode(opts, member.backend, member.name)

    def connections(self, member: Member) -> ConnectionPool:
        """The connection pool of a route member (made on first use)."""
        backend = member.backend
        pool = self._connections.get(id(backend))
        if pool is None or pool.backend is not backend:
            pool = self._connections[id(backend)] = ConnectionPool(
                member.name, backend, self.pool(backend), self.pool_options(member),
                partial(pool_mod.open_connection, backend, None))
        return pool

    def members(self) -> list[Member]:
        return [m for g in self.router.groups.values() for m in g.members]

    def _lent(self, member: Member) -> int:
        pool = self._connections.get(id(member.backend))
        return pool.lent if pool is not None else 0

    def unreachable(self, member: Member) -> None:
        """A read could not reach `member`: the health checks look at it now."""
        if self.health is not None:
            self.health.check_soon(member.backend)

    def route_event(self, kind: str, payload: dict[str, Any]) -> None:
        """A route's failover, ban or unban: to the observers."""
        log.warning("route %s: %s %s", payload.get("route"), kind, payload)
        if self.watch is not None:
            self.watch.route_event(kind, payload)

    def member_state(self, name: str, up: bool, detail: str) -> None:
        """The health checks' word on a member (cli wires it with the watch's events)."""
        member = self.router.member(name)
        if member is not None:
            member.down = not up
            pool = self._connections.get(id(member.backend))
            if pool is not None:  # connections from before a change of state are suspect
                pool.purge()
            if not up:
                group = self.router.groups.get(member.route)
                if group is not None:
                    group.ban(member, detail)

    def lag_members(self) -> set[str]:
        """Replicas whose lag the health checks measure (their route has max_replica_lag)."""
        return {m.name for g in self.router.groups.values() if g.options.max_replica_lag
                for m in g.replicas}

    def member_lag(self, name: str, lag: float | None) -> None:
        member = self.router.member(name)
        if member is not None:
            member.lag, member.lag_read = lag, True

    async def _tidy(self) -> None:
        """Every second: idle connections past their time close, min_idle ones open; every
        health interval, idle connections unused for as long are pinged (a dead one says
        the backend restarted or is gone: its pool drops the idle ones, health looks now)."""
        checked = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(1.0)
            for pool in list(self._connections.values()):
                want = pool.tidy()
                if want:
                    with contextlib.suppress(Exception):
                        await pool.fill(want)
            health = self.health
            now = asyncio.get_running_loop().time()
            if health is None or now - checked < health.options.interval:
                continue
            checked = now
            for pool in list(self._connections.values()):
                if not await pool.check_idle(health.options.interval):
                    self.health.check_soon(pool.backend)  # type: ignore[union-attr]

    def closed(self, session: Session, reason: str = "") -> None:
        self.sessions.discard(session)
        if self.watch is not None:
            self.watch.disconnected(session, reason)

    def close(self) -> None:
        if self._janitor is not None:
            self._janitor.cancel()
        for pool in self._connections.values():
            pool.close()  # their closes run in the workers before they stop
        self.router.close()
        self.workers.close()
        for _, pool in self._pools.values():
            pool.close()
