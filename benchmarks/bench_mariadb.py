"""Point SELECT by primary key on MariaDB: direct, through the proxy, through mysql_fdw.

    python benchmarks/bench_mariadb.py [--seconds 10] [--clients 8] [--queries 20000]

Starts a throwaway MariaDB (tests/fix_servers.py), loads 100,000 rows into
pgbench_accounts with pymysql, and measures the same point SELECT three ways:

  (a) MariaDB itself with `mariadb-slap` (text protocol, TCP, --concurrency
      clients). mariadb-slap has no random-key generator, so the query file
      holds --queries SELECTs with keys drawn at random here (seeded); every
      client runs the whole file each iteration. The number of SELECTs
      actually run is taken from MariaDB's Com_select counter, the time from
      mariadb-slap's "Average number of seconds to run all queries" (best of
      --slap-iterations runs);
  (b) the proxy on that MariaDB, pgbench `-n -f` with `\\set aid random(1,100000)`,
      `-c <clients> -j 2 -T <seconds>`, in `-M simple` and `-M extended`;
  (c) a real PostgreSQL with mysql_fdw (Debian's postgresql-15-mysql-fdw,
      installed with apt when missing) in front of the same MariaDB, the
      foreign table brought in with IMPORT FOREIGN SCHEMA, the same pgbench
      script and modes. The fixture's PostgreSQL user is the bootstrap
      superuser (initdb -U), so CREATE EXTENSION runs as that user.

Prints TPS for each and the ratios proxy/mysql_fdw (issue target: >= 5x) and
proxy/MariaDB direct. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pgbench import pgbench, proxy_env, psql  # noqa: E402
from tests.fix_proxy import run_proxy  # noqa: E402
from tests.fix_servers import (  # noqa: E402
    MariaDBServer,
    PostgreSQLServer,
    apt_install,
    find_postgresql_bindir,
)

ROWS = 100_000
TABLE_DDL = (
    "CREATE TABLE pgbench_accounts (aid INT PRIMARY KEY, bid INT, abalance INT,"
    " filler VARCHAR(84)) ENGINE=InnoDB"
)
POINT_SELECT = "SELECT abalance FROM pgbench_accounts WHERE aid = {aid}"


def load_mariadb(maria: MariaDBServer) -> None:
    import pymysql

    conn = pymysql.connect(
        host=maria.host, port=maria.port, user=maria.user, password=maria.password,
        database=maria.database, autocommit=False,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS pgbench_accounts")
            cur.execute(TABLE_DDL)
            batch = 10_000
            for start in range(1, ROWS + 1, batch):
                cur.executemany(
                    "INSERT INTO pgbench_accounts VALUES (%s, 1, %s, 'x')",
                    [(i, i % 1000) for i in range(start, min(start + batch, ROWS + 1))],
                )
            conn.commit()
            cur.execute("ANALYZE TABLE pgbench_accounts")
            cur.fetchall()
    finally:
        conn.close()


def com_select(maria: MariaDBServer) -> int:
    import pymysql

    conn = pymysql.connect(unix_socket=maria.socket_path, user="root")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Com_select'")
            return int(cur.fetchone()[1])
    finally:
        conn.close()


def mariadb_slap(maria: MariaDBServer, clients: int, queries: int, iterations: int) -> float:
    """TPS of mariadb-slap running `queries` random point SELECTs per client."""
    slap = "mariadb-slap"
    if not _which(slap):
        apt_install("mariadb-client")
    rng = random.Random(42)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("".join(POINT_SELECT.format(aid=rng.randint(1, ROWS)) + ";\n"
                        for _ in range(queries)))
    best = 0.0
    try:
        for _ in range(iterations):
            before = com_select(maria)
            out = subprocess.run(
                [
                    slap,
                    f"--host={maria.host}",
                    f"--port={maria.port}",
                    "--protocol=tcp",
                    f"--user={maria.user}",
                    f"--password={maria.password}",
                    f"--create-schema={maria.database}",
                    "--no-drop",
                    f"--concurrency={clients}",
                    "--iterations=1",
                    f"--query={f.name}",
                    "--delimiter=;",
                ],
                capture_output=True, text=True, check=False,
            )
            ran = com_select(maria) - before
            match = re.search(r"Average number of seconds to run all queries: ([\d.]+)", out.stdout)
            if out.returncode != 0 or not match:
                raise RuntimeError(f"mariadb-slap failed:\n{out.stdout}\n{out.stderr}")
            seconds = float(match.group(1))
            expected = clients * queries
            if abs(ran - expected) > expected * 0.01:
                print(f"  note: Com_select grew by {ran}, expected {expected}", file=sys.stderr)
            best = max(best, ran / seconds)
    finally:
        os.unlink(f.name)
    return best


def _which(name: str) -> bool:
    return any(os.access(os.path.join(d, name), os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep))


def ensure_mysql_fdw() -> None:
    bindir = find_postgresql_bindir()
    version = bindir.rstrip("/").split("/")[-2]
    if not glob.glob(f"/usr/lib/postgresql/{version}/lib/mysql_fdw.so"):
        apt_install(f"postgresql-{version}-mysql-fdw")


def setup_fdw(pg: PostgreSQLServer, maria: MariaDBServer, schema: str = "public") -> None:
    env = {**pg.env(), "PGOPTIONS": f"-c search_path={schema}"}
    psql(
        pg.env(),
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        "CREATE EXTENSION mysql_fdw",
        f"CREATE SERVER mariadb FOREIGN DATA WRAPPER mysql_fdw"
        f" OPTIONS (host '{maria.host}', port '{maria.port}')",
        f"CREATE USER MAPPING FOR CURRENT_USER SERVER mariadb"
        f" OPTIONS (username '{maria.user}', password '{maria.password}')",
        f"IMPORT FOREIGN SCHEMA {maria.database} LIMIT TO (pgbench_accounts)"
        f" FROM SERVER mariadb INTO {schema}",
    )
    # One round trip to check the route works before timing it.
    out = subprocess.run(
        ["psql", "-At", "-c", "SELECT abalance FROM pgbench_accounts WHERE aid = 1234"],
        env=env, capture_output=True, text=True, check=True,
    )
    if out.stdout.strip() != "234":
        raise RuntimeError(f"mysql_fdw returned {out.stdout!r} for aid 1234")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--queries", type=int, default=20_000,
                        help="point SELECTs per mariadb-slap client per run")
    parser.add_argument("--slap-iterations", type=int, default=3)
    args = parser.parse_args()
    ensure_mysql_fdw()
    results: list[tuple[str, str, float]] = []
    with MariaDBServer.started() as maria:
        load_mariadb(maria)
        tps = mariadb_slap(maria, args.clients, args.queries, args.slap_iterations)
        results.append(("mariadb direct (slap)", "text", tps))
        # --log-level info overrides run_proxy's debug (argparse keeps the last one).
        with run_proxy(maria.url, extra_args=("--log-level", "info")) as proxy:
            env = proxy_env(proxy)
            for mode in ("simple", "extended"):
                results.append(("proxy on mariadb", mode,
                                pgbench(env, mode, args.seconds, args.clients)))
            rss = proxy.rss_kb()
        with PostgreSQLServer.started() as pg:
            setup_fdw(pg, maria)
            for mode in ("simple", "extended"):
                results.append(("postgresql+mysql_fdw", mode,
                                pgbench(pg.env(), mode, args.seconds, args.clients)))
    fdw = {mode: tps for name, mode, tps in results if name == "postgresql+mysql_fdw"}
    direct = results[0][2]
    load = os.getloadavg()
    print(f"\npoint SELECT by primary key ({ROWS:,} rows), {args.clients} clients,"
          f" pgbench -T {args.seconds}, {os.cpu_count()} cores,"
          f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'route':<24}{'mode':<10}{'TPS':>10}{'vs mysql_fdw':>14}{'vs MariaDB':>12}")
    for name, mode, tps in results:
        vs_fdw = f"{tps / fdw[mode]:.2f}x" if mode in fdw else "-"
        print(f"{name:<24}{mode:<10}{tps:>10.0f}{vs_fdw:>14}{tps / direct:>11.2f}x")
    for mode in ("simple", "extended"):
        proxy_tps = next(t for n, m, t in results if n == "proxy on mariadb" and m == mode)
        verdict = "meets" if proxy_tps >= 5 * fdw[mode] else "misses"
        print(f"proxy/mysql_fdw ({mode}): {proxy_tps / fdw[mode]:.2f}x"
              f" ({verdict} the 5x target)")
    print(f"proxy RSS after the pgbench runs: {rss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"(total {time.monotonic() - started:.0f} s)")
    sys.exit(code)
