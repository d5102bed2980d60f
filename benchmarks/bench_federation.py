"""A join across routes against the same join inside one backend.

Run: python benchmarks/bench_federation.py [--orders 1000000] [--customers 100000]
                                           [--rounds 5] [--mariadb]

orders (1,000,000 rows) and customers (100,000 rows) are written to three SQLite
files: `shop` holds orders, `crm` customers, `both` the two tables. psycopg runs
a join with a selective filter on orders (about 0.5% of its rows) grouped by the
customer's region: inside `both` (the backend's own join), then across routes
(`shop.orders JOIN crm.customers`: each part fetched from its backend, joined by
DuckDB) with semi-joins (the default: customers read after orders, only the
customers those orders name) and without (a second proxy with
`semi_join_keys = 0`: customers read whole). With --mariadb, customers also go
to a MariaDB database (route `crm_m`) for SQLite x MariaDB runs. Prints, for
each, the median wall time and the median CPU time of the proxy process (all
its threads, DuckDB's too: steadier than wall time on a loaded machine; a
MariaDB part's server time is not in it), the SQL and rows of each part, whether
the answer equals the one-backend answer, and the load average; asserts nothing.
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
    """Median wall seconds and median proxy CPU seconds of `sql`, and its rows (after one
    unmeasured run: DuckDB's import, the catalogs, the sessions on other routes)."""
    conn.execute(sql).fetchall()
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
    parser.add_argument("--rounds", type=int, default=5)
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
        # The second proxy has semi-joins off: customers then travels whole.
        with run_proxy("", config=config) as proxy, \
                run_proxy("", config=config + "semi_join_keys = 0\n") as plain:
            with psycopg.connect(proxy.dsn("both"), autocommit=True) as conn:
                one, one_cpu, expected = timed(
                    conn, QUERY.format(orders="orders", customers="customers"), args.rounds,
                    proxy.proc.pid)
                semi = conn.execute(
                    "SELECT count(*), count(DISTINCT customer_id) FROM orders "
                    "WHERE status = 'returned' AND total > 900").fetchone()
            print(f"one backend (SQLite, both tables): {one * 1000:.0f} ms median of "
                  f"{args.rounds}, proxy CPU {one_cpu * 1000:.0f} ms")
            pairs = [("SQLite x SQLite", "crm.customers")]
            if args.mariadb:
                pairs.append(("SQLite x MariaDB", "crm_m.customers"))
            for label, customers_table in pairs:
                sql = QUERY.format(orders="shop.orders", customers=customers_table)
                for server_, how, fetched in ((proxy, "semi-join", semi[1]),
                                              (plain, "no semi-join", args.customers)):
                    with psycopg.connect(server_.dsn("shop"), autocommit=True) as conn:
                        seconds, cpu, rows = timed(conn, sql, args.rounds, server_.proc.pid)
                        plan = [r[0].strip() for r in conn.execute("EXPLAIN " + sql)]
                    same = "same rows" if rows == expected else f"DIFFERENT rows: {rows}"
                    print(f"across routes, shop.orders x {customers_table} ({label}, {how}): "
                          f"{seconds * 1000:.0f} ms median of {args.rounds} "
                          f"({seconds / one:.1f}x one backend), proxy CPU {cpu * 1000:.0f} ms "
                          f"({cpu / max(one_cpu, 1e-3):.1f}x); {same}")
                    for line in plan:
                        if line.startswith(("Backend SQL", "Part")):
                            print("   ", line)
                    print(f"    rows fetched: {semi[0]:,} orders, {fetched:,} customers")
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
