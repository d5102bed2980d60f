"""MariaDB point SELECT from asyncio: pymysql in worker threads against asyncmy in greenlets.

Each client is a coroutine with a connection of its own running `SELECT abalance
FROM accounts WHERE aid = %s` with random keys for --seconds: with pymysql, each
call handed to pgproxy.workers.Workers' threads and back (the proxy's way with
`driver=pymysql`); with asyncmy, each call run by Workers(greenlets=True) on the
event loop, its I/O awaited with await_only (the proxy's way by default); with
asyncmy called straight from the coroutines (the floor of that way); and as a
plain blocking pymysql loop with no asyncio at all (one client: pymysql's floor).
Prints queries/s and this process's CPU µs per query (the driver side's cost,
which is what a proxy process spends), per client count.

    python benchmarks/bench_mysql_driver.py [--seconds 5] [--clients 1,8,64]

Needs MariaDB (started
with the test fixtures).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pgproxy.workers import Workers, await_only  # noqa: E402
from tests.fix_servers import MariaDBServer  # noqa: E402

ROWS = 10_000
SQL = "SELECT abalance FROM accounts WHERE aid = %s"


def _connect_args(db: MariaDBServer) -> dict:
    return {"host": db.host, "port": db.port, "user": db.user, "password": db.password,
            "database": db.database, "autocommit": True}


def setup(db: MariaDBServer) -> None:
    with pymysql.connect(**_connect_args(db)) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS accounts")
        cur.execute("CREATE TABLE accounts (aid INT PRIMARY KEY, abalance INT)")
        cur.executemany("INSERT INTO accounts VALUES (%s, %s)",
                        [(i, i % 1000) for i in range(ROWS)])


def _query(conn: pymysql.Connection, key: int) -> tuple:
    with conn.cursor() as cur:
        cur.execute(SQL, (key,))
        return cur.fetchall()


async def pymysql_threads(db: MariaDBServer, clients: int, seconds: float) -> int:
    pool = Workers(max(clients, 1), "bench")
    conns = [await pool.run(lambda: pymysql.connect(**_connect_args(db))) for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    async def client(conn: pymysql.Connection) -> int:
        n = 0
        while time.perf_counter() < deadline:
            await pool.run(_query, conn, random.randrange(ROWS))
            n += 1
        return n

    counts = await asyncio.gather(*(client(c) for c in conns))
    for c in conns:
        c.close()
    pool.close()
    return sum(counts)


async def asyncmy_loop(db: MariaDBServer, clients: int, seconds: float) -> int:
    import asyncmy

    conns = [await asyncmy.connect(**_connect_args(db)) for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    async def client(conn) -> int:
        n = 0
        while time.perf_counter() < deadline:
            async with conn.cursor() as cur:
                await cur.execute(SQL, (random.randrange(ROWS),))
                await cur.fetchall()
            n += 1
        return n

    counts = await asyncio.gather(*(client(c) for c in conns))
    for c in conns:
        await c.ensure_closed()
    return sum(counts)


async def asyncmy_greenlets(db: MariaDBServer, clients: int, seconds: float) -> int:
    import asyncmy
    import asyncmy.cursors

    pool = Workers(max(clients, 1), "bench", greenlets=True)
    conns = [await asyncmy.connect(**_connect_args(db)) for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    def query(conn, key: int) -> list:
        cur = asyncmy.cursors.SSCursor(conn)
        await_only(cur.execute(SQL, (key,)))
        rows = await_only(cur.fetchmany(100))
        await_only(cur.close())
        return rows

    async def client(conn) -> int:
        n = 0
        while time.perf_counter() < deadline:
            await pool.run(query, conn, random.randrange(ROWS))
            n += 1
        return n

    counts = await asyncio.gather(*(client(c) for c in conns))
    for c in conns:
        await c.ensure_closed()
    return sum(counts)


def pymysql_plain(db: MariaDBServer, seconds: float) -> int:
    conn = pymysql.connect(**_connect_args(db))
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        _query(conn, random.randrange(ROWS))
        n += 1
    conn.close()
    return n


def measure(label: str, clients: int, run) -> tuple[str, int, float, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    n = run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return label, clients, n / wall, cpu / max(n, 1) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", default="1,8,64")
    args = parser.parse_args()
    try:
        import asyncmy
    except ImportError:
        print("asyncmy is not installed (pip install asyncmy): measuring pymysql only")
        asyncmy = None
    rows = []
    with MariaDBServer.started() as db:
        setup(db)
        rows.append(measure("pymysql, no asyncio", 1, lambda: pymysql_plain(db, args.seconds)))
        for clients in (int(c) for c in args.clients.split(",")):
            rows.append(measure("pymysql in threads", clients, lambda c=clients: asyncio.run(
                pymysql_threads(db, c, args.seconds))))
            if asyncmy is not None:
                rows.append(measure("asyncmy in greenlets", clients, lambda c=clients: asyncio.run(
                    asyncmy_greenlets(db, c, args.seconds))))
                rows.append(measure("asyncmy on the loop", clients, lambda c=clients: asyncio.run(
                    asyncmy_loop(db, c, args.seconds))))
    print(f"\nMariaDB point SELECT by primary key, {args.seconds:g} s each, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'driver':<24}{'clients':>8}{'queries/s':>12}{'CPU µs/query':>14}")
    for label, clients, qps, cpu in rows:
        print(f"{label:<24}{clients:>8}{qps:>12.0f}{cpu:>14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
