"""Repeated SQLite reads answered at the wire (pgproxy/wire_reads.py): the same bytes as the
full path, through real clients, whatever changes between two repeats."""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_wire import SYNC, frame
from tests.fix_wire_reads import (
    answered,
    ask,
    asyncpg_rows_match_the_full_path,
    ddl_from_another_session_gives_the_new_columns,
    in_block,
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

ROWS = """INSERT INTO wr_types VALUES
 (1, 42, 9000000000, 12.50, 'one', true, '\\x01ff', '2024-02-29', '2024-02-29 13:14:15.5',
  '2024-02-29 13:14:15+02', '{1,2,3}'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, -7, -1, 0.01, 'tres', false, '\\x', '1999-12-31', '1999-12-31 23:59:59',
  '1999-12-31 23:59:59+00', '{}')"""
BY_ID = "SELECT * FROM wr_types WHERE id = $1"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[ProxyProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('wire_reads') / 'app.db'}"
    with run_proxy(url) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE wr_types (id INT PRIMARY KEY, i INT, b BIGINT, n NUMERIC(10,2),"
                " t TEXT, f BOOL, y BYTEA, d DATE, ts TIMESTAMP, tz TIMESTAMPTZ, a INT[])")
            conn.execute(ROWS)
        yield p


@pytest.mark.parametrize("describe", [True, False], ids=["described", "undescribed"])
@pytest.mark.parametrize("result_formats", [(), (1,), (0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0)],
                         ids=["text", "binary", "mixed"])
def test_a_repeat_replies_with_the_bytes_of_the_full_path(proxy, describe, result_formats):
    repeats_match_the_full_path(proxy, BY_ID, describe, result_formats)


def test_the_unnamed_parse_bind_form_is_answered_as_the_full_path(proxy):
    unnamed_repeats_match_the_full_path(proxy, BY_ID)


def test_a_simple_query_of_a_shape_seen_is_answered_as_the_full_path(proxy):
    simple_queries_match_the_full_path(proxy, "wr_types")


@pytest.mark.parametrize("prepare", [True, False], ids=["prepared", "unnamed"])
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_gets_what_the_full_path_gives(proxy, prepare, binary):
    row = psycopg_rows_match_the_full_path(proxy, "wr_types", prepare, binary)
    assert row[:6] == (3, -7, -1, Decimal("0.01"), "tres", False)
    assert row[6] == b"" and row[7] == datetime.date(1999, 12, 31) and row[10] == []


@pytest.mark.parametrize("sql", [
    "SELECT coalesce(i, b) FROM wr_types WHERE id = %s",  # no declared type: from the rows
    "SELECT CASE WHEN id = 2 THEN NULL ELSE t END AS c FROM wr_types WHERE id = %s",
    "SELECT max(n), min(d) FROM wr_types WHERE id <= %s",  # typed by the schema
    "SELECT i, i::text, n * 2 FROM wr_types WHERE id = %s",  # typed by the casts
])
def test_columns_typed_from_rows_or_the_schema_are_the_full_paths(proxy, sql):
    with psycopg.connect(proxy.dsn()) as conn:
        conn.autocommit = True
        for key in (1, 2, 3, 2, 1, 3, 2, 1, 2, 3):
            want = in_block(conn, sql, (key,), False)
            cur = conn.execute(sql, (key,), prepare=True)
            assert cur.fetchall() == want
            with conn.transaction():
                types = [c.type_code for c in conn.execute(sql, (key,)).description]
            assert [c.type_code for c in cur.description] == types


def test_asyncpg_gets_what_the_full_path_gives(proxy):
    rows = asyncpg_rows_match_the_full_path(proxy, BY_ID)
    assert rows[1] == (2,) + (None,) * 10


def test_a_changed_row_count_and_rows_between_repeats(proxy):
    sql = "SELECT id, t FROM wr_count WHERE id <= %s ORDER BY id"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn, \
            psycopg.connect(proxy.dsn(), autocommit=True) as other:
        other.execute("CREATE TABLE wr_count (id INT PRIMARY KEY, t TEXT)")
        seen = []
        for n in range(1, 5):
            other.execute("INSERT INTO wr_count VALUES (%s, %s)", (n, f"v{n}"))
            for _ in range(3):
                cur = conn.execute(sql, (10,), prepare=True)
                seen.append((cur.fetchall(), cur.statusmessage))
        assert seen[-1] == ([(1, "v1"), (2, "v2"), (3, "v3"), (4, "v4")], "SELECT 4")
        assert [len(rows) for rows, _ in seen] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]


