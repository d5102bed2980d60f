"""Route groups on a real MariaDB primary and replica (binlog replication): reads go to the
replica, writes to the primary; under read load a SIGKILLed replica fails no read, a
SIGKILLed primary fails writes with 08006 within a second while reads carry on, a restarted
member comes back without a proxy restart, a lagging replica leaves the reads and a
session reads its own writes for sticky_after_write seconds.

Where a read went is told by the marker table of tests/fix_routes.py.
"""

from __future__ import annotations

import re
import subprocess
import time

import psycopg
import pytest

from tests.fix_load import ReadLoad
from tests.fix_proxy import ProxyProcess
from tests.fix_routes import (
    KEYS,
    WHOAMI,
    audit_section,
    direct,
    eventually,
    prepare,
    read_events,
    route_proxy,
)
from tests.fix_servers import MariaDBReplication, find_postgresql_bindir

pytestmark = pytest.mark.integration


@pytest.fixture
def pair(mariadb_replication: MariaDBReplication) -> MariaDBReplication:
    prepare(mariadb_replication)
    return mariadb_replication


def connect(proxy: ProxyProcess) -> psycopg.Connection:
    return psycopg.connect(proxy.dsn("shop"), autocommit=True, connect_timeout=10)


def who(conn: psycopg.Connection) -> str:
    return conn.execute(WHOAMI).fetchone()[0]


def failing(conn: psycopg.Connection, sql: str, params: tuple = ()) -> tuple[str, float, str]:
    """(SQLSTATE, seconds, message) of a statement expected to fail."""
    started = time.monotonic()
    with pytest.raises(psycopg.Error) as failed:
        conn.execute(sql, params)
    return failed.value.sqlstate or "", time.monotonic() - started, str(failed.value)


# --- the fixture itself ---------------------------------------------------------


def test_the_replica_follows_the_primary_through_kills_and_restarts(pair):
    def replica_has(k: int) -> bool:
        with direct(pair.replica) as conn, conn.cursor() as cur:
            cur.execute("SELECT v FROM kv WHERE k = %s", (k,))
            return cur.fetchone() == (k,)

    with direct(pair.primary) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 1, KEYS + 1))
    pair.wait_replicated()
    assert replica_has(KEYS + 1)
    assert pair.lag() == 0

    pair.replica.kill()
    with direct(pair.primary) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 2, KEYS + 2))
    pair.replica.restart()
    pair.wait_replicated()
    assert replica_has(KEYS + 2)

    pair.primary.kill()
    pair.primary.restart()
    with direct(pair.primary) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 3, KEYS + 3))
    pair.wait_replicated()
    assert replica_has(KEYS + 3)
    status = pair.status()
    assert (status["Slave_IO_Running"], status["Slave_SQL_Running"]) == ("Yes", "Yes")

    # A held replica really falls behind, and catches up when released.
    with pair.held("kv"):
        with direct(pair.primary) as conn, conn.cursor() as cur:
            cur.execute("UPDATE kv SET v = v + 1 WHERE k = 1")
        assert eventually(lambda: (pair.lag() or 0) >= 2, timeout=10)
        with direct(pair.replica) as conn, conn.cursor() as cur:  # reads still answer
            cur.execute("SELECT v FROM kv WHERE k = 1")
            assert cur.fetchone() == (1,)  # without the update
    pair.wait_replicated()
    assert pair.lag() == 0


# --- routing -------------------------------------------------------------------


def test_reads_go_to_the_replica_and_everything_else_to_the_primary(pair):
    with route_proxy(pair, split="exclude_primary") as shop:
        with connect(shop) as conn:
            assert {who(conn) for _ in range(20)} == {"replica"}
            conn.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 10, 10))
            with direct(pair.primary) as p, p.cursor() as cur:
                cur.execute("SELECT v FROM kv WHERE k = %s", (KEYS + 10,))
                assert cur.fetchone() == (10,)
            # A transaction, and a locking read, belong to the primary.
            with conn.transaction():
                assert who(conn) == "primary"
            assert conn.execute(WHOAMI + " FOR UPDATE").fetchone() == ("primary",)
        # Another session's plain reads still go to the replica.
        with connect(shop) as other:
            assert who(other) == "replica"


