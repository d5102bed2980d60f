"""The proxy behind the wire: backends, router, pipeline and workers, and a session per client.

It is what a Session is given (session.SessionServices) and where the
optional concerns are registered on the statement path as hooks: the watch
(observers and telemetry) and health accounting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pgproxy import notify
from pgproxy.advisory import AdvisoryLocks
from pgproxy.backends.base import Backend
from pgproxy.backends.unavailable import UnavailableBackend
from pgproxy.health import HealthChecker
from pgproxy.observers.watch import Watch
from pgproxy.pipeline import Pipeline
from pgproxy.router import Router
from pgproxy.session import Elsewhere, Session
from pgproxy.workers import Workers

log = logging.getLogger("pgproxy")


class Proxy:
    """Implements the wire's Core: opens a Session for each authenticated client."""

    def __init__(self, router: Router, *, workers: int = 64, cache_size: int = 4096) -> None:
        self.router = router
        self.pipeline = Pipeline(cache_size)
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
        session = Session(self, params, route, pid, peer)
        if route.branch or not getattr(route.backend, "probed", True):
            # `db/branch` opens now, so a branch that does not exist fails the connect;
            # so does a backend whose server (hence dialect) the first connection tells.
            await session.connection()
        self.sessions.add(session)
        if self.watch is not None:
            self.watch.connected(session)
        return session

    def pool(self, backend: Backend) -> Workers:
        """The workers of `backend`: a hung backend holds only its own threads."""
        entry = self._pools.get(id(backend))
        if entry is None or entry[0] is not backend:
            name = getattr(backend, "name", "backend")
            entry = self._pools[id(backend)] = (backend, Workers(self._pool_size, name))
        return entry[1]

    def closed(self, session: Session, reason: str = "") -> None:
        self.sessions.discard(session)
        if self.watch is not None:
            self.watch.disconnected(session, reason)

    def close(self) -> None:
        self.router.close()
        self.workers.close()
        for _, pool in self._pools.values():
            pool.close()
