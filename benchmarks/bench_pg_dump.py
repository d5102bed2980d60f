"""pg_dump through the proxy: time of a schema dump and a data dump, and on PostgreSQL.

    python benchmarks/bench_pg_dump.py [--tables 50] [--rows 2000] [--rounds 5] [--mysql]

A schema of `--tables` tables (each with a primary key, a foreign key to the
previous table, a unique key, an index, a CHECK and a default) and one view per
ten tables is made in SQLite (and MariaDB with --mysql) and in a throwaway
PostgreSQL; the real pg_dump 15 then dumps each `--rounds` times: --schema-only,
and --inserts with `--rows` rows per table. Prints the median seconds per dump,
the proxy/PostgreSQL ratio, and the proxy's catalog queries per schema dump.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import apsw
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fix_proxy import run_proxy
from tests.fix_servers import MariaDBServer, PostgreSQLServer


def schema(tables: int, dialect: str) -> list[str]:
    numeric = "DECIMAL" if dialect == "mysql" else "NUMERIC"
    out = []
    for i in range(tables):
        ref = f", parent INT REFERENCES t{i - 1}(id)" if i else ""
        out.append(f"CREATE TABLE t{i} (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL UNIQUE,"
                   f" amount {numeric}(10,2) DEFAULT 0 CHECK (amount >= 0), note TEXT{ref})")
        out.append(f"CREATE INDEX t{i}_amount ON t{i} (amount)")
        if i % 10 == 9:
            out.append(f"CREATE VIEW v{i} AS SELECT id, code FROM t{i} WHERE amount > 1")
    return out


def fill(execute, tables: int, rows: int, mark: str) -> None:
    for i in range(tables):
        parent = ", parent" if i else ""
        values = f"{mark}, {mark}, {mark}, {mark}" + (f", {mark}" if i else "")
        for n in range(rows):
            row = [n, f"c{i}-{n}", n % 100, f"note {n}'s"] + ([n] if i else [])
            execute(f"INSERT INTO t{i} (id, code, amount, note{parent}) VALUES ({values})", row)


def timed(args: list[str], env: dict[str, str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True, timeout=600)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def dump_args(pg: PostgreSQLServer, host: str, port: int, user: str, db: str,
              *options: str) -> list[str]:
    return [f"{pg.bindir}/pg_dump", "-h", host, "-p", str(port), "-U", user, *options, db]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mysql", action="store_true", help="also MariaDB (throwaway server)")
    opts = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{opts.tables} tables, {opts.rows} rows each, median of {opts.rounds}")
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(PostgreSQLServer.started())
        with psycopg.connect(pg.url, autocommit=True) as conn:
            for statement in schema(opts.tables, "postgres"):
                conn.execute(statement)
            fill(lambda sql, row: conn.execute(sql, row), opts.tables, opts.rows, "%s")
        env = {**pg.env()}
        reference = {mode: timed(dump_args(pg, pg.host, pg.port, pg.user, pg.database, mode),
                                 env, opts.rounds) for mode in ("--schema-only", "--inserts")}
        print(f"{'PostgreSQL':<22} schema {reference['--schema-only']:.3f} s"
              f"   inserts {reference['--inserts']:.3f} s")
        backends = []
        db_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_pg_dump_{os.getpid()}.db"
        db_path.unlink(missing_ok=True)
        stack.callback(db_path.unlink, missing_ok=True)
        db = apsw.Connection(str(db_path))
        db.execute("BEGIN")
        for statement in schema(opts.tables, "sqlite"):
            db.execute(statement)
        fill(db.execute, opts.tables, opts.rows, "?")
        db.execute("COMMIT")
        db.close()
        backends.append(("proxy on SQLite", f"sqlite:///{db_path}"))
        if opts.mysql:
            import pymysql

            maria = stack.enter_context(MariaDBServer.started())
            conn = pymysql.connect(host=maria.host, port=maria.port, user=maria.user,
                                   password=maria.password, database=maria.database,
                                   autocommit=False)
            with conn.cursor() as cur:
                for statement in schema(opts.tables, "mysql"):
                    cur.execute(statement)
                fill(cur.execute, opts.tables, opts.rows, "%s")
            conn.commit()
            conn.close()
            backends.append(("proxy on MariaDB", maria.url))
        for label, url in backends:
            proxy = stack.enter_context(run_proxy(url))
            penv = {**os.environ, "PGPASSWORD": ""}
            before = proxy.log().count("catalog query in")
            subprocess.run(dump_args(pg, proxy.host, proxy.port, proxy.user, "app",
                                     "--schema-only"), env=penv, check=True,
                           capture_output=True, timeout=600)
            queries = proxy.log().count("catalog query in") - before
            figures = {mode: timed(dump_args(pg, proxy.host, proxy.port, proxy.user, "app",
                                             mode), penv, opts.rounds)
                       for mode in ("--schema-only", "--inserts")}
            print(f"{label:<22} schema {figures['--schema-only']:.3f} s"
                  f" ({figures['--schema-only'] / reference['--schema-only']:.1f}x)"
                  f"   inserts {figures['--inserts']:.3f} s"
                  f" ({figures['--inserts'] / reference['--inserts']:.1f}x)"
                  f"   {queries} catalog queries per schema dump")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