def test_ddl_from_another_session_gives_the_new_columns(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        ddl_from_another_session_gives_the_new_columns(proxy, conn, "wr_ddl")


def test_a_set_between_repeats_changes_what_is_written(proxy):
    sql = "SELECT d, ts, tz FROM wr_types WHERE id = $1"
    with session(proxy) as client:
        ask(client, parse_named(b"z", sql, (23,)) + SYNC)
        request = bind_named(b"z", [b"1"]) + describe_portal() + execute() + SYNC
        replies = {}
        for setting in ("SET DateStyle = 'ISO, MDY'", "SET DateStyle = 'German'",
                        "SET TimeZone = 'Asia/Tokyo'", "SET DateStyle = 'SQL, DMY'"):
            client.send(frame(b"Q", setting.encode() + b"\0"))
            assert not client.reply().errors
            full = ask(client, request)
            repeats = [ask(client, request) for _ in range(2)]
            assert all(r.messages == full.messages for r in repeats)
            replies[setting] = full.rows()
        assert len({json.dumps(r, default=repr) for r in replies.values()}) == 4
        assert replies["SET DateStyle = 'German'"][0][0] == b"29.02.2024"


def test_a_client_encoding_the_wire_converts_takes_the_full_path(proxy):
    sql = "SELECT t FROM wr_types WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("SET client_encoding = 'LATIN1'")
        before = answered(proxy)
        for key in (1, 3, 1, 3):
            assert conn.execute(sql, (key,), prepare=True).fetchall() == \
                [("one",) if key == 1 else ("tres",)]
        assert answered(proxy) == before
        conn.execute("SET client_encoding = 'UTF8'")
        for key in (1, 3, 1, 3):
            conn.execute(sql, (key,), prepare=True)
        assert answered(proxy) > before


def test_a_runtime_error_on_a_repeat_is_the_full_paths_and_the_session_goes_on(proxy):
    sql = "SELECT 1 / (id - 2) FROM wr_types WHERE id = %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for _ in range(3):
            assert conn.execute(sql, (1,), prepare=True).fetchall() == [(-1,)]
        for _ in range(2):
            with pytest.raises(psycopg.errors.DivisionByZero) as caught:
                conn.execute(sql, (2,), prepare=True)
            assert caught.value.sqlstate == "22012"
            assert conn.execute(sql, (3,), prepare=True).fetchall() == [(1,)]


def test_a_long_repeat_moves_off_the_loop_and_others_go_on(proxy):
    long = ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < %s)"
            " SELECT count(*) FROM c")
    quick = "SELECT t FROM wr_types WHERE id = %s"
    done: list[tuple[str, object]] = []
    with psycopg.connect(proxy.dsn(), autocommit=True) as slow, \
            psycopg.connect(proxy.dsn(), autocommit=True) as fast:
        assert slow.execute(long, (10,), prepare=True).fetchall() == [(10,)]
        assert slow.execute(long, (10,), prepare=True).fetchall() == [(10,)]

        def run_long() -> None:
            done.append(("long", slow.execute(long, (3_000_000,), prepare=True).fetchall()))

        for _ in range(4):  # repeated: tried at the wire (and moved) three times, then not
            done.clear()
            thread = threading.Thread(target=run_long)
            thread.start()
            while all(kind == "quick" for kind, _ in done) and len(done) < 100_000:
                # Quick reads are answered while the long one runs: a loop it held would
                # let one at most be answered before it.
                done.append(("quick", fast.execute(quick, (1,), prepare=True).fetchall()))
            thread.join()
            assert ("long", [(3_000_000,)]) in done
            first_long = done.index(("long", [(3_000_000,)]))
            assert first_long >= 5 and done[0] == ("quick", [("one",)])


