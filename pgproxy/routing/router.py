"""Routing: which backend a client's database name reaches, and on which branch.

A client's database name picks the route: `app` reaches the backend
configured for `app` (or the backend named `default`), `app/feature-x` the
same on branch `feature-x` (Dolt's revision-database convention). Without a
`default` backend, a name no backend has is a database that does not exist
(3D000), as PostgreSQL answers it. Every route has a group (routing/groups.py):
a [backends] entry is a group of one, a [routes.NAME] table a primary with
replicas; `backends` maps each route to its primary.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from dialects.api import TranslationError
from dialects.hints import validate_ref
from pgproxy import errors
from pgproxy.backends.base import Backend
from pgproxy.backends.unavailable import open_backend
from pgproxy.routing.groups import Member, RouteConfig, RouteGroup, member_names

log = logging.getLogger("pgproxy.router")


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # the client's database name without the branch
    backend: Backend  # the primary's
    branch: str | None = None
    group: RouteGroup | None = None


class Router:
    """Database name -> Route; the backend named `default` takes every other name."""

    def __init__(
        self, backends: Mapping[str, Backend], default: str = "default",
        groups: Mapping[str, RouteGroup] | None = None,
    ) -> None:
        groups = dict(groups or {})
        if not backends and not groups:
            raise ValueError("at least one backend must be configured")
        self.groups = {name: RouteGroup(name, Member(name, b, "primary"), [])
                       for name, b in backends.items() if name not in groups}
        self.groups.update(groups)
        self.backends = {name: g.primary.backend for name, g in self.groups.items()}
        self._default = default
        self.default: Backend | None = self.backends.get(default)

    @classmethod
    def open(cls, backends: Mapping[str, str], routes: Mapping[str, RouteConfig]) -> Router:
        """Open every configured backend: [backends] entries and [routes.NAME] members."""
        groups = {}
        for name, route in routes.items():
            urls = [route.primary, *route.replicas]
            members = [Member(n, open_backend(u), "primary" if i == 0 else "replica", name)
                       for i, (n, u) in enumerate(zip(member_names(name, len(urls) - 1), urls,
                                                      strict=True))]
            groups[name] = RouteGroup(name, members[0], members[1:], route.options)
        return cls({name: open_backend(url) for name, url in backends.items()}, groups=groups)

    def members(self) -> dict[str, Backend]:
        """Every member of every route by its name (the health checks' list)."""
        return {m.name: m.backend for g in self.groups.values() for m in g.members}

    def member(self, name: str) -> Member | None:
        return next((m for g in self.groups.values() for m in g.members if m.name == name), None)

    def resolve(self, database: str) -> Route:
        name, _, branch = database.partition("/")
        group = self.groups.get(name) or self.groups.get(self._default)
        backend = group.primary.backend if group is not None else None
        if backend is None:
            raise errors.InvalidCatalogName(f'database "{name}" does not exist')
        if branch and not backend.capabilities.branches:
            raise errors.FeatureNotSupported(
                f'database "{database}" names branch "{branch}", but the {backend.name} '
                "backend has no branches",
                sqlstate="0A000",
            )
        if branch:
            try:
                validate_ref(branch, "branch")
            except TranslationError as exc:  # never reaches the backend: no SQL is built
                raise errors.from_sqlstate(exc.sqlstate, exc.message) from None
        return Route(name, backend, branch or None, group)

    def replace(self, old: Backend, new: Backend) -> None:
        """Route to `new` wherever `old` was routed (a backend opened late)."""
        for name, backend in self.backends.items():
            if backend is old:
                self.backends[name] = new
        for group in self.groups.values():
            for member in group.members:
                if member.backend is old:
                    member.backend = new
        if self.default is old:
            self.default = new

    def close(self) -> None:
        for backend in {id(b): b for b in self.members().values()}.values():
            try:
                backend.close()
            except Exception:  # shutting down: log and go on closing the rest
                log.exception("error closing backend %s", backend.redacted_url())
