"""A join across routes against the same join inside one backend.

Run: python benchmarks/bench_federation.py [--orders 1000000] [--customers 100000]
                                           [--rounds 3] [--mariadb]

orders (1,000,000 rows) and customers (100,000 rows) are written to three SQLite
files: `shop` holds orders, `crm` customers, `both` the two tables. Through one
proxy, psycopg runs a join with a selective filter on orders (about 0.5% of its
rows) grouped by the customer's region, twice: across routes (`shop.orders JOIN
crm.customers`: each part fetched from its backend, joined by DuckDB) and inside
`both` (the backend's own join). With --mariadb, customers also go to a MariaDB
database (route `crm_m`) for a SQLite x MariaDB run. Prints the median wall
time and the proxy's CPU time (all its threads: steadier than wall time on a
loaded machine; a MariaDB part's server time is not in it) of each, the SQL and
rows each part fetched (EXPLAIN) and the load average; asserts nothing, and says
whether both answers are equal.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from tests.fix_proxy import run_proxy

REGIONS = ["north", "south", "east", "west", "centre"]
QUERY = (
    "SELECT c.region, count(*) AS orders, sum(o.total) AS total "
    "FROM {orders} o JOIN {customers} c ON c.id = o.customer_id "
    "WHERE o.status = 'returned' AND o.total > 900 "
    "GROUP BY c.region ORDER BY c.region"
)
ORDERS_DDL = (
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, "
    "total NUMERIC(10,2) NOT NULL, status TEXT NOT NULL)"
)
CUSTOMERS_DDL = (
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL)"
)


def orders(n: int, customers: int) -> Iterator[tuple[int, int, str, str]]:
    rnd = random.Random(1)
    statuses = ["shipped"] * 18 + ["open", "returned"]
    for i in range(1, n + 1):
        yield (i, rnd.randint(1, customers), f"{rnd.randint(100, 99999) / 100:.2f}",
               rnd.choice(statuses))


def customers(n: int) -> Iterator[tuple[int, str, str]]:
    for i in range(1, n + 1):
        yield i, f"customer {i}", REGIONS[i % len(REGIONS)]


def write_sqlite(path: Path, n_orders: int, n_customers: int, which: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        if which in ("orders", "both"):
            conn.execute(ORDERS_DDL)
            conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)",
                             orders(n_orders, n_customers))
        if which in ("customers", "both"):
            conn.execute(CUSTOMERS_DDL)
            conn.executemany("INSERT INTO customers VALUES (?, ?, ?)", customers(n_customers))
    conn.close()


def cpu_seconds(pid: int) -> float:
    """The proxy's user + system CPU, all threads (DuckDB's and the workers' too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    conn: psycopg.Connection, sql: str, rounds: int, pid: int
) -> tuple[float, float, list[tuple]]:
    """Median wall seconds and median proxy CPU seconds of `sql`, and its rows."""
    times, cpu, rows = [], [], []
    for _ in range(rounds):
        start, used = time.perf_counter(), cpu_seconds(pid)
        rows = conn.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
        cpu.append(cpu_seconds(pid) - used)
    return statistics.median(times), statistics.median(cpu), rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mariadb", action="store_true", help="customers on MariaDB too")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-federation-"))
    start = time.perf_counter()
    for name, which in (("shop", "orders"), ("crm", "customers"), ("both", "both")):
        write_sqlite(work / f"{name}.db", args.orders, args.customers, which)
    print(f"data: {args.orders:,} orders, {args.customers:,} customers "
          f"({time.perf_counter() - start:.1f} s to write)")
    backends = {name: f"sqlite:///{work / name}.db" for name in ("shop", "crm", "both")}
    server = None
    if args.mariadb:
        from tests.fix_servers import MariaDBServer

        server = MariaDBServer.started()
        db = server.__enter__()
        load_mariadb(db, args.customers)
        backends["crm_m"] = f"{db.url.rsplit('/', 1)[0]}/bench_fed"
    config = "[backends]\n" + "".join(f'{k} = "{v}"\n' for k, v in backends.items())
    config += f"[federation]\nmax_rows = {max(args.orders, args.customers)}\n"
    try:
        with run_proxy("", config=config) as proxy:
            with psycopg.connect(proxy.dsn("both"), autocommit=True) as conn:
                one, one_cpu, expected = timed(
                    conn, QUERY.format(orders="orders", customers="customers"), args.rounds,
                    proxy.proc.pid)
            runs = [("shop.orders x crm.customers (SQLite x SQLite)", "shop.orders",
                     "crm.customers", "")]
            if args.mariadb:
                runs.append(("shop.orders x crm_m.customers (SQLite x MariaDB)", "shop.orders",
                             "crm_m.customers", ""))
            # A filter on customers that keeps every row: customers has a filter of its
            # own then, so no semi-join narrows it and all its rows travel.
            runs += [(label + ", no semi-join", o, c, " AND c.id > 0")
                     for label, o, c, _ in list(runs)]
            print(f"one backend (SQLite, both tables): {one * 1000:.0f} ms median of "
                  f"{args.rounds}, proxy CPU {one_cpu * 1000:.0f} ms")
            with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn, \
                    psycopg.connect(proxy.dsn("both"), autocommit=True) as both:
                for label, o, c, extra in runs:
                    sql = QUERY.format(orders=o, customers=c).replace(
                        " GROUP BY", extra + " GROUP BY")
                    seconds, cpu, rows = timed(conn, sql, args.rounds, proxy.proc.pid)
                    same = "same rows" if rows == expected else f"DIFFERENT rows: {rows}"
                    print(f"across routes, {label}: {seconds * 1000:.0f} ms median of "
                          f"{args.rounds} ({seconds / one:.1f}x one backend), proxy CPU "
                          f"{cpu * 1000:.0f} ms ({cpu / max(one_cpu, 1e-3):.1f}x); {same}")
                    plan = [r[0] for r in conn.execute("EXPLAIN " + sql)]
                    for line in plan:
                        if "Backend SQL" in line or "Part" in line:
                            print("   ", line.strip())
                    counts = both.execute(
                        "SELECT count(*), count(DISTINCT customer_id) FROM orders "
                        "WHERE status = 'returned' AND total > 900").fetchone()
                    if extra:
                        counts = (counts[0], args.customers)
                    print(f"    rows fetched: {counts[0]:,} orders, {counts[1]:,} customers")
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} (shared with other work: wall times are indicative)")


def load_mariadb(db: object, n: int) -> None:
    import pymysql

    conn = pymysql.connect(host=db.host, port=db.port, user=db.user, password=db.password)
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS bench_fed")
        cur.execute("CREATE DATABASE bench_fed CHARACTER SET utf8mb4")
        cur.execute("USE bench_fed")
        cur.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, "
                    "region VARCHAR(10) NOT NULL)")
        rows = list(customers(n))
        for i in range(0, len(rows), 5000):
            cur.executemany("INSERT INTO customers VALUES (%s, %s, %s)", rows[i:i + 5000])
    conn.commit()
    conn.close()


if __name__ == "__main__":
    main()
