"""Route groups through the proxy process, on two MariaDB servers of the test's own as primary
and "replica": each holds a different marker row, so a read's answer says where it went. No
replication is needed to prove routing; the killing and restarting are real (SIGKILL)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import psycopg
import pymysql
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_routes import eventually
from tests.fix_servers import MariaDBServer
from tests.integration.test_health import restart

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[MariaDBServer, MariaDBServer]]:
    with MariaDBServer.started() as primary, MariaDBServer.started() as replica:
        for server, where in ((primary, "primary"), (replica, "replica")):
            conn = pymysql.connect(host=server.host, port=server.port, user=server.user,
                                   password=server.password, database=server.database,
                                   autocommit=True)
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE marker (at varchar(10))")
                cur.execute("INSERT INTO marker VALUES (%s)", (where,))
                cur.execute("CREATE TABLE writes (v int)")
            conn.close()
        yield primary, replica


def _config(primary: MariaDBServer, replica: MariaDBServer, split: str, **extra: object) -> str:
    more = "".join(f"{k} = {v}\n" for k, v in extra.items())
    return (f'[routes.shop]\nprimary = "{primary.url}"\nreplicas = ["{replica.url}"]\n'
            f'read_write_split = "{split}"\nban_time = 30\n{more}'
            "[health]\ninterval = 0.5\ntimeout = 2\n[pool]\npool_size = 4\n")


def where(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT at FROM marker").fetchone()[0]


def show_backends(proxy: ProxyProcess) -> dict[str, dict[str, object]]:
    with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        cur = admin.execute("SHOW BACKENDS")
        names = [d.name for d in cur.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cur}


def test_reads_go_to_the_replica_and_writes_to_the_primary(pair) -> None:
    primary, replica = pair
    with run_proxy("", config=_config(primary, replica, "exclude_primary",
                                      sticky_after_write=3)) as proxy:
        with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn:
            assert {where(conn) for _ in range(5)} == {"replica"}
            conn.execute("INSERT INTO writes VALUES (1)")
            assert where(conn) == "primary"  # read-your-writes: sticky_after_write
            time.sleep(3.1)
            assert where(conn) == "replica"
            with conn.transaction():  # inside a transaction block: the primary
                assert where(conn) == "primary"
            # a read with a side effect (a locking read) is no read for a replica
            assert conn.execute("SELECT at FROM marker FOR UPDATE").fetchone()[0] == "primary"
        stats = show_backends(proxy)
        assert stats["shop.replica1"]["role"] == "replica"
        assert stats["shop.replica1"]["queries"] >= 6 and stats["shop"]["queries"] >= 3
        assert stats["shop.replica1"]["p50_ms"] is not None


def test_replica_killed_reads_carry_on_and_it_returns(pair, tmp_path) -> None:
    primary, replica = pair
    audit = tmp_path / "audit.jsonl"
    observers = (f'[[observers.subscriber]]\nname = "audit"\ntype = "audit"\npath = "{audit}"\n'
                 'events = ["ban", "unban", "failover", "backend_down", "backend_up"]\n')
    config = _config(primary, replica, "include_primary") + observers
    with run_proxy("", config=config) as proxy:
        with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn:
            assert {where(conn) for _ in range(6)} == {"primary", "replica"}
            assert replica.proc is not None
            args = list(replica.proc.args)  # type: ignore[arg-type]
            replica.proc.send_signal(signal.SIGKILL)
            replica.proc.wait(10)
            answers = [where(conn) for _ in range(20)]  # no read fails
            assert set(answers) == {"primary"}
            stats = show_backends(proxy)["shop.replica1"]
            assert stats["bans"] >= 1
            restart(replica, args)
            # Back without a proxy restart: once its ban ends, or at once when every
            # replica is banned... here its health check says up, and the ban runs out.
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                if "replica" in {where(conn) for _ in range(4)}:
                    break
                time.sleep(0.5)
            else:
                pytest.fail("the restarted replica never served a read again")

            def kinds() -> list[str]:
                return [json.loads(line)["type"] for line in audit.read_text().splitlines()]

            # The ban can run out before the health check sees the replica back, and the
            # audit log is written off the statement path, in batches: wait for it.
            assert eventually(lambda: {"ban", "backend_down", "backend_up"} <= set(kinds()),
                              timeout=20), kinds()
        seen = kinds()
        assert all(k in ("ban", "unban", "failover", "backend_down", "backend_up") for k in seen)


def test_primary_killed_writes_fail_fast_reads_continue_and_it_returns(pair) -> None:
    primary, replica = pair
    with run_proxy("", config=_config(primary, replica, "include_primary")) as proxy:
        with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn:
            conn.execute("INSERT INTO writes VALUES (2)")
            assert primary.proc is not None
            args = list(primary.proc.args)  # type: ignore[arg-type]
            primary.proc.send_signal(signal.SIGKILL)
            primary.proc.wait(10)
            start = time.monotonic()
            with pytest.raises(psycopg.errors.ConnectionFailure) as info:
                conn.execute("INSERT INTO writes VALUES (3)")
            assert time.monotonic() - start < 1.0
            assert '"shop"' in str(info.value)
            assert {where(conn) for _ in range(10)} == {"replica"}  # reads go on
            restart(primary, args)
            deadline = time.monotonic() + 30
            while True:
                try:
                    conn.execute("INSERT INTO writes VALUES (4)")
                    break
                except psycopg.errors.ConnectionFailure:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
        assert show_backends(proxy)["shop"]["state"] == "up"


def test_whole_route_down_is_58000(pair) -> None:
    primary, replica = pair
    with run_proxy("", config=_config(primary, replica, "include_primary")) as proxy:
        with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn:
            assert where(conn) in ("primary", "replica")
            procs = [(s, list(s.proc.args)) for s in (primary, replica)]  # type: ignore[union-attr, arg-type]
            for server, _ in procs:
                server.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
                server.proc.wait(10)  # type: ignore[union-attr]
            deadline = time.monotonic() + 10
            while show_backends(proxy)["shop.replica1"]["state"] != "down":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            with pytest.raises(psycopg.errors.SystemError) as info:
                conn.execute("INSERT INTO writes VALUES (5)")
            assert "shop" in str(info.value)
            with pytest.raises(psycopg.OperationalError):
                where(conn)
            for server, args in procs:
                restart(server, args)
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert where(conn) in ("primary", "replica")
                    break
                except psycopg.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)


def test_a_replica_not_replicating_serves_no_reads_with_max_replica_lag(pair) -> None:
    primary, replica = pair
    config = _config(primary, replica, "exclude_primary", max_replica_lag=5)
    with run_proxy("", config=config) as proxy:
        deadline = time.monotonic() + 10
        while show_backends(proxy)["shop.replica1"]["state"] != "up":  # its lag was read
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn:
            # SHOW REPLICA STATUS has no row: not replicating, so out of reads.
            assert {where(conn) for _ in range(5)} == {"primary"}
        assert show_backends(proxy)["shop.replica1"]["lag"] is None
