"""The proxy's own cost per statement: CPU µs the proxy process spends on a point SELECT.

CPU time of the proxy process (from /proc) is steadier than wall time on a
shared machine, and it is what bounds throughput: a proxy that spends C µs of
CPU per statement serves at most 1e6 / C statements per second per core.

    python benchmarks/bench_statement.py [--queries 5000] [--backend sqlite|mysql]
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(proxy, label: str, run, n: int) -> tuple[str, float, float]:
    run(200)  # warm: caches, prepared statements, the catalog
    cpu0, wall0 = cpu_seconds(proxy.proc.pid), time.perf_counter()
    run(n)
    cpu = cpu_seconds(proxy.proc.pid) - cpu0
    wall = time.perf_counter() - wall0
    return label, cpu / n * 1e6, wall / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--backend", choices=["sqlite", "mysql"], default="sqlite")
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
            cur = conn.cursor()
            sql = "SELECT abalance FROM accounts WHERE aid = %s"

            def prepared(n: int) -> None:
                for i in range(n):
                    cur.execute(sql, (i % ROWS,), prepare=True)
                    cur.fetchone()

            def unprepared(n: int) -> None:
                for i in range(n):
                    cur.execute(sql, (i % ROWS,), prepare=False)
                    cur.fetchone()

            def simple(n: int) -> None:
                for i in range(n):
                    conn.execute(f"SELECT abalance FROM accounts WHERE aid = {i % ROWS}")

            rows = [
                measure(proxy, "extended, prepared", prepared, args.queries),
                measure(proxy, "extended, unnamed", unprepared, args.queries),
                measure(proxy, "simple, literal varies", simple, args.queries),
            ]
    load = os.getloadavg()[0]
    print(f"\npoint SELECT through the proxy on {args.backend}, 1 client, load {load:.1f}")
    print(f"{'protocol':<26}{'proxy CPU µs/stmt':>18}{'latency µs':>12}")
    for label, cpu, wall in rows:
        print(f"{label:<26}{cpu:>18.0f}{wall:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
