"""The admin console: database `pgproxy` answers SHOW STATS, SHOW CACHE … as ordinary result sets.

As in PgBouncer's admin.c, commands are dispatched from a `{command: handler}`
table and every answer is a plain result set, so psql and any driver can read
it. Admin statements are not SQL the dialect layer knows, so a tiny parser of
their own reads them: words, then 'string' or $n arguments.
"""

from __future__ import annotations

import inspect
import ipaddress
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.results import RowsResult
from pgproxy.settings import Settings
from pgproxy.types import decoder

if TYPE_CHECKING:
    from pgproxy.proxy import Proxy

ADMIN_DATABASE = "pgproxy"

Rows = list[tuple[Any, ...]]
Handler = Callable[[list[str]], "Rows | Awaitable[Rows]"]

_TOKEN = re.compile(r"\s+|--[^\n]*|(?P<word>[A-Za-z_][A-Za-z_0-9]*)|'(?P<str>(?:[^']|'')*)'"
                    r"|\$(?P<param>\d+)|(?P<semi>;)|(?P<star>\*)|(?P<other>[^\s;']+?)")


@dataclass(slots=True)
class AdminStatement:
    """One parsed console statement (the wire's Prepared)."""

    text: str
    command: str  # upper-cased words: 'SHOW STATS', 'CACHE INVALIDATE' …
    args: list[str | int] = field(default_factory=list)  # literals, or $n as 0-based int
    param_types: list[int] = field(default_factory=list)
    empty: bool = False
    frontend: Any = None  # the wire's memo of its result shape (wire/interface.Prepared)


def parse(sql: str) -> list[AdminStatement]:
    """Split and read console statements; anything else is a 42601 naming SHOW HELP."""
    out: list[AdminStatement] = []
    words: list[str] = []
    args: list[str | int] = []
    bad: list[str] = []  # tokens a console command never has (fine in SET … = 3)
    start = pos = 0

    def end(stop: int) -> None:
        text = sql[start:stop].strip()
        if words and words[0] not in _PASSIVE:
            if bad:
                raise errors.SyntaxError(f"syntax error at or near {bad[0]!r} in admin command")
            nparams = max((a + 1 for a in args if isinstance(a, int)), default=0)
            out.append(AdminStatement(text, " ".join(words), list(args), [25] * nparams))
        elif words:
            out.append(AdminStatement(text, words[0]))
        words.clear()
        args.clear()
        bad.clear()

    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None:
            raise errors.SyntaxError(f"syntax error in admin command at {sql[pos:pos + 20]!r}")
        if m.group("word") is not None:
            if args:
                bad.append(m.group("word"))  # arguments come last
            words.append(m.group("word").upper())
        elif m.group("str") is not None:
            args.append(m.group("str").replace("''", "'"))
        elif m.group("param") is not None:
            args.append(int(m.group("param")) - 1)
        elif m.group("star") is not None:
            args.append("*")
        elif m.group("semi") is not None:
            end(m.start())
            start = m.end()
        elif m.group("other") is not None:
            bad.append(m.group("other"))
        pos = m.end()
    end(len(sql))
    return out


def _col(spec: str) -> Column:
    name, _, kind = spec.partition(":")
    return Column(name, pgtypes.INT8 if kind == "int" else pgtypes.TEXT)


