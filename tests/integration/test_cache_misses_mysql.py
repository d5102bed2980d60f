"""Query cache misses on MariaDB answered at the wire (wire_reads_async.AsyncReads behind
cache/hits.Hits): run there as the full path would run them, kept in the cache, and not
kept when a write lands while they run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_wire_reads import answered
from tests.integration.test_cache_hits import cache_stats, counted

pytestmark = pytest.mark.integration

# One worker: one cache, whose counters tell every read apart.
CONFIG = "[query_cache]\nenabled = true\nttl = 300\n"
POINT = "SELECT id, name FROM cm_t WHERE id = %s"
SLOW = "SELECT count(*) FROM cm_n a, cm_n b, cm_n c WHERE a.id < %s"


@pytest.fixture(scope="module")
def proxy(mariadb_url: str) -> Iterator[ProxyProcess]:
    with run_proxy(mariadb_url, config=CONFIG, extra_args=("--workers", "1")) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            for table in ("cm_t", "cm_n"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute("CREATE TABLE cm_t (id INT PRIMARY KEY, name VARCHAR(20))")
            conn.execute("INSERT INTO cm_t SELECT g, 'n' || g FROM generate_series(1, 50) g")
            conn.execute("CREATE TABLE cm_n (id INT PRIMARY KEY)")
            conn.execute("INSERT INTO cm_n SELECT generate_series(1, 400)")
        yield p


def test_misses_are_answered_at_the_wire_and_kept(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for key in (1, 2, 3):
            for _ in range(3):  # the first fills, the second teaches the wire
                assert conn.execute(POINT, (key,), prepare=True).fetchall() == [(key, f"n{key}")]
        before, at_wire = cache_stats(proxy), answered(proxy)
        for key in range(10, 30):  # keys never read: misses
            assert conn.execute(POINT, (key,), prepare=True).fetchall() == [(key, f"n{key}")]
        assert counted(proxy, before) == (0, 20)
        assert answered(proxy) - at_wire == 20
        before = cache_stats(proxy)
        for key in range(10, 30):  # kept: hits
            assert conn.execute(POINT, (key,), prepare=True).fetchall() == [(key, f"n{key}")]
        assert counted(proxy, before) == (20, 0)


def test_a_write_while_a_miss_runs_keeps_nothing_stale(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as reader, \
            psycopg.connect(proxy.dsn(), autocommit=True) as writer:
        for _ in range(3):
            assert reader.execute(SLOW, (2,), prepare=True).fetchall() == [(160000,)]
        got: list = []

        def slow_miss() -> None:  # a key never read: run at the wire for a while
            got.extend(reader.execute(SLOW, (150,), prepare=True).fetchall())

        before, at_wire = cache_stats(proxy), answered(proxy)
        thread = threading.Thread(target=slow_miss)
        thread.start()
        time.sleep(0.2)  # the read takes most of a second (0.76 s here)
        writer.execute("INSERT INTO cm_n VALUES (401)")  # lands while the read runs
        thread.join(60)
        assert got == [(149 * 400 * 400,)]  # as it was when the read began
        assert answered(proxy) - at_wire == 1
        # Kept, it would answer the count it read before the write.
        assert reader.execute(SLOW, (150,), prepare=True).fetchall() == [(149 * 401 * 401,)]
        assert counted(proxy, before) == (0, 2)
