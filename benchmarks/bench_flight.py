"""Arrow Flight SQL against the PostgreSQL wire: the same result to an ADBC client and to psycopg.

Run: python benchmarks/bench_flight.py [--rows 1000000] [--no-mariadb] [--rounds 2]
                                       [--ingest 200000]

Builds a table of --rows rows x (bigint, text, double precision, timestamp) in SQLite
and in a throwaway MariaDB, starts the proxy on each with its Flight SQL endpoint
(`--flight`), and reads the whole table with each client in turn, --rounds times (the
best of each is printed):
- ADBC's Flight SQL driver (adbc-driver-flightsql, DB-API), record batch by batch;
- psycopg through the PostgreSQL wire, a server-side cursor in binary, 10,000 rows a fetch.
Prints rows/s, the proxy's CPU seconds and its peak RSS during each read (VmRSS sampled
every 20 ms), and the proxy's VmHWM. Then loading into SQLite: --ingest rows by ADBC's bulk
ingest (CommandStatementIngest) and by psycopg's COPY FROM STDIN, rows/s. Asserts nothing;
the machine may be shared: the core count and load average are printed with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pymysql  # noqa: E402

from benchmarks.bench_stream import RssSampler, make_db, proc_cpu, proc_status  # noqa: E402
from tests.fix_flight import FlightProxy, run_flight_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer  # noqa: E402

QUERY = "SELECT id, name, score, created FROM stream_rows"
QUIET = ("--log-level", "info")  # the fixture's debug logging would be measured too


def load_mariadb(server: MariaDBServer, rows: int) -> None:
    conn = pymysql.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password, database=server.database)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS stream_rows")
        cur.execute("CREATE TABLE stream_rows (id BIGINT PRIMARY KEY, name TEXT, "
                    "score DOUBLE, created DATETIME(6))")
        batch = 5000
        for start in range(0, rows, batch):
            cur.executemany(
                "INSERT INTO stream_rows VALUES (%s, %s, %s, TIMESTAMPADD(SECOND, %s, "
                "'2024-01-01'))",
                [(i, f"name-{i:07d}", i * 0.25, i)
                 for i in range(start, min(start + batch, rows))])
    conn.commit()
    conn.close()


def read_adbc(fp: FlightProxy) -> tuple[int, int]:
    """(rows, sum of ids) read over Flight SQL, batch by batch."""
    rows = total = 0
    with fp.connect() as conn, conn.cursor() as cur:
        cur.execute(QUERY)
        reader = cur.fetch_record_batch()
        for batch in reader:
            rows += batch.num_rows
            total += pc.sum(batch.column(0)).as_py() or 0
    return rows, total


def read_psycopg(fp: FlightProxy) -> tuple[int, int]:
    """(rows, sum of ids) read through the wire: a server-side cursor, binary."""
    rows = total = 0
    with psycopg.connect(fp.proxy.dsn()) as conn:
        with conn.cursor(name="bench", binary=True) as cur:
            cur.itersize = 10_000
            cur.execute(QUERY)
            while batch := cur.fetchmany(10_000):
                rows += len(batch)
                total += sum(r[0] for r in batch)
    return rows, total


def measure(label: str, fp: FlightProxy, rounds: int) -> None:
    """Each client's best of `rounds`, the clients taking turns (a backend still busy
    after the load would otherwise slow whichever read came first)."""
    pid = fp.proxy.proc.pid
    clients = (("adbc flight sql", read_adbc), ("psycopg wire", read_psycopg))
    best: dict[str, tuple[int, float, float, int, int]] = {}
    for _ in range(rounds):
        for client, read in clients:
            sampler = RssSampler(pid)
            sampler.start()
            cpu0, t0 = proc_cpu(pid), time.perf_counter()
            rows, checksum = read(fp)
            seconds = time.perf_counter() - t0
            cpu = proc_cpu(pid) - cpu0
            peak = sampler.stop()
            if client not in best or seconds < best[client][1]:
                best[client] = (rows, seconds, cpu, peak, checksum)
    for client, _ in clients:
        rows, seconds, cpu, peak, checksum = best[client]
        print(f"{label:8} {client:16} {rows:>9,} rows {seconds:7.2f} s "
              f"{rows / seconds:>11,.0f} rows/s  proxy CPU {cpu:6.2f} s  "
              f"proxy peak RSS {peak / 1024:6.0f} MB  (checksum {checksum})", flush=True)
    print(f"{label:8} proxy VmHWM over its life: {proc_status(pid, 'VmHWM') / 1024:.0f} MB")


def ingest(label: str, fp: FlightProxy, rows: int) -> None:
    """Loading: ADBC's bulk ingest (CommandStatementIngest) against psycopg's COPY FROM."""
    data = pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "name": pa.array([f"name-{i:07d}" for i in range(rows)]),
        "score": pa.array([i * 0.25 for i in range(rows)]),
        "created": pa.array(range(rows), pa.timestamp("us")),
    })
    pid = fp.proxy.proc.pid
    cpu0, t0 = proc_cpu(pid), time.perf_counter()
    with fp.connect() as conn, conn.cursor() as cur:
        loaded = cur.adbc_ingest("ingest_adbc", data, mode="replace")
    seconds, cpu = time.perf_counter() - t0, proc_cpu(pid) - cpu0
    print(f"{label:8} {'adbc ingest':16} {loaded:>9,} rows {seconds:7.2f} s "
          f"{loaded / seconds:>11,.0f} rows/s  proxy CPU {cpu:6.2f} s", flush=True)
    with psycopg.connect(fp.proxy.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS ingest_copy")
        conn.execute("CREATE TABLE ingest_copy (id bigint, name text, score double precision, "
                      "created timestamp)")
        values = data.to_pylist()
        cpu0, t0 = proc_cpu(pid), time.perf_counter()
        with conn.cursor().copy("COPY ingest_copy FROM STDIN") as copy:
            for row in values:
                copy.write_row((row["id"], row["name"], row["score"], row["created"]))
        seconds, cpu = time.perf_counter() - t0, proc_cpu(pid) - cpu0
    print(f"{label:8} {'psycopg COPY':16} {rows:>9,} rows {seconds:7.2f} s "
          f"{rows / seconds:>11,.0f} rows/s  proxy CPU {cpu:6.2f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-mariadb", action="store_true")
    parser.add_argument("--ingest", type=int, default=200_000,
                        help="rows loaded by ADBC ingest and by COPY into SQLite (0: none)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; {args.rows:,} rows x 4 columns "
          "(bigint, text, double precision, timestamp)", flush=True)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-flight-"))
        db = f"{tmp}/stream.db"
        make_db(db, args.rows)
        fp = stack.enter_context(run_flight_proxy(
            "", config=f'[backends]\napp = "sqlite:///{db}"\n', extra_args=QUIET))
        measure("sqlite", fp, args.rounds)
        if args.ingest:
            ingest("sqlite", fp, args.ingest)
        if not args.no_mariadb:
            maria = stack.enter_context(MariaDBServer.started())
            load_mariadb(maria, args.rows)
            fp = stack.enter_context(run_flight_proxy(
                "", config=f'[backends]\napp = "{maria.url}"\n', extra_args=QUIET))
            measure("mariadb", fp, args.rounds)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
