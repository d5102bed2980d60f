"""Sequences on SQLite: what nextval() costs an INSERT, and what a table rebuild costs.

Run: python benchmarks/bench_sequences.py [--rows N]
Backend level (apsw through pgproxy's SQLite backend, no wire): inserts/s into a
serial table (its DEFAULT nextval() updates the proxy's sequence row in the same
statement) against a table given explicit ids, and `SELECT nextval()` calls/s;
then seconds for ALTER TABLE … ADD PRIMARY KEY (SQLite's table rebuild) over
the rows inserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialects import Target, generate, parse
from pgproxy.backends import steps
from pgproxy.backends.sqlite import SQLiteBackend

TARGET = Target("sqlite", "qmark", "sqlite", returning=True)


def run(conn, sql: str) -> None:
    generated = generate(parse(sql)[0], TARGET)
    if generated.steps:
        steps.run(conn, generated.steps)
    else:
        conn.execute(generated.sql, []).close()


def timed_inserts(conn, sql: str, values, rows: int) -> float:
    conn.execute("BEGIN", []).close()
    start = time.perf_counter()
    for i in range(rows):
        conn.execute(sql, values(i)).close()
    conn.execute("COMMIT", []).close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    backend = SQLiteBackend(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    conn = backend.connect()
    run(conn, "create table serials (id serial primary key, v text)")
    run(conn, "create table plain (id int primary key, v text)")
    run(conn, "create sequence counter")
    n = args.rows
    serial = timed_inserts(conn, "INSERT INTO serials (v) VALUES (?)", lambda i: ["x"], n)
    plain = timed_inserts(conn, "INSERT INTO plain (id, v) VALUES (?, ?)", lambda i: [i, "x"], n)
    print(f"INSERT, serial (nextval default): {n / serial:12,.0f} rows/s "
          f"({serial / n * 1e6:.1f} µs each)")
    print(f"INSERT, explicit int key:         {n / plain:12,.0f} rows/s "
          f"({plain / n * 1e6:.1f} µs each)")
    start = time.perf_counter()
    for _ in range(n):
        cursor = conn.execute("SELECT nextval('counter')", [])
        cursor.fetch(1)
        cursor.close()
    calls = time.perf_counter() - start
    print(f"SELECT nextval() (autocommit):    {n / calls:12,.0f} calls/s")
    run(conn, "create table rebuilt (id int not null, v text)")
    conn.execute("INSERT INTO rebuilt SELECT id, v FROM plain", []).close()
    start = time.perf_counter()
    run(conn, "alter table rebuilt add primary key (id)")
    print(f"ALTER TABLE ADD PRIMARY KEY (rebuild of {n:,} rows): "
          f"{time.perf_counter() - start:.3f} s")
    conn.close()
    backend.close()


if __name__ == "__main__":
    main()
