"""Query cache figures on MariaDB: repeated-read latency hit vs miss, pgbench TPS cache on vs off.

Run: python benchmarks/bench_cache.py [--reads N] [--seconds S] [--clients C]
     python benchmarks/bench_cache.py --instructions 300 [--functions 30] [--root DIR]

Starts a throwaway MariaDB and two proxies on it (query cache on, and off), then:
- one point SELECT through psycopg (extended protocol, prepared): the median a
  client waits, and the proxy process's CPU per statement (every thread, user +
  system, from /proc: steadier than wall time on a loaded machine), for a cache hit (the same
  key again), a cache miss (a new key each time, which also pays for the fill)
  and the proxy without a cache;
- pgbench -M prepared, a read-mostly mix (19 point reads : 1 insert elsewhere), on both proxies.
With --instructions N, instead: the instructions the proxy executes on SQLite, counted
by valgrind's callgrind (as bench_instructions.py does: figures a loaded machine cannot
blur), for a prepared statement and for a simple Query whose literal varies: per hit of a
request the wire's memo knows, per hit of one whose key it derives (a new Bind of the
statement, a new literal of the shape, kept by an earlier miss), per next hit of that
one, and per miss (+fill); --root runs another checkout's pgproxy.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fix_proxy import ProxyProcess, run_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer, free_port  # noqa: E402

ROWS = 10_000
CACHE_ON = "[query_cache]\nenabled = true\nttl = 600\nmax_entries = 100000\n"
READ = "\\set id random(1, {rows})\nSELECT id, name, balance FROM bench_accounts WHERE id = :id;\n"
# Writes go to another table (as pgbench's history): an UPDATE of bench_accounts
# would drop every cached read of it, since invalidation is per table.
WRITE = (
    "\\set id random(1, {rows})\n"
    "INSERT INTO bench_history (account, delta) VALUES (:id, 1);\n"
)


def cpu_ns(pid: int) -> int:
    """Nanoseconds on a CPU of every thread of process `pid` (the event loop and the
    driver's workers): se.sum_exec_runtime of /proc/PID/task/*/sched, finer than the
    clock ticks of /proc/PID/stat, which a few thousand short statements round away."""
    total = 0.0
    for sched in Path(f"/proc/{pid}/task").glob("*/sched"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            for line in sched.read_text().splitlines():
                if line.startswith("se.sum_exec_runtime"):
                    total += float(line.rpartition(":")[2])  # milliseconds
                    break
    return int(total * 1e6)


def latency_us(conn: psycopg.Connection, ids: list[int], pid: int) -> tuple[float, float]:
    """(median µs a client waits, proxy CPU µs per statement) of one point SELECT per id."""
    cur = conn.cursor()
    q = "SELECT id, name, balance FROM bench_accounts WHERE id = %s"
    times = []
    cpu = cpu_ns(pid)
    for i in ids:
        t = time.perf_counter()
        cur.execute(q, (i,), prepare=True)
        cur.fetchall()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6, (cpu_ns(pid) - cpu) / len(ids) / 1e3


def pgbench(proxy: ProxyProcess, scripts: Path, seconds: int, clients: int) -> float:
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-T", str(seconds), "-c", str(clients),
         "-j", str(min(clients, 4)),
         "-f", f"{scripts / 'read.sql'}@19", "-f", f"{scripts / 'write.sql'}@1",
         "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user, "app"],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    for line in out.stdout.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    raise RuntimeError(out.stdout + out.stderr)


def instructions(queries: int, root: str, functions: int = 0) -> None:
    """Instructions the proxy executes per cache hit and per miss (+fill), counted by
    callgrind (load-independent), on SQLite, through psycopg, for a prepared statement
    and for a simple Query (its literal varying): a hit of a request the wire's memo
    knows (the same bytes again), a hit of one it derives the key of (a new Bind of the
    statement, a new literal of the shape: the memo has a plan for it), and a miss; with
    `functions`, the C functions that ran the most of a prepared statement's hit and
    miss."""
    from benchmarks.bench_instructions import _by_function, _control, _total, _wait

    work = tempfile.mkdtemp(prefix="bench-cache-")
    db = os.path.join(work, "app.db")
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        c.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(3 * queries)])
    config = os.path.join(work, "pgproxy.toml")
    # No health checks: their pings come with time, not statements (and under callgrind
    # a statement takes fifty times as long), which blurs an 18 k count.
    Path(config).write_text("[query_cache]\nenabled = true\nttl = 0\n[health]\nenabled = false\n")
    port = free_port()
    out = os.path.join(work, "callgrind.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", "--instr-atstart=no",
         sys.executable, "-m", "pgproxy", "serve", "--listen", f"127.0.0.1:{port}",
         "--backend", f"sqlite:///{db}", "--config", config, "--log-level", "warning"],
        cwd=work, env={**os.environ, "PYTHONPATH": root, "PGPROXY_WORKERS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    dsn = f"host=127.0.0.1 port={port} user=tester dbname=app"
    sql = "SELECT id, name FROM t WHERE id = %s"
    counted: dict[tuple[str, str], float] = {}
    by_function: dict[str, list[tuple[str, int]]] = {}

    def count(cur: Any, prepare: bool, ids: Any, form: str, label: str) -> None:
        for f in glob.glob(out + ".*"):
            os.remove(f)
        _control(proc, "-i", "on")
        _control(proc, "-z")
        for i in ids:
            cur.execute(sql, (i,), prepare=prepare).fetchone()
        _control(proc, "-d")
        _control(proc, "-i", "off")
        counted[form, label] = _total(out) / queries / 1000
        if prepare and label in ("hit", "miss"):
            by_function[label] = _by_function(out)[:functions]

    try:
        _wait(dsn, proc)
        forms = (("prepared", psycopg.Cursor, True, 0), ("simple", psycopg.ClientCursor, False, 1))
        for form, factory, prepare, block in forms:
            with psycopg.connect(dsn, autocommit=True, cursor_factory=factory) as conn:
                cur = conn.cursor()
                for i in range(60):  # warm: statement, translation, entries, the memo's plan
                    cur.execute(sql, (i % 3,), prepare=prepare).fetchone()
                count(cur, prepare, [1] * queries, form, "hit")
                new = range((block + 1) * queries, (block + 2) * queries)
                count(cur, prepare, new, form, "miss")  # each a new key, kept
                count(cur, prepare, new, form, "derived")  # the same keys: hits, derived
                count(cur, prepare, new, form, "again")  # hits the memo learned deriving
        print(f"point SELECT on SQLite through the proxy ({root}), {queries} each, callgrind,"
              " k instructions:")
        print(f"  {'':10s} {'hit':>8s} {'derived hit':>12s} {'its next hit':>13s} "
              f"{'miss (+fill)':>13s} {'hit/miss':>9s}")
        for form, *_ in forms:
            hit, derived, again, miss = (
                counted[form, k] for k in ("hit", "derived", "again", "miss"))
            print(f"  {form:10s} {hit:8.1f} {derived:12.1f} {again:13.1f} {miss:13.1f} "
                  f"{hit / miss:9.3f}")
        for label, counts in by_function.items():
            if counts:
                print(f"a prepared statement's {label}'s instructions by function "
                      f"(self cost, k per {label}):")
            for name, n in counts:
                print(f"    {n / queries / 1000:10.2f}  {name}")
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--instructions", type=int, default=0, metavar="N",
                        help="instead: callgrind instructions of N hits and N misses on SQLite")
    parser.add_argument("--functions", type=int, default=0, metavar="N",
                        help="with --instructions: the N functions with the most of each")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose pgproxy runs")
    args = parser.parse_args()
    if args.instructions:
        instructions(args.instructions, args.root, args.functions)
        return
    with MariaDBServer.started() as db:
        with run_proxy(db.url, config=CACHE_ON) as on, run_proxy(db.url) as off:
            with psycopg.connect(off.dsn(), autocommit=True) as conn:
                conn.execute("DROP TABLE IF EXISTS bench_accounts")
                conn.execute("DROP TABLE IF EXISTS bench_history")
                conn.execute("CREATE TABLE bench_history (account INT, delta INT)")
                conn.execute("CREATE TABLE bench_accounts (id INT PRIMARY KEY, "
                             "name VARCHAR(40), balance INT)")
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO bench_accounts VALUES (%s, %s, %s)",
                                    [(i, f"account {i}", i) for i in range(1, ROWS + 1)])
            n = args.reads
            pid = on.proc.pid
            with psycopg.connect(on.dsn(), autocommit=True) as conn:
                latency_us(conn, [1] * 200, pid)  # warm: prepared statement, connection, entry
                hit, hit_cpu = latency_us(conn, [1] * n, pid)
                miss, miss_cpu = latency_us(conn, list(range(2, n + 2)), pid)
            with psycopg.connect(off.dsn(), autocommit=True) as conn:
                latency_us(conn, [1] * 200, off.proc.pid)
                nocache, nocache_cpu = latency_us(conn, list(range(2, n + 2)), off.proc.pid)
            print(f"point SELECT on MariaDB through the proxy, {n} each (psycopg, prepared):")
            print("                       median wait   proxy CPU per statement")
            print(f"  cache hit            {hit:8.1f} us   {hit_cpu:8.1f} us")
            print(f"  cache miss (+fill)   {miss:8.1f} us   {miss_cpu:8.1f} us")
            print(f"  no cache             {nocache:8.1f} us   {nocache_cpu:8.1f} us")
            print(f"  hit / miss           {hit / miss:8.3f}      {hit_cpu / miss_cpu:8.3f}"
                  "      (target <= 0.1)")
            if shutil.which("pgbench"):
                scripts = Path(tempfile.mkdtemp(prefix="bench-cache-"))
                (scripts / "read.sql").write_text(READ.format(rows=ROWS))
                (scripts / "write.sql").write_text(WRITE.format(rows=ROWS))
                tps_on = pgbench(on, scripts, args.seconds, args.clients)
                tps_off = pgbench(off, scripts, args.seconds, args.clients)
                print(f"pgbench -M prepared, {args.clients} clients, {args.seconds} s, "
                      f"19 point reads : 1 history insert, over {ROWS} rows:")
                print(f"  cache on   {tps_on:10.0f} tps")
                print(f"  cache off  {tps_off:10.0f} tps")
                print(f"  ratio      {tps_on / tps_off:10.2f}x")
            with psycopg.connect(on.dsn("pgproxy"), autocommit=True) as admin:
                stats = dict(admin.execute("SHOW CACHE").fetchall())
                print("cache: " + ", ".join(f"{k}={stats[k]}" for k in
                                            ("hits", "misses", "hit_ratio", "entries",
                                             "invalidations", "coalesced")))


if __name__ == "__main__":
    main()
