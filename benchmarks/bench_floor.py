"""The floor under bench_statement.py: the least CPU a Python + uvloop responder spends per
point SELECT, with none of the proxy.

A measuring stick, not a server: the process this script starts answers only
what psycopg sends for `SELECT id, name FROM t WHERE id = %s` (startup with no
authentication, Parse/Bind/Describe/Execute/Sync and Query), runs it on SQLite
through apsw, encodes the rows as text and writes each request's reply with one
transport.write. No translation, session, pool, stage, hook or setting: what
remains is the interpreter, uvloop, the socket system calls and SQLite. The
proxy's own CPU per statement (bench_statement.py) over this floor is what its
statement path costs.

    python benchmarks/bench_floor.py [--queries 20000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_statement import measure, print_rows  # noqa: E402
from tests.fix_servers import free_port  # noqa: E402

SQL = "SELECT id, name FROM t WHERE id = %s"
# The responder, run as its own process (argv: port, database file).
_RESPONDER = r'''
import asyncio, struct, sys
import apsw, uvloop

db = apsw.Connection(sys.argv[2])
I32, I16 = struct.Struct("!i"), struct.Struct("!h")


def msg(kind, body):
    return kind + I32.pack(len(body) + 4) + body


def rows_reply(rows):
    out = []
    for row in rows:
        cols = [str(v).encode() for v in row]
        out.append(msg(b"D", I16.pack(len(cols)) + b"".join(I32.pack(len(c)) + c for c in cols)))
    out.append(msg(b"C", b"SELECT %d\0" % len(rows)))
    return out


READY = msg(b"Z", b"I")
HELLO = msg(b"R", I32.pack(0)) + b"".join(
    msg(b"S", k + b"\0" + v + b"\0") for k, v in [
        (b"server_version", b"15.0"), (b"client_encoding", b"UTF8"),
        (b"standard_conforming_strings", b"on"), (b"integer_datetimes", b"on"),
        (b"DateStyle", b"ISO, MDY")]
) + msg(b"K", I32.pack(1) + I32.pack(1)) + READY
DESCRIBED = msg(b"T", I16.pack(2) + b"".join(
    n + b"\0" + struct.pack("!ihihih", 0, 0, 25, -1, -1, 0) for n in (b"id", b"name")))


class Responder(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buf, self.started, self.stmts = transport, b"", False, {}

    def data_received(self, data):
        buf = self.buf + data
        if not self.started:
            if len(buf) < 8 or len(buf) < I32.unpack_from(buf)[0]:
                self.buf = buf
                return
            size, code = I32.unpack_from(buf)[0], I32.unpack_from(buf, 4)[0]
            buf = buf[size:]
            if code == 80877103:  # SSLRequest: no
                self.transport.write(b"N")
                self.buf = buf
                return
            self.started = True
            self.transport.write(HELLO)
        out, pos = [], 0
        while len(buf) - pos >= 5:
            kind, size = buf[pos:pos + 1], I32.unpack_from(buf, pos + 1)[0]
            if len(buf) - pos - 1 < size:
                break
            body, pos = buf[pos + 5:pos + 1 + size], pos + 1 + size
            if kind == b"P":
                name, _, rest = body.partition(b"\0")
                self.stmts[name] = rest.partition(b"\0")[0].decode().replace("$1", "?")
                out.append(b"1\0\0\0\4")
            elif kind == b"B":
                rest = body.partition(b"\0")[2]
                name, _, rest = rest.partition(b"\0")
                nformats = I16.unpack_from(rest)[0]
                binary = nformats and I16.unpack_from(rest, 2)[0] == 1
                at = 2 + 2 * nformats + 2
                values = []
                for _ in range(I16.unpack_from(rest, at - 2)[0]):
                    size_ = I32.unpack_from(rest, at)[0]
                    value, at = rest[at + 4:at + 4 + size_], at + 4 + size_
                    values.append(int.from_bytes(value, "big", signed=True) if binary
                                  else value.decode())
                self.bound = (self.stmts[name], values)
                out.append(b"2\0\0\0\4")
            elif kind == b"D":
                if body[:1] == b"S":
                    out.append(msg(b"t", I16.pack(1) + I32.pack(23)))
                out.append(DESCRIBED)
            elif kind == b"E":
                out += rows_reply(db.execute(*self.bound).fetchall())
            elif kind == b"Q":
                out.append(DESCRIBED)
                out += rows_reply(db.execute(body[:-1].decode()).fetchall())
                out.append(READY)
            elif kind == b"S":
                out.append(READY)
            elif kind == b"X":
                self.transport.close()
                return
        self.buf = buf[pos:]
        if out:
            self.transport.write(b"".join(out))


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Responder, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()


uvloop.run(main())
'''


def floor_rows(queries: int) -> list[tuple[str, float, float, float]]:
    """bench_statement.measure's rows for the responder: extended prepared, then simple."""
    with tempfile.TemporaryDirectory() as work:
        db = os.path.join(work, "floor.db")
        with sqlite3.connect(db) as c:
            c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            c.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(1000)])
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-c", _RESPONDER, str(port), db])
        try:
            dsn = f"host=127.0.0.1 port={port} user=floor dbname=floor sslmode=disable"
            deadline = time.monotonic() + 30
            while True:
                try:
                    conn = psycopg.connect(dsn, autocommit=True)
                    break
                except psycopg.OperationalError:
                    if time.monotonic() > deadline:
                        sys.exit("the responder did not start")
                    time.sleep(0.1)
            forms = {
                "extended, prepared": (psycopg.Cursor, True),
                "simple, literal varies": (psycopg.ClientCursor, False),
            }
            rows = []
            with conn:
                for label, (factory, prepare) in forms.items():
                    cur = factory(conn)

                    def run(n: int, cur=cur, prepare=prepare) -> None:
                        for i in range(n):
                            cur.execute(SQL, (i % 1000,), prepare=prepare).fetchone()

                    rows.append(measure(proc.pid, label, run, queries))
            return rows
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=20000)
    args = ap.parse_args()
    print_rows(f"point SELECT on SQLite, the floor (no proxy), {args.queries} statements",
               floor_rows(args.queries))


if __name__ == "__main__":
    main()
