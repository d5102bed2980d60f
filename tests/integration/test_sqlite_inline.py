"""Reads on SQLite start inline on the event loop: a long one never stalls other sessions,
and statement_timeout and cancel still reach it once it has moved to a worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy

# A read of about two seconds or more: a recursive CTE SQLite computes in one statement.
LONG = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) "
    "SELECT count(*) FROM c"
)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    db: Path = tmp_path_factory.mktemp("inline") / "app.db"
    with run_proxy(f"sqlite:///{db}", extra_args=("--log-level", "warning")) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS kv (k INT PRIMARY KEY, v TEXT)")
            conn.execute("INSERT INTO kv VALUES (1, 'one')")
        yield proxy


def test_a_long_read_does_not_stall_another_sessions_point_query(proxy: ProxyProcess) -> None:
    finished: list[float] = []
    answer: list[object] = []

    def long_read() -> None:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            start = time.perf_counter()
            answer.append(conn.execute(LONG).fetchone())
            finished.append(time.perf_counter() - start)

    with psycopg.connect(proxy.dsn(), autocommit=True) as b:
        b.execute("SELECT v FROM kv WHERE k = %s", (1,)).fetchone()  # warm: parsed, connected
        worst, count = 0.0, 0
        thread = threading.Thread(target=long_read)
        thread.start()
        time.sleep(0.2)  # A's read is running
        while thread.is_alive():
            start = time.perf_counter()
            assert b.execute("SELECT v FROM kv WHERE k = %s", (1,)).fetchone() == ("one",)
            assert b.execute("SELECT 1").fetchone() == (1,)
            worst = max(worst, time.perf_counter() - start)
            count += 1
            time.sleep(0.01)
        thread.join()
    assert answer == [(20000000,)]
    assert finished[0] > 0.5, "the long read was too short to test anything"
    assert count >= 10
    # A stall would be the whole long read (seconds); a loaded machine may add some ms.
    assert worst < 0.5, f"session B waited {worst * 1000:.0f} ms behind session A"


def test_statement_timeout_stops_a_read_that_moved(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 300")
        start = time.perf_counter()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute(LONG)
        assert time.perf_counter() - start < 1.5
        conn.execute("SET statement_timeout = 0")
        assert conn.execute("SELECT v FROM kv WHERE k = 1").fetchone() == ("one",)


def test_cancel_stops_a_read_that_moved(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn()) as conn:
        conn.execute("SELECT 1")  # inside a transaction block: it must survive as failed
        timer = threading.Timer(0.3, conn.cancel)
        timer.start()
        start = time.perf_counter()
        with pytest.raises(psycopg.errors.QueryCanceled, match="user request"):
            conn.execute(LONG)
        timer.join()
        assert time.perf_counter() - start < 1.5
        conn.rollback()
        assert conn.execute("SELECT v FROM kv WHERE k = 1").fetchone() == ("one",)


def test_a_declared_cursor_outlives_the_statements_between_its_fetches(
    proxy: ProxyProcess,
) -> None:
    with psycopg.connect(proxy.dsn()) as conn:
        conn.execute("DECLARE c CURSOR FOR WITH RECURSIVE s(n) AS "
                     "(SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) SELECT n FROM s")
        first = conn.execute("FETCH 3000 FROM c").fetchall()
        assert conn.execute("SELECT v FROM kv WHERE k = 1").fetchone() == ("one",)
        rest = conn.execute("FETCH 3000 FROM c").fetchall()
        assert [r[0] for r in first + rest] == list(range(1, 5001))