class Admin:
    """Who may use the console, and what each command answers."""

    def __init__(
        self,
        proxy: Proxy,
        options: Mapping[str, Any] | None = None,
        *,
        users_configured: bool = False,
        observers: Any = None,
    ) -> None:
        options = dict(options or {})
        self.proxy = proxy
        self.database = str(options.get("database", ADMIN_DATABASE))
        self.admin_users = frozenset(options.get("users", ()))
        self.users_configured = users_configured
        self.observers = observers
        self.started = time.time()
        # With --workers: which worker this is, and how to run a command on the others
        # (their rows, for the commands in _ACROSS).
        self.worker, self.workers = 0, 1
        self.across: Callable[[str, list[str]], Awaitable[list[Rows]]] | None = None
        self.commands: dict[str, tuple[list[Column], Handler]] = {}
        for command, columns, handler in (
            ("SHOW HELP", ["command"], self.show_help),
            ("SHOW STATS", ["name", "value"], self.show_stats),
            ("SHOW CACHE", ["name", "value"], self.show_cache),
            ("SHOW CACHE ENTRIES",
             ["route", "tables", "rows:int", "bytes:int", "hits:int", "ttl_left", "statement"],
             self.show_cache_entries),
            ("SHOW BACKENDS",
             ["name", "type", "dialect", "url", "capabilities", "state", "detail", "route",
              "role", "queries:int", "errors:int", "retries:int", "bans:int", "banned",
              "p50_ms", "p99_ms", "lag"],
             self.show_backends),
            ("SHOW POOLS",
             ["name", "pool_mode", "pool_size:int", "open:int", "in_use:int", "idle:int",
              "waiting:int", "pinned:int", "opened:int", "closed:int", "timeouts:int",
              "max_wait_ms:int"],
             self.show_pools),
            ("SHOW CLIENTS",
             ["pid:int", "user", "database", "peer", "backend", "branch", "state"],
             self.show_clients),
            ("SHOW WORKERS",
             ["worker:int", "pid:int", "clients:int", "uptime_seconds:int"],
             self.show_workers),
            ("SHOW OBSERVERS",
             ["name", "type", "events", "queued:int", "delivered:int", "failed:int",
              "dead_lettered:int", "dropped:int"],
             self.show_observers),
            ("SHOW DEADLETTER",
             ["id:int", "subscriber", "event_id", "event_type", "attempts:int", "error",
              "failed_at"],
             self.show_deadletter),
            ("CACHE INVALIDATE", ["invalidated:int"], self.cache_invalidate),
            ("DEADLETTER REPLAY", ["replayed:int"], self.deadletter_replay),
        ):
            self.commands[command] = ([_col(c) for c in columns], handler)

    # ------------------------------------------------------------ access

    def allowed(self, user: str, peer: str) -> bool:
        if self.admin_users:
            return user in self.admin_users
        if self.users_configured:
            return False  # users exist but none holds the admin role
        return _loopback(peer)

    def open_session(self, params: Mapping[str, str], pid: int, peer: str) -> AdminSession:
        user = params.get("user", "")
        if not self.allowed(user, peer):
            raise errors.InsufficientPrivilege(
                f'user "{user}" may not use the admin console (database "{ADMIN_DATABASE}"): '
                "list the user in [admin] users"
            )
        return AdminSession(self, params, pid, peer)

    async def run(self, command: str, args: list[str]) -> Rows:
        """`command` on this worker alone."""
        rows = self.commands[command][1](args)
        if inspect.isawaitable(rows):
            rows = await rows
        return rows

    # ------------------------------------------------------------ commands

    def show_help(self, args: list[str]) -> Rows:
        return [(c,) for c in self.commands]

    async def show_stats(self, args: list[str]) -> Rows:
        rows: Rows = [
            ("worker", str(self.worker)),
            ("workers", str(self.workers)),
            ("uptime_seconds", f"{time.time() - self.started:.0f}"),
            ("clients", str(len(self.proxy.sessions))),
        ]
        watch = getattr(self.proxy, "watch", None)
        if watch is not None:
            rows += [(k, str(v)) for k, v in watch.counters().items()]
        reads = getattr(self.proxy, "reads", None)
        if reads is not None:  # repeated reads answered at the wire (wire_reads.py)
            rows.append(("reads_at_wire", str(reads.answered)))
        cache = self.proxy.pipeline.cache
        if cache is not None:
            rows += [(f"cache_{k}", v) for k, v in cache.describe()]
        if self.observers is not None:
            rows += [(k, str(v)) for k, v in (await self.observers.totals()).items()]
        return rows

    def show_cache(self, args: list[str]) -> Rows:
        cache = self.proxy.pipeline.cache
        if cache is None:
            return [("enabled", "false")]
        return [("enabled", "true"), *cache.describe()]

    def show_cache_entries(self, args: list[str]) -> Rows:
        cache = self.proxy.pipeline.cache
        if cache is None:
            return []
        now = time.monotonic()
        rows: Rows = []
        for _, e in cache.store.entries():
            ttl = "pinned" if e.expires is None else f"{max(0.0, e.expires - now):.1f}"
            rows.append((e.route, ",".join(sorted(e.tables)), e.rows, e.size, e.hits, ttl, e.sql))
        return rows

    def show_backends(self, args: list[str]) -> Rows:
        """Every member of every route: what it is, its health, and its statistics."""
        rows: Rows = []
        health = self.proxy.health
        now = time.monotonic()
        for member in self.proxy.members():
            name, backend = member.name, member.backend
            caps = backend.capabilities
            flags = [
                f for f, on in (
                    ("as_of_commit", caps.as_of_commit),
                    ("as_of_timestamp", caps.as_of_timestamp),
                    ("branches", caps.branches),
                    ("transactions", caps.transactions),
                    ("returning", caps.returning),
                ) if on
            ]
            state, detail = (
                (health.state(name), health.detail(name)) if health is not None
                else ("unchecked", "")
            )
            rows.append(
                (name, backend.name, backend.dialect, backend.redacted_url(), ",".join(flags),
                 state, detail, member.route, member.role, member.queries, member.errors,
                 member.retries, member.bans, "yes" if member.banned(now) else "no",
                 _ms(member.percentile(0.5)), _ms(member.percentile(0.99)),
                 None if member.lag is None else f"{member.lag:g}")
            )
        return rows

    def show_pools(self, args: list[str]) -> Rows:
        """Each route member's connection pool (routing/pool.py)."""
        return [self.proxy.connections(m).row() for m in self.proxy.members()]
    def show_workers(self, args: list[str]) -> Rows:
        """This worker process (with --workers, every worker answers for itself)."""
        return [(self.worker, os.getpid(), len(self.proxy.sessions),
                 int(time.time() - self.started))]

    def show_clients(self, args: list[str]) -> Rows:
        rows: Rows = []
        for s in sorted(self.proxy.sessions, key=lambda s: s.pid):
            state = "idle in transaction" if s.in_transaction else "idle"
            if getattr(s, "_running", False):
                state = "active"
            rows.append(
                (s.pid, s.user, s.database, s.peer, s.route.backend.name, s.route.branch or "",
                 state)
            )
        return rows

    def show_observers(self, args: list[str]) -> Rows:
        if self.observers is None:
            return []
        return self.observers.describe()

    async def show_deadletter(self, args: list[str]) -> Rows:
        if self.observers is None:
            return []
        store = self.observers.dead_letters
        return await self.observers.in_store(store.rows, args[0] if args else None)

    def cache_invalidate(self, args: list[str]) -> Rows:
        cache = self.proxy.pipeline.cache
        if cache is None:
            return [(0,)]
        return [(cache.invalidate(args[0] if args else None),)]

    async def deadletter_replay(self, args: list[str]) -> Rows:
        if self.observers is None:
            return [(0,)]
        return [(await self.observers.replay(args[0] if args else None),)]


