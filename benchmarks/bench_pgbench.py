"""pgbench point SELECTs, every route in one run: PostgreSQL, the proxy on SQLite (query
cache off, and on) and on MariaDB, PostgreSQL + mysql_fdw over the same MariaDB, and
MariaDB itself.

Starts a throwaway PostgreSQL and MariaDB (the test fixtures), loads 100,000
accounts into each backend, and runs the same custom pgbench script (`-n -f`,
point SELECT by primary key) in `-M simple`, `-M extended` and `-M prepared`
for each client count against: PostgreSQL directly; the proxy on SQLite; the
proxy on the same SQLite file with the query cache on (`[query_cache] enabled`,
a TTL longer than the run, room for every row's read), after `--cache-warm`
seconds of the same script per mode (unmeasured; the hit ratio of the measured
runs is printed); the proxy on MariaDB, with the query cache off and on (warmed
the same way); PostgreSQL with mysql_fdw (Debian's
postgresql-15-mysql-fdw, installed with apt when missing) whose foreign table
is the same MariaDB table; and MariaDB directly with mariadb-slap (its text protocol; random keys
from a generated query file, see bench_mariadb.py). Prints TPS per route, mode
and client count, the ratio to PostgreSQL, and proxy-on-MariaDB / mysql_fdw.

    python benchmarks/bench_pgbench.py [--seconds 5] [--clients 1,8,64]
        [--modes simple,extended,prepared] [--no-mariadb] [--mariadb-only]
        [--mysql-drivers asyncmy,pymysql] [--cache-warm 10]

--mariadb-only runs only the MariaDB rows (the proxy, mysql_fdw, mariadb-slap);
--mysql-drivers measures the proxy on MariaDB once per driver (the backend
URL's `driver` option), in the same run. The routes compared take turns on each
mode and client count (PostgreSQL and the proxies on SQLite; the MariaDB
routes), so a load that changes meanwhile falls on them alike.
For each proxy route the table also gives the proxy's CPU per transaction (its
processes' user + system time over the transactions pgbench counted), which a
loaded machine changes far less than TPS.
"""

from __future__ import annotations

import argparse
import contextlib
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
# The cache-on route: an entry for every row's read, none expiring during the run.
CACHE_ON = f"[query_cache]\nenabled = true\nttl = 3600\nmax_entries = {2 * ROWS}\n"
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


def cache_counts(proxy) -> tuple[int, int]:
    """(hits, misses) of the proxy's query cache so far (every worker's: SHOW CACHE)."""
    out = subprocess.run(
        ["psql", "-At", "-F", "=", "-c", "SHOW CACHE"], env=proxy_env(proxy, "pgproxy"),
        capture_output=True, text=True, check=True,
    ).stdout
    stats = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(stats["hits"]), int(stats["misses"])


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
            str(min(2, clients)),
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


