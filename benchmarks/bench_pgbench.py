"""pgbench point SELECTs: the proxy on SQLite (and MariaDB) against PostgreSQL itself.

Starts a throwaway PostgreSQL and, with --mariadb, a throwaway MariaDB (the
same fixtures the tests use), loads 100,000 accounts into each backend, and
runs the same custom pgbench script (`-n -f`, point SELECT by primary key,
8 clients) against PostgreSQL directly and through the proxy, in `-M simple`
and `-M extended`. Prints TPS and the proxy/PostgreSQL ratio.

    python benchmarks/bench_pgbench.py [--seconds 10] [--clients 8] [--mariadb]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fix_proxy import run_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer, PostgreSQLServer, find_postgresql_bindir  # noqa: E402

ROWS = 100_000
SCRIPT = "\\set aid random(1, 100000)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"
SETUP_PG = [
    "DROP TABLE IF EXISTS pgbench_accounts",
    "CREATE TABLE pgbench_accounts (aid integer PRIMARY KEY, bid integer, abalance integer,"
    " filler varchar(84))",
    f"INSERT INTO pgbench_accounts SELECT g, 1, g % 1000, 'x' FROM generate_series(1, {ROWS}) g",
]


def psql(env: dict[str, str], *commands: str) -> None:
    for sql in commands:
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], env=env, check=True)


def pgbench(env: dict[str, str], mode: str, seconds: int, clients: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(SCRIPT)
    bindir = find_postgresql_bindir()
    out = subprocess.run(
        [
            os.path.join(bindir, "pgbench"),
            "-n",
            "-f",
            f.name,
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-M",
            mode,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"tps = ([\d.]+)", out.stdout)
    if not match:
        raise RuntimeError(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    return float(match.group(1))


def load_through_proxy(env: dict[str, str]) -> None:
    """Create and fill the table through the proxy itself, in batches of plain INSERTs."""
    psql(env, "DROP TABLE IF EXISTS pgbench_accounts")
    psql(
        env,
        "CREATE TABLE pgbench_accounts (aid integer PRIMARY KEY, bid integer, abalance integer,"
        " filler varchar(84))",
    )
    batch = 5000
    for start in range(1, ROWS + 1, batch):
        values = ",".join(
            f"({i}, 1, {i % 1000}, 'x')" for i in range(start, min(start + batch, ROWS + 1))
        )
        psql(env, f"INSERT INTO pgbench_accounts VALUES {values}")


def proxy_env(proxy, dbname: str = "bench") -> dict[str, str]:
    return {
        **os.environ,
        "PGHOST": proxy.host,
        "PGPORT": str(proxy.port),
        "PGUSER": proxy.user,
        "PGDATABASE": dbname,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--mariadb", action="store_true", help="also the proxy on MariaDB")
    args = parser.parse_args()
    results: list[tuple[str, str, float]] = []
    with PostgreSQLServer.started() as pg:
        env = pg.env()
        psql(env, *SETUP_PG)
        for mode in ("simple", "extended"):
            tps = pgbench(env, mode, args.seconds, args.clients)
            results.append(("postgresql direct", mode, tps))
    with tempfile.TemporaryDirectory() as tmp, run_proxy(f"sqlite:///{tmp}/bench.db") as proxy:
        env = proxy_env(proxy)
        load_through_proxy(env)
        for mode in ("simple", "extended"):
            tps = pgbench(env, mode, args.seconds, args.clients)
            results.append(("proxy on sqlite", mode, tps))
    if args.mariadb:
        with MariaDBServer.started() as maria, run_proxy(maria.url) as proxy:
            env = proxy_env(proxy)
            load_through_proxy(env)
            for mode in ("simple", "extended"):
                tps = pgbench(env, mode, args.seconds, args.clients)
                results.append(("proxy on mariadb", mode, tps))
    base = {mode: tps for name, mode, tps in results if name == "postgresql direct"}
    print(f"\npoint SELECT by primary key, {args.clients} clients, {args.seconds} s, 2 cores")
    print(f"{'target':<22}{'mode':<10}{'TPS':>10}{'vs PostgreSQL':>16}")
    for name, mode, tps in results:
        print(f"{name:<22}{mode:<10}{tps:>10.0f}{tps / base[mode]:>15.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
