"""Cache hits the wire answers itself (pgproxy/cache/hits.py): the same bytes as the full path,
counted, invalidated, and never where the session's state or a transaction says otherwise."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_wire import SYNC, RawClient, Reply, frame, query

CONFIG = "[query_cache]\nenabled = true\nttl = 300\n"
POINT = "SELECT id, name FROM hits_t WHERE id = $1"


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def proxy(request, tmp_path_factory) -> Iterator[ProxyProcess]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hits') / 'app.db'}"
    else:
        url = request.getfixturevalue("mariadb_url")
    with run_proxy(url, config=CONFIG) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS hits_t")
            conn.execute("CREATE TABLE hits_t (id INT PRIMARY KEY, name VARCHAR(20))")
            conn.execute("INSERT INTO hits_t VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        yield p


def cache_stats(proxy: ProxyProcess) -> dict[str, int]:
    with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        rows = admin.execute("SHOW CACHE").fetchall()
    return {k: int(v) for k, v in rows if k in ("hits", "misses")}


def counted(proxy: ProxyProcess, before: dict[str, int]) -> tuple[int, int]:
    after = cache_stats(proxy)
    return after["hits"] - before["hits"], after["misses"] - before["misses"]


def parse_named(name: bytes, sql: str, types: tuple[int, ...] = ()) -> bytes:
    body = name + b"\0" + sql.encode() + b"\0" + struct.pack("!H", len(types))
    return frame(b"P", body + b"".join(struct.pack("!i", t) for t in types))


def bind_named(
    statement: bytes, values: list[bytes], result_formats: tuple[int, ...] = (),
    portal: bytes = b"",
) -> bytes:
    body = portal + b"\0" + statement + b"\0" + struct.pack("!HH", 0, len(values))
    body += b"".join(struct.pack("!i", len(v)) + v for v in values)
    body += struct.pack("!H", len(result_formats))
    body += b"".join(struct.pack("!h", f) for f in result_formats)
    return frame(b"B", body)


def describe_portal(portal: bytes = b"") -> bytes:
    return frame(b"D", b"P" + portal + b"\0")


def execute(portal: bytes = b"", max_rows: int = 0) -> bytes:
    return frame(b"E", portal + b"\0" + struct.pack("!i", max_rows))


def session(proxy: ProxyProcess) -> RawClient:
    client = RawClient(proxy.host, proxy.port)
    assert client.login().ready
    ask(client, SYNC)  # the first ReadyForQuery after login carries a ParameterStatus
    return client


def ask(client: RawClient, data: bytes) -> Reply:
    client.send(data)
    reply = client.reply()
    assert reply.ready and not reply.errors, reply.messages
    return reply


@pytest.mark.parametrize("describe", [True, False], ids=["libpq", "asyncpg"])
@pytest.mark.parametrize("result_formats", [(), (1,), (0, 1)], ids=["text", "binary", "mixed"])
def test_a_prepared_hit_replies_with_the_bytes_of_the_full_path(proxy, describe, result_formats):
    with session(proxy) as client:
        ask(client, parse_named(b"s1", POINT, (23,)) + SYNC)
        request = (bind_named(b"s1", [b"2"], result_formats)
                   + (describe_portal() if describe else b"") + execute() + SYNC)
        before = cache_stats(proxy)
        first = ask(client, request)  # the full path: a miss, or a hit of an earlier test
        again = [ask(client, request) for _ in range(3)]
        hits, misses = counted(proxy, before)
    assert all(r.messages == first.messages for r in again)
    assert [t for t, _ in first.messages] == [
        b"2", *([b"T"] if describe else []), b"D", b"C", b"Z"]
    assert hits + misses == 4 and hits >= 3
    row = first.rows()[0]
    assert row[1] == b"two"
    assert row[0] == (struct.pack("!i", 2) if result_formats == (1,) else b"2")


def test_an_unnamed_statement_hit_replies_with_the_bytes_of_the_full_path(proxy):
    """Parse, Bind, Describe, Execute, Sync each time (psycopg's unprepared statements)."""
    request = (parse_named(b"", POINT, (23,)) + bind_named(b"", [b"3"]) + describe_portal()
               + execute() + SYNC)
    with session(proxy) as client:
        before = cache_stats(proxy)
        replies = [ask(client, request) for _ in range(4)]
        hits, misses = counted(proxy, before)
        # Two reads in one extended query: the second Bind follows the first's Execute.
        two = (parse_named(b"", POINT, (23,)) + bind_named(b"", [b"1"]) + execute()
               + bind_named(b"", [b"3"]) + describe_portal() + execute() + SYNC)
        pair = [ask(client, two) for _ in range(3)]
    assert all(r.messages == replies[0].messages for r in replies)
    assert [t for t, _ in replies[0].messages] == [b"1", b"2", b"T", b"D", b"C", b"Z"]
    assert hits >= 3 and hits + misses == 4
    assert all(r.messages == pair[0].messages for r in pair)
    assert pair[0].rows() == [[b"1", b"one"], [b"3", b"three"]]


def test_a_simple_query_hit_replies_with_the_bytes_of_the_full_path(proxy):
    with session(proxy) as client:
        before = cache_stats(proxy)
        replies = [ask(client, query("SELECT name FROM hits_t WHERE id = 3")) for _ in range(4)]
        hits, misses = counted(proxy, before)
        assert all(r.messages == replies[0].messages for r in replies)
        assert replies[0].rows() == [[b"three"]]
        assert hits >= 3 and hits + misses == 4
        # Two statements in one Query: both answered, every time.
        both = "SELECT name FROM hits_t WHERE id = 1; SELECT name FROM hits_t WHERE id = 2"
        for _ in range(3):
            assert ask(client, query(both)).rows() == [[b"one"], [b"two"]]


def test_a_write_elsewhere_is_seen_by_the_next_read(proxy):
    q = "SELECT name FROM hits_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as reader, \
            psycopg.connect(proxy.dsn(), autocommit=True) as writer:
        writer.execute("INSERT INTO hits_t VALUES (10, 'ten')")
        cur = reader.cursor()
        for name in ("ten", "TEN", "Ten"):
            writer.execute("UPDATE hits_t SET name = %s WHERE id = 10", (name,))
            for _ in range(3):
                assert cur.execute(q, (10,), prepare=True).fetchone() == (name,)
        writer.execute("DELETE FROM hits_t WHERE id = 10")
        assert cur.execute(q, (10,), prepare=True).fetchone() is None


def test_a_transaction_that_wrote_reads_its_own_rows(proxy):
    q = "SELECT name FROM hits_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as setup:
        setup.execute("INSERT INTO hits_t VALUES (11, 'old')")
    with psycopg.connect(proxy.dsn()) as conn:
        cur = conn.cursor()
        for _ in range(3):  # a read-only transaction is served from the cache
            assert cur.execute(q, (11,), prepare=True).fetchone() == ("old",)
        cur.execute("UPDATE hits_t SET name = 'new' WHERE id = 11")
        for _ in range(3):
            assert cur.execute(q, (11,), prepare=True).fetchone() == ("new",)
        conn.rollback()
        for _ in range(3):
            assert cur.execute(q, (11,), prepare=True).fetchone() == ("old",)
        conn.commit()
    with psycopg.connect(proxy.dsn(), autocommit=True) as setup:
        setup.execute("DELETE FROM hits_t WHERE id = 11")


def test_a_failed_transaction_gets_its_error_not_a_hit(proxy):
    q = "SELECT name FROM hits_t WHERE id = %s"
    with psycopg.connect(proxy.dsn()) as conn:
        cur = conn.cursor()
        for _ in range(3):
            assert cur.execute(q, (1,), prepare=True).fetchone() == ("one",)
        with pytest.raises(psycopg.errors.UndefinedTable):
            cur.execute("SELECT * FROM hits_missing")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            cur.execute(q, (1,), prepare=True)
        conn.rollback()
        assert cur.execute(q, (1,), prepare=True).fetchone() == ("one",)


def test_a_temporary_table_of_the_name_answers_for_its_session(proxy):
    q = "SELECT name FROM hits_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        cur = conn.cursor()
        for _ in range(3):
            assert cur.execute(q, (1,), prepare=True).fetchone() == ("one",)
        conn.execute("CREATE TEMPORARY TABLE hits_t (id INT, name VARCHAR(20))")
        conn.execute("INSERT INTO hits_t VALUES (1, 'mine')")
        for _ in range(3):
            assert cur.execute(q, (1,), prepare=True).fetchone() == ("mine",)
    with psycopg.connect(proxy.dsn(), autocommit=True) as other:  # others still hit
        assert other.execute(q, (1,), prepare=True).fetchone() == ("one",)


def test_a_setting_that_changes_the_bytes_is_honoured(proxy):
    """SET DateStyle between two runs of one prepared statement: the text changes."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS hits_dates")
        setup.execute("CREATE TABLE hits_dates (id INT PRIMARY KEY, d DATE)")
        setup.execute("INSERT INTO hits_dates VALUES (1, '2024-01-31')")
    with session(proxy) as client:
        ask(client, parse_named(b"d", "SELECT d FROM hits_dates WHERE id = $1", (23,)) + SYNC)
        request = bind_named(b"d", [b"1"]) + describe_portal() + execute() + SYNC
        seen = []
        for style in ("ISO, MDY", "German", "ISO, MDY", "SQL, DMY"):
            ask(client, query(f"SET DateStyle = '{style}'"))
            seen.append({ask(client, request).rows()[0][0] for _ in range(3)})
    assert seen == [{b"2024-01-31"}, {b"31.01.2024"}, {b"2024-01-31"}, {b"31/01/2024"}]


def test_a_client_encoding_other_than_utf8_is_converted(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as setup:
        setup.execute("INSERT INTO hits_t VALUES (12, 'café')")
    q = "SELECT name FROM hits_t WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for encoding in ("UTF8", "LATIN1", "UTF8"):
            conn.execute(f"SET client_encoding = '{encoding}'")
            cur = conn.cursor()  # psycopg binds a cursor's text decoding at its creation
            for _ in range(3):
                assert cur.execute(q, (12,), prepare=True).fetchone() == ("café",)
        conn.execute("DELETE FROM hits_t WHERE id = 12")


def test_a_row_limit_or_a_named_portal_takes_the_full_path(proxy):
    with session(proxy) as client:
        ask(client, parse_named(b"all", "SELECT id FROM hits_t WHERE id <= $1 ORDER BY id",
                                (23,)) + SYNC)
        full = bind_named(b"all", [b"3"]) + execute() + SYNC
        for _ in range(3):
            assert ask(client, full).rows() == [[b"1"], [b"2"], [b"3"]]
        limited = ask(client, bind_named(b"all", [b"3"]) + execute(max_rows=2) + SYNC)
        assert [t for t, _ in limited.messages] == [b"2", b"D", b"D", b"s", b"Z"]
        named = ask(client, bind_named(b"all", [b"3"], portal=b"p") + execute(b"p") + SYNC)
        assert named.rows() == [[b"1"], [b"2"], [b"3"]]
        # Pipelined requests are answered in order, each whole.
        client.send(full + limited_request(b"all") + full)
        replies = [client.reply() for _ in range(3)]
    assert [len(r.rows()) for r in replies] == [3, 1, 3]
    assert [t for t, _ in replies[1].messages][-2:] == [b"s", b"Z"]


def limited_request(statement: bytes) -> bytes:
    return bind_named(statement, [b"3"]) + execute(max_rows=1) + SYNC


def test_hits_reach_the_statement_observers(tmp_path):
    audit = tmp_path / "audit.jsonl"
    config = CONFIG + f"""
[observers]
dead_letter = "{tmp_path / 'dl.db'}"

[[observers.subscriber]]
name = "audit"
type = "audit"
path = "{audit}"
"""
    with run_proxy(f"sqlite:///{tmp_path / 'a.db'}", config=config) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE obs_hits (id INT PRIMARY KEY, v INT)")
            conn.execute("INSERT INTO obs_hits VALUES (1, 5)")
            cur = conn.cursor()
            for _ in range(4):
                assert cur.execute("SELECT v FROM obs_hits WHERE id = %s", (1,),
                                   prepare=True).fetchone() == (5,)
        deadline = time.monotonic() + 15
        while True:
            events = [json.loads(line) for line in audit.read_text().splitlines()] \
                if audit.exists() else []
            reads = [e["cache_hit"] for e in events if e["type"] == "statement"
                     and e["tables"] == ["obs_hits"] and e["operation"] == "select"]
            if len(reads) >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert reads == [False, True, True, True]

