"""The query cache stage: what may be cached, under which key; fills, coalescing, invalidation."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import dialects
from dialects.cacheability import ANY_TABLE, ANY_TEMP
from pgproxy.backends.base import Column
from pgproxy.cache.hits import Memo
from pgproxy.cache.results import CachedResult, FillingResult
from pgproxy.cache.store import CacheStore, Entry, table_name
from pgproxy.core.context import StatementContext
from pgproxy.core.hooks import Hooks, step
from pgproxy.settings import RESULT_SETTINGS
from pgproxy.wire.batches import encoder_for, frames_of

log = logging.getLogger("pgproxy.cache")
Kind = dialects.Kind

# A Dolt commit hash: 32 characters of Dolt's base32. A result read at one never changes.
_COMMIT_HASH = re.compile(r"[0-9a-v]{32}")
# Statements that change no table.
_NOT_WRITES = frozenset(
    {Kind.SELECT, Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK, Kind.SAVEPOINT, Kind.RELEASE,
     Kind.ROLLBACK_TO, Kind.SET, Kind.SHOW, Kind.USE, Kind.EMPTY}
)


@dataclass
class CacheOptions:
    """The [query_cache] section of pgproxy.toml."""

    enabled: bool = False
    max_entries: int = 10_000
    max_bytes: int = 64 << 20
    max_result_bytes: int = 1 << 20  # larger results stream but are not kept
    ttl: float = 60.0  # seconds; 0: no expiry (writes through the proxy still invalidate)
    route_ttl: dict[str, float] = field(default_factory=dict)  # per route name
    coalesce: bool = True
    coalesce_wait: float = 5.0  # seconds a coalesced miss waits before running its own
    # A hit in the last `refresh_ahead` fraction of an entry's TTL starts one
    # background refresh that replaces it (0: off).
    refresh_ahead: float = 0.15
    # Seconds past its TTL an entry may still be served while one refresh runs (0: off).
    stale_while_revalidate: float = 0.0
    refresh_sessions: int = 4  # idle backend sessions kept per route for refreshes
    warm_file: str | None = None  # statements run at start-up, one per line
    warm_database: str = "app"  # the route warmed statements run on (`\\c name` lines switch)
    warm_user: str = "pgproxy"

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> CacheOptions:
        opts = cls()
        for key, value in section.items():
            if key == "routes":
                opts.route_ttl = {str(k): float(v.get("ttl", opts.ttl)) for k, v in value.items()}
            elif hasattr(opts, key):
                setattr(opts, key, value)
            else:
                raise ValueError(f"unknown [query_cache] setting {key!r}")
        return opts


class Key(int):
    """A cache key hashed once: the store, the flights and the LRU each look it up.

    A key holds everything that can change the answer or its bytes: the route and
    the session's target (backend, database, branch, AS OF), the backend SQL, every
    parameter value, the result formats, the RESULT_SETTINGS values, and the user
    when users are configured. What the key cannot hold (the session's own
    temporary tables, the clock) keeps a read out of the cache altogether.
    It is the int its parts hash to, so every lookup hashes it in C (a Python
    __hash__ cost a call each time, ten per miss); it equals only a Key of equal parts.
    """

    parts: tuple[Any, ...]

    def __new__(cls, parts: tuple[Any, ...]) -> Key:
        key = super().__new__(cls, hash(parts))  # TypeError for a list or dict value
        key.parts = parts
        return key

    __hash__ = int.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Key) and int.__eq__(self, other) and self.parts == other.parts
        )

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __bool__(self) -> bool:
        return True  # a key whose parts hash to 0 is a key all the same

    def __repr__(self) -> str:
        return f"Key{self.parts!r}"


@dataclass(slots=True)
class TxState:
    """A session's open transaction as the cache sees it (StatementContext.cache_tx)."""

    started: int  # the store's invalidation clock at BEGIN
    tables: set[str] = field(default_factory=set)
    everything: bool = False

    @property
    def wrote(self) -> bool:
        return self.everything or bool(self.tables)


@dataclass(slots=True)
class _Flight:
    """A miss being run against the backend; identical misses wait on `landed`."""

    session: int  # StatementContext.session_id of the session running it
    landed: asyncio.Future[Entry | None]


