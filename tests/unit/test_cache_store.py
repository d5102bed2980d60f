"""Query cache storage, replay and policy, without sockets."""

from __future__ import annotations

import asyncio
import time

import dialects
from pgproxy import pgtypes
from pgproxy.backends.base import Column
from pgproxy.cache import CachedResult, CacheStore, Entry, FillingResult
from pgproxy.cache.stage import _pinned, _written
from pgproxy.results import RowsResult
from pgproxy.wire.batches import encoder_for, frames_of

COLS = [Column("a", pgtypes.INT4), Column("b", pgtypes.TEXT)]


def entry(tables=("t",), size=10, ttl: float | None = 60.0, rows=1) -> Entry:
    expires = None if ttl is None else time.monotonic() + ttl
    return Entry(COLS, [(b"x" * size, rows)], rows, f"SELECT {rows}", size, frozenset(tables),
                 expires)


def test_lru_bounded_by_entries_counts_evictions():
    store = CacheStore(max_entries=2, max_bytes=1 << 20)
    for k in "abc":
        store.put(k, entry())
    assert len(store) == 2 and store.get("a") is None
    assert store.stats.evictions == 1
    assert store.bytes == 20


def test_lru_bounded_by_bytes_drops_least_recent():
    store = CacheStore(max_entries=100, max_bytes=25)
    store.put("a", entry(size=10))
    store.put("b", entry(size=10))
    store.get("a")  # b is now least recent
    store.put("c", entry(size=10))
    assert store.get("b") is None and store.get("a") and store.get("c")
    assert store.bytes == 20
    assert not store.put("huge", entry(size=26))


def test_ttl_expires_and_pinned_entries_do_not():
    store = CacheStore()
    store.put("old", entry(ttl=-1))
    store.put("pinned", entry(ttl=None))
    assert store.get("old") is None and store.stats.expirations == 1
    assert store.get("pinned") is not None


def test_invalidate_by_table_pattern_and_all():
    store = CacheStore()
    store.put("o", entry(tables=("orders",)))
    store.put("oi", entry(tables=("orders", "items")))
    store.put("u", entry(tables=("users",)))
    assert store.invalidate_tables(["items"]) == 1
    assert store.get("o") and store.get("oi") is None
    assert store.invalidate_pattern("ord*") == 1
    assert store.get("u")
    assert store.invalidate_all() == 1
    assert len(store) == 0 and store.bytes == 0
    assert store.stats.invalidations == 3


def test_a_fill_started_before_a_write_is_refused():
    store = CacheStore()
    since = store.clock
    store.invalidate_tables(["t"])
    assert not store.fresh_since(["t"], since)
    assert store.fresh_since(["u"], since)
    assert store.fresh_since(["t"], store.clock)


def _frames(n: int) -> bytes:
    return encoder_for(COLS, ())([(i, f"row{i}") for i in range(n)])


def test_cached_result_honours_row_limits():
    data = _frames(5)
    e = Entry(COLS, [(data, 5)], 5, "SELECT 5", len(data), frozenset({"t"}), None)

    async def run():
        r = CachedResult(e)
        first = await r.fetch(2)
        assert first.count == 2 and not r.done
        rest = await r.fetch(0)
        assert rest.count == 3 and r.done
        assert first.frames + rest.frames == data
        again = await CachedResult(e).fetch(0)  # the entry itself was not changed
        assert again.frames == data and again.count == 5

    asyncio.run(run())


def test_filling_result_keeps_what_its_reader_encoded_within_limit():
    encode = encoder_for(COLS, ())

    async def run():
        outcomes = []

        def finish(batches, size):
            outcomes.append((batches, size))

        rows = [(i, "x") for i in range(3)]
        small = FillingResult(RowsResult("SELECT", COLS, rows), 1 << 20, finish)
        data = frames_of(await small.fetch(0), encode)
        assert small.done and not outcomes  # kept at close, once the reader encoded it
        await small.close()
        assert outcomes[-1][0] == [(data, 3)] and data == encode(rows)
        big = FillingResult(RowsResult("SELECT", COLS, rows), 10, finish)
        frames_of(await big.fetch(0), encode)
        await big.close()
        assert outcomes[-1][0] is None and outcomes[-1][1] > 10
        early = FillingResult(RowsResult("SELECT", COLS, rows), 1 << 20, finish)
        await early.close()
        assert outcomes[-1][0] is None and len(outcomes) == 3
        # An empty result: nothing to encode, kept all the same.
        empty = FillingResult(RowsResult("SELECT", COLS, []), 1 << 20, finish)
        assert (await empty.fetch(0)).rows == []
        await empty.close()
        assert outcomes[-1] == ([], 0)
        # Rows read without being encoded (a frontend other than the wire): nothing kept.
        unencoded = FillingResult(RowsResult("SELECT", COLS, rows), 1 << 20, finish)
        assert (await unencoded.fetch(0)).rows == rows
        await unencoded.close()
        assert outcomes[-1] == (None, 0) and len(outcomes) == 5

    asyncio.run(run())


def _stmt(sql: str) -> dialects.Statement:
    return dialects.parse(sql)[0]


def test_what_a_statement_invalidates():
    assert _written(_stmt("insert into orders values (1)")) == ({"orders"}, False)
    assert _written(_stmt("update public.Orders set a = 1")) == ({"orders"}, False)
    assert _written(_stmt("select * from orders")) == (set(), False)
    assert _written(_stmt("begin")) == (set(), False)
    assert _written(_stmt("select dolt_merge('x')"))[1] is True


class _Route:
    name = "app"


class _Session:
    """Only what _pinned reads: the route and the session's AS OF."""

    route = _Route()

    def __init__(self, as_of=None):
        self._as_of = as_of

    def target(self):
        return dialects.Target("dolt", "format", "dolt", as_of=self._as_of)


def test_results_at_a_commit_hash_are_pinned():
    h = "0123456789abcdefghijklmnopqrstuv"
    assert _pinned(_Session(as_of=h), _stmt("select * from t"))
    assert not _pinned(_Session(as_of="main"), _stmt("select * from t"))
    assert not _pinned(_Session(), _stmt("select * from t"))


def test_hit_row_description_is_stored_bytes():
    from pgproxy.cache.stage import Key
    from pgproxy.results import PassThrough
    from pgproxy.wire import messages

    e = entry()
    first = CachedResult(e).row_description([0, 0])
    fields = [(c.name, c.table_oid, c.column_number, c.type_oid, c.type_size, c.type_mod)
              for c in COLS]
    assert first == messages.row_description(fields, [0, 0])
    assert CachedResult(e).row_description([0, 0]) is first  # encoded once, then reused
    assert CachedResult(e).row_description([1, 1]) == messages.row_description(fields, [1, 1])
    assert PassThrough(CachedResult(e)).row_description([1, 1]) is e.described[1]
    assert PassThrough(RowsResult("SELECT", COLS)).row_description([0, 0]) is None
    # A key is hashed once and equal by value; unhashable values raise for the caller.
    k1, k2 = Key(("app", "t", "SELECT 1", (1,), ())), Key(("app", "t", "SELECT 1", (1,), ()))
    assert k1 == k2 and hash(k1) == hash(k2) and {k1: 1}[k2] == 1
    assert Key(("app", "t", "SELECT 1", (2,), ())) != k1