class AdminSession:
    """A console client: the wire's CoreSession, with no backend behind it."""

    def __init__(self, admin: Admin, params: Mapping[str, str], pid: int, peer: str) -> None:
        self.admin = admin
        self.pid = pid
        self.peer = peer
        self.user = params.get("user", "")
        self.database = ADMIN_DATABASE
        startup = {k: v for k, v in params.items() if k not in ("user", "database", "options")}
        self.settings = Settings(startup)
        self.settings.set("session_authorization", self.user, startup=True)
        self._status = b"I"
        self.protocol_statements: dict[str, Any] = {}

    def parameter_status(self) -> Mapping[str, str]:
        return self.settings.reported()

    def changed_parameters(self) -> list[tuple[str, str]]:
        return []

    def idle_timeout(self) -> None:
        return None

    @property
    def transaction_status(self) -> bytes:
        return self._status

    async def prepare(self, sql: str, param_types: Sequence[int] = ()) -> AdminStatement:
        statements = await self.split(sql)
        if len(statements) > 1:
            raise errors.SyntaxError("cannot insert multiple commands into a prepared statement")
        return statements[0] if statements else AdminStatement(sql, "", empty=True)

    async def begin_implicit(self, statements: Sequence[AdminStatement]) -> bool:
        return False  # console commands change no data

    async def end_implicit(self, commit: bool) -> None:
        pass

    async def split(self, sql: str) -> list[AdminStatement]:
        return parse(sql)

    def decode_params(
        self, prepared: AdminStatement, values: Sequence[bytes | None], formats: Sequence[int]
    ) -> list[Any]:
        return [
            None if v is None else decoder(oid, fmt)(v)
            for oid, fmt, v in zip(prepared.param_types, formats, values, strict=True)
        ]

    def _lookup(self, stmt: AdminStatement) -> tuple[list[Column], Handler] | None:
        entry = self.admin.commands.get(stmt.command)
        if entry is None and stmt.command.split(" ", 1)[0] not in _PASSIVE:
            raise errors.SyntaxError(
                f'unknown admin command "{stmt.command}"; SHOW HELP lists the commands'
            )
        return entry

    async def describe(
        self, prepared: AdminStatement, params: Sequence[Any] | None = None
    ) -> Sequence[Column] | None:
        entry = self._lookup(prepared)
        return None if entry is None else entry[0]

    async def execute(
        self, prepared: AdminStatement, params: Sequence[Any], result_formats: Sequence[int]
    ) -> RowsResult:
        entry = self._lookup(prepared)
        verb = prepared.command.split(" ", 1)[0]
        if entry is None:
            # Drivers' session set-up and transaction wrapping: accepted, nothing to do.
            if verb == "BEGIN" or verb == "START":
                self._status = b"T"
            elif verb in ("COMMIT", "ROLLBACK", "END", "ABORT"):
                self._status = b"I"
            return RowsResult(verb)
        args = [str(params[a]) if isinstance(a, int) else a for a in prepared.args]
        admin = self.admin
        combine = _ACROSS.get(prepared.command)
        if combine is None or admin.across is None:
            return RowsResult(verb, entry[0], await admin.run(prepared.command, args))
        # The others first: a CACHE INVALIDATE here would reach them through the shared
        # log before they count what they drop.
        others = await admin.across(prepared.command, args)
        return RowsResult(verb, entry[0], combine(await admin.run(prepared.command, args), others))

    def end_of_sync(self) -> None:
        pass

    def settle(self) -> None:
        """The console holds no backend connection to give back."""

    def cancel(self) -> None:
        pass

    async def close(self, reason: str) -> None:
        pass


