"""--workers N: processes sharing the port, cancel across workers, shared cache invalidation,
restarts and shutdown, through real clients against a real `pgproxy serve`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy, serve_command

WORKER_SHIFT = 24  # pgproxy/wire/keys.py: the pid's high bits name the worker
CACHE = "[query_cache]\nenabled = true\nttl = 0\n"


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    db = tmp_path_factory.mktemp("workers") / "app.db"
    with run_proxy(f"sqlite:///{db}", config=CACHE, extra_args=("--workers", "3")) as proxy:
        _wait_workers(proxy, 3)
        yield proxy


def _wait_workers(proxy: ProxyProcess, n: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while proxy.log().count("listening on") < n:
        assert time.monotonic() < deadline, proxy.log()
        time.sleep(0.05)


def _on_each_worker(
    proxy: ProxyProcess, n: int = 3, dbname: str = "app"
) -> dict[int, psycopg.Connection]:
    """One open connection per worker: connect until every worker answered."""
    found: dict[int, psycopg.Connection] = {}
    spare = []
    for _ in range(200):
        conn = psycopg.connect(proxy.dsn(dbname), autocommit=True)
        worker = conn.info.backend_pid >> WORKER_SHIFT
        if worker in found:
            spare.append(conn)
        else:
            found[worker] = conn
        if len(found) == n:
            break
    for conn in spare:
        conn.close()
    assert len(found) == n, f"connections reached only workers {sorted(found)}"
    return found


def test_connections_spread_over_the_workers(three: ProxyProcess) -> None:
    workers = set()
    for _ in range(40):
        with psycopg.connect(three.dsn()) as conn:
            workers.add(conn.info.backend_pid >> WORKER_SHIFT)
    assert len(workers) > 1 and workers <= {0, 1, 2}
    # The admin console answers for the worker it landed on, and says which.
    conns = _on_each_worker(three, dbname="pgproxy")
    try:
        for worker, conn in conns.items():
            stats = dict(conn.execute("SHOW STATS").fetchall())
            assert (stats["worker"], stats["workers"]) == (str(worker), "3")
    finally:
        for conn in conns.values():
            conn.close()


def test_a_cancel_that_lands_on_another_worker_is_forwarded(three: ProxyProcess) -> None:
    for _ in range(30):  # each cancel connection lands where the kernel puts it
        with psycopg.connect(three.dsn(), autocommit=True) as conn:
            pid = conn.info.backend_pid
            result: list[BaseException | None] = []

            def sleep(conn: psycopg.Connection = conn, result: list = result) -> None:
                try:
                    conn.execute("SELECT pg_sleep(20)")
                    result.append(None)
                except BaseException as exc:
                    result.append(exc)

            thread = threading.Thread(target=sleep)
            thread.start()
            time.sleep(0.3)
            started = time.monotonic()
            conn.cancel()
            thread.join(10)
            assert not thread.is_alive(), "the cancel did not reach the statement"
            assert isinstance(result[0], psycopg.errors.QueryCanceled), result
            assert time.monotonic() - started < 3.0  # ~1 s unloaded; the machine may be busy
            assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on
        if f"cancel request for backend {pid} forwarded" in three.log():
            return
    pytest.fail("no cancel request landed on another worker in 30 tries")


def test_a_forged_cancel_for_another_worker_cancels_nothing(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    try:
        target = conns[2]
        done = threading.Event()
        errors: list[BaseException] = []

        def sleep() -> None:
            try:
                target.execute("SELECT pg_sleep(1.5)")
            except BaseException as exc:
                errors.append(exc)
            done.set()

        threading.Thread(target=sleep).start()
        time.sleep(0.2)
        for _ in range(6):  # wrong secrets, from whichever worker the kernel picks
            with socket.create_connection((three.host, three.port)) as s:
                s.sendall(struct.pack("!iiii", 16, 80877102, target.info.backend_pid, 12345))
                s.recv(1)
        assert done.wait(10)
        assert errors == []
    finally:
        for conn in conns.values():
            conn.close()


def test_a_write_on_one_worker_invalidates_the_cache_of_another(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    try:
        writer, reader = conns[0], conns[1]
        writer.execute("DROP TABLE IF EXISTS counters")
        writer.execute("CREATE TABLE counters (id int PRIMARY KEY, n int)")
        writer.execute("INSERT INTO counters VALUES (1, 0)")
        for n in range(1, 6):
            # Cached on the reader's worker (and on the third's) …
            assert reader.execute("SELECT n FROM counters WHERE id = 1").fetchone() == (n - 1,)
            assert conns[2].execute("SELECT n FROM counters WHERE id = 1").fetchone() == (n - 1,)
            # … and dropped there by a write through another worker before it returns.
            writer.execute("UPDATE counters SET n = %s WHERE id = 1", (n,))
            assert reader.execute("SELECT n FROM counters WHERE id = 1").fetchone() == (n,)
            assert conns[2].execute("SELECT n FROM counters WHERE id = 1").fetchone() == (n,)
        # The first reads of each round were hits: the cache served all along.
        with psycopg.connect(three.dsn("pgproxy"), autocommit=True) as admin:
            stats = dict(admin.execute("SHOW STATS").fetchall())  # every worker's, added up
        assert int(stats["cache_hits"]) >= 8 and int(stats["cache_invalidations"]) >= 8
    finally:
        for conn in conns.values():
            conn.close()


def _worker_pids(proxy: ProxyProcess) -> list[int]:
    children = Path(f"/proc/{proxy.proc.pid}/task/{proxy.proc.pid}/children").read_text()
    return [int(p) for p in children.split()]


def _wait_gone(pid: int) -> None:
    """Until `pid` and all its threads are dead, so its sockets are closed: connections
    already queued at a dying listener are reset (the kernel moves them only with
    net.ipv4.tcp_migrate_req = 1), new ones go elsewhere. A killed process's main thread
    shows as a zombie while its other threads are still exiting and holding its files."""
    deadline = time.monotonic() + 10
    proc = Path(f"/proc/{pid}")
    while proc.exists():
        with contextlib.suppress(FileNotFoundError):
            zombie = "zombie" in (proc / "status").read_text()
            if zombie and len(os.listdir(proc / "task")) <= 1:
                return
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_killed_worker_is_restarted_and_the_port_keeps_accepting(tmp_path: Path) -> None:
    with run_proxy(f"sqlite:///{tmp_path / 'app.db'}", extra_args=("--workers", "2")) as proxy:
        _wait_workers(proxy, 2)
        before = _worker_pids(proxy)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        _wait_gone(before[0])
        for _ in range(20):  # meanwhile the other worker serves every connection
            with psycopg.connect(proxy.dsn()) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        deadline = time.monotonic() + 15
        while True:
            after = _worker_pids(proxy)
            restarted = proxy.log().count("listening on") >= 3
            if len(after) == 2 and before[0] not in after and restarted:
                break
            assert time.monotonic() < deadline, proxy.log()
            time.sleep(0.1)
        assert "was killed by SIGKILL; restarting it" in proxy.log()
        workers = set()
        for _ in range(40):
            with psycopg.connect(proxy.dsn()) as conn:
                workers.add(conn.info.backend_pid >> WORKER_SHIFT)
        assert workers == {0, 1}


def test_sigterm_stops_every_worker_and_clients_hear_admin_shutdown(tmp_path: Path) -> None:
    with run_proxy(f"sqlite:///{tmp_path / 'app.db'}", extra_args=("--workers", "2")) as proxy:
        _wait_workers(proxy, 2)
        pids = _worker_pids(proxy)
        conns = _on_each_worker(proxy, 2)
        proxy.proc.send_signal(signal.SIGTERM)
        assert proxy.proc.wait(20) == 0
        for pid in pids:
            assert not Path(f"/proc/{pid}").exists()
        for conn in conns.values():
            with pytest.raises(psycopg.errors.AdminShutdown):
                conn.execute("SELECT 1")
            conn.close()


def test_a_port_in_use_stops_start_up_with_one_line(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        import subprocess

        out = subprocess.run(
            [
                *serve_command(port),
                "--backend",
                f"sqlite:///{tmp_path / 'app.db'}",
                "--workers",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
    finally:
        holder.close()
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0], out.stderr


@pytest.mark.parametrize("url", ["sqlite://:memory:"])
def test_a_backend_one_process_must_own_forces_one_worker(url: str) -> None:
    with run_proxy(url, extra_args=("--workers", "3")) as proxy:
        assert "one worker process: backend default is an in-memory SQLite" in proxy.log()
        with contextlib.closing(psycopg.connect(proxy.dsn(), autocommit=True)) as conn:
            conn.execute("CREATE TABLE t (a int)")
            conn.execute("INSERT INTO t VALUES (1)")
        for _ in range(5):  # every connection sees the one in-memory database
            with psycopg.connect(proxy.dsn()) as conn:
                assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]


def test_an_advisory_lock_excludes_sessions_on_other_workers(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    a, b, c = conns[0], conns[1], conns[2]
    try:
        one = "SELECT {}(4242)"
        assert a.execute(one.format("pg_try_advisory_lock")).fetchone() == (True,)
        assert b.execute(one.format("pg_try_advisory_lock")).fetchone() == (False,)
        assert b.execute(one.format("pg_try_advisory_lock_shared")).fetchone() == (False,)
        # A wait on worker 1 ends when worker 0's session lets go, and not before.
        waited: list[float] = []

        def wait() -> None:
            started = time.monotonic()
            b.execute(one.format("pg_advisory_lock"))
            waited.append(time.monotonic() - started)

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.4)
        assert thread.is_alive()
        a.execute(one.format("pg_advisory_unlock"))
        thread.join(5)
        assert waited and waited[0] >= 0.4
        assert a.execute(one.format("pg_try_advisory_lock")).fetchone() == (False,)
        assert b.execute(one.format("pg_advisory_unlock")).fetchone() == (True,)
        # Shared holders on two workers exclude an exclusive one on the third.
        assert a.execute(one.format("pg_try_advisory_lock_shared")).fetchone() == (True,)
        assert b.execute(one.format("pg_try_advisory_lock_shared")).fetchone() == (True,)
        assert c.execute(one.format("pg_try_advisory_lock")).fetchone() == (False,)
        # pg_locks shows every worker's holders.
        holders = c.execute(
            "SELECT pid, mode FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
        ).fetchall()
        assert sorted(holders) == sorted(
            [(a.info.backend_pid, "ShareLock"), (b.info.backend_pid, "ShareLock")]
        )
        # A session's locks go with it, whichever worker it was on.
        a.close()
        b.close()
        deadline = time.monotonic() + 5
        while c.execute(one.format("pg_try_advisory_lock")).fetchone() != (True,):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert c.execute(one.format("pg_advisory_unlock")).fetchone() == (True,)
    finally:
        for conn in conns.values():
            conn.close()


def test_a_notify_reaches_listeners_on_other_workers(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    try:
        listener = conns[1]
        listener.execute("LISTEN jobs")
        conns[0].execute("NOTIFY jobs, 'one'")
        conns[2].execute("SELECT pg_notify('jobs', 'two')")
        with conns[0].transaction():
            conns[0].execute("NOTIFY jobs, 'three'")
        got = [(n.channel, n.payload, n.pid) for n in listener.notifies(timeout=5, stop_after=3)]
        assert sorted(got) == [
            ("jobs", "one", conns[0].info.backend_pid),
            ("jobs", "three", conns[0].info.backend_pid),
            ("jobs", "two", conns[2].info.backend_pid),
        ]
    finally:
        for conn in conns.values():
            conn.close()


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    with run_proxy(f"sqlite:///{tmp_path / 'app.db'}", extra_args=("--workers", "2")) as proxy:
        _wait_workers(proxy, 2)
        pids = _worker_pids(proxy)
        proxy.proc.kill()
        proxy.proc.wait(10)
        for pid in pids:
            _wait_gone(pid)
        with pytest.raises(OSError):  # nobody holds the port any more
            socket.create_connection((proxy.host, proxy.port), 1).close()


def test_workers_write_one_sqlite_file_at_once(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    try:
        conns[0].execute("DROP TABLE IF EXISTS hits")
        conns[0].execute("CREATE TABLE hits (worker int, n int)")
        failures: list[BaseException] = []

        def insert(worker: int) -> None:
            try:
                with psycopg.connect(three.dsn(), autocommit=True) as conn:
                    for n in range(100):
                        conn.execute("INSERT INTO hits VALUES (%s, %s)", (worker, n))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=insert, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == []
        # WAL and busy_timeout: every worker's writes are there, seen from every worker.
        for conn in conns.values():
            assert conn.execute("SELECT count(*) FROM hits").fetchone() == (600,)
    finally:
        for conn in conns.values():
            conn.close()


def test_the_console_adds_up_every_worker(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    try:
        for conn in conns.values():  # a cache miss, then a hit, on each worker
            for _ in range(2):
                conn.execute("SELECT 42 AS answer FROM (SELECT 1) AS one")
        pids = sorted(conn.info.backend_pid for conn in conns.values())
        with psycopg.connect(three.dsn("pgproxy"), autocommit=True) as admin:
            stats = dict(admin.execute("SHOW STATS").fetchall())
            assert stats["workers"] == "3" and stats["workers_answering"] == "3"
            assert int(stats["clients"]) >= 3
            clients = admin.execute("SHOW CLIENTS").fetchall()
            assert set(pids) <= {row[0] for row in clients}
            workers = admin.execute("SHOW WORKERS").fetchall()
            assert [w[0] for w in workers] == [0, 1, 2]
            assert sorted(w[1] for w in workers) == sorted(_worker_pids(three))
            assert sum(w[2] for w in workers) >= 3  # the console counts no client of its own
            cache = dict(admin.execute("SHOW CACHE").fetchall())
            assert cache["workers_answering"] == "3"
            assert int(cache["hits"]) >= 3 and int(cache["misses"]) >= 3
            assert cache["max_entries"] == "10000"  # a setting, not a sum
    finally:
        for conn in conns.values():
            conn.close()


def test_sessions_of_other_workers_are_seen_and_signalled(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    try:
        me, victim = conns[0], conns[1]
        pids = {conn.info.backend_pid for conn in conns.values()}
        seen = {pid for (pid,) in me.execute("SELECT pid FROM pg_stat_activity").fetchall()}
        assert pids <= seen
        # pg_cancel_backend() of a statement running on another worker.
        errors: list[BaseException] = []

        def sleep() -> None:
            try:
                victim.execute("SELECT pg_sleep(20)")
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=sleep)
        thread.start()
        time.sleep(0.3)
        pid = victim.info.backend_pid
        assert me.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone() == (True,)
        thread.join(5)
        assert not thread.is_alive() and isinstance(errors[0], psycopg.errors.QueryCanceled)
        # Another user's session may not be signalled; a pid nobody has answers false.
        stranger = psycopg.connect(three.dsn(), user="stranger", autocommit=True)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            stranger.execute("SELECT pg_terminate_backend(%s)", (pid,))
        stranger.close()
        assert me.execute("SELECT pg_cancel_backend(%s)", (2 << 24 | 999_999,)).fetchone() == (
            False,
        )
        # pg_terminate_backend() ends it with 57P01.
        assert me.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        with pytest.raises(psycopg.errors.AdminShutdown):
            victim.execute("SELECT 1")
    finally:
        for conn in conns.values():
            conn.close()


def test_a_wait_for_another_workers_lock_ends_with_a_cancel(three: ProxyProcess) -> None:
    conns = _on_each_worker(three)
    try:
        holder, waiter = conns[0], conns[1]
        holder.execute("SELECT pg_advisory_lock(777)")
        for _ in range(5):  # the wait polls the other worker's lock: a cancel is never lost
            timer = threading.Timer(0.25, waiter.cancel)
            timer.start()
            with pytest.raises(psycopg.errors.QueryCanceled):
                waiter.execute("SELECT pg_advisory_lock(777)")
            timer.join()
        assert waiter.execute("SELECT pg_try_advisory_lock(777)").fetchone() == (False,)
        holder.execute("SELECT pg_advisory_unlock(777)")
        assert waiter.execute("SELECT pg_try_advisory_lock(777)").fetchone() == (True,)
        waiter.execute("SELECT pg_advisory_unlock(777)")
    finally:
        for conn in conns.values():
            conn.close()


def test_ddl_on_one_worker_refreshes_the_catalog_of_the_others(mariadb_url: str) -> None:
    """MySQL tells no schema version: a worker's catalog would trust its schema for
    catalog.REFRESH_SECONDS, but another worker's DDL makes it read the schema anew."""
    with run_proxy(mariadb_url, extra_args=("--workers", "2")) as proxy:
        _wait_workers(proxy, 2)
        conns = _on_each_worker(proxy, 2)
        try:
            ddl, reader = conns[0], conns[1]
            ddl.execute("DROP TABLE IF EXISTS cross_catalog")
            listed = "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'cross_catalog'"
            assert reader.execute(listed).fetchone() == (0,)  # the reader's catalog is built
            ddl.execute("CREATE TABLE cross_catalog (id int PRIMARY KEY)")
            deadline = time.monotonic() + 2  # well inside REFRESH_SECONDS (10 s)
            while reader.execute(listed).fetchone() != (1,):
                assert time.monotonic() < deadline, "the other worker's catalog stayed stale"
                time.sleep(0.05)
            ddl.execute("DROP TABLE cross_catalog")
        finally:
            for conn in conns.values():
                conn.close()
