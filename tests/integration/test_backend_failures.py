"""Failing backends through the proxy process, on a MariaDB of the test's own that it stops
(SIGSTOP), kills (SIGKILL) and restarts: statement_timeout still answers, another backend
stays fast, sessions open through a restart carry on, and health does not flap."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator

import asyncpg
import psycopg
import pymysql
import pytest

from pgproxy import errors
from pgproxy.backends.mysql import MySQLBackend
from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import MariaDBServer
from tests.integration.test_health import backends, wait_state

pytestmark = pytest.mark.integration


@pytest.fixture
def own_mariadb() -> Iterator[MariaDBServer]:
    """A throwaway server this test may stop and kill without disturbing the shared one."""
    with MariaDBServer.started() as server:
        yield server


@contextlib.contextmanager
def stopped(server: MariaDBServer) -> Iterator[None]:
    """mariadbd frozen (SIGSTOP): connections stay open, nothing answers."""
    assert server.proc is not None
    server.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.proc.send_signal(signal.SIGCONT)


def kill_and_restart(server: MariaDBServer) -> None:
    """SIGKILL mariadbd, start it again on the same data directory and port."""
    assert server.proc is not None
    args = list(server.proc.args)  # type: ignore[arg-type]
    server.proc.kill()
    server.proc.wait(30)
    server.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            pymysql.connect(
                host=server.host, port=server.port, user=server.user,
                password=server.password, connect_timeout=1,
            ).close()
            return
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def two_backends(mariadb_url: str, sqlite_path: str, extra: str = "") -> str:
    return f"""
[server]
threads = 4

[backends]
default = "{mariadb_url}"
lite = "sqlite:///{sqlite_path}"

