"""The MySQL backend's two drivers, asyncmy (greenlets on the loop) and pymysql (threads),
through the proxy: the same values, errors, timeouts and cancels; a slow statement on
asyncmy never holds the other sessions up."""

from __future__ import annotations

import datetime
import decimal
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from pgproxy import errors
from pgproxy.backends import from_url
from tests.fix_proxy import ProxyProcess, run_proxy

pytestmark = pytest.mark.integration

VALUES = (
    "SELECT 1::int2, 2::int4, 3::int8, 1.50::numeric(5,2), 2.5::float8, 'x'::text,"
    " true, DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.5', TIME '10:00:01',"
    " '\\xdeadbeef'::bytea, NULL::text, 'a%b'"
)


@pytest.fixture(params=["asyncmy", "pymysql"])
def proxy(request: pytest.FixtureRequest, mariadb_url: str) -> Iterator[ProxyProcess]:
    with run_proxy(f"{mariadb_url}?driver={request.param}") as proxy:
        yield proxy


def test_values_errors_and_counts(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        row = conn.execute(VALUES).fetchone()
        assert row == (
            1, 2, 3, decimal.Decimal("1.50"), 2.5, "x", True, datetime.date(2024, 2, 29),
            datetime.datetime(2024, 2, 29, 12, 34, 56, 500000), datetime.time(10, 0, 1),
            b"\xde\xad\xbe\xef", None, "a%b",
        )
        assert conn.execute("SELECT %s::int + 1, %s::text", (41, "it's")).fetchone() == (
            42, "it's")
        conn.execute("DROP TABLE IF EXISTS drivers_t")
        conn.execute("CREATE TABLE drivers_t (id int PRIMARY KEY, v text)")
        with conn.cursor() as cur:
            cur.execute("INSERT INTO drivers_t VALUES (1, 'a'), (2, 'b')")
            assert cur.rowcount == 2
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO drivers_t VALUES (1, 'again')")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM no_such_table")
        with conn.cursor() as cur, cur.copy("COPY drivers_t FROM STDIN") as copy:
            for i in range(3, 2003):
                copy.write_row((i, f"row {i}"))
        assert conn.execute("SELECT count(*) FROM drivers_t").fetchone() == (2002,)
        with conn.transaction():
            conn.execute("UPDATE drivers_t SET v = 'z' WHERE id = 1")
        assert conn.execute("SELECT v FROM drivers_t WHERE id = 1").fetchone() == ("z",)


def test_statement_timeout_and_cancel(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 300")
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute("SELECT SLEEP(5)")
        conn.execute("SET statement_timeout = 0")
        assert conn.execute("SELECT 1").fetchone() == (1,)
        timer = threading.Timer(0.3, conn.cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="user request"):
            conn.execute("SELECT SLEEP(5)")
        assert time.monotonic() - started < 4
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_a_slow_statement_holds_no_other_session_up(mariadb_url: str) -> None:
    with run_proxy(f"{mariadb_url}?driver=asyncmy", extra_args=("--workers", "1")) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as slow, \
                psycopg.connect(proxy.dsn(), autocommit=True) as quick:
            done = threading.Event()

            def sleep() -> None:
                slow.execute("SELECT SLEEP(2)")
                done.set()

            thread = threading.Thread(target=sleep)
            thread.start()
            time.sleep(0.3)
            started = time.monotonic()
            for i in range(50):
                assert quick.execute("SELECT %s::int", (i,)).fetchone() == (i,)
            assert time.monotonic() - started < 1.5
            assert not done.is_set()  # the sleep was still running meanwhile
            thread.join()


def test_an_unknown_driver_is_refused(mariadb_url: str) -> None:
    with pytest.raises(errors.InvalidParameterValue, match="driver must be one of"):
        from_url(f"{mariadb_url}?driver=mysqlclient")
