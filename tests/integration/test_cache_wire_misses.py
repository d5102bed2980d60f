"""Query cache misses on SQLite answered at the wire (wire_reads.Reads behind cache/hits.py):
run inline as with no cache, kept under the full path's own key, and invalidated, refreshed
and pooled as the full path's fills are."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_wire import SYNC
from tests.fix_wire_reads import answered
from tests.integration.test_cache_hits import (
    ask,
    bind_named,
    cache_stats,
    counted,
    describe_portal,
    execute,
    parse_named,
    session,
)

CONFIG = "[query_cache]\nenabled = true\nttl = 300\n"
BY_ID = "SELECT id, name FROM wm_t WHERE id = $1"


def create(dsn: str, rows: int = 100) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE wm_t (id INT PRIMARY KEY, name TEXT)")
        conn.execute(f"INSERT INTO wm_t SELECT g, 'n' || g FROM generate_series(1, {rows}) g")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[ProxyProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('wire_misses') / 'app.db'}"
    with run_proxy(url, config=CONFIG) as p:
        create(p.dsn())
        yield p


def request(value: bytes) -> bytes:
    return bind_named(b"s", [value]) + describe_portal() + execute() + SYNC


def test_a_miss_is_run_at_the_wire_kept_and_then_a_hit_with_the_same_bytes(proxy):
    with session(proxy) as client:
        ask(client, parse_named(b"s", BY_ID, (23,)) + SYNC)
        ask(client, request(b"1"))  # the full path's run, which the plan is learned from
        for key in (b"2", b"3", b"4"):
            before, wire = cache_stats(proxy), answered(proxy)
            miss = ask(client, request(key))
            assert answered(proxy) - wire == 1  # run at the wire
            assert counted(proxy, before) == (0, 1)  # a miss, counted as the full path's
            before = cache_stats(proxy)
            hit = ask(client, request(key))
            assert counted(proxy, before) == (1, 0)  # kept: the same key, a hit
            assert hit.messages == miss.messages
            assert miss.rows() == [[key, b"n" + key]]


def test_misses_after_hits_are_run_with_the_key_the_memo_made(proxy):
    """Once a request's hits taught the memo a plan for its statement, a new Bind of it is
    decoded and keyed there first (cache/hits.py, Hits._derive); on a miss the read run
    at the wire takes those values and that key (Keyed) and keeps the right rows under
    it: each key's row, a miss once, then hits."""
    with session(proxy) as client:
        ask(client, parse_named(b"s", BY_ID, (23,)) + SYNC)
        for _ in range(4):  # a miss, a hit the full path teaches, hits the memo checks
            ask(client, request(b"50"))
        for key in (b"51", b"52", b"53", b"54", b"55", b"56", b"57", b"58"):
            before, wire = cache_stats(proxy), answered(proxy)
            miss = ask(client, request(key))
            assert answered(proxy) - wire == 1 and counted(proxy, before) == (0, 1)
            assert miss.rows() == [[key, b"n" + key]]
            before = cache_stats(proxy)
            assert ask(client, request(key)).messages == miss.messages
            assert counted(proxy, before) == (1, 0)


def test_simple_queries_of_new_literals_miss_at_the_wire_and_hit_after(proxy):
    sql = "SELECT name FROM wm_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True,
                         cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(sql, (50,)).fetchall()  # the shape's plan, learned on the full path
        before, wire = cache_stats(proxy), answered(proxy)
        first = [conn.execute(sql, (i,)).fetchall() for i in range(51, 91)]
        assert answered(proxy) - wire == 40
        again = [conn.execute(sql, (i,)).fetchall() for i in range(51, 91)]
        assert first == again == [[(f"n{i}",)] for i in range(51, 91)]
        assert counted(proxy, before) == (40, 40)


def test_simple_query_misses_after_hits_are_run_with_the_key_the_memo_made(proxy):
    """A simple Query's shape with a plan in the memo (its text's hits checked): a text
    of a new literal is parsed and keyed there first; on a miss the read run at the wire
    takes that statement, its values and key (Keyed), and keeps the right rows; the text
    then hits, at the wire."""
    sql = "SELECT id, name FROM wm_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True,
                         cursor_factory=psycopg.ClientCursor) as conn:
        for _ in range(4):  # a miss, a hit the full path teaches, hits the memo checks
            conn.execute(sql, (60,)).fetchall()
        for i in range(61, 71):
            before, wire = cache_stats(proxy), answered(proxy)
            assert conn.execute(sql, (i,)).fetchall() == [(i, f"n{i}")]
            assert answered(proxy) - wire == 1 and counted(proxy, before) == (0, 1)
            before = cache_stats(proxy)
            assert conn.execute(sql, (i,)).fetchall() == [(i, f"n{i}")]
            assert counted(proxy, before) == (1, 0)


