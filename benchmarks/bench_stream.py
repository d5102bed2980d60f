"""Streaming a large result from SQLite through the proxy to psycopg: rows/s and proxy RSS.

    python benchmarks/bench_stream.py [--rows 1000000] [--modes named,named-binary,...]
                                      [--backend sqlite|mariadb]

Writes --rows rows x 4 columns (BIGINT, TEXT, DOUBLE PRECISION, TIMESTAMP:
int8, text, float8, timestamp on the wire) to a SQLite file with the stdlib
sqlite3 module, or with --backend mariadb to a throwaway MariaDB server
(tests/fix_servers.py) with pymysql, starts the proxy on it (tests/fix_proxy.py,
a real process, log level info) and reads `SELECT id, name, score, created FROM
stream_rows` with psycopg, one fresh connection per mode:

  named          server-side cursor (DECLARE/FETCH, kept by the proxy),
                 itersize 10000, text format; the proxy holds one backend
                 result open and hands out 10,000 rows per FETCH (on SQLite,
                 reading the next 10,000 while psycopg converts these)
  named-binary   the same with binary=True (FETCH results in binary format)
  named-paced    `named` by a client that also works 5 ms (a sleep, no CPU) on
                 each 10,000 rows: the proxy's read-ahead has that time (the
                 seconds minus 0.5 s per 1,000,000 rows are the proxy's share)
  stream         cursor.stream(size=10000): one extended-protocol query read
                 in libpq's chunked-rows mode (libpq >= 17; psycopg-binary
                 bundles it), single-row mode with an older libpq
  buffered       cursor.execute + fetchall: libpq receives the whole result
                 (the client buffers it, not the proxy), then psycopg converts
  buffered-binary  the same with binary=True

Each mode's rows/s counts from sending the query to the last row converted
by psycopg, so the client's work is included; the client and the proxy share
the machine's cores. The CPU seconds the proxy process and this client spent
are printed too (rows per proxy CPU second depends less on the machine's load),
and the result format psycopg actually received (0 text, 1 binary). A thread
samples the proxy's VmRSS every 20 ms during each mode; the proxy's VmHWM
(peak since it started) is read at the end.
Targets (issue 2): >= 500,000 rows/s, proxy peak RSS < 150 MB. Figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.fix_proxy import ProxyProcess, run_proxy  # noqa: E402

QUERY = "SELECT id, name, score, created FROM stream_rows"
MODES = ("named", "named-binary", "named-paced", "stream", "buffered", "buffered-binary")
PACE = 0.005  # named-paced: the client's work per 10,000 rows


def make_db(path: str, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute(
        "CREATE TABLE stream_rows (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE PRECISION,"
        " created TIMESTAMP)"
    )
    base = datetime(2024, 1, 1)
    batch = 50_000
    for start in range(0, rows, batch):
        conn.executemany(
            "INSERT INTO stream_rows VALUES (?, ?, ?, ?)",
            (
                (i, f"name-{i:07d}", i * 0.25, (base + timedelta(seconds=i)).isoformat(" "))
                for i in range(start, min(start + batch, rows))
            ),
        )
    conn.commit()
    conn.close()


def make_mariadb(url: str, rows: int) -> None:
    import pymysql

    user, _, rest = url.removeprefix("mysql://").partition(":")
    password, _, rest = rest.partition("@")
    hostport, _, database = rest.partition("/")
    host, _, port = hostport.partition(":")
    conn = pymysql.connect(host=host, port=int(port), user=user, password=password,
                           database=database, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE stream_rows (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE,"
            " created DATETIME)"
        )
        base = datetime(2024, 1, 1)
        batch = 20_000
        for start in range(0, rows, batch):
            cur.executemany(
                "INSERT INTO stream_rows VALUES (%s, %s, %s, %s)",
                [(i, f"name-{i:07d}", i * 0.25, base + timedelta(seconds=i))
                 for i in range(start, min(start + batch, rows))],
            )
    conn.close()


def proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, proc_status(self.pid, "VmRSS"))
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        self.peak_kb = max(self.peak_kb, proc_status(self.pid, "VmRSS"))
        return self.peak_kb


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_all(proxy: ProxyProcess, mode: str) -> tuple[int, float, int, int | None]:
    """(rows, seconds, checksum of ids, result format) for one mode on a fresh connection."""
    binary = mode.endswith("-binary")
    fmt = None
    with psycopg.connect(proxy.dsn("bench")) as conn:
        count = total = 0
        started = time.perf_counter()
        if mode.startswith("named"):
            with conn.transaction(), conn.cursor("big", binary=binary) as cur:
                cur.itersize = 10_000
                cur.execute(QUERY)
                paced = mode == "named-paced"
                for row in cur:
                    count += 1
                    total += row[0]
                    if fmt is None and cur.pgresult is not None:
                        fmt = cur.pgresult.fformat(0)
                    if paced and count % 10_000 == 0:
                        time.sleep(PACE)
        elif mode == "stream":
            size = 10_000 if psycopg.pq.version() >= 170000 else 1
            with conn.cursor() as cur:
                for row in cur.stream(QUERY, size=size):
                    count += 1
                    total += row[0]
                    if fmt is None and cur.pgresult is not None:
                        fmt = cur.pgresult.fformat(0)
        else:
            with conn.cursor(binary=binary) as cur:
                cur.execute(QUERY)
                fmt = cur.pgresult.fformat(0) if cur.pgresult is not None else None
                for row in cur.fetchall():
                    count += 1
                    total += row[0]
        seconds = time.perf_counter() - started
    return count, seconds, total, fmt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated, from {', '.join(MODES)}")
    parser.add_argument("--backend", choices=("sqlite", "mariadb"), default="sqlite")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            parser.error(f"unknown mode {m!r}")
    expected = args.rows * (args.rows - 1) // 2
    results = []
    with contextlib.ExitStack() as stack:
        t0 = time.perf_counter()
        if args.backend == "mariadb":
            from tests.fix_servers import MariaDBServer

            url = stack.enter_context(MariaDBServer.started()).url
            make_mariadb(url, args.rows)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="pgproxy-bench-stream-"))
            url = f"sqlite:///{os.path.join(tmp, 'stream.db')}"
            make_db(url.removeprefix("sqlite:///"), args.rows)
        print(f"wrote {args.rows:,} rows to {args.backend} in {time.perf_counter() - t0:.1f} s",
              flush=True)
        with run_proxy(url, extra_args=("--log-level", "info")) as proxy:
            pid = proxy.proc.pid
            idle_kb = proc_status(pid, "VmRSS")
            for mode in modes:
                sampler = RssSampler(pid)
                sampler.start()
                cpu0, mine0 = proc_cpu(pid), time.process_time()
                try:
                    count, seconds, total, fmt = read_all(proxy, mode)
                except psycopg.Error as exc:
                    sampler.stop()
                    print(f"{mode}: failed: {type(exc).__name__}: {exc}", flush=True)
                    results.append((mode, None, None, 0, 0.0, 0.0, None))
                    continue
                peak = sampler.stop()
                cpu, mine = proc_cpu(pid) - cpu0, time.process_time() - mine0
                ok = count == args.rows and total == expected
                print(f"{mode}: {count:,} rows in {seconds:.2f} s"
                      f"{'' if ok else '  (WRONG ROW COUNT OR CHECKSUM)'}", flush=True)
                results.append((mode, count, seconds, peak, cpu, mine, fmt))
            hwm_kb = proc_status(pid, "VmHWM")
            if not proxy.alive():
                print("proxy died:\n" + proxy.log()[-2000:])
    load = os.getloadavg()
    print(f"\n{args.rows:,} rows x 4 columns (int8, text, float8, timestamp), {args.backend}"
          " -> proxy"
          f" -> psycopg {psycopg.__version__} ({psycopg.pq.__impl__}, libpq"
          f" {psycopg.pq.version()}), {os.cpu_count()} cores,"
          f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'mode':<17}{'fmt':>4}{'rows/s':>11}{'seconds':>9}{'proxy CPU s':>13}"
          f"{'client CPU s':>14}{'proxy peak RSS':>16}")
    for mode, count, seconds, peak, cpu, mine, fmt in results:
        if count is None:
            print(f"{mode:<17}{'':>4}{'failed':>11}")
            continue
        print(f"{mode:<17}{'-' if fmt is None else fmt:>4}{count / seconds:>11,.0f}"
              f"{seconds:>9.2f}{cpu:>13.2f}{mine:>14.2f}{peak / 1024:>13.0f} MB")
    print(f"proxy RSS idle before the first mode: {idle_kb / 1024:.0f} MB;"
          f" VmHWM (peak over the proxy's life): {hwm_kb / 1024:.0f} MB")
    print("targets: >= 500,000 rows/s, proxy peak RSS < 150 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
