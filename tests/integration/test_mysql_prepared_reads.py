"""Repeated MariaDB reads run as server-side prepared statements (backends/mysql_binary.py):
the server counts them as COM_STMT_EXECUTEs, and every answer is the text protocol's (a
proxy on the same server through pymysql), whatever the result's size, types or the
statement's parameters."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from pgproxy.backends.mysql_binary import CACHED
from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import MariaDBServer
from tests.fix_wire_reads import answered

pytestmark = pytest.mark.integration


def status(mariadb: MariaDBServer) -> dict[str, int]:
    """The server's prepared-statement counters."""
    root = mariadb.root()
    try:
        with root.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN"
                        " ('Com_stmt_prepare', 'Com_stmt_execute', 'Com_stmt_close',"
                        " 'Prepared_stmt_count')")
            return {row["Variable_name"]: int(row["Value"]) for row in cur.fetchall()}
    finally:
        root.close()


@pytest.fixture(scope="module")
def proxy(mariadb: MariaDBServer) -> Iterator[ProxyProcess]:
    # One worker and one backend connection: every read of a test meets the same one.
    with run_proxy(mariadb.url, config="[pool]\npool_size = 1\n",
                   extra_args=("--workers", "1")) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            for table in ("pr_t", "pr_big"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute("CREATE TABLE pr_t (id INT PRIMARY KEY, name VARCHAR(20), f REAL,"
                         " r FLOAT8, d DATE, ts TIMESTAMP, n NUMERIC(12,3))")
            conn.execute("INSERT INTO pr_t VALUES (1, 'one', 1.1, 0.30000000000000004,"
                         " '2024-02-29', '2024-02-29 13:14:15.25', 12.5),"
                         " (2, 'two', 1234567.89, 1e300,"
                         " NULL, NULL, -0.001), (3, NULL, NULL, NULL, '1999-12-31',"
                         " '1999-12-31 00:00:00', NULL)")
            conn.execute("CREATE TABLE pr_big (id INT PRIMARY KEY, pad VARCHAR(200))")
            conn.execute("INSERT INTO pr_big SELECT g, repeat('x', 150) FROM"
                         " generate_series(1, 30000) AS g")
        yield p


@pytest.fixture(scope="module")
def text_proxy(mariadb: MariaDBServer, proxy: ProxyProcess) -> Iterator[ProxyProcess]:
    """A proxy on the same server through pymysql: the text protocol alone."""
    with run_proxy(mariadb.url + "?driver=pymysql", extra_args=("--workers", "1")) as p:
        yield p


def text_rows(text_proxy: ProxyProcess, sql: str, params: tuple) -> tuple[list, list]:
    """`sql`'s rows and column types through the text protocol."""
    with psycopg.connect(text_proxy.dsn(), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall(), [c.type_code for c in cur.description]


def test_repeated_reads_are_prepared_once_and_executed(proxy, text_proxy, mariadb):
    sql = "SELECT id, name, r, d, ts, n FROM pr_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for key in (1, 2, 3):
            conn.execute(sql, (key,), prepare=True)  # the plan learned
        before, at_wire = status(mariadb), answered(proxy)
        for _ in range(20):
            for key in (1, 2, 3):
                cur = conn.execute(sql, (key,), prepare=True)
                got = cur.fetchall(), [c.type_code for c in cur.description]
                assert got == text_rows(text_proxy, sql, (key,))
                if key == 1:
                    assert got[0] == [(1, "one", 0.1 + 0.2, datetime.date(2024, 2, 29),
                                       datetime.datetime(2024, 2, 29, 13, 14, 15, 250000),
                                       Decimal("12.500"))]
        after = status(mariadb)
    assert answered(proxy) - at_wire == 60
    assert after["Com_stmt_execute"] - before["Com_stmt_execute"] == 60
    assert after["Com_stmt_prepare"] - before["Com_stmt_prepare"] <= 1


def test_a_float_column_stays_on_the_text_protocol(proxy, mariadb):
    # The text protocol rounds a FLOAT to six digits (1234570), the binary one would give
    # the stored single-precision value: a read answers alike on both paths or not at all.
    sql = "SELECT f FROM pr_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        before, at_wire = status(mariadb), answered(proxy)
        texts = set()
        for _ in range(6):
            cur = conn.cursor(binary=False)
            cur.execute(sql, (2,), prepare=True)
            texts.add(cur.pgresult.get_value(0, 0))
        assert texts == {b"1.23457e+06"}
        assert answered(proxy) - at_wire >= 3  # at the wire, on the text protocol
        assert status(mariadb)["Com_stmt_execute"] == before["Com_stmt_execute"]


def test_a_column_typed_by_its_parameter_answers_as_the_text_protocol(proxy, text_proxy):
    # MariaDB types `CONCAT(name, ?)` and `id + ?` by the values bound: such a statement
    # goes back to the text protocol after its first prepared run on a connection.
    for sql, params in (("SELECT concat(name, %s::text) AS c FROM pr_t WHERE id = %s", ("!", 1)),
                        ("SELECT id + %s::int AS s FROM pr_t WHERE id = %s", (5, 2))):
        expected = text_rows(text_proxy, sql, params)
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            for _ in range(8):
                cur = conn.execute(sql, params, prepare=True)
                assert (cur.fetchall(), [c.type_code for c in cur.description]) == expected


@pytest.mark.parametrize("rows", [1999, 2000, 30000], ids=["one-batch", "a-batch", "big"])
def test_a_result_of_any_size_reads_whole_and_the_session_goes_on(proxy, rows):
    # 1999 rows: the whole result in one batch at the wire; 2000 and more: a batch at the
    # wire, then the statement goes the full path (which streams); 30000 rows of 150 bytes:
    # more than the receive buffer holds, read as it comes.
    sql = "SELECT id, pad FROM pr_big WHERE id <= %s ORDER BY id"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for _ in range(4):
            got = conn.execute(sql, (rows,), prepare=True).fetchall()
            assert len(got) == rows and got[-1] == (rows, "x" * 150)
            assert conn.execute("SELECT name FROM pr_t WHERE id = %s", (1,),
                                prepare=True).fetchall() == [("one",)]


def test_values_of_other_types_take_the_text_protocol(proxy, mariadb):
    sql = "SELECT id FROM pr_t WHERE d = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        before = status(mariadb)
        for _ in range(6):
            assert conn.execute(sql, (datetime.date(1999, 12, 31),),
                                prepare=True).fetchall() == [(3,)]
        assert status(mariadb)["Com_stmt_execute"] == before["Com_stmt_execute"]


def test_a_connection_keeps_its_statements_bounded(proxy, mariadb):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for round_ in range(2):
            for i in range(CACHED + 20):
                sql = f"SELECT id, {i} AS k FROM pr_t WHERE id = %s"
                for _ in range(3):
                    assert conn.execute(sql, (1,), prepare=True).fetchall() == [(1, i)]
            # One worker, one backend connection: its statements are all the server holds.
            assert status(mariadb)["Prepared_stmt_count"] <= CACHED, round_


def test_a_killed_backend_connection_is_replaced_on_the_next_read(proxy, mariadb):
    sql = "SELECT name FROM pr_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for _ in range(4):
            assert conn.execute(sql, (1,), prepare=True).fetchall() == [("one",)]
        root = mariadb.root()
        try:
            with root.cursor() as cur:
                cur.execute("SELECT id FROM information_schema.processlist WHERE user = %s",
                            (mariadb.user,))
                for row in cur.fetchall():
                    cur.execute(f"KILL CONNECTION {int(row['id'])}")
        finally:
            root.close()
        for _ in range(4):  # the lost one's statements with it: prepared anew on the next
            assert conn.execute(sql, (1,), prepare=True).fetchall() == [("one",)]
