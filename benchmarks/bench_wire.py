"""The proxy's CPU per point SELECT without sockets: the wire, the core and SQLite, in-process.

A WireConnection is driven through a transport of this script's own (no socket, no
system call): each round feeds one statement's messages to `data_received` and waits
for the ReadyForQuery the connection writes back, on uvloop as `pgproxy serve` runs.
The CPU per statement (process time, best of --rounds) next to bench_statement.py's
figure for the real server tells the Python work apart from the kernel's and uvloop's
socket I/O; `--core` also times the statement path alone (Session.execute and its
rows, no wire), so the wire's own share is the difference.

    python benchmarks/bench_wire.py [--statements 3000] [--rounds 5] [--core] [--root DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def message(mtype: bytes, body: bytes) -> bytes:
    return mtype + struct.pack("!i", len(body) + 4) + body


class Transport:
    """What the connection writes to: kept, and a ReadyForQuery ends the round."""

    def __init__(self) -> None:
        self.ready: asyncio.Event | None = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5432) if name == "peername" else default

    def write(self, data: bytes) -> None:
        if data[-6:-1] == b"Z\0\0\0\x05" and self.ready is not None:
            self.ready.set()

    def writelines(self, parts: list[bytes]) -> None:
        self.write(b"".join(parts))

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


SQL = b"SELECT id, name FROM t WHERE id = $1"


def _bind(i: int, statement: bytes) -> bytes:
    value = str(i).encode()
    return message(b"B", b"\0" + statement + b"\0" + struct.pack("!hh", 0, 1)
                   + struct.pack("!i", len(value)) + value + struct.pack("!h", 0))


_EXECUTE = message(b"D", b"P\0") + message(b"E", b"\0\0\0\0\0") + message(b"S", b"")
FORMS: dict[str, Callable[[int], bytes]] = {
    "extended, prepared": lambda i: _bind(i, b"s1") + _EXECUTE,
    "extended, unnamed": lambda i: message(b"P", b"\0" + SQL + b"\0" + struct.pack("!hi", 1, 20))
    + _bind(i, b"") + _EXECUTE,
    "simple, literal varies": lambda i: message(
        b"Q", b"SELECT id, name FROM t WHERE id = " + str(i).encode() + b"\0"),
}


async def measure(db: str, statements: int, rounds: int, core: bool) -> None:
    from pgproxy.backends import from_url
    from pgproxy.proxy import Proxy
    from pgproxy.router import Router
    from pgproxy.wire.connection import WireConnection
    from pgproxy.wire.server import WireServer

    proxy = Proxy(Router({"default": from_url(f"sqlite:///{db}")}))
    server = WireServer(proxy)
    transport = Transport()
    conn = WireConnection(proxy, server.policy, server.keys, server.limits)

    async def round_trip(data: bytes) -> None:
        transport.ready = asyncio.Event()
        conn.data_received(data)
        await transport.ready.wait()

    conn.connection_made(transport)  # type: ignore[arg-type]
    startup = struct.pack("!i", 196608) + b"user\0bench\0database\0app\0\0"
    await round_trip(struct.pack("!i", len(startup) + 4) + startup)
    await round_trip(message(b"P", b"s1\0" + SQL + b"\0" + struct.pack("!hi", 1, 20))
                     + message(b"D", b"Ss1\0") + message(b"S", b""))
    load = os.getloadavg()[0]
    print(f"point SELECT in-process on sqlite, no sockets, load {load:.1f}")
    print(f"{'protocol':<26}{'CPU µs/stmt':>12}")
    for label, make in FORMS.items():
        for i in range(500):  # warm: caches, the statement's memos
            await round_trip(make(i % 1000))
        best = float("inf")
        for _ in range(rounds):
            data = [make(i % 1000) for i in range(statements)]
            start = time.process_time()
            for d in data:
                await round_trip(d)
            best = min(best, (time.process_time() - start) / statements * 1e6)
        print(f"{label:<26}{best:>12.1f}")
    if core:
        session = conn.session
        assert session is not None
        prepared = conn.protocol.statements["s1"]
        best = float("inf")
        for _ in range(rounds):
            start = time.process_time()
            for i in range(statements):
                result = await session.execute(prepared, [i % 1000], ())
                while not result.done:
                    await result.fetch(0)
                await result.close()
            best = min(best, (time.process_time() - start) / statements * 1e6)
        print(f"{'core path alone':<26}{best:>12.1f}  (Session.execute, rows, close)")
    proxy.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statements", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--core", action="store_true", help="also time the statement path alone")
    ap.add_argument("--root", default=str(ROOT), help="the checkout whose pgproxy runs")
    args = ap.parse_args()
    sys.path.insert(0, args.root)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "app.db")
        with sqlite3.connect(db) as c:
            c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            c.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(1000)])
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            print("uvloop is not installed: the default asyncio event loop")
        asyncio.run(measure(db, args.statements, args.rounds, args.core))


if __name__ == "__main__":
    main()