def test_a_session_reads_its_own_writes_for_sticky_after_write(pair):
    with route_proxy(pair, split="exclude_primary", sticky=2.0) as shop:
        reader, writer = connect(shop), connect(shop)
        try:
            with pair.held("kv"):  # the write cannot reach the replica meanwhile
                writer.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 20, 20))
                wrote = time.monotonic()
                assert writer.execute("SELECT v FROM kv WHERE k = %s", (KEYS + 20,)).fetchone() == (
                    20,
                )
                assert who(writer) == "primary"
                # Others read the replica, which has not got the row yet.
                assert who(reader) == "replica"
                assert (
                    reader.execute("SELECT v FROM kv WHERE k = %s", (KEYS + 20,)).fetchone() is None
                )
                time.sleep(max(0.0, wrote + 2.5 - time.monotonic()))
                assert who(writer) == "replica"  # the window is over
        finally:
            reader.close()
            writer.close()


# --- failover under load -------------------------------------------------------------


def test_replica_sigkill_under_pgbench_read_load_fails_no_read(pair, tmp_path):
    audit = str(tmp_path / "events.jsonl")
    extra = audit_section(audit, ["backend_down", "backend_up", "ban", "failover"])
    with route_proxy(pair, split="include_primary", ban_time=2, extra=extra) as shop:
        script = tmp_path / "read.sql"
        script.write_text(f"\\set k random(1, {KEYS})\nSELECT v FROM kv WHERE k = :k;\n")
        pgbench = subprocess.Popen(
            [
                f"{find_postgresql_bindir()}/pgbench",
                *"-n -M extended -c 4 -j 2 -T 9 -P 1".split(),
                "-f",
                str(script),
                "-h",
                shop.host,
                "-p",
                str(shop.port),
                "-U",
                shop.user,
                "shop",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PGPASSWORD": "", "PATH": "/usr/bin:/bin"},
        )
        time.sleep(2.5)
        killed = time.time()
        pair.replica.kill()
        time.sleep(3)
        restarted = time.time()
        pair.replica.restart()
        out, err = pgbench.communicate(timeout=120)
        # pgbench aborts a client at its first failed statement: a clean run is 0 failed reads.
        assert pgbench.returncode == 0, err
        assert "aborted" not in err, err
        assert "number of failed transactions: 0 (0.000%)" in out, out
        progress = [float(m) for m in re.findall(r"progress: [\d.]+ s, ([\d.]+) tps", err)]
        assert len(progress) >= 8 and all(tps > 0 for tps in progress), err  # reads never stopped
        # The replica returns to the reads with no proxy restart.
        with connect(shop) as conn:
            assert eventually(lambda: who(conn) == "replica", timeout=20), shop.log()
        # The observers heard of it: the replica down (or banned), then up again.

        def seen() -> list[tuple[str, float]]:
            return [(e["type"], e["time"]) for e in read_events(audit)]

        down = [k for k, t in seen() if k in ("backend_down", "ban") and killed <= t < restarted]
        assert down, seen()
        # A ban can run out before the health check sees the replica back, and the audit
        # log is written in batches: wait for the backend_up.
        assert eventually(lambda: any(k == "backend_up" and t >= restarted for k, t in seen()),
                          timeout=20), seen()


def test_primary_sigkill_fails_writes_at_once_and_reads_carry_on(pair, tmp_path):
    audit = str(tmp_path / "events.jsonl")
    extra = audit_section(audit, ["backend_down", "backend_up", "failover"])
    with route_proxy(pair, split="include_primary", ban_time=2, extra=extra) as shop:
        writer = connect(shop)
        writer.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 30, 30))
        with ReadLoad(shop.dsn("shop"), WHOAMI, threads=4) as load:
            time.sleep(1.5)
            assert set(load.count()) == {"primary", "replica"}, load.count()
            killed_at = time.time()
            pair.primary.kill()
            killed = time.monotonic()
            # The write in flight may meet its lost connection first: 08006 all the same.
            write = "INSERT INTO kv VALUES (%s, %s)"
            state, took, message = failing(writer, write, (KEYS + 31, 31))
            assert state == "08006" and took < 1.0, (state, took, message)
            time.sleep(0.5)  # the health checks (every 0.2 s) have seen it by now
            with connect(shop) as fresh:  # a new session: no hang at connect either
                state, took, message = failing(fresh, "UPDATE kv SET v = 0 WHERE k = 1")
                assert state == "08006" and took < 1.0, (state, took, message)
                assert "shop" in message, message
            time.sleep(2)
            during = load.count(since=killed + 0.5)
            assert during["replica"] > 0 and during["primary"] == 0, during
            assert load.failed() == [], load.failed()[:5]

            restarted_at = time.time()
            pair.primary.restart()
            restarted = time.monotonic()
            # The primary comes back without a proxy restart: writes, then reads.
            assert eventually(
                lambda: writer.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 32, 32)),
                timeout=20,
            ), shop.log()
            assert load.wait_for("primary", since=restarted, timeout=20) is not None, shop.log()
        assert load.failed() == [], load.failed()[:5]
        writer.close()

        def seen() -> list[tuple[str, float]]:
            return [(e["type"], e["time"]) for e in read_events(audit)]

        # The audit log is written off the statement path, in batches: wait for it.
        assert any(k == "backend_down" and killed_at <= t < restarted_at for k, t in seen()), \
            seen()
        assert eventually(lambda: any(k == "backend_up" and t >= restarted_at
                                      for k, t in seen()), timeout=10), seen()
        pair.wait_replicated()
        with direct(pair.replica) as conn, conn.cursor() as cur:
            cur.execute("SELECT k FROM kv WHERE k > %s ORDER BY k", (KEYS,))
            assert [k for (k,) in cur.fetchall()] == [KEYS + 30, KEYS + 32]