def test_a_write_after_a_fill_at_the_wire_is_seen(proxy):
    sql = "SELECT name FROM wm_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn, \
            psycopg.connect(proxy.dsn(), autocommit=True) as writer:
        for _ in range(2):
            conn.execute(sql, (91,), prepare=True).fetchall()
        wire = answered(proxy)
        assert conn.execute(sql, (92,), prepare=True).fetchall() == [("n92",)]
        assert answered(proxy) - wire == 1
        writer.execute("UPDATE wm_t SET name = 'changed' WHERE id = 92")
        assert conn.execute(sql, (92,), prepare=True).fetchall() == [("changed",)]


def test_a_write_on_another_worker_drops_what_the_wire_kept(tmp_path):
    sql = "SELECT name FROM wm_t WHERE id = %s"
    with run_proxy(f"sqlite:///{tmp_path / 'w.db'}", config=CONFIG,
                   extra_args=("--workers", "2")) as p:
        create(p.dsn())
        conns = [psycopg.connect(p.dsn(), autocommit=True) for _ in range(6)]
        try:
            for conn in conns:  # on both workers: learned, then misses kept at the wire
                for key in (1, 2, 3, 2, 3):
                    assert conn.execute(sql, (key,), prepare=True).fetchall() == [(f"n{key}",)]
            for step, conn in enumerate(conns):
                conn.execute("UPDATE wm_t SET name = %s WHERE id = 3", (f"v{step}",))
                for other in conns:  # every worker drops it before the UPDATE's reply
                    assert other.execute(sql, (3,), prepare=True).fetchall() == [(f"v{step}",)]
        finally:
            for conn in conns:
                conn.close()
        assert answered(p) >= 6


def test_a_kept_miss_is_refreshed_ahead_of_its_ttl(tmp_path):
    # Refreshed from 0.2 s on: the refresh runs the statement again (Pipeline.rerun).
    config = "[query_cache]\nenabled = true\nttl = 2\nrefresh_ahead = 0.9\n"
    path = tmp_path / "r.db"
    sql = "SELECT name FROM wm_t WHERE id = %s"
    with run_proxy(f"sqlite:///{path}", config=config) as p:
        create(p.dsn())
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute(sql, (1,), prepare=True).fetchall()
            wire = answered(p)
            assert conn.execute(sql, (7,), prepare=True).fetchall() == [("n7",)]
            assert answered(p) - wire == 1
            # Behind the proxy's back: no write through it drops the entry.
            with sqlite3.connect(path) as direct:
                direct.execute("UPDATE wm_t SET name = 'fresh' WHERE id = 7")
            time.sleep(0.4)
            seen = []
            deadline = time.monotonic() + 1.2  # well before the entry's TTL ends
            while time.monotonic() < deadline and seen[-1:] != [[("fresh",)]]:
                seen.append(conn.execute(sql, (7,), prepare=True).fetchall())
                time.sleep(0.05)
            assert seen[-1] == [("fresh",)], seen


def test_a_miss_on_the_full_path_gives_its_connection_back(tmp_path):
    # One connection: a session that holds it after its statement ended would make the
    # other wait out pool_timeout and fail with 53300.
    config = CONFIG + "[pool]\npool_size = 1\npool_timeout = 2\n"
    with run_proxy(f"sqlite:///{tmp_path / 'p.db'}", config=config) as p:
        create(p.dsn())
        with psycopg.connect(p.dsn(), autocommit=True) as a, \
                psycopg.connect(p.dsn(), autocommit=True) as b:
            for key in range(1, 6):  # each a statement's first run: a miss, on the full path
                assert a.execute(f"SELECT name AS c{key} FROM wm_t WHERE id = 1"
                                 ).fetchall() == [("n1",)]
                done: list[object] = []
                thread = threading.Thread(target=lambda k=key, out=done: out.append(b.execute(
                    f"SELECT count(*) AS c{k} FROM wm_t").fetchone()))
                start = time.monotonic()
                thread.start()
                thread.join(10)
                assert done == [(100,)] and time.monotonic() - start < 1.5
