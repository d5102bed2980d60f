"""SQL Server drivers on the mock TDS server: python-tds (the backend's) against pymssql.

Prints, per driver: connect + login (median ms of --connects), --queries small queries
on one connection (µs per query), and --rows rows read as 600-row results (the most
one mock answer holds: it frames a whole answer as one TDS packet, and python-tds reads
no packet past the 4,096 bytes negotiated), in rows/s. With --proxy also the proxy
itself on the mock: psycopg's `SELECT n FROM small` through pgproxy (µs per query).

    python benchmarks/bench_mssql_drivers.py [--queries 10000] [--rows 100000] [--proxy]

pymssql is not a dependency of pgproxy: `pip install pymssql` to compare. Wall-clock
figures: report the machine's load with them.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fix_servers import mssql_mock_server

BIG_ROWS = 600


def _pytds(port: int) -> Any:
    import pytds

    return pytds.connect(dsn="127.0.0.1", port=port, user="sa", password="pw", database="app",
                         autocommit=True, disable_connect_retry=True)


def _pymssql(port: int) -> Any:
    import pymssql

    return pymssql.connect(server="127.0.0.1", port=port, user="sa", password="pw",
                           database="app", autocommit=True)


def measure(name: str, connect: Callable[[int], Any], port: int, args: argparse.Namespace) -> None:
    times = []
    for _ in range(args.connects):
        started = time.perf_counter()
        conn = connect(port)
        times.append(time.perf_counter() - started)
        conn.close()
    conn = connect(port)
    cur = conn.cursor()
    started = time.perf_counter()
    for _ in range(args.queries):
        cur.execute("SELECT 1")
        cur.fetchall()
    small = (time.perf_counter() - started) / args.queries
    rounds = max(1, args.rows // BIG_ROWS)
    started = time.perf_counter()
    total = 0
    for _ in range(rounds):
        cur.execute("SELECT n FROM big")
        total += len(cur.fetchall())
    elapsed = time.perf_counter() - started
    conn.close()
    print(f"{name:10} connect {statistics.median(times) * 1000:6.2f} ms   "
          f"{args.queries} x SELECT 1: {small * 1e6:6.1f} µs/query   "
          f"{total} rows: {total / elapsed:9.0f} rows/s")


def through_proxy(port: int, queries: int) -> None:
    import psycopg

    from tests.fix_proxy import run_proxy

    with run_proxy(f"mssql://sa:pw@127.0.0.1:{port}/app") as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("SELECT n FROM small").fetchall()
            started = time.perf_counter()
            for _ in range(queries):
                conn.execute("SELECT n FROM small").fetchall()
            per = (time.perf_counter() - started) / queries
    print(f"{'pgproxy':10} psycopg -> proxy -> python-tds: {queries} x SELECT n FROM small "
          f"{per * 1e6:6.1f} µs/query")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connects", type=int, default=50)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--proxy", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    with mssql_mock_server() as port:
        measure("python-tds", _pytds, port, args)
        if importlib.util.find_spec("pymssql"):
            measure("pymssql", _pymssql, port, args)
        else:
            print("pymssql    not installed (pip install pymssql)")
        if args.proxy:
            through_proxy(port, min(args.queries, 2000))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
