"""The proxy's own cost per point SELECT in instructions, counted by valgrind's callgrind.

CPU time on a shared machine moves by tens of percent with the load; the
instructions the proxy process executes per statement (every thread, counted
by callgrind) move by about one percent, so two versions can be compared on a
busy machine. The proxy runs under `valgrind --tool=callgrind` with counting
off; after a warm-up, counting is switched on for `--queries` statements of
each protocol form and the total is divided by their number.

    python benchmarks/bench_instructions.py [--queries 300] [--root DIR]

`--root` runs another checkout's pgproxy (a baseline) with this script.
`--objects N` also prints, per protocol form, the N shared objects (the Python
interpreter, apsw and SQLite, libc, ...) whose own code ran the most
instructions: where the remaining cost is, and what compiling could reach;
`--functions N` the N C functions (the interpreter's eval loop, allocator,
dict lookups ...) that did. `--mysql` counts the proxy on a throwaway MariaDB (the
test fixture; its server's instructions are not counted) instead of SQLite.
`--floor` counts bench_floor.py's responder instead of the proxy, on the same
SQLite table: the least a Python + uvloop + apsw server executes per point
SELECT, so that the proxy's count minus it is what its statement path costs.
`--cache` counts query cache hits: the proxy runs with `[query_cache] enabled` and
every key of each form is read three times before counting starts: the
first read fills the cache, the second (a hit on the full path) teaches the wire, the
third is the wire's first answer, checked against the request's bytes: the hits counted
are a request's steady state.
`--transaction` counts each SELECT in a transaction block of its own (psycopg without
autocommit: BEGIN, the SELECT, COMMIT; per transaction), the full path that reads in
transactions take.
Needs valgrind (apt-get install valgrind).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shutil
import sqlite3
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--root", default=str(ROOT), help="the checkout whose pgproxy runs")
    ap.add_argument("--objects", type=int, default=0,
                    help="print the N shared objects with the most instructions per form")
    ap.add_argument("--functions", type=int, default=0,
                    help="print the N functions (C level: the interpreter's, the "
                         "extensions') with the most instructions of their own per form")
    ap.add_argument("--mysql", action="store_true", help="the proxy on a throwaway MariaDB")
    ap.add_argument("--floor", action="store_true",
                    help="bench_floor.py's bare responder instead of the proxy (SQLite)")
    ap.add_argument("--cache", action="store_true",
                    help="the query cache on, every key read three times first: hits counted")
    ap.add_argument("--transaction", action="store_true",
                    help="each SELECT in a transaction block of its own (BEGIN, COMMIT)")
    args = ap.parse_args()
    if args.floor and (args.mysql or args.cache):
        sys.exit("--floor answers from SQLite only, with no cache")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    work = tempfile.mkdtemp(prefix="pgproxy-instructions-")
    with contextlib.ExitStack() as stack:
        if args.mysql:
            url = stack.enter_context(MariaDBServer.started()).url
        else:
            db = os.path.join(work, "app.db")
            url = f"sqlite:///{db}"
            with sqlite3.connect(db) as c:
                c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
                c.executemany("INSERT INTO t VALUES (?, ?)",
                              [(i, f"n{i}") for i in range(1000)])
        _count(args, work, url)


def _count(args: argparse.Namespace, work: str, url: str) -> None:
    port = free_port()
    out = os.path.join(work, "callgrind.out")
    if args.floor:
        from benchmarks.bench_floor import _RESPONDER

        served = [sys.executable, "-c", _RESPONDER, str(port), url.removeprefix("sqlite:///")]
        what = "the floor (bench_floor.py's responder, no proxy) on sqlite"
    else:
        served = [sys.executable, "-m", "pgproxy", "serve", "--listen", f"127.0.0.1:{port}",
                  "--backend", url, "--log-level", "warning"]
        what = f"the proxy on {url.split(':')[0]} ({args.root})"
        if args.cache:
            config = os.path.join(work, "pgproxy.toml")
            with open(config, "w") as f:
                f.write("[query_cache]\nenabled = true\nttl = 3600\nmax_entries = 10000\n")
            served += ["--config", config]
            what += ", query cache hits"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
         "--instr-atstart=no", *served],
        # One process (PGPROXY_WORKERS, which an older checkout under --root ignores).
        cwd=work, env={**os.environ, "PYTHONPATH": args.root, "PGPROXY_WORKERS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    dsn = f"host=127.0.0.1 port={port} user=tester dbname=app"
    try:
        _wait(dsn, proc)
        if args.mysql:
            with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
                conn.execute("DROP TABLE IF EXISTS t")
                conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
                cur.executemany("INSERT INTO t VALUES (%s, %s)",
                                [(i, f"n{i}") for i in range(1000)])
        forms = {
            "extended, prepared": (psycopg.Cursor, lambda c, i: c.execute(
                SQL, (i % 1000,), prepare=True)),
            "extended, unnamed": (psycopg.Cursor, lambda c, i: c.execute(
                SQL, (i % 1000,), prepare=False)),
            "simple, literal varies": (psycopg.ClientCursor, lambda c, i: c.execute(
                SQL, (i % 1000,))),
        }
        each = "transactions (BEGIN, SELECT, COMMIT)" if args.transaction else "statements"
        print(f"point SELECT through {what}, {args.queries} {each} each")
        print(f"{'protocol':24s} {'k instructions/stmt':>20s}")
        for label, (factory, run) in forms.items():
            with psycopg.connect(dsn, autocommit=not args.transaction,
                                 cursor_factory=factory) as conn:
                end = conn.commit if args.transaction else (lambda: None)
                for i in range(3000 if args.cache else 50):
                    run(conn, i).fetchone()
                    end()
                for f in glob.glob(out + ".*"):
                    os.remove(f)
                _control(proc, "-i", "on")
                _control(proc, "-z")
                for i in range(args.queries):
                    run(conn, i).fetchone()
                    end()
                _control(proc, "-d")
                _control(proc, "-i", "off")
            print(f"{label:24s} {_total(out) / args.queries / 1000:20.1f}")
            for name, count in _by_object(out)[: args.objects]:
                print(f"    {count / args.queries / 1000:10.1f}  {name}")
            for name, count in _by_function(out)[: args.functions]:
                print(f"    {count / args.queries / 1000:10.2f}  {name}")
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(work, ignore_errors=True)


def _wait(dsn: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 600  # imports under valgrind take a while
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            psycopg.connect(dsn, connect_timeout=30).close()
            return
        except psycopg.OperationalError:
            time.sleep(1)
    sys.exit("the proxy did not start under valgrind")


def _control(proc: subprocess.Popen, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(proc.pid)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _total(prefix: str) -> int:
    """Instructions in the dumps written since the counters were zeroed."""
    total = 0
    for path in glob.glob(prefix + ".*"):
        for line in Path(path).read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    return total


def _by_function(prefix: str) -> list[tuple[str, int]]:
    """Instructions per function (self cost, all threads), most first."""
    counts: dict[str, int] = {}
    for path in glob.glob(prefix + ".*"):
        text = subprocess.run(
            ["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
            capture_output=True, text=True, check=False,
        ).stdout
        for line in text.splitlines():
            head, _, obj = line.rpartition(" [")
            parts = head.split()
            number = parts[0].replace(",", "") if parts else ""
            if obj.endswith("]") and number.isdigit():
                where, _, function = parts[-1].rpartition(":")
                name = f"{Path(where).name}:{function} [{Path(obj[:-1]).name}]"
                counts[name] = counts.get(name, 0) + int(number)
    return sorted(counts.items(), key=lambda kv: -kv[1])


def _by_object(prefix: str) -> list[tuple[str, int]]:
    """Instructions per shared object (self cost, all threads), most first."""
    counts: dict[str, int] = {}
    for path in glob.glob(prefix + ".*"):
        text = subprocess.run(
            ["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
            capture_output=True, text=True, check=False,
        ).stdout
        for line in text.splitlines():
            # "  12,345 (1.2%)  file.c:function [/usr/lib/libx.so]"
            head, _, obj = line.rpartition(" [")
            number = head.split()[0].replace(",", "") if head.split() else ""
            if obj.endswith("]") and number.isdigit():
                name = Path(obj[:-1]).name
                counts[name] = counts.get(name, 0) + int(number)
    return sorted(counts.items(), key=lambda kv: -kv[1])


if __name__ == "__main__":
    main()