def test_the_whole_route_down_answers_58000_at_once_and_comes_back(pair):
    with route_proxy(pair, split="include_primary", ban_time=2) as shop:
        conn = connect(shop)
        assert who(conn) in ("primary", "replica")
        pair.replica.kill()
        pair.primary.kill()
        write = "INSERT INTO kv VALUES (%s, %s)"
        # A write meeting its lost connection is 08006; either way, at once.
        state, took, message = failing(conn, write, (KEYS + 40, 40))
        assert state in ("08006", "58000") and took < 1.0, (state, took, message)
        time.sleep(0.5)  # the health checks (every 0.2 s) have seen both go
        state, took, message = failing(conn, write, (KEYS + 40, 40))
        assert state == "58000" and took < 1.0, (state, took, message)
        assert "shop" in message, message
        state, took, message = failing(conn, WHOAMI)
        assert state in ("58000", "08006") and took < 2.0, (state, took, message)
        pair.primary.restart()
        pair.replica.restart()
        assert eventually(lambda: who(conn), timeout=20), shop.log()
        assert eventually(
            lambda: conn.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 41, 41)), timeout=20
        ), shop.log()
        conn.close()


def test_a_lagging_replica_leaves_the_reads_until_it_catches_up(pair):
    with route_proxy(pair, split="include_primary", max_lag=1) as shop:
        with ReadLoad(shop.dsn("shop"), WHOAMI, threads=2) as load:
            time.sleep(1.0)
            assert set(load.count()) == {"primary", "replica"}, load.count()
            with pair.held("kv"):
                with connect(shop) as writer:
                    writer.execute("UPDATE kv SET v = v + 1 WHERE k = 2")
                assert eventually(lambda: (pair.lag() or 0) >= 3, timeout=15), pair.status()
                time.sleep(1.0)  # a few health checks see the lag
                out = time.monotonic()
                time.sleep(2.0)
                lagging = load.count(since=out)
                assert lagging["primary"] > 0 and lagging["replica"] == 0, lagging
            pair.wait_replicated()
            caught_up = time.monotonic()
            assert load.wait_for("replica", since=caught_up, timeout=15) is not None, shop.log()
        assert load.failed() == [], load.failed()[:5]