class QueryCache:
    """Serves repeated safe reads from stored frames and drops what writes touched."""

    def __init__(self, options: CacheOptions, per_user: bool = False) -> None:
        self.options = options
        # With [users] configured, each user's results are their own: the proxy is
        # then where access is decided, and one user's answer is not another's.
        self.per_user = per_user
        self.store = CacheStore(options.max_entries, options.max_bytes)
        self.stats = self.store.stats
        self._flights: dict[Hashable, _Flight] = {}
        self.grace = max(0.0, float(options.stale_while_revalidate))
        self._ahead = min(max(0.0, float(options.refresh_ahead)), 1.0)
        self._idle: dict[Any, list[Any]] = {}  # (route name, branch) -> idle refresh sessions
        self._refreshing: set[asyncio.Task[None]] = set()
        self.hooks: Hooks | None = None  # the pipeline's, for the "cache lookup" step
        # The session's hits (cache/hits.py) waiting for the key of a request the wire
        # could not answer: the next key() takes it, and read() hands it the key if it
        # serves that key as a hit.
        self.learner: Any = None
        self._learning: Any = None  # the learner handed on from key() to read()
        self.memo = Memo(options.max_entries)  # requests -> keys, for hits at the wire

    # ------------------------------------------------------------ reads

    def key(
        self,
        session: StatementContext,
        stmt: dialects.Statement,
        sql: str,
        values: Sequence[Any],
        formats: Sequence[int],
    ) -> Hashable | None:
        """The cache key of a read, or None when it must go to the backend."""
        learner = self.learner
        if learner is not None:
            # Whatever this statement is, the request waiting for a key is answered now:
            # the learner hears of it if read() serves this key as a hit.
            self.learner = None
        key = self.key_of(session, stmt, sql, values, formats)
        if key is not None:
            self._learning = learner  # read() follows at once, with no await between
        return key

    def key_of(
        self,
        session: StatementContext,
        stmt: dialects.Statement,
        sql: str,
        values: Sequence[Any],
        formats: Sequence[int],
    ) -> Key | None:
        """key() without the memo's learning (cache/hits.py makes keys with it too)."""
        if not stmt.cacheable or not stmt.returns_rows:
            return None
        temp = session.temp_names
        if temp and (ANY_TEMP in temp or not temp.isdisjoint(stmt.tables_read)):
            # The session's temporary table answers (it shadows any permanent one of
            # its name): neither kept for others nor served from what others kept.
            return None
        if session.in_transaction:
            tx = session.cache_tx
            if tx is None or tx.wrote:
                return None
        if formats and all(f == formats[0] for f in formats):
            formats = formats[:1] if formats[0] else ()
        # target() carries the backend, database, branch and AS OF in effect.
        parts = (
            session.route.name, session.target(), sql, tuple(values), tuple(formats),
            session.settings.result_key(), session.user if self.per_user else None,
        )
        try:
            return Key(parts)
        except TypeError:  # a list or dict parameter (arrays, JSON): key on its text
            return Key((*parts[:3], repr(values), *parts[4:]))

    async def read(
        self,
        session: StatementContext,
        key: Hashable,
        stmt: dialects.Statement,
        run: Callable[[Any], Awaitable[Any]],
    ) -> Any:
        store = self.store
        hooks = self.hooks
        learner = self._learning
        if hooks is not None and hooks.steps:
            entry = step(hooks.steps, "cache lookup", store.get, key, self.grace)
        else:
            entry = store.get(key, self.grace)
        if entry is not None:
            if entry.refresh_at is not None and entry.refresh_at <= time.monotonic():
                entry = self._due(session, key, entry)
            if entry is not None:
                entry.hits += 1
                self.stats.hits += 1
                if learner is not None:
                    # Learned from hits only: a miss seen once costs the memo nothing.
                    self._learning = None
                    learner.learn(session, entry.key)
                return CachedResult(entry)
        self._learning = None
        flight = self._flights.get(key)
        if flight is not None and flight.session != session.session_id and self.options.coalesce:
            try:
                entry = await asyncio.wait_for(
                    asyncio.shield(flight.landed), self.options.coalesce_wait
                )
            except TimeoutError:
                entry = None
            if entry is not None:
                entry.hits += 1
                self.stats.hits += 1
                self.stats.coalesced += 1
                return CachedResult(entry)
            entry = store.get(key)  # another waiter may have filled it meanwhile
            if entry is not None:
                self.stats.hits += 1
                return CachedResult(entry)
        self.stats.misses += 1
        mine: _Flight | None = None
        if key not in self._flights:
            mine = _Flight(session.session_id, asyncio.get_running_loop().create_future())
            self._flights[key] = mine
        tx = session.cache_tx if session.in_transaction else None
        since = tx.started if tx is not None else store.clock
        try:
            result = await run(session)
        except BaseException:
            if mine is not None:
                self._land(key, mine, None)
            raise
        if mine is None:
            return result
        if result.columns is None:
            self._land(key, mine, None)
            return result
        tables = frozenset(table_name(t) for t in stmt.tables_read)
        ttl = self._ttl(session, stmt)
        route = session.route.name

        def finish(batches: list[tuple[bytes, int]] | None, size: int) -> None:
            entry = None
            if batches is None:
                if size > self.options.max_result_bytes:
                    self.stats.too_large += 1
            elif store.fresh_since(tables, since):
                entry = Entry(
                    result.columns, batches, result.rows, result.tag, size, tables,
                    None if ttl is None else time.monotonic() + ttl, route, stmt.sql,
                )
                self._refreshable(entry, ttl, run, session)
                if not store.put(key, entry):
                    entry = None
            self._land(key, mine, entry)

        filling = FillingResult(result, self.options.max_result_bytes, finish)
        if not result.done:
            # Whatever closes the session's open result must close the recording too.
            session.set_active(filling)
        return filling

    def fills_at_wire(self, key: Hashable) -> bool:
        """Whether a miss under `key` may be run and kept at the wire (wire_reads.py): no
        entry under it (a hit, a stale one to refresh, is the full path's) and no fill
        of it in flight (coalesced there)."""
        return key not in self.store and key not in self._flights

    def keep(
        self, session: StatementContext, key: Hashable, stmt: dialects.Statement, since: int,
        rerun: Callable[[Any], Awaitable[Any]], columns: Sequence[Column], frames: bytes,
        rows: int, tag: str,
    ) -> None:
        """A miss the wire answered by running it (wire_reads.py: one batch, `frames` its
        DataRows): counted and kept as read() keeps the full path's, unless one of its
        tables was written after invalidation clock `since` (store.clock before it ran);
        `rerun(session)` runs it again for a refresh, as read()'s `run`."""
        self.stats.misses += 1
        size = len(frames)
        if size > self.options.max_result_bytes:
            self.stats.too_large += 1
            return
        store = self.store
        tables = frozenset(table_name(t) for t in stmt.tables_read)
        if key in self._flights or not store.fresh_since(tables, since):
            return
        ttl = self._ttl(session, stmt)
        entry = Entry(
            columns, [(frames, rows)] if frames else [], rows, tag, size, tables,
            None if ttl is None else time.monotonic() + ttl, session.route.name, stmt.sql,
        )
        self._refreshable(entry, ttl, rerun, session)
        store.put(key, entry)

    # ------------------------------------------------------------ refresh-ahead

    def _refreshable(
        self, entry: Entry, ttl: float | None, rerun: Any, session: StatementContext
    ) -> None:
        """Mark when a hit should refresh `entry`, and keep how to run it again."""
        if ttl is None or not (self._ahead or self.grace) or entry.expires is None:
            return
        entry.ttl = ttl
        entry.refresh_at = entry.expires - ttl * self._ahead
        entry.rerun = rerun
        entry.settings = session.settings.result_key()  # the refresh runs under the key's
        route, target = session.route, session.target()
        # The branch in effect (the route's, or SET pgproxy.branch) is the refresh's too.
        entry.origin = route if target.branch == route.branch else replace(
            route, branch=target.branch
        )

    def _due(self, session: StatementContext, key: Hashable, entry: Entry) -> Entry | None:
        """A hit near or past the TTL: start one refresh; serve a stale entry only meanwhile."""
        if not entry.refreshing:
            entry.refreshing = True
            task = asyncio.get_running_loop().create_task(
                self._refresh(session, key, entry), name="cache refresh"
            )
            self._refreshing.add(task)
            task.add_done_callback(self._refreshing.discard)
        if entry.expires is not None and entry.expires <= time.monotonic():
            self.stats.stale_hits += 1
        return entry

    async def _refresh(self, asking: StatementContext, key: Hashable, entry: Entry) -> None:
        """Run the entry's statement again on a session of our own and replace the entry."""
        store = self.store
        since = store.clock
        route = entry.origin
        pool = self._idle.setdefault((route.name, route.branch), [])
        session = pool.pop() if pool else asking.internal(
            route, self.options.warm_user, "cache refresh")
        ok = False
        try:
            adopt_settings(session, entry.settings)
            result = await entry.rerun(session)
            # Encoded as the wire encodes them for the key's formats: what a hit replays.
            encode = encoder_for(result.columns, _key_formats(key), result.style)
            batches: list[tuple[bytes, int]] = []
            size = 0
            try:
                while not result.done and size <= self.options.max_result_bytes:
                    batch = await result.fetch(0)
                    if data := frames_of(batch, encode):
                        batches.append((data, batch.count))
                        size += len(data)
            finally:
                await result.close()
            ok = True
            if size > self.options.max_result_bytes:
                self.stats.too_large += 1
                return
            if not store.fresh_since(entry.tables, since):
                return  # a write landed meanwhile: the entry is gone, and so is this result
            ttl = entry.ttl
            assert ttl is not None
            fresh = Entry(
                result.columns, batches, result.rows, result.tag, size, entry.tables,
                time.monotonic() + ttl, entry.route, entry.sql,
            )
            fresh.ttl, fresh.refresh_at = ttl, time.monotonic() + ttl * (1 - self._ahead)
            fresh.rerun, fresh.origin, fresh.settings = entry.rerun, entry.origin, entry.settings
            if store.put(key, fresh):
                self.stats.refreshes += 1
        except Exception as exc:  # a failed refresh leaves the entry to expire
            self.stats.refresh_failures += 1
            log.warning("cache refresh of %.80s failed: %s", entry.sql, exc)
        finally:
            entry.refreshing = False
            if ok and len(pool) < self.options.refresh_sessions:
                pool.append(session)
            else:
                await _drop_session(session)

    def _land(self, key: Hashable, flight: _Flight, entry: Entry | None) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.landed.done():
            flight.landed.set_result(entry)

    def _ttl(self, session: StatementContext, stmt: dialects.Statement) -> float | None:
        if _pinned(session, stmt):
            return None
        ttl = self.options.route_ttl.get(session.route.name, self.options.ttl)
        return ttl if ttl > 0 else None

    # ------------------------------------------------------------ writes

    def after_execute(
        self, session: StatementContext, stmt: dialects.Statement, was_in_tx: bool, in_tx: bool
    ) -> None:
        """Right after the backend ran a statement, before its CommandComplete is sent."""
        if stmt.temp_created or (session.temp_names and stmt.kind is Kind.DDL):
            _note_temp(session, stmt)
        tables, everything = _written(stmt)
        if tables or everything:
            if everything:
                self.store.invalidate_all()
            else:
                self.store.invalidate_tables(tables)
        tx = session.cache_tx
        if in_tx:
            if tx is None:
                # Fills inside the transaction are judged from its start: its
                # snapshot may predate writes that other sessions made since.
                tx = TxState(self.store.clock if not was_in_tx else -1)
                session.set_cache_tx(tx)
            tx.tables.update(tables)
            tx.everything = tx.everything or everything
        elif tx is not None:
            session.set_cache_tx(None)
            # Other sessions may have cached the pre-commit rows meanwhile.
            if tx.everything:
                self.store.invalidate_all()
            elif tx.tables:
                self.store.invalidate_tables(tx.tables)

    # ------------------------------------------------------------ admin

    def invalidate(self, pattern: str | None = None) -> int:
        if not pattern or pattern == "*":
            return self.store.invalidate_all()
        return self.store.invalidate_pattern(pattern)

    def describe(self) -> list[tuple[str, str]]:
        s, store = self.stats, self.store
        return [
            ("hits", str(s.hits)),
            ("misses", str(s.misses)),
            ("hit_ratio", f"{s.ratio():.4f}"),
            ("entries", str(len(store))),
            ("bytes", str(store.bytes)),
            ("max_entries", str(self.options.max_entries)),
            ("max_bytes", str(self.options.max_bytes)),
            ("evictions", str(s.evictions)),
            ("expirations", str(s.expirations)),
            ("invalidations", str(s.invalidations)),
            ("coalesced", str(s.coalesced)),
            ("too_large", str(s.too_large)),
            ("refreshes", str(s.refreshes)),
            ("refresh_failures", str(s.refresh_failures)),
            ("stale_hits", str(s.stale_hits)),
            ("refreshing", str(len(self._refreshing))),
            ("stores", str(s.stores)),
            ("in_flight", str(len(self._flights))),
        ]


