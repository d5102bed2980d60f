"""Cache hits answered as their bytes arrive (Hits.at_wire, before the connection's task
wakes): only a request that is whole in one read, while the connection waits for a
command, and never against what the statement names, the pipeline or a timeout say."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_wire import SYNC, RawClient, Reply, frame, query
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
BY_ID = "SELECT name FROM wire_t WHERE id = $1"
BY_ID_UPPER = "SELECT upper(name) FROM wire_t WHERE id = $1"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[ProxyProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('wire') / 'app.db'}"
    with run_proxy(url, config=CONFIG) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE wire_t (id INT PRIMARY KEY, name VARCHAR(20))")
            conn.execute("INSERT INTO wire_t VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        yield p


def request(statement: bytes, value: bytes) -> bytes:
    return bind_named(statement, [value]) + describe_portal() + execute() + SYNC


def test_a_statement_name_used_again_answers_for_its_new_text(proxy):
    with session(proxy) as client:
        ask(client, parse_named(b"s", BY_ID, (23,)) + SYNC)
        before = cache_stats(proxy)
        first = [ask(client, request(b"s", b"2")).rows() for _ in range(4)]
        hits, _ = counted(proxy, before)
        assert first == [[[b"two"]]] * 4 and hits >= 3
        # Closed and parsed again under the same name: the same Bind bytes now ask for
        # another statement, whatever the memo learned of the old one.
        ask(client, frame(b"C", b"Ss\0") + parse_named(b"s", BY_ID_UPPER, (23,)) + SYNC)
        again = [ask(client, request(b"s", b"2")).rows() for _ in range(4)]
        assert again == [[[b"TWO"]]] * 4


def test_requests_sent_together_are_answered_in_order(proxy):
    with session(proxy) as client:
        ask(client, parse_named(b"p", BY_ID, (23,)) + SYNC)
        for _ in range(3):  # learned as single requests first
            ask(client, request(b"p", b"1"))
            ask(client, request(b"p", b"3"))
        client.send(request(b"p", b"1") + request(b"p", b"3") + query("SELECT 7"))
        replies = [client.reply() for _ in range(3)]
        assert [r.rows() for r in replies] == [[[b"one"]], [[b"three"]], [[b"7"]]]
        assert all(r.ready and not r.errors for r in replies)


def test_a_request_split_across_reads_is_answered_whole(proxy):
    with session(proxy) as client:
        ask(client, parse_named(b"q", BY_ID, (23,)) + SYNC)
        data = request(b"q", b"3")
        for _ in range(3):
            ask(client, data)
        for cut in (1, 5, len(data) - 5, len(data) - 1):
            client.send(data[:cut])
            time.sleep(0.05)  # two reads on the proxy's side
            client.send(data[cut:])
            reply = client.reply()
            assert reply.ready and reply.rows() == [[b"three"]], (cut, reply.messages)


def test_hits_keep_the_idle_session_timeout(proxy):
    with session(proxy) as client:
        ask(client, query("SET idle_session_timeout = '700ms'"))
        sql = query("SELECT name FROM wire_t WHERE id = 1")
        for _ in range(10):  # hits, each well within the timeout of the one before
            assert ask(client, sql).rows() == [[b"one"]]
            time.sleep(0.2)
        closed: Reply = client.reply(timeout=5)
        assert "57P05" in closed.sqlstates and closed.closed


def test_a_write_between_hits_is_seen_at_once(proxy):
    with session(proxy) as client, psycopg.connect(proxy.dsn(), autocommit=True) as writer:
        ask(client, parse_named(b"w", BY_ID, (23,)) + SYNC)
        for name in ("a", "b", "c"):
            writer.execute("UPDATE wire_t SET name = %s WHERE id = 3", (name,))
            for _ in range(3):
                assert ask(client, request(b"w", b"3")).rows() == [[name.encode()]]
        writer.execute("UPDATE wire_t SET name = 'three' WHERE id = 3")


def test_a_bad_request_after_hits_gets_its_error_and_the_session_goes_on(proxy):
    with session(proxy) as client:
        ask(client, parse_named(b"e", BY_ID, (23,)) + SYNC)
        for _ in range(3):
            ask(client, request(b"e", b"1"))
        client.send(request(b"nope", b"1"))
        bad = client.reply()
        assert bad.sqlstates == ["26000"] and bad.ready
        client.send(request(b"e", b"x"))  # no integer: the full path's 22P02
        assert client.reply().sqlstates == ["22P02"]
        assert ask(client, request(b"e", b"1")).rows() == [[b"one"]]


def test_a_raw_client_sees_the_hit_counted_once(proxy):
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        ask(client, SYNC)
        sql = query("SELECT name FROM wire_t WHERE id = 2")
        ask(client, sql)
        ask(client, sql)
        before = cache_stats(proxy)
        for _ in range(5):
            ask(client, sql)
        assert counted(proxy, before) == (5, 0)


@pytest.mark.parametrize("cursor", [psycopg.Cursor, psycopg.ClientCursor], ids=["bind", "query"])
def test_rows_another_client_read_first_are_answered_right_and_writes_seen(proxy, cursor):
    """A statement checked once keys requests it never saw (Plan): each gets its own row."""
    q = "SELECT name FROM wire_t WHERE id = %s"
    dsn = proxy.dsn()
    with psycopg.connect(dsn, autocommit=True, cursor_factory=cursor) as a, \
            psycopg.connect(dsn, autocommit=True, cursor_factory=cursor) as b:
        for _ in range(4):
            assert a.execute(q, (1,)).fetchone() == ("one",)
        for _ in range(2):
            assert [b.execute(q, (i,)).fetchone() for i in (2, 3)] == [("two",), ("three",)]
        for _ in range(3):
            assert [a.execute(q, (i,)).fetchone() for i in (3, 2, 1)] == [
                ("three",), ("two",), ("one",)]
        b.execute("UPDATE wire_t SET name = 'deux' WHERE id = 2")
        assert [a.execute(q, (i,)).fetchone() for i in (2, 3)] == [("deux",), ("three",)]
        b.execute("UPDATE wire_t SET name = 'two' WHERE id = 2")
        assert a.execute(q, (2,)).fetchone() == ("two",)
        assert a.execute(q, (4,)).fetchone() is None


def unnamed(sql: str, value: bytes) -> bytes:
    """An extended query that parses its unnamed statement each time (pgbench -M extended)."""
    return parse_named(b"", sql) + bind_named(b"", [value]) + describe_portal() + execute() + SYNC


def test_an_unnamed_statement_parsed_each_time_answers_for_the_text_it_names(proxy):
    by_name = "SELECT name FROM wire_t WHERE id = $1"
    by_id = "SELECT id FROM wire_t WHERE name = $1"
    with session(proxy) as client:
        before = cache_stats(proxy)
        for _ in range(5):
            assert ask(client, unnamed(by_name, b"2")).rows() == [[b"two"]]
            assert ask(client, unnamed(by_id, b"two")).rows() == [[b"2"]]
            reply = ask(client, unnamed(by_name, b"3"))
            assert [t for t, _ in reply.messages] == [b"1", b"2", b"T", b"D", b"C", b"Z"]
            assert reply.rows() == [[b"three"]]
        hits, misses = counted(proxy, before)
        assert hits + misses == 15 and hits >= 9


def test_an_unnamed_statement_parsed_again_after_ddl_reads_the_new_table(proxy):
    sql = "SELECT v FROM wire_ddl WHERE k = $1"
    with session(proxy) as client, psycopg.connect(proxy.dsn(), autocommit=True) as other:
        other.execute("CREATE TABLE wire_ddl (k INT PRIMARY KEY, v TEXT)")
        other.execute("INSERT INTO wire_ddl VALUES (1, 'int key')")
        for _ in range(4):
            assert ask(client, unnamed(sql, b"1")).rows() == [[b"int key"]]
        other.execute("DROP TABLE wire_ddl")
        other.execute("CREATE TABLE wire_ddl (k TEXT PRIMARY KEY, v TEXT)")
        other.execute("INSERT INTO wire_ddl VALUES ('1', 'text key')")
        for _ in range(4):
            assert ask(client, unnamed(sql, b"1")).rows() == [[b"text key"]]
        other.execute("DROP TABLE wire_ddl")
