"""Repeated MariaDB reads answered at the wire (pgproxy/wire_reads_async.py): the same bytes
as the full path through real clients, in order behind and before whatever else the
connection receives, whatever changes between two repeats."""

from __future__ import annotations

import datetime
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import MariaDBServer
from tests.fix_wire import SYNC, RawClient, frame
from tests.fix_wire_reads import (
    answered,
    ask,
    asyncpg_rows_match_the_full_path,
    ddl_from_another_session_gives_the_new_columns,
    many_clients_get_their_own_rows,
    psycopg_rows_match_the_full_path,
    repeats_match_the_full_path,
    simple_queries_match_the_full_path,
    unnamed_repeats_match_the_full_path,
)
from tests.integration.test_cache_hits import (
    bind_named,
    describe_portal,
    execute,
    parse_named,
    session,
)

pytestmark = pytest.mark.integration

ROWS = """INSERT INTO wm_types VALUES
 (1, 42, 9000000000, 12.50, 'one', true, NULL, '2024-02-29', '2024-02-29 13:14:15.5',
  2.5, '10:11:12'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, -7, -1, 0.01, 'tres', false, NULL, '1999-12-31', '1999-12-31 23:59:59', -0.125,
  '00:00:00')"""
BY_ID = "SELECT * FROM wm_types WHERE id = $1"
# A read whose cost its parameter sets: a count over a cross join of `wm_n` with itself.
SLOW = "SELECT count(*) FROM wm_n a, wm_n b, wm_n c WHERE a.id < $1"
TERMINATE = frame(b"X", b"")