def _key_formats(key: Hashable) -> Sequence[int]:
    """The result formats a Key holds (see CacheStage.key: parts[4])."""
    return key.parts[4] if isinstance(key, Key) else ()


async def _drop_session(session: StatementContext) -> None:
    """Close a refresh session's backend connection; it was never a client, so no event."""
    try:
        await session.drop()
    except Exception:  # closing after a failure: nothing more to do
        log.debug("closing a cache refresh connection failed", exc_info=True)


def adopt_settings(session: StatementContext, settings: tuple[str | None, ...]) -> None:
    """Give a refresh session the RESULT_SETTINGS values its entry was keyed under
    (None: the default, as RESET gives)."""
    current = session.settings.result_key()
    if current != settings:
        for name, old, new in zip(RESULT_SETTINGS, current, settings, strict=True):
            if old != new:
                session.apply_setting(dialects.Setting(name, new))


def _note_temp(session: StatementContext, stmt: dialects.Statement) -> None:
    """Record the temporary relations a statement created on the session's connection.

    A relation made from one of them is the session's own too (PostgreSQL makes
    a view over a temporary table temporary). Names stay recorded after a DROP:
    a permanent table of the name may be shadowed again later, and erring this
    way costs a backend round trip, never another session's rows.
    """
    temp = session.temp_names
    created = set(stmt.temp_created)
    if temp and not temp.isdisjoint(stmt.tables_read):
        created.update(table_name(t) for t in stmt.tables_written)
    session.add_temp_names(created)