MODES = ("simple", "extended", "prepared")
CACHED = "proxy on sqlite, cache on"
CACHED_MARIADB = "proxy on mariadb, cache on"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and all its descendants (its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile
    return total


def proxy_route(driver: str, drivers: list[str]) -> str:
    """The proxy on MariaDB's row name; the driver is named when several are measured."""
    return "proxy on mariadb" if len(drivers) == 1 else f"proxy on mariadb ({driver})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--clients", default="1,8,64", help="client counts, comma-separated")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--no-mariadb", action="store_true",
                        help="PostgreSQL and the proxy on SQLite only")
    parser.add_argument("--mariadb-only", action="store_true",
                        help="the MariaDB rows only: the proxy, mysql_fdw and mariadb-slap")
    parser.add_argument("--mysql-drivers", default="asyncmy",
                        help="the proxy on MariaDB once per driver, comma-separated")
    parser.add_argument("--slap-queries", type=int, default=5000,
                        help="point SELECTs per mariadb-slap client")
    parser.add_argument("--cache-warm", type=int, default=10, metavar="S",
                        help="seconds of the script per mode, unmeasured, before each cache-on "
                             "route (0: no such routes)")
    args = parser.parse_args()
    from benchmarks.bench_mariadb import ensure_mysql_fdw, load_mariadb, mariadb_slap, setup_fdw

    clients = [int(c) for c in args.clients.split(",")]
    drivers = args.mysql_drivers.split(",")
    modes = args.modes.split(",")
    results: dict[tuple[str, str, int], float] = {}

    cpu: dict[tuple[str, str, int], float] = {}  # proxy CPU µs per transaction
    notes: list[str] = []

    def run_all(routes: dict[str, dict[str, str]], pids: dict[str, int] | None = None) -> None:
        """Each (clients, mode) on every route in turn: routes compared share the load."""
        for n in clients:
            for mode in modes:
                for route, env in routes.items():
                    pid = (pids or {}).get(route)
                    before = cpu_seconds(pid) if pid else 0.0
                    tps = results[route, mode, n] = pgbench(env, mode, args.seconds, n)
                    note = ""
                    if pid:
                        used = cpu[route, mode, n] = (
                            (cpu_seconds(pid) - before) / (tps * args.seconds) * 1e6)
                        note = f"  {used:6.0f} µs proxy CPU/transaction"
                    print(f"  {route:<28}{mode:<10}{n:>4} clients {tps:>9.0f} TPS{note}",
                          file=sys.stderr)

    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(PostgreSQLServer.started())
        if not args.mariadb_only:
            psql(pg.env(), *SETUP_PG)
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{tmp}/bench.db"
            # Both proxies up at once, on one SQLite file, so that PostgreSQL and they take
            # turns on each mode and client count, as the MariaDB routes do.
            with contextlib.ExitStack() as sqlite:
                proxy = sqlite.enter_context(run_proxy(url, extra_args=("--log-level", "info")))
                load_through_proxy(proxy_env(proxy))
                routes = {"postgresql": pg.env(), "proxy on sqlite": proxy_env(proxy)}
                pids = {"proxy on sqlite": proxy.proc.pid}
                if args.cache_warm:
                    cached = sqlite.enter_context(run_proxy(
                        url, config=CACHE_ON, extra_args=("--log-level", "info")))
                    for mode in modes:
                        pgbench(proxy_env(cached), mode, args.cache_warm, max(clients))
                    routes[CACHED], pids[CACHED] = proxy_env(cached), cached.proc.pid
                    before = cache_counts(cached)
                run_all(routes, pids)
                if args.cache_warm:
                    hits, misses = (a - b for a, b in zip(cache_counts(cached), before,
                                                          strict=True))
                    notes.append(f"{CACHED}: {hits / max(1, hits + misses):.1%} of the measured "
                                 f"reads were cache hits, after {args.cache_warm} s per mode "
                                 f"of warm-up at {max(clients)} clients")
        if not args.no_mariadb:
            ensure_mysql_fdw()
            maria = stack.enter_context(MariaDBServer.started())
            load_mariadb(maria)
            # The foreign table in a schema of its own, beside PostgreSQL's own table.
            setup_fdw(pg, maria, schema="fdw")
            routes, pids = {}, {}
            for driver in drivers:
                url = f"{maria.url}?driver={driver}"
                proxy = stack.enter_context(run_proxy(url, extra_args=("--log-level", "info")))
                routes[proxy_route(driver, drivers)] = proxy_env(proxy)
                pids[proxy_route(driver, drivers)] = proxy.proc.pid
            if args.cache_warm:
                proxy = stack.enter_context(run_proxy(
                    f"{maria.url}?driver={drivers[0]}", config=CACHE_ON,
                    extra_args=("--log-level", "info")))
                for mode in modes:
                    pgbench(proxy_env(proxy), mode, args.cache_warm, max(clients))
                routes[CACHED_MARIADB] = proxy_env(proxy)
                pids[CACHED_MARIADB] = proxy.proc.pid
                cached_maria = proxy
                before_maria = cache_counts(proxy)
            routes["postgresql+mysql_fdw"] = {**pg.env(), "PGOPTIONS": "-c search_path=fdw"}
            run_all(routes, pids)
            if args.cache_warm:
                hits, misses = (a - b for a, b in zip(cache_counts(cached_maria), before_maria,
                                                      strict=True))
                notes.append(f"{CACHED_MARIADB}: {hits / max(1, hits + misses):.1%} of the "
                             f"measured reads were cache hits, after {args.cache_warm} s per "
                             f"mode of warm-up at {max(clients)} clients")
            for n in clients:
                results["mariadb direct (slap)", "text", n] = mariadb_slap(
                    maria, n, args.slap_queries, 1)
    load = os.getloadavg()
    print(f"\npoint SELECT by primary key ({ROWS:,} rows), pgbench -n -T {args.seconds},"
          f" {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'route':<28}{'mode':<10}" + "".join(f"{f'{n} clients':>12}" for n in clients)
          + "".join(f"{f'vs PG {n}':>10}" for n in clients))
    for route in dict.fromkeys(r for r, _, _ in results):
        for mode in dict.fromkeys(m for r, m, _ in results if r == route):
            tps = [results.get((route, mode, n)) for n in clients]
            base = [results.get(("postgresql", mode, n)) for n in clients]
            print(f"{route:<28}{mode:<10}"
                  + "".join(f"{t:>12.0f}" if t else f"{'-':>12}" for t in tps)
                  + "".join(f"{t / b:>9.2f}x" if t and b else f"{'-':>10}"
                            for t, b in zip(tps, base, strict=True)))
    if cpu:
        print("\nproxy CPU µs per transaction (its processes' user + system time)")
        for route in dict.fromkeys(r for r, _, _ in cpu):
            for mode in dict.fromkeys(m for r, m, _ in cpu if r == route):
                print(f"{route:<28}{mode:<10}" + "".join(
                    f"{cpu[route, mode, n]:>12.1f}" if (route, mode, n) in cpu else f"{'-':>12}"
                    for n in clients))
    for note in notes:
        print(note)
    for route, target in (("proxy on sqlite", 0.5), (CACHED, 1.0)):
        for n in clients:
            for mode in modes:
                tps, base = results.get((route, mode, n)), results.get(("postgresql", mode, n))
                if tps and base:
                    print(f"{route} / postgresql, {mode}, {n} clients: {tps / base:.2f}x"
                          f" (target >= {target}x)")
    for route in [proxy_route(driver, drivers) for driver in drivers] + [CACHED_MARIADB]:
        for n in clients:
            for mode in modes:
                proxy_tps = results.get((route, mode, n))
                fdw = results.get(("postgresql+mysql_fdw", mode, n))
                if proxy_tps and fdw:
                    print(f"{route} / mysql_fdw, {mode}, {n} clients: {proxy_tps / fdw:.2f}x"
                          " (target >= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
