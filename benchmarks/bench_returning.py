"""What MariaDB's UPDATE … RETURNING costs through the proxy (it runs as steps).

Run: python benchmarks/bench_returning.py [--statements N] [--rows N]
One psycopg client, extended protocol, on a throwaway MariaDB: ms per one-row
`UPDATE … WHERE id = $1` without RETURNING, with RETURNING (keys FOR UPDATE,
UPDATE by key, the list read back, in one transaction), and the client's own
alternative (UPDATE then SELECT); then rows/s of one UPDATE … RETURNING over
--rows rows, against the same UPDATE without RETURNING.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from tests.fix_proxy import run_proxy
from tests.fix_servers import MariaDBServer


def per_statement(conn: psycopg.Connection, statements: list[str], n: int) -> float:
    """Milliseconds per round of `statements`, each with the row's id bound."""
    start = time.perf_counter()
    for i in range(n):
        for sql in statements:
            cur = conn.execute(sql, (i % 1000 + 1,), prepare=True)
            if cur.description:
                cur.fetchall()
    return (time.perf_counter() - start) / n * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(MariaDBServer.started()).url
        proxy = stack.enter_context(run_proxy(url, extra_args=("--log-level", "warning")))
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_ret")
            conn.execute("CREATE TABLE bench_ret (id integer PRIMARY KEY, n integer, v text)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO bench_ret VALUES (%s, 0, 'x')",
                                [(i,) for i in range(1, args.rows + 1)])
            n = args.statements
            plain = per_statement(conn, ["UPDATE bench_ret SET n = n + 1 WHERE id = %s"], n)
            steps = per_statement(
                conn, ["UPDATE bench_ret SET n = n + 1 WHERE id = %s RETURNING id, n, v"], n)
            client = per_statement(conn, ["UPDATE bench_ret SET n = n + 1 WHERE id = %s",
                                          "SELECT id, n, v FROM bench_ret WHERE id = %s"], n)
            print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}; {n} statements each")
            print(f"one-row UPDATE:                      {plain:7.3f} ms")
            print(f"one-row UPDATE … RETURNING (steps):  {steps:7.3f} ms ({steps / plain:.1f}x)")
            print(f"one-row UPDATE, then SELECT:         {client:7.3f} ms ({client / plain:.1f}x)")
            for label, sql in (("UPDATE of all rows", "UPDATE bench_ret SET n = n + 1"),
                               ("… RETURNING id, n", "UPDATE bench_ret SET n = n + 1"
                                " RETURNING id, n")):
                start = time.perf_counter()
                cur = conn.execute(sql)
                if cur.description:
                    cur.fetchall()
                seconds = time.perf_counter() - start
                print(f"{label:<36} {args.rows / seconds:10,.0f} rows/s ({seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
