"""Python calls the event loop makes per point SELECT: a figure a loaded machine cannot blur.

The statement path runs in-process on SQLite (no sockets): a Session executes a
prepared `SELECT abalance FROM accounts WHERE aid = $1` and reads its row, under
cProfile, which counts every Python call on the event loop thread (the driver's
calls in the worker threads are not counted). With --top it lists the functions
called most per statement. With --cache the query cache is on and every
measured statement is a hit (the same key each time, filled during the warm-up).
With --observers three subscribers (two audit logs and a Python entry point)
take every statement event: the calls they cost the loop (their workers'
threads are not counted).

    python benchmarks/bench_calls.py [--statements 2000] [--top 0] [--cache] [--observers]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pgproxy.backends import from_url  # noqa: E402
from pgproxy.cache import CacheOptions, QueryCache  # noqa: E402
from pgproxy.observers import Observers, Watch  # noqa: E402
from pgproxy.proxy import Proxy  # noqa: E402
from pgproxy.router import Router  # noqa: E402
from pgproxy.session import Session  # noqa: E402
from pgproxy.wire.batches import encoder_for, frames_of  # noqa: E402


def sink(event: dict) -> None:
    """The --observers Python entry point: takes the event and does nothing with it."""


async def measure(statements: int, top: int, cache: bool, observe: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proxy = Proxy(Router({"default": from_url(f"sqlite:///{tmp}/bench.db")}))
        if cache:
            proxy.pipeline.cache = QueryCache(CacheOptions(enabled=True, ttl=0))
        observers = None
        if observe:
            observers = Observers.from_config({"dead_letter": f"{tmp}/dl.db", "subscriber": [
                {"name": "audit", "type": "audit", "path": f"{tmp}/audit.jsonl"},
                {"name": "audit2", "type": "audit", "path": f"{tmp}/audit2.jsonl"},
                {"name": "python", "type": "python", "entry_point": "bench_calls:sink"},
            ]})
            proxy.watch = Watch.build(observers, None)
            await observers.start()
        session = Session(proxy, {"user": "bench", "database": "app"},
                          proxy.router.resolve("app"), 1, "bench")

        async def execute(prepared, params) -> None:
            result = await session.execute(prepared, params, ())
            encode = None
            while not result.done:
                batch = await result.fetch(0)
                if cache and result.columns is not None:  # as the wire does: what a fill keeps
                    encode = encode or encoder_for(result.columns, (), result.style)
                    frames_of(batch, encode)
            await result.close()

        for sql in ("CREATE TABLE accounts (aid INTEGER PRIMARY KEY, abalance INTEGER)",
                    "INSERT INTO accounts SELECT g, g % 1000 FROM generate_series(0, 999) AS s(g)"):
            for prepared in await session.split(sql):
                await execute(prepared, ())
        select = await session.prepare("SELECT abalance FROM accounts WHERE aid = $1", [23])
        keys = 1 if cache else 1000  # with the cache: one key, so every statement hits
        for i in range(500):  # warm: translation cache, catalog, encoders (and the entry)
            await execute(select, [i % keys])
        profile = cProfile.Profile()
        profile.enable()
        for i in range(statements):
            await execute(select, [i % keys])
        profile.disable()
        stats = pstats.Stats(profile)
        what = "cache hit" if cache else "point SELECT"
        print(f"{what} in-process on sqlite: {stats.total_calls / statements:.1f} "
              "Python calls per statement on the event loop")
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][1])[:top]
        for (path, line, name), (_, calls, *_) in rows:
            print(f"{calls / statements:8.1f}  {Path(path).name}:{line}({name})")
        await session.close("done")
        if observers is not None:
            await observers.stop()
        proxy.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--cache", action="store_true", help="query cache on: every read a hit")
    parser.add_argument("--observers", action="store_true", help="three event subscribers")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))  # bench_calls:sink, the entry point
    asyncio.run(measure(args.statements, args.top, args.cache, args.observers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
