"""Backend health through the proxy process, on a MariaDB of the test's own that it stops and
starts: SHOW BACKENDS shows the real state, backend_down / backend_up reach a real webhook."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import MariaDBServer
from tests.integration.test_observers import SECRET, Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def own_mariadb() -> Iterator[MariaDBServer]:
    """A throwaway server this test may kill without disturbing the shared one."""
    with MariaDBServer.started() as server:
        yield server


def stop(server: MariaDBServer) -> list[str]:
    """Stop mariadbd, keeping its data directory and port; returns how to start it again."""
    assert server.proc is not None
    args = list(server.proc.args)  # type: ignore[arg-type]
    server.proc.terminate()
    server.proc.wait(30)
    return args


def restart(server: MariaDBServer, args: list[str]) -> None:
    server.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection((server.host, server.port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def backends(proxy: ProxyProcess) -> dict[str, tuple[str, str]]:
    with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        cur = admin.execute("SHOW BACKENDS")
        names = [d.name for d in cur.description]
        return {r[0]: (r[names.index("state")], r[names.index("detail")]) for r in cur}


def wait_state(proxy: ProxyProcess, state: str, timeout: float = 20.0) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        got = backends(proxy)["default"]
        if got[0] == state or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def config(url: str, dead_letter: str, interval: float) -> str:
    return f"""
[health]
interval = {interval}
timeout = 2

[observers]
dead_letter = "{dead_letter}"

[[observers.subscriber]]
name = "hook"
type = "webhook"
url = "{url}"
secret = "{SECRET}"
linger = 0.01
events = ["backend_down", "backend_up"]
"""


def test_periodic_checks_see_the_backend_go_down_and_come_back(own_mariadb, tmp_path):
    receiver = Receiver()
    try:
        cfg = config(receiver.url, str(tmp_path / "dl.db"), interval=0.3)
        with run_proxy(own_mariadb.url, config=cfg) as proxy:
            assert wait_state(proxy, "up") == ("up", "")
            args = stop(own_mariadb)
            state, detail = wait_state(proxy, "down")
            assert state == "down" and detail  # why, for the operator
            assert own_mariadb.password not in detail
            receiver.wait_for(lambda: any(e["type"] == "backend_down" for e in receiver.events))
            restart(own_mariadb, args)
            assert wait_state(proxy, "up", timeout=30) == ("up", "")
            receiver.wait_for(lambda: any(e["type"] == "backend_up" for e in receiver.events))
            kinds = [(e["type"], e["backend"]) for e in receiver.events]
            assert kinds == [("backend_down", "default"), ("backend_up", "default")]
            assert receiver.bad_signatures == 0
            # Serving again: a new client's statement works.
            with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        receiver.close()


def test_a_lost_connection_asks_for_a_check_at_once(own_mariadb, tmp_path):
    receiver = Receiver()
    try:
        # Checks are far apart: only the check the failed statement asks for can say
        # "down" within the test.
        cfg = config(receiver.url, str(tmp_path / "dl.db"), interval=600)
        with run_proxy(own_mariadb.url, config=cfg) as proxy:
            assert wait_state(proxy, "up") == ("up", "")
            with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
                stop(own_mariadb)
                with pytest.raises(psycopg.OperationalError) as failed:
                    conn.execute("SELECT 1")
                assert failed.value.sqlstate.startswith("08")
            state, detail = wait_state(proxy, "down", timeout=10)
            assert state == "down" and detail
            receiver.wait_for(lambda: [e["type"] for e in receiver.events] == ["backend_down"])
            # A new client cannot connect either, and says so with a connection SQLSTATE.
            with pytest.raises(psycopg.OperationalError):
                with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
                    conn.execute("SELECT 1")
    finally:
        receiver.close()
