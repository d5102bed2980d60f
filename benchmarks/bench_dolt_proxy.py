"""pgbench point SELECTs through the proxy: embedded Dolt vs the dolt sql-server backend.

Both proxies serve the same table (pgbench_accounts, 10,000 rows) and run the
same custom pgbench script, a SELECT by primary key, with 8 clients:

  proxy -> dolt://dir?database=mydb         (libdolt in the proxy's process)
  proxy -> dolt+mysql://root@host:port/mydb (a `dolt sql-server`, through pymysql)

Then each backend directly, 8 threads, without the proxy (libdolt calls vs
pymysql to the server), and the proxy's RSS over 100,000 embedded queries
(pgbench -t after a warm-up; target: flat within 10 MB).

    python benchmarks/bench_dolt_proxy.py [--seconds 10] [--clients 8] [--mode prepared]

Needs Go (libdolt and the dolt command are built as the tests build them) and pgbench.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.fix_dolt import build_dolt_cli, build_libdolt, dolt_init, run_dolt_server  # noqa: E402
from tests.fix_proxy import run_proxy  # noqa: E402

ROWS = 10_000
SCRIPT = f"\\set aid random(1, {ROWS})\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"


def load(proxy) -> None:
    with psycopg.connect(proxy.dsn("mydb"), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pgbench_accounts")
        conn.execute("CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, "
                     "abalance int, filler varchar(84))")
        with conn.cursor() as cur:
            for start in range(1, ROWS + 1, 1000):
                values = ",".join(f"({i}, 1, {i % 1000}, 'x')"
                                  for i in range(start, min(start + 1000, ROWS + 1)))
                cur.execute(f"INSERT INTO pgbench_accounts VALUES {values}")


def pgbench(proxy, script: Path, clients: int, mode: str, *, seconds: int = 0,
            transactions: int = 0) -> float:
    args = ["pgbench", "-n", "-f", str(script), "-c", str(clients), "-j", str(clients),
            "-M", mode, "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user]
    args += ["-T", str(seconds)] if seconds else ["-t", str(transactions)]
    out = subprocess.run([*args, "mydb"], capture_output=True, text=True,
                         env={**os.environ, "PGPASSWORD": proxy.password or ""})
    m = re.search(r"tps = ([\d.]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    return float(m.group(1))


def threaded(make_conn, run, clients: int, seconds: float) -> float:
    """Point SELECTs per second from `clients` threads, each with its own connection."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        conn = make_conn()
        n = 0
        while time.monotonic() < stop:
            run(conn, (n * 7919 + i) % ROWS + 1)
            n += 1
        counts[i] = n
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--mode", default="prepared", choices=["simple", "extended", "prepared"])
    parser.add_argument("--rss-queries", type=int, default=100_000)
    args = parser.parse_args()
    if shutil.which("pgbench") is None:
        print("pgbench is not installed", file=sys.stderr)
        return 2
    libdolt, dolt = build_libdolt(), build_dolt_cli()
    os.environ.setdefault("PGPROXY_LIBDOLT", str(libdolt))
    work = Path(tempfile.mkdtemp(prefix="bench-dolt-proxy-"))
    script = work / "point.sql"
    script.write_text(SCRIPT)
    home = work / "home"
    home.mkdir()
    served_dir = work / "served"
    dolt_init(dolt, served_dir, "mydb", home)
    results: dict[str, float] = {}
    print(f"point SELECT by primary key, {ROWS} rows, {args.clients} clients, "
          f"{args.seconds}s, pgbench -M {args.mode}")
    with run_proxy(f"dolt://{work / 'embedded'}?database=mydb",
                   extra_args=("--log-level", "warning")) as proxy:
        load(proxy)
        pgbench(proxy, script, args.clients, args.mode, seconds=2)  # warm-up
        results["proxy -> embedded dolt"] = pgbench(
            proxy, script, args.clients, args.mode, seconds=args.seconds)
        # RSS: a warm-up, then --rss-queries more, read from /proc
        per_client = max(1, args.rss_queries // args.clients)
        pgbench(proxy, script, args.clients, args.mode, transactions=10_000 // args.clients)
        before = proxy.rss_kb()
        samples = []
        for _ in range(4):
            pgbench(proxy, script, args.clients, args.mode, transactions=per_client // 4)
            samples.append(proxy.rss_kb())
        print(f"proxy RSS over {per_client * args.clients:,} embedded queries after warm-up: "
              f"{before / 1024:.1f} MB -> " + " -> ".join(f"{s / 1024:.1f}" for s in samples)
              + f" MB (growth {(samples[-1] - before) / 1024:+.1f} MB; target < 10 MB)")
    with run_dolt_server(dolt, served_dir, "mydb", home) as server:
        with run_proxy(server.url, extra_args=("--log-level", "warning")) as proxy:
            load(proxy)
            pgbench(proxy, script, args.clients, args.mode, seconds=2)
            results["proxy -> dolt sql-server"] = pgbench(
                proxy, script, args.clients, args.mode, seconds=args.seconds)

        def pm_conn():
            return server.connect()

        def pm_run(conn, aid):
            with conn.cursor() as cur:
                cur.execute("SELECT abalance FROM pgbench_accounts WHERE aid = %s", (aid,))
                cur.fetchall()

        results["direct: pymysql -> dolt sql-server"] = threaded(
            pm_conn, pm_run, args.clients, args.seconds)

    from pgproxy.backends.dolt import DoltBackend

    backend = DoltBackend(f"dolt://{work / 'embedded'}?database=mydb")

    def dl_run(conn, aid):
        cur = conn.execute("SELECT abalance FROM pgbench_accounts WHERE aid = ?", (aid,))
        cur.fetch(10)
        cur.close()

    results["direct: libdolt (cffi) in-process"] = threaded(
        backend.connect, dl_run, args.clients, args.seconds)
    backend.close()

    width = max(map(len, results))
    for name, tps in results.items():
        print(f"  {name:<{width}}  {tps:>10,.0f} queries/s")
    ratio = results["proxy -> embedded dolt"] / results["proxy -> dolt sql-server"]
    print(f"embedded / sql-server through the proxy: {ratio:.2f}x (target >= 1.5x)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
