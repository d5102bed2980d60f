"""Route groups: a route's primary and replicas, which member a statement goes to, and bans.

Reads outside a transaction block (statements the proxy can prove read only:
see Session.run's `retry`) go to the replicas by `read_write_split` and
`load_balance`; everything else goes to the primary. A replica that fails a
health check, a connect or a statement at connection level is banned for
`ban_time` seconds (the primary never is); when every replica is banned, all
are unbanned, for a banned member is better than none. A replica lagging
more than `max_replica_lag` seconds behind its primary (or not replicating at
all) serves no reads until it catches up.

Configuration, a [routes.NAME] table of pgproxy.toml (a client's database
name NAME picks it, as [backends] entries do; those stay one-member routes):

    primary = "mysql://app@db-primary:3306/shop"
    replicas = ["mysql://app@db-replica-1:3306/shop"]
    read_write_split = "exclude_primary"  # include_primary | exclude_primary | prefer_primary
    load_balance = "least_active"         # round_robin | random | least_active
    sticky_after_write = 2.0              # s a session's reads stay on the primary after a write
    ban_time = 30.0                       # s a failing replica is out of reads
    max_replica_lag = 0                   # s; 0: lag is not checked
"""

from __future__ import annotations

import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from pgproxy.backends.base import Backend

SPLITS = ("include_primary", "exclude_primary", "prefer_primary")
BALANCES = ("round_robin", "random", "least_active")
_LATENCIES = 1024  # the latest statement durations kept per member for p50/p99


@dataclass(frozen=True, slots=True)
class RouteOptions:
    read_write_split: str = "include_primary"
    load_balance: str = "round_robin"
    sticky_after_write: float = 0.0
    ban_time: float = 30.0
    max_replica_lag: float = 0.0


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One [routes.NAME] table, checked."""

    name: str
    primary: str
    replicas: tuple[str, ...] = ()
    options: RouteOptions = RouteOptions()

    @classmethod
    def from_section(cls, name: str, section: Mapping[str, Any]) -> RouteConfig:
        where = f"[routes.{name}]"
        section = dict(section)
        primary = section.pop("primary", None)
        if not isinstance(primary, str) or not primary:
            raise ValueError(f"{where} needs primary = \"<backend URL>\"")
        replicas = section.pop("replicas", [])
        if isinstance(replicas, str):
            replicas = [replicas]
        if not isinstance(replicas, list) or not all(isinstance(r, str) for r in replicas):
            raise ValueError(f"{where} replicas must be a list of backend URLs")
        schemes = {_scheme(u) for u in [primary, *replicas]}
        if len(schemes) > 1:
            raise ValueError(f"{where} mixes backend kinds ({', '.join(sorted(schemes))}): "
                             "every member of a route must be the same kind of backend")
        known = {f.name for f in fields(RouteOptions)}
        changes: dict[str, Any] = {}
        for key, value in section.items():
            if key not in known:
                raise ValueError(f"unknown {where} setting {key!r}")
            if key in ("read_write_split", "load_balance"):
                allowed = SPLITS if key == "read_write_split" else BALANCES
                if value not in allowed:
                    raise ValueError(f"{where} {key} must be one of {', '.join(allowed)}")
                changes[key] = value
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{where} {key} must be a number >= 0, not {value!r}")
            else:
                changes[key] = float(value)
        return cls(name, primary, tuple(replicas), replace(RouteOptions(), **changes))


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    return {"mariadb": "mysql"}.get(scheme, scheme)


class Member:
    """One backend of a route: its role, ban, lag, health and statistics."""

    __slots__ = ("backend", "banned_until", "bans", "down", "errors", "lag", "latencies",
                 "name", "queries", "retries", "role", "route")

    def __init__(self, name: str, backend: Backend, role: str, route: str = "") -> None:
        self.name = name
        self.route = route or name
        self.backend = backend
        self.role = role  # 'primary' or 'replica'
        self.banned_until = 0.0
        self.bans = 0
        self.down = False  # the health checks' word
        self.lag: float | None = None  # seconds behind the primary; None: unknown / none
        self.queries = 0
        self.errors = 0
        self.retries = 0
        self.latencies: deque[float] = deque(maxlen=_LATENCIES)

    def record(self, seconds: float, ok: bool) -> None:
        self.queries += 1
        if not ok:
            self.errors += 1
        self.latencies.append(seconds)

    def percentile(self, q: float) -> float | None:
        """The q-quantile of the latest statement durations, in milliseconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    def banned(self, now: float) -> bool:
        return self.banned_until > now


class RouteGroup:
    """The members of one route and the choice of member for a read."""

    def __init__(
        self, name: str, primary: Member, replicas: list[Member],
        options: RouteOptions | None = None,
    ) -> None:
        self.name = name
        self.primary = primary
        self.replicas = replicas
        self.members = [primary, *replicas]
        self.options = options or RouteOptions()
        self._turn = itertools.count()
        # Events for the observers (pgproxy.proxy wires it): (kind, payload).
        self.on_event: Callable[[str, dict[str, Any]], None] | None = None
        self.active: Callable[[Member], int] = lambda member: 0  # lent connections

    def readable(self, member: Member, now: float) -> bool:
        if member.down or member.banned(now):
            return False
        lag = self.options.max_replica_lag
        return not (lag and member.role == "replica" and (member.lag is None or member.lag > lag))

    def pick_read(self, exclude: frozenset[Member] = frozenset()) -> Member:
        """The member a read outside a transaction block goes to."""
        now = time.monotonic()
        opts = self.options
        primary = self.primary
        if opts.read_write_split == "prefer_primary" and primary not in exclude \
                and not primary.down:
            return primary
        replicas = [m for m in self.replicas if m not in exclude]
        if replicas and all(m.banned(now) for m in replicas):
            self.unban_all(now)
        pool = [m for m in replicas if self.readable(m, now)]
        if opts.read_write_split == "include_primary" and primary not in exclude \
                and not primary.down:
            pool.append(primary)
        if not pool:
            return primary  # no replica can answer: the primary reads too
        if len(pool) == 1:
            return pool[0]
        if opts.load_balance == "random":
            return random.choice(pool)
        if opts.load_balance == "least_active":
            return min(pool, key=self.active)
        return pool[next(self._turn) % len(pool)]

    def ban(self, member: Member, why: str) -> None:
        """`member` failed at connection level: out of reads for ban_time (a replica only)."""
        if member.role != "replica" or self.options.ban_time <= 0:
            return
        now = time.monotonic()
        if member.banned(now):
            return
        member.banned_until = now + self.options.ban_time
        member.bans += 1
        self._emit("ban", {"route": self.name, "backend": member.name, "reason": why,
                           "seconds": self.options.ban_time})

    def unban_all(self, now: float) -> None:
        for member in self.replicas:
            if member.banned(now):
                member.banned_until = 0.0
                self._emit("unban", {"route": self.name, "backend": member.name,
                                     "reason": "every replica was banned"})

    def failover(self, old: Member, new: Member, why: str) -> None:
        new.retries += 1
        self._emit("failover", {"route": self.name, "from": old.name, "to": new.name,
                                "reason": why})

    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(kind, payload)


def member_names(name: str, replicas: int) -> list[str]:
    """A route's member names: the route's own for its primary, NAME.replicaN for the rest."""
    return [name, *(f"{name}.replica{i}" for i in range(1, replicas + 1))]