def test_many_clients_at_once_each_get_their_own_rows(proxy):
    """More requests in one turn of the loop than its inline budget runs: those put off
    to the next turn are answered then, each to its own client, in order."""
    many_clients_get_their_own_rows(proxy, "wr_many")


def test_a_request_then_the_end_of_input_is_answered(proxy):
    with session(proxy) as client:
        ask(client, parse_named(b"e", BY_ID, (23,)) + SYNC)
        request = bind_named(b"e", [b"1"]) + describe_portal() + execute() + SYNC
        full = ask(client, request)
        ask(client, request)
        client.send(request)
        client.sock.shutdown(socket.SHUT_WR)  # the client sends nothing more
        assert client.reply().messages == full.messages


def test_inside_a_transaction_block_the_full_path_sees_its_own_writes(proxy):
    sql = "SELECT count(*) FROM wr_block WHERE id > %s"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE wr_block (id INT PRIMARY KEY)")
        for _ in range(3):
            assert conn.execute(sql, (0,), prepare=True).fetchall() == [(0,)]
        before = answered(proxy)
        with conn.transaction():
            conn.execute("INSERT INTO wr_block VALUES (1), (2)")
            for _ in range(3):
                assert conn.execute(sql, (0,), prepare=True).fetchall() == [(2,)]
            assert answered(proxy) == before
            raise psycopg.Rollback
        for _ in range(3):
            assert conn.execute(sql, (0,), prepare=True).fetchall() == [(0,)]
        assert answered(proxy) > before


def test_observers_get_one_event_per_statement(tmp_path):
    audit = tmp_path / "audit.jsonl"
    config = f"""
[observers]
dead_letter = "{tmp_path / 'dl.db'}"

[[observers.subscriber]]
name = "audit"
type = "audit"
path = "{audit}"
events = ["statement"]
"""
    with run_proxy(f"sqlite:///{tmp_path / 'o.db'}", config=config) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE wr_obs (id INT PRIMARY KEY, t TEXT)")
            conn.execute("INSERT INTO wr_obs VALUES (1, 'a'), (2, 'b')")
            for key in (1, 2, 1, 2, 1, 2):
                conn.execute("SELECT t FROM wr_obs WHERE id <= %s", (key,), prepare=True)
        assert answered(p) >= 4

        def selects() -> list[dict]:
            if not audit.exists():
                return []
            events = [json.loads(line) for line in audit.read_text().splitlines()]
            return [e for e in events if e.get("type") == "statement"
                    and e.get("operation") == "select"]

        for _ in range(100):
            if len(selects()) >= 6:
                break
            asyncio.run(asyncio.sleep(0.05))
        events = selects()
    assert [(e["tag"], e["rows"]) for e in events] == [("SELECT 1", 1), ("SELECT 2", 2)] * 3
    assert all(e["cache_hit"] is None and e["sqlstate"] is None for e in events)
    assert all(e["tables"] == ["wr_obs"] for e in events)


def test_two_workers_answer_repeats_with_columns_another_worker_changed(tmp_path):
    sql = "SELECT * FROM wr_w WHERE id = %s"
    with run_proxy(f"sqlite:///{tmp_path / 'w.db'}", extra_args=("--workers", "2")) as p:
        conns = [psycopg.connect(p.dsn(), autocommit=True) for _ in range(6)]
        try:
            conns[0].execute("CREATE TABLE wr_w (id INT PRIMARY KEY, t TEXT)")
            conns[0].execute("INSERT INTO wr_w VALUES (1, 'x')")
            for conn in conns:
                for _ in range(3):
                    assert conn.execute(sql, (1,), prepare=True).fetchall() == [(1, "x")]
            for step, ddl in enumerate(["ALTER TABLE wr_w ADD COLUMN u INT DEFAULT 7",
                                        "ALTER TABLE wr_w ADD COLUMN v TEXT DEFAULT 'w'"]):
                conns[step].execute(ddl)
                want = [(1, "x", 7)] if step == 0 else [(1, "x", 7, "w")]
                for conn in conns:
                    for _ in range(3):
                        assert conn.execute(sql, (1,), prepare=True).fetchall() == want
        finally:
            for conn in conns:
                conn.close()
        assert answered(p) >= 18  # the third run of each statement in each round at least
