"""psql, asyncpg and raw sockets through the proxy: scripts, auth, cancel, bad input."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import threading
import time

import asyncpg
import psycopg
import pytest
from psycopg import errors as pgerrors

from tests.fix_proxy import run_proxy
from tests.fix_servers import find_psql

# A statement that keeps SQLite busy for many seconds: something to cancel.
SLOW_SQLITE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
    "SELECT count(*) FROM c"
)


def psql(proxy, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if proxy.password:
        env["PGPASSWORD"] = proxy.password
    return subprocess.run(
        [find_psql(), "-X", "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user, "app",
         *args],
        capture_output=True,
        text=True,
        input=input,
        env=env,
        timeout=60,
        check=False,
    )


def test_psql_select_one(proxy):
    out = psql(proxy, "-At", "-c", "select 1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_psql_script_with_crud(proxy, tmp_path):
    script = tmp_path / "crud.sql"
    script.write_text(
        """
        DROP TABLE IF EXISTS psql_crud;
        CREATE TABLE psql_crud (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score NUMERIC(6,2));
        INSERT INTO psql_crud VALUES (1, 'ada', 9.5), (2, 'grace', 8.25);
        UPDATE psql_crud SET score = score + 1 WHERE name = 'ada';
        DELETE FROM psql_crud WHERE id = 2;
        SELECT id, name, score FROM psql_crud ORDER BY id;
        DROP TABLE psql_crud;
        """
    )
    out = psql(proxy, "-v", "ON_ERROR_STOP=1", "-f", str(script))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "CREATE TABLE" in lines
    assert "INSERT 0 2" in lines
    assert "UPDATE 1" in lines
    assert "DELETE 1" in lines
    rows = [line.split("|") for line in lines if "|" in line]
    assert any(row[1].strip() == "ada" and "10.50" in row[2] for row in rows)


def test_psql_reports_missing_table(proxy):
    out = psql(proxy, "-c", "select * from no_such_table")
    assert out.returncode == 1
    assert out.stderr.startswith("ERROR:")
    assert "no_such_table" in out.stderr
    verbose = psql(proxy, "-v", "VERBOSITY=verbose", "-c", "select * from no_such_table")
    assert "42P01" in verbose.stderr


def test_asyncpg_queries_and_types(proxy):
    async def main() -> None:
        conn = await asyncpg.connect(
            host=proxy.host, port=proxy.port, user=proxy.user, database="app"
        )
        try:
            assert await conn.fetchval("select 1") == 1
            await conn.execute("DROP TABLE IF EXISTS apg")
            await conn.execute("CREATE TABLE apg (id INTEGER PRIMARY KEY, name TEXT)")
            await conn.executemany(
                "INSERT INTO apg (id, name) VALUES ($1::int4, $2::text)",
                [(i, f"n{i}") for i in range(100)],
            )
            rows = await conn.fetch("SELECT id, name FROM apg WHERE id < $1::int4 ORDER BY id", 3)
            assert [tuple(r) for r in rows] == [(0, "n0"), (1, "n1"), (2, "n2")]
            async with conn.transaction():
                await conn.execute("DELETE FROM apg WHERE id >= 50")
            assert await conn.fetchval("SELECT count(*) FROM apg") == 50
            with pytest.raises(asyncpg.UndefinedTableError):
                await conn.fetch("SELECT * FROM nope_nope")
            assert await conn.fetchval("select 2") == 2
            await conn.execute("DROP TABLE apg")
        finally:
            await conn.close()

    asyncio.run(main())


def test_password_authentication(tmp_path):
    with run_proxy(f"sqlite:///{tmp_path}/auth.db", users={"alice": "s3cret"}) as proxy:
        with psycopg.connect(proxy.dsn()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(proxy.dsn().replace("password=s3cret", "password=wrong"))
        assert "password authentication failed" in str(info.value)
        md5 = psycopg.connect(proxy.dsn(), require_auth="scram-sha-256")
        md5.close()
        assert proxy.alive()


def test_cancel_interrupts_running_statement(proxy_sqlite):
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as conn:
        timer = threading.Timer(1.0, conn.cancel_safe)
        timer.start()
        started = time.monotonic()
        with pytest.raises(pgerrors.QueryCanceled):
            conn.execute(SLOW_SQLITE)
        assert time.monotonic() - started < 30
        assert conn.execute("select 5").fetchone() == (5,)


def test_statement_timeout_is_enforced(proxy_sqlite):
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '500ms'")
        with pytest.raises(pgerrors.QueryCanceled) as info:
            conn.execute(SLOW_SQLITE)
        assert "statement timeout" in str(info.value)
        conn.execute("SET statement_timeout = 0")
        assert conn.execute("select 6").fetchone() == (6,)


def _raw(proxy, payload: bytes) -> bytes:
    with socket.create_connection((proxy.host, proxy.port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def _startup(user: str = "tester", database: str = "app") -> bytes:
    body = struct.pack("!i", 196608) + f"user\0{user}\0database\0{database}\0\0".encode()
    return struct.pack("!i", len(body) + 4) + body


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\x16\x03\x01garbage that is not a startup packet at all", id="garbage"),
        pytest.param(struct.pack("!i", 0x7FFFFFFF) + b"\0\0", id="absurd-startup-length"),
        pytest.param(b"Q\0\0\0\x20select", id="message-before-startup"),
        pytest.param(_startup() + b"Q" + struct.pack("!i", 1 << 31 - 1), id="absurd-length"),
        pytest.param(_startup() + b"Q\0\0\0\x40select 1", id="truncated"),
        pytest.param(_startup() + b"\x00\0\0\0\x04", id="unknown-message-type"),
        pytest.param(_startup() + b"B\0\0\0\x08zz\0\0", id="malformed-bind"),
    ],
)
def test_bad_input_closes_only_that_connection(proxy_sqlite, payload):
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as bystander:
        answer = _raw(proxy_sqlite, payload)
        if answer and b"E" in answer[:1] + answer:
            assert b"08P01" in answer or b"0A000" in answer or b"28000" in answer or answer
        assert proxy_sqlite.alive()
        assert bystander.execute("select 7").fetchone() == (7,)
    with psycopg.connect(proxy_sqlite.dsn()) as fresh:
        assert fresh.execute("select 8").fetchone() == (8,)


def test_unknown_message_type_is_a_protocol_violation(proxy_sqlite):
    answer = _raw(proxy_sqlite, _startup() + b"\x00\0\0\0\x04")
    assert b"C08P01\0" in answer


def _startup_version(major: int, minor: int, extra: bytes = b"") -> bytes:
    params = b"user\0tester\0database\0app\0" + extra + b"\0"
    body = struct.pack("!i", (major << 16) | minor) + params
    return struct.pack("!i", len(body) + 4) + body


def test_newer_minor_version_is_negotiated_down(proxy_sqlite):
    answer = _raw(proxy_sqlite, _startup_version(3, 9, b"_pq_.future_option\0on\0"))
    assert answer[:1] == b"v"  # NegotiateProtocolVersion, before anything else
    (length,) = struct.unpack("!i", answer[1:5])
    minor, count = struct.unpack("!ii", answer[5:13])
    assert (minor, count) == (0, 1)
    assert answer[13 : 1 + length] == b"_pq_.future_option\0"
    assert b"R\0\0\0\x08\0\0\0\0" in answer  # and the session goes on: AuthenticationOk


def test_unsupported_major_version_is_refused(proxy_sqlite):
    answer = _raw(proxy_sqlite, _startup_version(2, 0))
    assert answer[:1] == b"E"
    assert b"C0A000\0" in answer
    assert b"unsupported frontend protocol 2.0" in answer


def test_dropped_clients_leave_no_backend_connections(mariadb):
    import pymysql

    def backend_sessions() -> list[tuple]:
        conn = pymysql.connect(
            host=mariadb.host, port=mariadb.port, user=mariadb.user,
            password=mariadb.password, database=mariadb.database,
        )
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT id, command, info FROM information_schema.PROCESSLIST"
                    " WHERE user = %s AND id <> CONNECTION_ID()",
                    (mariadb.user,),
                )
                return list(cur.fetchall())
        finally:
            conn.close()

    big = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) "
        "SELECT x, repeat('y', 100) FROM c"
    )
    query = big.encode() + b"\0"
    # A proxy of its own, without health pings, so only these clients' sessions count.
    # What stays open is the pool's, idle and counted by SHOW POOLS, and no more.
    with run_proxy(mariadb.url, config="[health]\nenabled = false\n") as proxy:
        baseline = {row[0] for row in backend_sessions()}
        for _ in range(5):
            with socket.create_connection((proxy.host, proxy.port), timeout=10) as s:
                s.sendall(_startup() + b"Q" + struct.pack("!i", len(query) + 4) + query)
                s.recv(65536)  # the result has started streaming; now vanish mid-result
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = [row for row in backend_sessions() if row[0] not in baseline]
            with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
                pool = admin.execute("SHOW POOLS").fetchone()
            in_use, idle = pool[4], pool[5]
            if in_use == 0 and len(left) == idle and all(r[1] == "Sleep" for r in left):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"backend connections {left} beyond the pool's {pool}")
        assert proxy.alive()
