"""Describe of a portal answers its columns without running the statement (issue 11).

Raw protocol messages against a real proxy on SQLite and MariaDB: a Describe
then Close of an INSERT … RETURNING (or a DELETE … RETURNING, a nextval(), a
set_config()) must change nothing; Describe then Execute runs it once, with
the RowDescription before its rows.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_wire import SYNC, RawClient, Reply, bind, execute, frame, parse, query

pytestmark = pytest.mark.integration

DESCRIBE_PORTAL = frame(b"D", b"P\0")
CLOSE_PORTAL = frame(b"C", b"P\0")
FLUSH = frame(b"H")


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def proxy(request, tmp_path_factory) -> Iterator[ProxyProcess]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('describe') / 'app.db'}"
    else:
        url = request.getfixturevalue("mariadb_url")
    with run_proxy(url) as proxy:
        yield proxy
        assert "Traceback" not in proxy.log()


@pytest.fixture
def table(proxy: ProxyProcess) -> str:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS described")
        conn.execute("CREATE TABLE described (id INT PRIMARY KEY, name VARCHAR(20))")
        conn.execute("INSERT INTO described VALUES (1, 'one')")
    return "described"


def _count(proxy: ProxyProcess) -> int:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM described").fetchone()[0]


def _kinds(reply: Reply) -> list[bytes]:
    """The reply's message types, without ParameterStatus (a session may report one)."""
    return [mtype for mtype, _ in reply.messages if mtype != b"S"]


def _types(client: RawClient, data: bytes) -> list[bytes]:
    client.send(data)
    reply = client.reply()
    assert reply.ready and not reply.errors, reply.errors
    return _kinds(reply)


def _column_names(body: bytes) -> list[bytes]:
    (n,) = struct.unpack_from("!H", body)
    names, pos = [], 2
    for _ in range(n):
        end = body.index(b"\0", pos)
        names.append(body[pos:end])
        pos = end + 1 + 18
    return names


@pytest.mark.parametrize(
    ("sql", "values"),
    [
        pytest.param("INSERT INTO described VALUES ($1, $2) RETURNING id, name", [b"2", b"two"],
                     id="insert-returning"),
        pytest.param("DELETE FROM described WHERE id = $1 RETURNING id, name", [b"1"],
                     id="delete-returning"),
    ],
)
@pytest.mark.parametrize("then", [CLOSE_PORTAL + SYNC, SYNC, FLUSH + CLOSE_PORTAL + SYNC],
                         ids=["close", "sync", "flush-close"])
def test_describe_portal_then_close_writes_nothing(proxy, table, sql, values, then):
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        client.send(parse(sql) + bind(values) + DESCRIBE_PORTAL + then)
        reply = client.reply()
        assert reply.ready and not reply.errors, reply.errors
        types = _kinds(reply)
        assert types[:3] == [b"1", b"2", b"T"] and b"D" not in types, types
        (described,) = [body for mtype, body in reply.messages if mtype == b"T"]
        assert _column_names(described) == [b"id", b"name"]
    assert _count(proxy) == 1


def test_describe_portal_then_execute_runs_once(proxy, table):
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        sql = "INSERT INTO described VALUES ($1, $2) RETURNING id, name"
        client.send(parse(sql) + bind([b"2", b"two"]) + DESCRIBE_PORTAL + execute() + SYNC)
        reply = client.reply()
        assert reply.ready and not reply.errors, reply.errors
        assert _kinds(reply) == [b"1", b"2", b"T", b"D", b"C", b"Z"]
        assert reply.rows() == [[b"2", b"two"]]
        # Answered at a Flush, then executed after it: still the same row, once.
        client.send(parse(sql) + bind([b"3", b"three"]) + DESCRIBE_PORTAL + FLUSH)
        first = client.reply(until=b"T")
        assert _kinds(first) == [b"1", b"2", b"T"], first.errors
        client.send(execute() + SYNC)
        rest = client.reply()
        assert _kinds(rest) == [b"D", b"C", b"Z"], rest.errors
        assert rest.rows() == [[b"3", b"three"]]
    assert _count(proxy) == 3


def test_describe_of_an_error_is_the_describes_error(proxy, table):
    """A portal whose statement fails: one ErrorResponse, the Execute after it skipped."""
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        sql = "INSERT INTO described VALUES ($1, $2) RETURNING id"
        client.send(parse(sql) + bind([b"1", b"dup"]) + DESCRIBE_PORTAL + execute() + SYNC)
        reply = client.reply()
        assert reply.ready and reply.sqlstates == ["23505"], reply.messages
        assert b"T" not in _kinds(reply)
        client.send(query("SELECT 42"))
        assert client.reply().rows() == [[b"42"]]
    assert _count(proxy) == 1


def test_describe_portal_does_not_advance_a_sequence(proxy, table):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("DROP SEQUENCE IF EXISTS described_seq")
        conn.execute("CREATE SEQUENCE described_seq")
        with RawClient(proxy.host, proxy.port) as client:
            assert client.login().ready
            types = _types(client, parse("SELECT nextval('described_seq')") + bind([])
                           + DESCRIBE_PORTAL + CLOSE_PORTAL + SYNC)
            assert b"T" in types and b"D" not in types
        assert conn.execute("SELECT nextval('described_seq')").fetchone()[0] == 1


def test_describe_portal_does_not_apply_set_config(proxy):
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        sql = "SELECT set_config('application_name', 'described', false)"
        types = _types(client, parse(sql) + bind([]) + DESCRIBE_PORTAL + SYNC)
        assert b"T" in types and b"D" not in types
        client.send(query("SHOW application_name"))
        assert client.reply().rows() != [[b"described"]]
        types = _types(client, parse(sql) + bind([]) + DESCRIBE_PORTAL + execute() + SYNC)
        client.send(query("SHOW application_name"))
        assert client.reply().rows() == [[b"described"]]


def test_describe_statement_of_pg_sleep_does_not_sleep(proxy):
    """Describing `SELECT pg_sleep(5)` types its column without running the sleep."""
    import time

    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        started = time.monotonic()
        types = _types(client, parse("SELECT pg_sleep(5)") + frame(b"D", b"S\0") + SYNC)
        assert time.monotonic() - started < 3
        assert types == [b"1", b"t", b"T", b"Z"]
