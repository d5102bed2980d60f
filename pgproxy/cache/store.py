"""The query cache's storage: an LRU bounded by entries and bytes, TTLs, a table index, stats.

With several worker processes, invalidations also go through the shared log
(cache/shared.py): this store publishes its own and applies the others' before
each lookup and each fill's freshness check.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lru import LRU

from pgproxy.backends.base import Column
from pgproxy.cache.shared import EVERYTHING, SharedLog, code


def table_name(name: str) -> str:
    """The name the index files a table under: schema-less and lower-cased.

    Dropping the schema over-invalidates `a.t` together with `b.t`; that costs
    a refill, where the reverse mistake would serve a stale result.
    """
    return name.rpartition(".")[2].strip('"`').lower()


@dataclass(slots=True)
class Entry:
    """What a client receives for one cached result: columns, DataRow batches, tag."""

    columns: Sequence[Column]
    batches: list[tuple[bytes, int]]  # encoded DataRow frames, as the backend batches came
    rows: int
    tag: str
    size: int
    tables: frozenset[str]
    expires: float | None  # time.monotonic() deadline; None: pinned to a commit, never stale
    route: str = ""
    sql: str = ""
    created: float = field(default_factory=time.monotonic)
    hits: int = 0
    # The RowDescription a hit sends, encoded once for the formats its key asked for.
    described: tuple[list[int], bytes] | None = None
    # Refresh-ahead / stale-while-revalidate: from `refresh_at` (monotonic) a hit
    # starts one background refresh, with `rerun(session)` on the `origin` route.
    refresh_at: float | None = None
    ttl: float | None = None
    rerun: Any = None
    origin: Any = None  # the Route the entry was filled on
    settings: tuple[str | None, ...] = ()  # its key's RESULT_SETTINGS values, for a refresh
    refreshing: bool = False
    # The key it is stored under: what the memo keeps (cache/hits.py), so that a hit's
    # lookup finds the very object and compares no parts.
    key: Hashable = None


@dataclass(slots=True)
class Stats:
    hits: int = 0
    misses: int = 0
    stores: int = 0
    evictions: int = 0
    expirations: int = 0
    invalidations: int = 0  # entries dropped because a table they read was written
    coalesced: int = 0  # misses served by another client's identical query
    too_large: int = 0  # results streamed but not kept: over the size limit
    refreshes: int = 0  # entries replaced by a background refresh (refresh-ahead, stale)
    refresh_failures: int = 0
    stale_hits: int = 0  # expired entries served while their refresh ran

    def ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class CacheStore:
    """Entries by key; every way an entry leaves goes through `_forget`."""

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.stats = Stats()
        self._lru: LRU = LRU(max(1, max_entries), callback=self._evicted)
        self._by_table: dict[str, set[Hashable]] = {}
        # Per table code (shared.code), the invalidation clock when it was last
        # written: a fill that started before that write may hold rows from before it.
        self.clock = 0
        self._written_at: dict[int, int] = {}
        self._written_all_at = 0
        self.shared: SharedLog | None = None  # the other workers' writes, with --workers

    def __len__(self) -> int:
        return len(self._lru)

    def __contains__(self, key: Hashable) -> bool:
        """Whether an entry is kept under `key` (live or not: get() says)."""
        return key in self._lru

    def kept(self, key: Hashable) -> Entry | None:
        """The entry kept under `key`, live or not (get() says): its `key` is the very
        object it is stored under, which a later lookup finds with no compare of parts."""
        return self._lru.get(key)

    def get(self, key: Hashable, grace: float = 0.0) -> Entry | None:
        """The entry, or None; past its TTL it is kept for `grace` more seconds (stale)."""
        if self.shared is not None and self.shared.pending():
            self._apply_shared(self.shared.changes())
        entry: Entry | None = self._lru.get(key)
        if entry is None:
            return None
        if entry.expires is not None and entry.expires + grace <= time.monotonic():
            del self._lru[key]
            self._forget(key, entry)
            self.stats.expirations += 1
            return None
        return entry

    def serves(self, entry: Entry) -> bool:
        """Whether a hit may be answered from `entry` as it is: still the one kept under
        its key (found as a lookup finds it: the most recent now), within its TTL and not
        due for refresh, the other workers' writes applied first."""
        if self.shared is not None and self.shared.pending():
            self._apply_shared(self.shared.changes())
        if entry.expires is not None:
            now = time.monotonic()
            if entry.expires <= now or (entry.refresh_at is not None and entry.refresh_at <= now):
                return False  # stale, or due for refresh: the full path starts it
        return self._lru.get(entry.key) is entry

    def fresh_since(self, tables: Iterable[str], clock: int) -> bool:
        """True if none of `tables` was written after invalidation clock `clock`."""
        if self.shared is not None and self.shared.pending():
            self._apply_shared(self.shared.changes())
        if self._written_all_at > clock:
            return False
        written = self._written_at
        return all(written.get(code(t), 0) <= clock for t in tables)

    def put(self, key: Hashable, entry: Entry) -> bool:
        if entry.size > self.max_bytes:
            return False
        old = self._lru.get(key)
        if old is not None:
            del self._lru[key]
            self._forget(key, old)
        entry.key = key
        self._lru[key] = entry  # may evict the least recent entry through _evicted
        self.bytes += entry.size
        for t in entry.tables:
            self._by_table.setdefault(t, set()).add(key)
        while self.bytes > self.max_bytes and len(self._lru) > 1:
            victim, dropped = self._lru.peek_last_item()
            del self._lru[victim]
            self._forget(victim, dropped)
            self.stats.evictions += 1
        self.stats.stores += 1
        return True

    def invalidate_tables(self, tables: Iterable[str]) -> int:
        """Drop every entry that read any of `tables`; later fills from before now are refused."""
        tables = list(tables)
        if self.shared is not None:
            self.shared.publish([code(t) for t in tables])
        return self._invalidate(tables)

    def _invalidate(self, tables: Iterable[str]) -> int:
        self.clock += 1
        n = 0
        for t in tables:
            self._written_at[code(t)] = self.clock
            for key in list(self._by_table.get(t, ())):
                n += self._drop(key)
        self.stats.invalidations += n
        return n

    def _apply_shared(self, codes: set[int]) -> None:
        """The other workers' writes: what they name is stale here too."""
        if EVERYTHING in codes:
            self._invalidate_all()
            return
        self.clock += 1
        for c in codes:
            self._written_at[c] = self.clock
        n = 0
        for t in [t for t in self._by_table if code(t) in codes]:
            for key in list(self._by_table.get(t, ())):
                n += self._drop(key)
        self.stats.invalidations += n

    def invalidate_all(self) -> int:
        if self.shared is not None:
            self.shared.publish([EVERYTHING])
        return self._invalidate_all()

    def _invalidate_all(self) -> int:
        self.clock += 1
        self._written_all_at = self.clock
        n = len(self._lru)
        self._lru.clear()
        self._by_table.clear()
        self.bytes = 0
        self.stats.invalidations += n
        return n

    def invalidate_pattern(self, pattern: str) -> int:
        """Glob over table names: `orders`, `order*`, `*` (everything)."""
        if pattern in ("*", ""):
            return self.invalidate_all()
        pat = pattern.lower()
        if self.shared is not None:
            # The other workers may hold tables this one never cached.
            if any(c in pat for c in "*?["):
                self.shared.publish([EVERYTHING])
            else:
                self.shared.publish([code(pat)])
        return self._invalidate([t for t in self._by_table if fnmatch.fnmatchcase(t, pat)])

    def entries(self) -> list[tuple[Hashable, Entry]]:
        return list(self._lru.items())

    def _drop(self, key: Hashable) -> int:
        entry = self._lru.get(key)
        if entry is None:
            return 0
        del self._lru[key]
        self._forget(key, entry)
        return 1

    def _evicted(self, key: Hashable, entry: Any) -> None:
        self._forget(key, entry)
        self.stats.evictions += 1

    def _forget(self, key: Hashable, entry: Entry) -> None:
        self.bytes -= entry.size
        for t in entry.tables:
            keys = self._by_table.get(t)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_table[t]
