"""COPY through the proxy into SQLite and MariaDB, against COPY into PostgreSQL itself.

    python benchmarks/bench_copy.py [--rows 1000000] [--no-mariadb] [--profile]

Makes --rows rows x 4 columns (int, int, float8, text) as PostgreSQL text-format
COPY data in memory, then for each target (PostgreSQL direct, the proxy on a
SQLite file, the proxy on MariaDB; throwaway servers from tests/fix_servers.py,
the proxy as a real process from tests/fix_proxy.py) creates the table and
times with psycopg:

  COPY FROM   `COPY bench_copy FROM STDIN`, the data written in 1 MB pieces,
              from the COPY statement to its CommandComplete; rows/s
  COPY TO     `COPY bench_copy TO STDOUT` read to the end; rows/s, and the
              proxy's VmRSS before and its peak while it ran (a thread samples
              it every 20 ms)

On MariaDB it also measures, with pymysql directly, the two ways to send COPY's
batches: pymysql's cursor.executemany (which batches rows into multi-row
INSERTs of up to 1 MB itself) and hand-built multi-row INSERTs of 1,000 rows
(what the MySQL backend's executemany sends), 100,000 rows each, the median of
five alternating rounds.
--profile runs the proxy's per-row work for the SQLite load in this process
(the reader and apsw's executemany, no network) under cProfile and prints
where the time goes. Target (issue 9): >= 200,000 rows/s into SQLite.
Figures only; report the core count and load average with them.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.fix_proxy import run_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer, PostgreSQLServer  # noqa: E402

DDL = "CREATE TABLE bench_copy (id int, n int, score float8, name text)"
CHUNK = 1 << 20


def make_data(rows: int) -> bytes:
    return b"".join(
        b"%d\t%d\t%r\tname-%07d\n" % (i, i % 1000, i * 0.25, i) for i in range(rows)
    )


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


class RssSampler:
    """The highest VmRSS of a process while the block runs (kB)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        if self.pid is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.pid is not None:
            self._thread.join()


def rss_kb(pid: int | None) -> int:
    if pid is None:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(name: str, dsn: str, pieces: list[bytes], rows: int, pid: int | None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(DDL)
        cur = conn.cursor()
        start = time.perf_counter()
        with cur.copy("COPY bench_copy FROM STDIN") as copy:
            for piece in pieces:
                copy.write(piece)
        load = time.perf_counter() - start
        assert cur.statusmessage == f"COPY {rows}", cur.statusmessage
        got = 0
        before = rss_kb(pid)
        with RssSampler(pid) as rss:
            start = time.perf_counter()
            with cur.copy("COPY bench_copy TO STDOUT") as copy:
                for piece in copy:
                    got += bytes(piece).count(b"\n")
            dump = time.perf_counter() - start
        assert got == rows, got
        conn.execute("DROP TABLE bench_copy")
    peak = (f"   proxy RSS {before / 1024:.1f} MB before, peak {rss.peak / 1024:.1f} MB"
            if pid is not None else "")
    print(f"{name:<22} COPY FROM {rows / load:>10,.0f} rows/s ({load:5.2f} s)   "
          f"COPY TO {rows / dump:>10,.0f} rows/s ({dump:5.2f} s){peak}", flush=True)


def mariadb_batches(url: str, rows: int, rounds: int = 5) -> None:
    """pymysql's executemany against hand-built multi-row INSERTs (COPY's path), in
    alternating rounds (a shared machine's load moves a single run by 2x); medians."""
    import statistics

    import pymysql

    from pgproxy.backends import url_parts

    parts, user, password, database = url_parts(url)
    conn = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=user,
                           password=password or "", database=database, autocommit=True)
    data = [(i, i % 1000, i * 0.25, f"name-{i:07d}") for i in range(rows)]
    insert = "INSERT INTO bench_batches (id, n, score, name) VALUES "
    full = insert + ", ".join(["(%s, %s, %s, %s)"] * 1000)
    rates: dict[str, list[float]] = {"executemany": [], "multi-row INSERT x1000": []}
    with conn.cursor() as cur:
        for _ in range(rounds):
            for how, got in rates.items():
                cur.execute("DROP TABLE IF EXISTS bench_batches")
                cur.execute("CREATE TABLE bench_batches (id int, n int, score double, name text)")
                start = time.perf_counter()
                cur.execute("BEGIN")
                if how == "executemany":
                    cur.executemany(insert + "(%s, %s, %s, %s)", data)
                else:
                    for i in range(0, rows, 1000):
                        batch = data[i : i + 1000]
                        text = full if len(batch) == 1000 else insert + ", ".join(
                            ["(%s, %s, %s, %s)"] * len(batch))
                        cur.execute(text, [v for row in batch for v in row])
                cur.execute("COMMIT")
                got.append(rows / (time.perf_counter() - start))
        cur.execute("DROP TABLE bench_batches")
    conn.close()
    for how, got in rates.items():
        print(f"  MariaDB direct, {how:<24} {statistics.median(got):>10,.0f} rows/s "
              f"(median of {rounds})", flush=True)


def profile(data: bytes, rows: int) -> None:
    """The proxy's per-row work for a SQLite load, in this process, under cProfile."""
    from dialects.copy import CopyOptions
    from pgproxy import pgtypes
    from pgproxy.backends.sqlite import SQLiteBackend
    from pgproxy.copy.reader import reader_for
    from pgproxy.copy.stage import insert_many

    with tempfile.TemporaryDirectory() as tmp:
        conn = SQLiteBackend(f"sqlite:///{tmp}/p.db").connect()
        conn.execute(DDL, ()).close()
        reader = reader_for(CopyOptions(), "bench_copy", ["id", "n", "score", "name"],
                            [pgtypes.INT4, pgtypes.INT4, pgtypes.FLOAT8, pgtypes.TEXT])
        sql = "INSERT INTO bench_copy (id, n, score, name) VALUES (?, ?, ?, ?)"

        def work() -> None:
            conn.execute("BEGIN", ()).close()
            for piece in chunks(data):
                insert_many(conn, sql, reader.feed(piece))
            insert_many(conn, sql, reader.finish())
            conn.execute("COMMIT", ()).close()

        prof = cProfile.Profile()
        start = time.perf_counter()
        prof.runcall(work)
        took = time.perf_counter() - start
        print(f"in-process reader + executemany under cProfile: {rows / took:,.0f} rows/s")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--no-mariadb", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{args.rows:,} rows x 4 columns (int, int, float8, text)", flush=True)
    data = make_data(args.rows)
    pieces = chunks(data)
    if args.profile:
        profile(data, args.rows)
        return
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        pg = stack.enter_context(PostgreSQLServer.started())
        measure("PostgreSQL direct", pg.url, pieces, args.rows, None)
        proxy = stack.enter_context(run_proxy(f"sqlite:///{tmp}/bench.db",
                                              extra_args=("--log-level", "info")))
        measure("proxy on SQLite", proxy.dsn(), pieces, args.rows, proxy.proc.pid)
        if not args.no_mariadb:
            maria = stack.enter_context(MariaDBServer.started())
            proxy = stack.enter_context(run_proxy(maria.url, extra_args=("--log-level", "info")))
            measure("proxy on MariaDB", proxy.dsn(), pieces, args.rows, proxy.proc.pid)
            mariadb_batches(maria.url, min(args.rows, 100_000))


if __name__ == "__main__":
    main()
