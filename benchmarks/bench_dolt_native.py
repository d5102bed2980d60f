"""Point SELECT by primary key: embedded Dolt (libdolt through cffi) against
pymysql to a `dolt sql-server`, plus the cost of the row hand-off per batch.

    python benchmarks/bench_dolt_native.py [--seconds 5] [--clients 1,8] [--rows 10000]

Builds native/build/libdolt.so and the `dolt` command (into ~/.cache/pgproxy)
when missing, as the tests do. Figures go to stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fix_dolt import (
    build_dolt_cli,
    build_libdolt,
    dolt_init,
    run_dolt_server,
)

TABLE = "CREATE TABLE kv (id INT PRIMARY KEY, name VARCHAR(40), qty INT, price DECIMAL(10,2))"


def fill(execute: Callable[[str], object], nrows: int) -> None:
    for start in range(0, nrows, 1000):
        values = ",".join(
            f"({i}, 'name-{i}', {i % 97}, {i % 1000}.25)"
            for i in range(start, min(start + 1000, nrows))
        )
        execute(f"INSERT INTO kv VALUES {values}")


def run_clients(clients: int, seconds: float, make_query: Callable[[], Callable[[int], object]],
                nrows: int) -> float:
    """Queries per second over `clients` threads, each with its own connection."""
    counts = [0] * clients
    start_line = threading.Barrier(clients + 1)
    stop = threading.Event()

    def worker(n: int) -> None:
        query = make_query()
        rnd = random.Random(n)
        start_line.wait()
        done = 0
        while not stop.is_set():
            for _ in range(50):
                query(rnd.randrange(nrows))
            done += 50
        counts[n] = done

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    start_line.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--stream-rows", type=int, default=100000)
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    t0 = time.perf_counter()
    build_libdolt()
    dolt = build_dolt_cli()
    print(f"# builds ready in {time.perf_counter() - t0:.1f}s")

    from pgproxy.backends import dolt as dolt_backend

    with tempfile.TemporaryDirectory(prefix="bench-dolt-") as tmp:
        tmpdir = Path(tmp)
        home = tmpdir / "home"
        home.mkdir()

        t0 = time.perf_counter()
        backend = dolt_backend.DoltBackend(f"dolt://{tmpdir}/embedded?database=bench")
        print(f"# embedded engine cold open: {(time.perf_counter() - t0) * 1000:.0f} ms "
              f"({backend.version})")
        setup = backend.connect()
        setup.execute(TABLE, ()).close()
        fill(lambda q: setup.execute(q, ()).close(), args.rows)

        def embedded_query() -> Callable[[int], object]:
            conn = backend.connect()

            def q(k: int) -> object:
                cur = conn.execute("SELECT id, name, qty, price FROM kv WHERE id = ?", (k,))
                row = cur.fetch(100)
                cur.close()
                return row

            return q

        server_dir = tmpdir / "server"
        server_dir.mkdir()
        dolt_init(dolt, server_dir, "bench", home)
        results: dict[tuple[str, int], float] = {}
        with run_dolt_server(dolt, server_dir, "bench", home) as server:
            sconn = server.connect()
            with sconn.cursor() as cur:
                cur.execute(TABLE)
                fill(cur.execute, args.rows)
            sconn.close()

            def server_query() -> Callable[[int], object]:
                conn = server.connect()
                cur = conn.cursor()

                def q(k: int) -> object:
                    cur.execute("SELECT id, name, qty, price FROM kv WHERE id = %s", (k,))
                    return cur.fetchall()

                return q

            for n in clients:
                results[("embedded libdolt (cffi)", n)] = run_clients(
                    n, args.seconds, embedded_query, args.rows)
                results[("pymysql -> dolt sql-server", n)] = run_clients(
                    n, args.seconds, server_query, args.rows)

        print(f"\npoint SELECT by primary key, {args.rows} rows, {args.seconds:.0f} s per run")
        print(f"{'path':32} {'clients':>7} {'queries/s':>10}")
        for (path, n), qps in results.items():
            print(f"{path:32} {n:>7} {qps:>10.0f}")
        for n in clients:
            embedded = results[("embedded libdolt (cffi)", n)]
            ratio = embedded / results[("pymysql -> dolt sql-server", n)]
            print(f"embedded / server, {n} clients: {ratio:.2f}x")

        # The hand-off: the same result read one row per call, then in batches.
        # A cross join, since Dolt caps recursive CTEs at 10,000 iterations.
        stream = (
            "SELECT a.id, a.name, b.qty, a.price FROM kv a JOIN kv b "
            f"LIMIT {args.stream_rows}"
        )
        print(f"\nstreaming {args.stream_rows} rows x 4 columns through the library "
              "(best of 3)")
        for size in (1, 10, 100, 1000, 10000):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                cur = setup.execute(stream, ())
                got = 0
                while batch := cur.fetch(size):
                    got += len(batch)
                best = min(best, time.perf_counter() - t0)
                assert got == args.stream_rows
            print(f"fetch({size:>5}): {got / best:>10.0f} rows/s  ({best:.2f} s)")
        setup.close()
        backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
