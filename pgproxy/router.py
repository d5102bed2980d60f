"""Routing: which backend a client's database name reaches, and on which branch.

A client's database name picks the route: `app` reaches the backend
configured for `app` (or the backend named `default`), `app/feature-x` the
same on branch `feature-x` (Dolt's revision-database convention). Without a
`default` backend, a name no backend has is a database that does not exist
(3D000), as PostgreSQL answers it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from dialects.api import TranslationError
from dialects.hints import validate_ref
from pgproxy import errors
from pgproxy.backends.base import Backend

log = logging.getLogger("pgproxy.router")


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # the client's database name without the branch
    backend: Backend
    branch: str | None = None


class Router:
    """Database name -> Route; the backend named `default` takes every other name."""

    def __init__(self, backends: Mapping[str, Backend], default: str = "default") -> None:
        if not backends:
            raise ValueError("at least one backend must be configured")
        self.backends = dict(backends)
        self.default: Backend | None = self.backends.get(default)

    def resolve(self, database: str) -> Route:
        name, _, branch = database.partition("/")
        backend = self.backends.get(name, self.default)
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
        return Route(name, backend, branch or None)

    def replace(self, old: Backend, new: Backend) -> None:
        """Route to `new` wherever `old` was routed (a backend opened late)."""
        for name, backend in self.backends.items():
            if backend is old:
                self.backends[name] = new
        if self.default is old:
            self.default = new

    def close(self) -> None:
        for backend in {id(b): b for b in self.backends.values()}.values():
            try:
                backend.close()
            except Exception:  # shutting down: log and go on closing the rest
                log.exception("error closing backend %s", backend.redacted_url())