_PASSIVE = frozenset({"SET", "RESET", "BEGIN", "START", "COMMIT", "ROLLBACK", "END", "ABORT",
                      "DISCARD", "DEALLOCATE"})


def _ms(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"
def _summed(own: Rows, others: list[Rows]) -> Rows:
    """(name, value) rows of every worker: counts added up, settings and this worker's
    identity as they are here, the hit ratio worked out again."""
    totals = dict(own)
    for rows in others:
        for name, value in rows:
            if name not in totals:
                totals[name] = value
            elif str(value).isdigit() and str(totals[name]).isdigit() and not (
                name in _OWN or "max_" in name
            ):
                totals[name] = str(int(totals[name]) + int(value))
    for prefix in ("", "cache_"):
        hits, misses = totals.get(prefix + "hits"), totals.get(prefix + "misses")
        if prefix + "hit_ratio" in totals and hits is not None and misses is not None:
            asked = int(hits) + int(misses)
            totals[prefix + "hit_ratio"] = f"{int(hits) / asked if asked else 0.0:.4f}"
    totals["workers_answering"] = str(1 + len(others))
    return list(totals.items())


def _observers(own: Rows, others: list[Rows]) -> Rows:
    """SHOW OBSERVERS of every worker: each subscriber once, its counts added up."""
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for row in [*own, *(r for rows in others for r in rows)]:
        key, counts = tuple(row[:3]), list(row[3:])
        seen = totals.setdefault(key, [0] * len(counts))
        totals[key] = [a + int(b) for a, b in zip(seen, counts, strict=True)]
    return [(*key, *counts) for key, counts in totals.items()]


_OWN = frozenset({"worker", "workers", "uptime_seconds", "enabled"})
# Commands whose answer covers every worker: how the others' rows join this one's.
_ACROSS: dict[str, Callable[[Rows, list[Rows]], Rows]] = {
    "SHOW STATS": _summed,
    "SHOW CACHE": _summed,
    "SHOW CLIENTS": lambda own, others: sorted([*own, *(r for rows in others for r in rows)]),
    "CACHE INVALIDATE": lambda own, others: [(own[0][0] + sum(r[0][0] for r in others),)],
    "SHOW OBSERVERS": _observers,
    "SHOW WORKERS": lambda own, others: sorted([*own, *(r for rows in others for r in rows)]),
}


def _loopback(peer: str) -> bool:
    host = peer.rpartition(":")[0].strip("[]") if ":" in peer else peer
    if host in ("local", "?", ""):
        return host == "local"  # a Unix socket
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
