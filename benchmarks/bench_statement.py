"""The proxy's own cost per statement: CPU µs the proxy process spends on a point SELECT.

CPU time of the proxy process (from /proc) is steadier than wall time on a
shared machine, and it is what bounds throughput: a proxy that spends C µs of
CPU per statement serves at most 1e6 / C statements per second per core.

With one client every statement also pays the kernel: the loop sleeps in
epoll, wakes, reads and writes the socket. That share (sys) moves with the machine far
more than the proxy's own (user), so both are printed; `--floor` also measures
bench_floor.py's bare responder in the same run, the least any Python + uvloop server
spends per point SELECT here, and prints the proxy's CPU over it.

`--transaction` runs each SELECT in a transaction block of its own instead (psycopg
without autocommit: BEGIN, the SELECT, COMMIT), the figures per transaction.

    python benchmarks/bench_statement.py [--queries 5000] [--backend sqlite|mysql] [--floor]
                                         [--transaction]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fix_proxy import run_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer  # noqa: E402

ROWS = 10_000


def cpu_times(pid: int) -> tuple[float, float]:
    """The process's user and system CPU seconds so far (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def measure(pid: int, label: str, run, n: int) -> tuple[str, float, float, float]:
    """(label, user µs, system µs, latency µs) per statement of `run(n)` in process pid."""
    run(200)  # warm: caches, prepared statements, the catalog
    (user0, sys0), wall0 = cpu_times(pid), time.perf_counter()
    run(n)
    user, system = cpu_times(pid)
    wall = time.perf_counter() - wall0
    return label, (user - user0) / n * 1e6, (system - sys0) / n * 1e6, wall / n * 1e6


def print_rows(title: str, rows: list[tuple[str, float, float, float]]) -> None:
    print(f"\n{title}, load {os.getloadavg()[0]:.1f}")
    print(f"{'protocol':<26}{'CPU µs/stmt':>12}{'user':>7}{'sys':>7}{'latency µs':>12}")
    for label, user, system, wall in rows:
        print(f"{label:<26}{user + system:>12.0f}{user:>7.0f}{system:>7.0f}{wall:>12.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--backend", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--floor", action="store_true",
                        help="also measure bench_floor.py's bare responder in the same run")
    parser.add_argument(
        "--transaction",
        action="store_true",
        help="each SELECT in a transaction block of its own: CPU per BEGIN, SELECT, COMMIT",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.backend == "mysql":
            url = stack.enter_context(MariaDBServer.started()).url
        else:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        proxy = stack.enter_context(run_proxy(url, extra_args=("--log-level", "warning")))
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS accounts")
            conn.execute("CREATE TABLE accounts (aid INTEGER PRIMARY KEY, abalance INTEGER)")
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO accounts VALUES (%s, %s)", [(i, i % 1000) for i in range(ROWS)]
                )
            if args.transaction:
                conn.autocommit = False  # psycopg sends BEGIN before the first statement
            end = conn.commit if args.transaction else (lambda: None)
            cur = conn.cursor()
            sql = "SELECT abalance FROM accounts WHERE aid = %s"

            def prepared(n: int) -> None:
                for i in range(n):
                    cur.execute(sql, (i % ROWS,), prepare=True)
                    cur.fetchone()
                    end()

            def unprepared(n: int) -> None:
                for i in range(n):
                    cur.execute(sql, (i % ROWS,), prepare=False)
                    cur.fetchone()
                    end()

            def simple(n: int) -> None:
                for i in range(n):
                    conn.execute(f"SELECT abalance FROM accounts WHERE aid = {i % ROWS}")
                    end()

            pid = proxy.proc.pid
            rows = [
                measure(pid, "extended, prepared", prepared, args.queries),
                measure(pid, "extended, unnamed", unprepared, args.queries),
                measure(pid, "simple, literal varies", simple, args.queries),
            ]
    what = "transaction (BEGIN, point SELECT, COMMIT)" if args.transaction else "point SELECT"
    print_rows(f"{what} through the proxy on {args.backend}, 1 client", rows)
    if args.floor:
        from benchmarks.bench_floor import floor_rows

        floor = floor_rows(args.queries)
        print_rows("the floor: bench_floor.py's bare responder on SQLite, 1 client", floor)
        print("\nproxy over the floor, CPU µs/stmt (user / sys)")
        for (label, user, system, _), (_, f_user, f_sys, _) in zip(rows[::2], floor, strict=True):
            print(f"{label:<26}{user + system - f_user - f_sys:>12.0f}"
                  f"{user - f_user:>7.0f}{system - f_sys:>7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
