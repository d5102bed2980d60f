"""Where the proxy's microseconds go per point SELECT: a cProfile table of the serving process.

The proxy runs as a real process (`pgproxy serve` on SQLite, one worker) with
cProfile armed by signals: after a warm-up, profiling is switched on for
`--queries` statements of each protocol form (psycopg, one client) and the
functions that spent the most time of their own are printed, in µs per
statement and as a share of the profiled total. cProfile's own overhead
inflates every Python call about alike, so read the shares, not the sums, and
compare CPU with bench_statement.py / bench_instructions.py. `--mysql` profiles the
proxy on a throwaway MariaDB (the test fixture) instead of SQLite; `--cache` profiles
query cache hits (the cache on, every key read three times before profiling starts: the first
read fills the cache, the second, a hit on the full path, teaches the wire, the third is
its first answer there, checked: the hits profiled are a request's steady state);
`--transaction` profiles each SELECT in a transaction block of its own (psycopg without
autocommit: BEGIN, the SELECT, COMMIT), the full path that reads in transactions take.

    python benchmarks/bench_profile.py [--queries 3000] [--top 25] [--root DIR] [--mysql]
                                       [--cache] [--transaction]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fix_servers import MariaDBServer, free_port  # noqa: E402

SQL = "SELECT id, name FROM t WHERE id = %s"
# The serving process: cProfile on at SIGUSR1, off and dumped at SIGUSR2, both run
# on the event loop's thread.
_BOOT = """
import asyncio, cProfile, signal, sys
import pgproxy.cli as cli
prof, path = cProfile.Profile(), sys.argv[1]
def off():
    prof.disable(); prof.dump_stats(path); prof.clear()
serve = cli.serve
async def profiled(*args, **kwargs):
    # Through the loop (uvloop runs no Python signal handler of its own).
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, prof.enable)
    loop.add_signal_handler(signal.SIGUSR2, off)
    await serve(*args, **kwargs)
cli.serve = profiled
sys.argv = ["pgproxy", *sys.argv[2:]]
sys.exit(cli.main())
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--dump", help="keep each form's profile as DUMP.<n> (for pstats)")
    ap.add_argument("--root", default=str(ROOT), help="the checkout whose pgproxy runs")
    ap.add_argument("--mysql", action="store_true", help="the proxy on a throwaway MariaDB")
    ap.add_argument("--cache", action="store_true",
                    help="the query cache on, every key read three times first: hits profiled")
    ap.add_argument("--transaction", action="store_true",
                    help="each SELECT in a transaction block of its own (BEGIN, COMMIT)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pgproxy-profile-")
    with contextlib.ExitStack() as stack:
        if args.mysql:
            url = stack.enter_context(MariaDBServer.started()).url
        else:
            url = f"sqlite:///{os.path.join(work, 'app.db')}"
        _profile(args, work, url)


def _profile(args: argparse.Namespace, work: str, url: str) -> None:
    port = free_port()
    out = os.path.join(work, "profile.out")
    served = ["serve", "--listen", f"127.0.0.1:{port}", "--backend", url, "--log-level", "warning"]
    if args.cache:
        config = os.path.join(work, "pgproxy.toml")
        with open(config, "w") as f:
            f.write("[query_cache]\nenabled = true\nttl = 3600\nmax_entries = 10000\n")
        served += ["--config", config]
    proc = subprocess.Popen(
        [sys.executable, "-c", _BOOT, out, *served],
        cwd=work, env={**os.environ, "PYTHONPATH": args.root, "PGPROXY_WORKERS": "1"},
    )
    dsn = f"host=127.0.0.1 port={port} user=tester dbname=app"
    try:
        _wait(dsn, proc)
        with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
            conn.execute("DROP TABLE IF EXISTS t")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            cur.executemany("INSERT INTO t VALUES (%s, %s)", [(i, f"n{i}") for i in range(1000)])
        forms = {
            "extended, prepared": (psycopg.Cursor, lambda c, i: c.execute(
                SQL, (i % 1000,), prepare=True)),
            "extended, unnamed": (psycopg.Cursor, lambda c, i: c.execute(
                SQL, (i % 1000,), prepare=False)),
            "simple, literal varies": (psycopg.ClientCursor, lambda c, i: c.execute(
                SQL, (i % 1000,))),
        }
        for label, (factory, run) in forms.items():
            with psycopg.connect(dsn, autocommit=not args.transaction,
                                 cursor_factory=factory) as conn:
                for i in range(3000 if args.cache else 200):
                    run(conn, i).fetchone()
                    if args.transaction:
                        conn.commit()
                proc.send_signal(signal.SIGUSR1)
                time.sleep(0.2)
                for i in range(args.queries):
                    run(conn, i).fetchone()
                    if args.transaction:
                        conn.commit()
                if os.path.exists(out):
                    os.remove(out)
                proc.send_signal(signal.SIGUSR2)
            deadline = time.monotonic() + 30
            while not os.path.exists(out) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)  # the dump may still be being written
            _print(label, pstats.Stats(out), args.queries, args.top)
            if args.dump:
                shutil.copy(out, f"{args.dump}.{list(forms).index(label)}")
    finally:
        proc.terminate()
        proc.wait(60)


def _print(label: str, stats: pstats.Stats, n: int, top: int) -> None:
    rows = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in rows.values())
    calls = sum(nc for (_, nc, _, _, _) in rows.values())
    print(f"\n{label}: {total / n * 1e6:.1f} µs profiled, {calls / n:.1f} calls per statement")
    # By module: the package's parts, C functions called from Python, the rest.
    parts: dict[str, list[float]] = {}
    for (path, _, name), (_, nc, tt, _, _) in rows.items():
        where = Path(path)
        if name == "flush" and where.name == "connection.py":
            # uvloop's transport.write, a C method cProfile does not see: the send system
            # call, in wall time, with the client being scheduled on a loaded machine.
            module = "socket write (connection.flush)"
        elif path == "~":
            module = "C calls (builtins, apsw, struct ...)"
        elif "pgproxy" in where.parts or "dialects" in where.parts:
            top_dir = "pgproxy" if "pgproxy" in where.parts else "dialects"
            module = "/".join(where.parts[where.parts.index(top_dir):])
        else:
            module = f"other ({where.name})" if where.suffix == ".py" else "generated code"
        part = parts.setdefault(module, [0.0, 0.0])
        part[0] += tt
        part[1] += nc
    print(f"{'µs/stmt':>8} {'share':>6} {'calls':>6}  module")
    for module, (tt, nc) in sorted(parts.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"{tt / n * 1e6:8.2f} {tt / total:6.1%} {nc / n:6.1f}  {module}")
    print(f"{'µs/stmt':>8} {'share':>6} {'calls':>6}  function")
    ranked = sorted(rows.items(), key=lambda kv: -kv[1][2])[:top]
    for (path, line, name), (_, nc, tt, _, _) in ranked:
        where = f"{Path(path).name}:{line}" if path != "~" else "~"
        print(f"{tt / n * 1e6:8.2f} {tt / total:6.1%} {nc / n:6.1f}  {where}({name})")


def _wait(dsn: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            psycopg.connect(dsn, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.2)
    sys.exit("the proxy did not start")


if __name__ == "__main__":
    main()