[health]
interval = 0.5
timeout = 1
{extra}
"""


def fails(conn: psycopg.Connection, sql: str) -> tuple[str | None, float]:
    """(SQLSTATE, seconds) of a statement expected to fail."""
    started = time.monotonic()
    with pytest.raises(psycopg.Error) as failed:
        conn.execute(sql)
    return failed.value.sqlstate, time.monotonic() - started


def test_statement_timeout_answers_against_a_stopped_server(own_mariadb, tmp_path):
    cfg = two_backends(own_mariadb.url, str(tmp_path / "lite.db"))
    with run_proxy(own_mariadb.url, config=cfg) as proxy:
        lite = psycopg.connect(proxy.dsn("lite"), autocommit=True)
        lite.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
        lite.execute("INSERT INTO kv VALUES (1, 'one')")
        timed = psycopg.connect(proxy.dsn(), autocommit=True)
        timed.execute("SET statement_timeout = 100")
        assert timed.execute("SELECT 1").fetchone() == (1,)
        # More hung statements than the MariaDB backend has threads (4): its queue fills.
        hung = [psycopg.connect(proxy.dsn(), autocommit=True) for _ in range(6)]
        for conn in hung:
            assert conn.execute("SELECT 2").fetchone() == (2,)
        answers: list[object] = []

        def run_hung(conn: psycopg.Connection) -> None:
            try:
                answers.append(conn.execute("SELECT 3").fetchone())
            except psycopg.Error as exc:
                answers.append(exc.sqlstate)

        with stopped(own_mariadb):
            threads = [threading.Thread(target=run_hung, args=(c,)) for c in hung]
            for t in threads:
                t.start()
            time.sleep(0.3)
            # statement_timeout answers 57014 although the server never answers the
            # statement nor the KILL QUERY; first on a connection whose statement hangs,
            # then on one queued behind the hung workers.
            for _ in range(3):
                state, seconds = fails(timed, "SELECT 1")
                assert state == "57014", state
                assert seconds < 3, seconds
            # The other backend is untouched by the hung one.
            for i in range(50):
                started = time.monotonic()
                assert lite.execute("SELECT v FROM kv WHERE k = %s", (1,)).fetchone() == ("one",)
                assert time.monotonic() - started < 1, i
            other = psycopg.connect(proxy.dsn("lite"), autocommit=True)
            assert other.execute("SELECT count(*) FROM kv").fetchone() == (1,)
            other.close()
            assert not answers  # still hung: no statement_timeout on those sessions
        for t in threads:
            t.join(30)
        assert answers == [(3,)] * len(hung)
        # The timed-out session works again once the server does.
        deadline = time.monotonic() + 20
        while True:
            try:
                assert timed.execute("SELECT 4").fetchone() == (4,)
                break
            except psycopg.errors.QueryCanceled:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert "Traceback" not in proxy.log()
        for conn in [lite, timed, *hung]:
            conn.close()


def test_sessions_carry_on_through_a_backend_restart(own_mariadb):
    # Session pooling: each session holds the connection the restart breaks (in transaction
    # mode a write outside a block may find a fresh pooled connection and simply run).
    config = '[health]\ninterval = 0.3\ntimeout = 1\n[pool]\npool_mode = "session"\n'
    with run_proxy(own_mariadb.url, config=config) as proxy:
        assert wait_state(proxy, "up") == ("up", "")
        setup = psycopg.connect(proxy.dsn(), autocommit=True)
        setup.execute("CREATE TABLE items (id INT PRIMARY KEY, name TEXT)")
        setup.close()
        idle = psycopg.connect(proxy.dsn(), autocommit=True)
        extended = psycopg.connect(proxy.dsn(), autocommit=True)
        writer = psycopg.connect(proxy.dsn(), autocommit=True)
        in_tx = psycopg.connect(proxy.dsn(), autocommit=True)
        for conn in (idle, extended, writer):
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert extended.execute("SELECT %s::int", (3,), prepare=True).fetchone() == (3,)
        in_tx.execute("BEGIN")
        in_tx.execute("INSERT INTO items VALUES (1, 'lost')")

        kill_and_restart(own_mariadb)

        # Outside a transaction a read simply works: retried on a new connection.
        assert idle.execute("SELECT 2").fetchone() == (2,)
        assert extended.execute("SELECT %s::int", (3,), prepare=True).fetchone() == (3,)
        # A write is not retried (it may have run): one 08006, then the session works.
        state, _ = fails(writer, "INSERT INTO items VALUES (2, 'w')")
        assert state == "08006", state
        writer.execute("INSERT INTO items VALUES (2, 'w')")
        # Inside a transaction: 08006 once, the transaction is failed, ROLLBACK ends it.
        state, _ = fails(in_tx, "SELECT 4")
        assert state == "08006", state
        assert fails(in_tx, "SELECT 5")[0] == "25P02"
        in_tx.execute("ROLLBACK")
        assert in_tx.execute("SELECT name FROM items ORDER BY id").fetchall() == [("w",)]
        for conn in (idle, extended, writer, in_tx):
            conn.close()
        log = proxy.log()
        # The restart was real, so the checker may have seen it once; never more.
        assert log.count("is down") <= 1, log
        assert "Traceback" not in log


def test_a_broken_socket_does_not_flap_health(own_mariadb):
    with run_proxy(own_mariadb.url, config="[health]\ninterval = 0.2\ntimeout = 1\n") as proxy:
        assert wait_state(proxy, "up") == ("up", "")
        sessions = [psycopg.connect(proxy.dsn(), autocommit=True) for _ in range(5)]
        for conn in sessions:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        # Kill every connection the proxy has to the server, the health ping's too,
        # while the server itself stays up.
        admin = pymysql.connect(
            host=own_mariadb.host, port=own_mariadb.port, user=own_mariadb.user,
            password=own_mariadb.password, autocommit=True,
        )
        with admin.cursor() as cur:
            cur.execute(
                "SELECT id FROM information_schema.processlist"
                " WHERE user = %s AND id <> connection_id()", (own_mariadb.user,)
            )
            for (thread_id,) in cur.fetchall():
                cur.execute(f"KILL CONNECTION {int(thread_id)}")
        admin.close()
        for _ in range(20):
            for conn in sessions:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        time.sleep(0.5)  # a few pings, on connections of their own
        assert backends(proxy)["default"] == ("up", "")
        assert "is down" not in proxy.log()
        for conn in sessions:
            conn.close()


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_connect_timeout_gives_08001(silent_listener):
    url = f"mysql://u:p@127.0.0.1:{silent_listener}/db?connect_timeout=1"
    with run_proxy(url, config="[health]\nenabled = false\n") as proxy:

        async def connect() -> None:
            await asyncpg.connect(
                host=proxy.host, port=proxy.port, user=proxy.user, database="app", timeout=30
            )

        started = time.monotonic()
        # libpq hides a connect failure's SQLSTATE; asyncpg reports it.
        with pytest.raises(asyncpg.PostgresError) as failed:
            asyncio.run(connect())
        seconds = time.monotonic() - started
        assert failed.value.sqlstate == "08001", failed.value
        assert "connect_timeout" in str(failed.value)
        assert 0.9 < seconds < 10, seconds


def test_as_of_timestamp_on_an_ordinary_table_is_0a000(proxy_mysql: ProxyProcess):
    with psycopg.connect(proxy_mysql.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS not_versioned")
        conn.execute("CREATE TABLE not_versioned (id INT PRIMARY KEY)")
        with pytest.raises(psycopg.errors.FeatureNotSupported) as failed:
            conn.execute(
                "SELECT * FROM not_versioned FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'"
            )
        assert "not_versioned" in str(failed.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_late_kill_query_is_quiet_and_harmless(mariadb_url: str, caplog):
    backend = MySQLBackend(mariadb_url)
    conn = backend.connect()
    try:
        caplog.set_level(logging.DEBUG)
        # The server has sent the whole result; the client has not read it: the KILL
        # QUERY lands on an idle connection, and must not touch the next statement.
        cursor = conn.execute("SELECT 1", ())
        conn.cancel()
        assert cursor.fetch(10) == [(1,)]
        assert conn.execute("SELECT 42", ()).fetch(10) == [(42,)]
        # After the statement finished, a cancel sends nothing at all.
        conn.cancel()
        assert conn.execute("SELECT 43", ()).fetch(10) == [(43,)]
        # Cancels racing short statements never cancel the statement after theirs.
        for i in range(30):
            cursor = conn.execute("SELECT SLEEP(0.005)", ())
            racer = threading.Thread(target=conn.cancel)
            racer.start()
            with contextlib.suppress(errors.QueryCanceled):
                cursor.fetch(10)
            racer.join(10)
            assert conn.execute("SELECT %s", (i,)).fetch(10) == [(i,)]
        # A cancel in time still interrupts.
        threading.Timer(0.2, conn.cancel).start()
        with pytest.raises(errors.QueryCanceled):
            conn.execute("SELECT SLEEP(5)", ()).fetch(10)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        conn.close()


def test_statement_timeout_on_a_live_server_keeps_the_connection(proxy_mysql: ProxyProcess):
    with psycopg.connect(proxy_mysql.dsn(), autocommit=True) as conn:
        backend_id = conn.execute("SELECT CONNECTION_ID()").fetchone()
        conn.execute("SET statement_timeout = 200")
        state, seconds = fails(conn, "SELECT SLEEP(5)")
        assert state == "57014" and seconds < 3, (state, seconds)
        # The KILL QUERY landed in time: the same backend connection serves on.
        assert conn.execute("SELECT CONNECTION_ID()").fetchone() == backend_id
        # Inside a transaction block the timeout fails the transaction, as PostgreSQL does.
        conn.execute("BEGIN")
        assert fails(conn, "SELECT SLEEP(5)")[0] == "57014"
        assert fails(conn, "SELECT 1")[0] == "25P02"
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT 2").fetchone() == (2,)


@pytest.fixture
def resetting_listener() -> Iterator[int]:
    """A port whose every TCP connection is reset as soon as it is accepted (a server
    killed between accept and handshake, as a failover meets it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    stop = threading.Event()

    def reset_all() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # linger 0: an RST, not a FIN

    thread = threading.Thread(target=reset_all, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        sock.close()
        thread.join(5)


def test_a_connection_reset_during_connect_gives_08001(resetting_listener):
    url = f"mysql://u:p@127.0.0.1:{resetting_listener}/db?connect_timeout=2"
    with run_proxy(url, config="[health]\nenabled = false\n") as proxy:

        async def connect() -> str:
            try:
                await asyncpg.connect(
                    host=proxy.host, port=proxy.port, user=proxy.user, database="app", timeout=30
                )
            except asyncpg.PostgresError as exc:
                return f"{exc.sqlstate} {exc}"
            return "connected"

        async def many() -> list[str]:
            outcomes: list[str] = []
            for _ in range(5):  # sessions connecting together: the proxy's loop is busy
                outcomes += await asyncio.gather(*(connect() for _ in range(30)))
            return outcomes

        # The reset lands before, during or after asyncmy's TCP connect, by the loop's
        # timing: each way a lost connection (08001, which a route retries on another
        # member), never XX000.
        outcomes = asyncio.run(many())
        for outcome in outcomes:
            assert outcome.startswith("08001 "), outcome
        assert proxy.alive()
