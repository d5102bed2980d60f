"""The query cache: safe reads served from stored DataRow frames, invalidated by writes."""

from pgproxy.cache.results import CachedResult, FillingResult
from pgproxy.cache.stage import CacheOptions, QueryCache, TxState
from pgproxy.cache.store import CacheStore, Entry, Stats
from pgproxy.cache.warm import warm

__all__ = [
    "CacheOptions",
    "CacheStore",
    "CachedResult",
    "Entry",
    "FillingResult",
    "QueryCache",
    "Stats",
    "TxState",
    "warm",
]