def _pinned(session: StatementContext, stmt: dialects.Statement) -> bool:
    """True when every table is read at a commit hash, so the result can never change."""
    hints = stmt.hints
    as_of = hints.as_of or session.target().as_of
    if hints.as_of_timestamp or hints.branch:
        return False
    if hints.tables:
        return all(kind == "ref" and _COMMIT_HASH.fullmatch(v) for _, kind, v in hints.tables) and (
            as_of is None or bool(_COMMIT_HASH.fullmatch(as_of)) or _all_tables_hinted(stmt)
        )
    return as_of is not None and bool(_COMMIT_HASH.fullmatch(as_of))


def _all_tables_hinted(stmt: dialects.Statement) -> bool:
    hinted = {table_name(t) for t, _, _ in stmt.hints.tables}
    return all(table_name(t) in hinted for t in stmt.tables_read)


def _written(stmt: dialects.Statement) -> tuple[set[str], bool]:
    """(tables a statement may have changed, whether it may have changed any table)."""
    if stmt.tables_written:
        return {table_name(t) for t in stmt.tables_written}, False
    if stmt.kind in _NOT_WRITES:
        # A SELECT's functions may write: nextval() its sequence; a user-defined
        # function, or Dolt's dolt_merge, dolt_checkout, dolt_reset …, any table.
        effects = stmt.side_effects
        if not effects:
            return set(), False
        return {t for t in effects if t != ANY_TABLE}, ANY_TABLE in effects
    return set(), True