@pytest.fixture(scope="module")
def proxy(mariadb: MariaDBServer) -> Iterator[ProxyProcess]:
    # Fewer connections than the clients of test_many_clients: a read waits for one.
    with run_proxy(mariadb.url, config="[pool]\npool_size = 12\n") as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            for table in ("wm_types", "wm_n", "wm_ddl", "wm_many"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(
                "CREATE TABLE wm_types (id INT PRIMARY KEY, i INT, b BIGINT, n NUMERIC(10,2),"
                " t TEXT, f BOOL, y BYTEA, d DATE, ts TIMESTAMP, r FLOAT8, tm TIME)")
            conn.execute(ROWS)
            for key, value in ((1, b"\x01\xff"), (3, b"")):  # bytea bound, not a literal
                conn.execute("UPDATE wm_types SET y = %s WHERE id = %s", (value, key))
            conn.execute("CREATE TABLE wm_n (id INT PRIMARY KEY)")
            conn.execute("INSERT INTO wm_n SELECT generate_series(1, 400)")
        yield p


@pytest.mark.parametrize("describe", [True, False], ids=["described", "undescribed"])
@pytest.mark.parametrize("result_formats", [(), (1,), (0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0)],
                         ids=["text", "binary", "mixed"])
def test_a_repeat_replies_with_the_bytes_of_the_full_path(proxy, describe, result_formats):
    repeats_match_the_full_path(proxy, BY_ID, describe, result_formats)


def test_the_unnamed_parse_bind_form_and_a_simple_query_are_answered(proxy):
    unnamed_repeats_match_the_full_path(proxy, BY_ID)
    simple_queries_match_the_full_path(proxy, "wm_types")


@pytest.mark.parametrize("prepare", [True, False], ids=["prepared", "unnamed"])
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_gets_what_the_full_path_gives(proxy, prepare, binary):
    row = psycopg_rows_match_the_full_path(proxy, "wm_types", prepare, binary)
    assert row == (3, -7, -1, Decimal("0.01"), "tres", False, b"", datetime.date(1999, 12, 31),
                   datetime.datetime(1999, 12, 31, 23, 59, 59), -0.125, datetime.time(0, 0))


def test_asyncpg_gets_what_the_full_path_gives(proxy):
    rows = asyncpg_rows_match_the_full_path(proxy, BY_ID)
    assert rows[0][:7] == (1, 42, 9000000000, Decimal("12.50"), "one", True, b"\x01\xff")
    assert rows[1] == (2,) + (None,) * 10


def test_ddl_from_another_session_or_the_server_gives_the_new_columns(proxy, mariadb):
    sql = "SELECT * FROM wm_ddl WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        ddl_from_another_session_gives_the_new_columns(proxy, conn, "wm_ddl")
        root = mariadb.root()  # DDL the proxy never sees: the columns tell
        try:
            with root.cursor() as cur:
                cur.execute(f"ALTER TABLE {mariadb.database}.wm_ddl DROP COLUMN d,"
                            " ADD COLUMN s VARCHAR(9) DEFAULT 'new'")
        finally:
            root.close()
        for _ in range(3):
            cur = conn.execute(sql, (1,), prepare=True)
            assert cur.fetchall() == [(1, Decimal("2.5"), "new")]
            assert [c.name for c in cur.description] == ["id", "t", "s"]


def test_an_error_on_a_repeat_is_the_full_paths_and_the_session_goes_on(proxy):
    sql = "SELECT (SELECT id FROM wm_types WHERE id > %s) AS one"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for _ in range(3):
            assert conn.execute(sql, (2,), prepare=True).fetchall() == [(3,)]
        before = answered(proxy)
        for _ in range(2):
            with pytest.raises(psycopg.errors.CardinalityViolation) as caught:
                conn.execute(sql, (0,), prepare=True)  # more than one row: MariaDB's 1242
            assert caught.value.sqlstate == "21000"
            assert conn.execute(sql, (2,), prepare=True).fetchall() == [(3,)]
        assert answered(proxy) - before >= 1
        conn.execute("CREATE TABLE wm_gone (id INT PRIMARY KEY)")
        gone = "SELECT id FROM wm_gone WHERE id = %s"
        for _ in range(3):
            assert conn.execute(gone, (1,), prepare=True).fetchall() == []
        conn.execute("DROP TABLE wm_gone")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(gone, (1,), prepare=True)
        assert conn.execute(sql, (2,), prepare=True).fetchall() == [(3,)]


def test_many_clients_at_once_each_get_their_own_rows(proxy):
    many_clients_get_their_own_rows(proxy, "wm_many")


def slow_session(proxy: ProxyProcess) -> tuple[RawClient, bytes]:
    """A session whose statement `c` (SLOW) has a plan, and the request that runs it long."""
    client = session(proxy)
    ask(client, parse_named(b"c", SLOW, (23,)) + SYNC)
    quick = bind_named(b"c", [b"2"]) + execute() + SYNC
    for _ in range(3):
        assert ask(client, quick).rows() == [[b"160000"]]
    return client, bind_named(b"c", [b"400"]) + execute() + SYNC


def test_a_cancel_request_stops_a_slow_repeat_and_the_session_goes_on(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for _ in range(3):
            assert conn.execute(SLOW.replace("$1", "%s"), (2,), prepare=True).fetchall() == \
                [(160000,)]
        before = answered(proxy)
        timer = threading.Timer(0.3, conn.cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled) as caught:
            conn.execute(SLOW.replace("$1", "%s"), (400,), prepare=True)
        timer.join()
        assert time.monotonic() - started < 20
        assert caught.value.sqlstate == "57014"
        assert "user request" in str(caught.value)
        assert answered(proxy) == before  # a canceled read is no answer
        for _ in range(3):
            assert conn.execute(SLOW.replace("$1", "%s"), (3,), prepare=True).fetchall() == \
                [(320000,)]
        assert answered(proxy) - before >= 2


def test_requests_behind_a_read_under_way_are_answered_after_it_in_order(proxy):
    with slow_session(proxy)[0] as client:
        ask(client, parse_named(b"s", BY_ID, (23,)) + SYNC)
        point = bind_named(b"s", [b"1"]) + describe_portal() + execute() + SYNC
        full = ask(client, point)
        slow = bind_named(b"c", [b"40"]) + execute() + SYNC
        counted = str(39 * 400 * 400).encode()
        before = answered(proxy)
        client.send(slow)
        time.sleep(0.05)  # the slow read is under way: what follows waits behind it
        client.send(point)  # then answered at the wire in its turn
        first, second = client.reply(), client.reply()
        assert first.rows() == [[counted]] and not first.errors
        assert second.messages == full.messages
        assert answered(proxy) - before == 2
        client.send(slow)
        time.sleep(0.05)
        client.send(point)
        client.send(frame(b"Q", b"SELECT 7 AS seven\0"))  # two requests: the full path's
        first, second, third = client.reply(), client.reply(), client.reply()
        assert first.rows() == [[counted]] and second.messages == full.messages
        assert third.rows() == [[b"7"]]
        client.send(slow)
        time.sleep(0.05)
        client.send(point + TERMINATE)  # answered, then the connection ends as asked
        assert client.reply().rows() == [[counted]]
        assert client.reply().messages == full.messages
        assert client.sock.recv(1) == b""


def test_the_end_of_input_during_a_read_still_gets_its_reply(proxy):
    client, slow = slow_session(proxy)
    with client:
        ask(client, parse_named(b"e", BY_ID, (23,)) + SYNC)
        request = bind_named(b"e", [b"1"]) + describe_portal() + execute() + SYNC
        full = ask(client, request)
        ask(client, request)
        before = answered(proxy)
        client.send(request)
        client.sock.shutdown(socket.SHUT_WR)  # the client sends nothing more
        assert client.reply().messages == full.messages
        assert answered(proxy) - before == 1
    client, slow = slow_session(proxy)
    with client:
        client.send(slow)
        time.sleep(0.05)  # under way when the end of input comes
        client.sock.shutdown(socket.SHUT_WR)
        assert client.reply().rows() == [[str(399 * 400 * 400).encode()]]
        assert client.sock.recv(1) == b""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:  # the server goes on
        assert conn.execute(BY_ID.replace("$1", "%s"), (1,)).fetchone()[0] == 1


def test_a_client_gone_during_a_read_leaves_its_connection_whole(proxy):
    for _ in range(3):
        client, slow = slow_session(proxy)
        client.send(slow)
        time.sleep(0.05)
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        client.close()  # a reset: the connection is lost while its read runs
    # The sessions' backend connections went back whole: every session reads right.
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for key in (1, 2, 3, 1, 2, 3):
            rows = conn.execute(BY_ID.replace("$1", "%s"), (key,), prepare=True).fetchall()
            assert rows[0][0] == key


def test_a_statement_timeout_is_kept_by_the_full_path(proxy):
    sql = SLOW.replace("$1", "%s")
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for _ in range(3):
            assert conn.execute(sql, (2,), prepare=True).fetchall() == [(160000,)]
        conn.execute("SET statement_timeout = '200ms'")
        before = answered(proxy)
        assert conn.execute(sql, (2,), prepare=True).fetchall() == [(160000,)]
        with pytest.raises(psycopg.errors.QueryCanceled) as caught:
            conn.execute(sql, (400,), prepare=True)
        assert "statement timeout" in str(caught.value)
        assert answered(proxy) == before
        conn.execute("RESET statement_timeout")
        for _ in range(4):  # (a SET changes the session's target: its plan is learned anew)
            assert conn.execute(sql, (2,), prepare=True).fetchall() == [(160000,)]
        assert answered(proxy) > before
