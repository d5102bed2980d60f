"""Many clients and failing backends: load, a backend restart, a hung (SIGSTOPped) backend.

    python benchmarks/bench_hostile.py [--clients 1000] [--seconds 30] [--procs 2]
                                       [--parts load-sqlite,load-mariadb,restart,stop]

load-sqlite, load-mariadb: --clients asyncpg connections (spread over --procs
load processes) run point SELECTs by primary key (extended protocol) through
a fresh proxy for --seconds. Prints errors by SQLSTATE, p50/p99 latency as the
clients see it (their own scheduling included), statements/s, how long a
fresh client in a process of its own waits for connect + SELECT 1 at mid-load,
and the proxy's RSS before the clients connect, its peak during the load
(sampled) and after they have gone. MariaDB gets max_connections raised for
the run; the fd limit (ulimit -n) must cover two sockets per client in the
proxy.

restart: a session idle through SIGKILL and restart of its MariaDB: seconds
from the restarted server accepting connections (and from the kill) to the
session's first successful statement, retried every 10 ms.

stop: a session with statement_timeout = 100 against a SIGSTOPped MariaDB:
seconds to its 57014, three times (the first on a statement the server never
answers, the next ones on new connections); and a SQLite point query through
the same proxy meanwhile.

Figures only; nothing is asserted. MariaDB servers are throwaway ones from
tests/fix_servers.py, the proxy a real process (tests/fix_proxy.py).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import multiprocessing as mp
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fix_proxy import ProxyProcess, run_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer  # noqa: E402

ROWS = 10_000
QUERY = "SELECT v FROM kv WHERE k = $1"
FRESH = (
    "import psycopg, sys, time\n"
    "t = time.perf_counter()\n"
    "with psycopg.connect(sys.argv[1], connect_timeout=120) as c:\n"
    "    c.execute('SELECT 1').fetchone()\n"
    "print(time.perf_counter() - t)\n"
)


# --- the load ----------------------------------------------------------------


def _load_process(
    dsn: str, clients: int, seconds: float, ready: mp.Barrier, out: mp.Queue
) -> None:
    import asyncpg

    async def main() -> None:
        conns: list[asyncpg.Connection] = []
        errors: Counter[str] = Counter()
        for start in range(0, clients, 50):  # a burst of 1,000 SYNs overflows the backlog
            batch = await asyncio.gather(
                *(asyncpg.connect(dsn, timeout=300) for _ in range(min(50, clients - start))),
                return_exceptions=True,
            )
            for c in batch:
                if isinstance(c, BaseException):
                    errors[f"connect {type(c).__name__}"] += 1
                else:
                    conns.append(c)
        await asyncio.to_thread(ready.wait)
        latencies = array.array("d")
        firsts = array.array("d")  # each client's first statement, its Parse included
        deadline = time.monotonic() + seconds

        async def client(conn: asyncpg.Connection) -> None:
            rnd = random.Random(id(conn))
            first = True
            while time.monotonic() < deadline:
                t = time.perf_counter()
                try:
                    await conn.fetchrow(QUERY, rnd.randint(1, ROWS))
                except Exception as exc:  # counted: the figure is how many
                    errors[getattr(exc, "sqlstate", None) or type(exc).__name__] += 1
                    if conn.is_closed():
                        return
                (firsts if first else latencies).append(time.perf_counter() - t)
                first = False

        await asyncio.gather(*(client(c) for c in conns))
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        out.put((latencies.tobytes(), firsts.tobytes(), dict(errors), len(conns)))

    asyncio.run(main())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _fresh_connect(dsn: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", FRESH, dsn], capture_output=True, text=True, timeout=300
    )
    return float(out.stdout.strip()) if out.returncode == 0 else float("nan")


def load(proxy: ProxyProcess, dbname: str, clients: int, seconds: float, procs: int) -> None:
    dsn = proxy.url(dbname)
    pid = proxy.proc.pid
    rss_before = _rss_mb(pid)
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(procs + 1)
    out: mp.Queue = ctx.Queue()
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers = [
        ctx.Process(target=_load_process, args=(dsn, n, seconds, ready, out)) for n in shares
    ]
    connect_started = time.monotonic()
    for w in workers:
        w.start()
    ready.wait()
    connected_in = time.monotonic() - connect_started
    peak = _rss_mb(pid)
    fresh: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.5):
            peak = max(peak, _rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(seconds / 2)
    fresh.append(_fresh_connect(proxy.dsn(dbname)))
    results = [out.get(timeout=seconds + 600) for _ in workers]
    for w in workers:
        w.join()
    stop.set()
    sampler.join()
    time.sleep(3)  # sessions closed, their backend connections too
    rss_after = _rss_mb(pid)
    latencies, firsts = array.array("d"), array.array("d")
    errors: Counter[str] = Counter()
    connected = 0
    for data, first, errs, n in results:
        latencies.frombytes(data)
        firsts.frombytes(first)
        errors.update(errs)
        connected += n
    ordered = sorted(latencies)
    firsts_ms = sorted(firsts)

    def pct(p: float, values: list[float] = ordered) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else 0.0

    print(f"{dbname}: {connected}/{clients} clients connected in {connected_in:.1f} s;"
          f" {len(ordered)} statements in {seconds:g} s ({len(ordered) / seconds:.0f}/s)")
    print(f"  errors: {sum(errors.values())} {dict(errors) if errors else ''}")
    print(f"  latency p50 {pct(0.50):.1f} ms, p99 {pct(0.99):.1f} ms, max {pct(1.0):.1f} ms"
          f" (each client's first statement apart: p50 {pct(0.5, firsts_ms):.0f} ms,"
          f" max {pct(1.0, firsts_ms):.0f} ms)")
    print(f"  fresh connect + SELECT 1 at mid-load: {fresh[0] * 1000:.0f} ms")
    print(f"  proxy RSS: before {rss_before:.0f} MB, peak during {peak:.0f} MB,"
          f" after {rss_after:.0f} MB")


def prepare_mariadb(server: MariaDBServer, clients: int) -> None:
    import pymysql

    root = pymysql.connect(unix_socket=server.socket_path, user="root", autocommit=True)
    with root.cursor() as cur:
        cur.execute(f"SET GLOBAL max_connections = {clients + 200}")
    root.close()
    conn = pymysql.connect(
        host=server.host, port=server.port, user=server.user, password=server.password,
        database=server.database, autocommit=True,
    )
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE kv (k INT PRIMARY KEY, v VARCHAR(20))")
        rows = [(i, f"v{i}") for i in range(1, ROWS + 1)]
        cur.executemany("INSERT INTO kv VALUES (%s, %s)", rows)
    conn.close()


def prepare_sqlite(path: str) -> None:
    import apsw

    db = apsw.Connection(path)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
    with db:
        db.executemany("INSERT INTO kv VALUES (?, ?)", [(i, f"v{i}") for i in range(1, ROWS + 1)])
    db.close()


# --- restart and stop ----------------------------------------------------------


def _connected(server: MariaDBServer) -> bool:
    import pymysql

    try:
        pymysql.connect(
            host=server.host, port=server.port, user=server.user, password=server.password,
            connect_timeout=1,
        ).close()
        return True
    except pymysql.err.OperationalError:
        return False


def restart(server: MariaDBServer) -> None:
    import psycopg

    with run_proxy(server.url, config="[health]\ninterval = 0.5\n") as proxy:
        conn = psycopg.connect(proxy.dsn(), autocommit=True)
        conn.execute("SELECT 1")
        assert server.proc is not None
        args = list(server.proc.args)  # type: ignore[arg-type]
        killed = time.monotonic()
        server.proc.kill()
        server.proc.wait(30)
        server.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not _connected(server):
            time.sleep(0.01)
        up = time.monotonic()
        failures: Counter[str] = Counter()
        while True:
            try:
                conn.execute("SELECT 1")
                break
            except psycopg.Error as exc:
                failures[exc.sqlstate or type(exc).__name__] += 1
                time.sleep(0.01)
        done = time.monotonic()
        print(f"restart: server accepting again {up - killed:.2f} s after SIGKILL; the open"
              f" session's first success {(done - up) * 1000:.0f} ms after that"
              f" ({done - killed:.2f} s after the kill); failures before it:"
              f" {dict(failures) or 'none'}")
        downs = proxy.log().count("is down")
        print(f"  health: {downs} 'down' log line(s)")
        conn.close()


def stop(server: MariaDBServer, sqlite_path: str) -> None:
    import psycopg

    cfg = f'[backends]\ndefault = "{server.url}"\nlite = "sqlite:///{sqlite_path}"\n'
    with run_proxy(server.url, config=cfg) as proxy:
        conn = psycopg.connect(proxy.dsn(), autocommit=True)
        conn.execute("SET statement_timeout = 100")
        conn.execute("SELECT 1")
        lite = psycopg.connect(proxy.dsn("lite"), autocommit=True)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)
        try:
            for i in range(3):
                t = time.perf_counter()
                try:
                    conn.execute("SELECT 1")
                    state = "no error"
                except psycopg.Error as exc:
                    state = exc.sqlstate or type(exc).__name__
                print(f"stop: statement {i + 1} against the SIGSTOPped server:"
                      f" {state} after {(time.perf_counter() - t) * 1000:.0f} ms")
            t = time.perf_counter()
            lite.execute("SELECT v FROM kv WHERE k = %s", (7,)).fetchone()
            print(f"  SQLite point query meanwhile: {(time.perf_counter() - t) * 1000:.1f} ms")
        finally:
            server.proc.send_signal(signal.SIGCONT)
        conn.close()
        lite.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--parts", default="load-sqlite,load-mariadb,restart,stop")
    parser.add_argument("--threads", type=int, help="[server] threads (per backend)")
    args = parser.parse_args()
    parts = args.parts.split(",")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 3 * args.clients + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f},"
          f" fd limit {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
    workdir = tempfile.mkdtemp(prefix="bench-hostile-")
    sqlite_path = os.path.join(workdir, "lite.db")
    prepare_sqlite(sqlite_path)
    cfg = f"[server]\nthreads = {args.threads}\n" if args.threads else None
    quiet = ("--log-level", "warning")
    if "load-sqlite" in parts:
        with run_proxy(f"sqlite:///{sqlite_path}", config=cfg, extra_args=quiet) as p:
            load(p, "app", args.clients, args.seconds, args.procs)
    with MariaDBServer.started() as server:
        if "load-mariadb" in parts:
            prepare_mariadb(server, args.clients)
            with run_proxy(server.url, config=cfg, extra_args=quiet) as p:
                load(p, "app", args.clients, args.seconds, args.procs)
        if "restart" in parts:
            restart(server)
        if "stop" in parts:
            stop(server, sqlite_path)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
