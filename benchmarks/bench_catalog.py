"""Catalog emulation figures: psql `\\d table` latency, tool-query coverage, build cost.

    python benchmarks/bench_catalog.py            # SQLite
    python benchmarks/bench_catalog.py --mysql    # also MariaDB (throwaway server)

Replays the catalog queries psql 15 sends for its backslash commands (captured
with `psql -E` from the proxy itself) plus SQLAlchemy 2's reflection, DBeaver's
connect-and-expand set (tests/integration/test_catalog_dbeaver.py, from DBeaver's
PostgreSQL plugin sources, object ids bound as int8 like pgjdbc's setLong) and
psql 15's tab-completion queries (tests/integration/test_catalog_completion.py),
and reports: the share answered without error, `\\d table` latency inside one
connection (the queries psql sends, back to back) and end to end (a psql
process, minus the same process running `select 1`), DBeaver's connect-and-expand
total time, and what a shadow PostgreSQL would cost to start.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fix_proxy import run_proxy
from tests.fix_servers import MariaDBServer, PostgreSQLServer

COMMANDS = [r"\dt", r"\dt+", r"\d", r"\d cat_child", r"\d+ cat_child", r"\d cat_parent",
            r"\di", r"\dv", r"\du", r"\l", r"\l+", r"\dn", r"\dn+", r"\d cat_view", r"\dT",
            r"\df", r"\ds", r"\dx", r"\dp", r"\db", r"\dg", r"\dd", r"\dC", r"\dD", r"\dc",
            r"\do", r"\dy", r"\dL", r"\dO", r"\dm", r"\dE", r"\dconfig", r"\dA", r"\dF"]

SCHEMA = [
    "DROP VIEW IF EXISTS cat_view", "DROP TABLE IF EXISTS cat_child",
    "DROP TABLE IF EXISTS cat_parent",
    "CREATE TABLE cat_parent (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)",
    "CREATE TABLE cat_child (id INT PRIMARY KEY, parent_id INT REFERENCES cat_parent(id),"
    " code VARCHAR(20) UNIQUE, amount NUMERIC(10,2) DEFAULT 0)",
    "CREATE INDEX cat_child_amount ON cat_child(amount)",
    "CREATE VIEW cat_view AS SELECT id, name FROM cat_parent",
]


def psql(proxy, *commands: str, echo: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["psql", "-X", "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user, "app"]
    if echo:
        args.append("-E")
    for c in commands:
        args += ["-c", c]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def captured_queries(proxy, command: str) -> list[str]:
    out = psql(proxy, command, echo=True).stdout
    return [q.strip().rstrip(";") for q in re.findall(
        r"\*{9} QUERY \*{10}\n(.*?)\n\*{26}", out, re.S)]


def sqlalchemy_reflection(proxy) -> tuple[int, int]:
    try:
        from sqlalchemy import create_engine, inspect
    except ImportError:
        return 0, 0
    engine = create_engine(proxy.url().replace("postgresql://", "postgresql+psycopg://"))
    calls = [lambda i: i.get_table_names(), lambda i: i.get_view_names(),
             lambda i: i.get_schema_names(), lambda i: i.get_columns("cat_child"),
             lambda i: i.get_pk_constraint("cat_child"),
             lambda i: i.get_foreign_keys("cat_child"), lambda i: i.get_indexes("cat_child"),
             lambda i: i.get_unique_constraints("cat_child"),
             lambda i: i.get_check_constraints("cat_child"),
             lambda i: i.get_table_comment("cat_child")]
    ok = 0
    for call in calls:
        try:
            call(inspect(engine))
            ok += 1
        except Exception as exc:  # a failing reflection call is a figure, not a crash
            print(f"  sqlalchemy: {exc.__class__.__name__}: {str(exc)[:120]}")
    engine.dispose()
    return ok, len(calls)


def measure(backend_url: str, label: str) -> None:
    with run_proxy(backend_url) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            for stmt in SCHEMA:
                conn.execute(stmt)
        answered = total = 0
        failed: list[str] = []
        for command in COMMANDS:
            total += 1
            done = psql(proxy, command)
            if "ERROR" in done.stderr or done.returncode:
                failed.append(f"{command}: {done.stderr.strip()[:160]}")
            else:
                answered += 1
        sa_ok, sa_total = sqlalchemy_reflection(proxy)
        print(f"[{label}] psql backslash commands answered: {answered}/{total}")
        for f in failed:
            print(f"  failed {f}")
        print(f"[{label}] SQLAlchemy reflection calls answered: {sa_ok}/{sa_total}")

        queries = captured_queries(proxy, r"\d cat_child")
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            for q in queries:
                conn.execute(q, prepare=False)
            samples = []
            for _ in range(50):
                t = time.perf_counter()
                for q in queries:
                    conn.execute(q, prepare=False).fetchall()
                samples.append((time.perf_counter() - t) * 1000)
        print(f"[{label}] \\d cat_child: {len(queries)} queries, median "
              f"{statistics.median(samples):.2f} ms, p95 "
              f"{sorted(samples)[int(len(samples) * .95)]:.2f} ms (one connection)")
        d_runs, one_runs = [], []
        for _ in range(10):
            t = time.perf_counter()
            psql(proxy, r"\d cat_child")
            d_runs.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            psql(proxy, "select 1")
            one_runs.append((time.perf_counter() - t) * 1000)
        print(f"[{label}] psql -c '\\d cat_child' end to end: median "
              f"{statistics.median(d_runs):.1f} ms (psql -c 'select 1': "
              f"{statistics.median(one_runs):.1f} ms)")
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE cat_tmp (a INT)")
            conn.execute("DROP TABLE cat_tmp")
            t = time.perf_counter()
            conn.execute("SELECT count(*) FROM pg_catalog.pg_class").fetchall()
            print(f"[{label}] first catalog query after DDL (schema re-read + engine build): "
                  f"{(time.perf_counter() - t) * 1000:.1f} ms")
        dbeaver_and_completion(proxy, label)
        print(f"[{label}] proxy RSS after the run: {proxy.rss_kb() / 1024:.0f} MB")


def dbeaver_and_completion(proxy, label: str) -> None:
    """DBeaver's connect-and-expand set and psql's tab-completion queries, replayed."""
    from tests.integration import test_catalog_completion as completion
    from tests.integration import test_catalog_dbeaver as dbeaver

    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        names = dbeaver.make_schema(conn, "bench")
        try:
            known = dbeaver.resolve(conn, names, "app")
            runs = [dbeaver.replay(proxy.dsn(), known) for _ in range(10)]
            first = runs[0]
            print(f"[{label}] DBeaver connect-and-expand queries answered: "
                  f"{first.answered}/{first.total}")
            for probe, message in first.failed:
                print(f"  failed {probe.source}: {message}")
            times = sorted(r.seconds * 1000 for r in runs)
            print(f"[{label}] DBeaver connect-and-expand ({first.total} queries, connect"
                  f" included): median {statistics.median(times):.1f} ms, max {times[-1]:.1f}"
                  " ms")
            fill = {"child": names["child"], "prefix_like": completion._like("dbv_"),
                    "child_like": completion._like(names["child"])}
            ok, failed = 0, []
            for template in completion.COMPLETION:
                try:
                    conn.execute(template.format(**fill)).fetchall()
                    ok += 1
                except psycopg.Error as exc:
                    failed.append(f"{exc.sqlstate}: {template[:100]}")
            print(f"[{label}] psql tab-completion queries answered: {ok}/"
                  f"{len(completion.COMPLETION)}")
            for f in failed:
                print(f"  failed {f}")
        finally:
            dbeaver.drop_schema(conn, names)


def shadow_postgresql() -> None:
    """What option (b) would cost: start a throwaway PostgreSQL and read its memory."""
    t = time.perf_counter()
    try:
        with PostgreSQLServer.started() as pg:
            started = (time.perf_counter() - t) * 1000
            rss = 0
            with contextlib.suppress(Exception):
                out = subprocess.run(["ps", "-o", "rss=", "-C", "postgres"], capture_output=True,
                                     text=True).stdout
                rss = sum(int(x) for x in out.split()) // 1024
            print(f"[shadow postgresql] initdb + start: {started:.0f} ms; "
                  f"postgres processes RSS ≈ {rss} MB (all servers on the machine)")
            del pg
    except Exception as exc:  # no PostgreSQL here: say so, the rest stands
        print(f"[shadow postgresql] could not start: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mysql", action="store_true")
    parser.add_argument("--shadow", action="store_true", help="also time a shadow PostgreSQL")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/app.db", "sqlite")
    if args.mysql:
        with MariaDBServer.started() as maria:
            measure(maria.url, "mariadb")
    if args.shadow:
        shadow_postgresql()


if __name__ == "__main__":
    main()
