"""Observer figures: statement-path overhead with three subscribers, webhook events/s.

Run: python benchmarks/bench_observers.py [--statements N] [--events N] [--rounds N]
     python benchmarks/bench_observers.py --instructions N [--repeat N] [--root DIR]
                                          [--functions N]

1. The same point SELECT through two proxies on one SQLite file, one with no
   observers and one with three (a webhook to a local receiver, an audit log,
   a Python entry point), each receiving every statement event: median latency
   and the overhead in percent.
2. Events per second the bus delivers to a local webhook receiver (batched
   POSTs, unsigned: no secret), measured in-process from the first emit to the last
   event acknowledged.
With --instructions N, instead: both proxies run under valgrind's callgrind and
print the instructions per statement of the proxy process (every thread: the
statement path and the subscribers' delivery; and how much of what the observers add
runs on the event loop's thread), counted over N prepared point
SELECTs until every event is delivered: steady on a loaded machine, where the
latency is not; the three observers twice, the entry point called per event
and per batch (`calls = "batch"`); a third proxy, with an observer that takes no statement events,
gives the statement path's own share. `--root` runs another checkout's pgproxy (a baseline);
`--functions N` lists the N C functions grown most per configuration; `--repeat N` keeps
each configuration's lowest of N runs (under load reads may leave the wire path).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from bench_instructions import _by_function, _control, _wait

from pgproxy.observers import DeadLetterStore, Observers, Subscriber, Webhook
from tests.fix_proxy import run_proxy
from tests.fix_servers import free_port


def sink(event: dict) -> None:
    """The Python entry-point subscriber: takes the event and does nothing with it."""


def batch_sink(events: Any) -> None:
    """The Python entry-point subscriber called once per batch (`calls = "batch"`): takes
    the batch and reads none of its events."""


def receiver() -> tuple[ThreadingHTTPServer, list[int]]:
    count = [0, 0]  # events, POSTs

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            count[0] += int(self.headers.get("X-Pgproxy-Event-Count", "1"))
            count[1] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, count


def latency_us(dsn: str, n: int) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor()
        times = []
        for i in range(n + 200):
            t = time.perf_counter()
            cur.execute("SELECT id, name FROM obs_bench WHERE id = %s", (i % 100,), prepare=True)
            cur.fetchall()
            times.append(time.perf_counter() - t)
    return statistics.median(times[200:]) * 1e6


async def webhook_rate(url: str, events: int) -> float:
    obs = Observers([Subscriber("hook", Webhook(url), queue_size=events + 1, batch=200)],
                    DeadLetterStore())
    await obs.start()
    t = time.perf_counter()
    for i in range(events):
        obs.emit("statement", {"i": i, "route": "app", "tables": ["t"], "rows": 1})
    await obs.flush(timeout=300)
    rate = obs.subscribers["hook"].delivered / (time.perf_counter() - t)
    await obs.stop()
    return rate


def three_observers(work: Path, url: str, linger: float | None = None,
                    batch: bool = False) -> str:
    """The configuration with three subscribers that take every event (the entry point
    called per event, or per batch)."""
    python = {"name": "python", "type": "python", "entry_point": "bench_observers:sink"}
    if batch:
        python.update(entry_point="bench_observers:batch_sink", calls="batch")
    subscribers = [
        {"name": "hook", "type": "webhook", "url": url},
        {"name": "audit", "type": "audit", "path": str(work / "audit.jsonl")},
        python,
    ]
    text = f'[observers]\ndead_letter = "{work / "dl.db"}"\n'
    for sub in subscribers:
        text += "[[observers.subscriber]]\n" + "".join(f'{k} = "{v}"\n' for k, v in sub.items())
        if linger is not None:
            text += f"linger = {linger}\n"
    return text


def audit_lines(work: Path) -> int:
    path = work / "audit.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def per_thread(prefix: str) -> dict[str, int]:
    """Instructions in each thread's dump (callgrind --separate-threads: a file per thread,
    named ...-01 for the first, the event loop's)."""
    counts: dict[str, int] = {}
    for path in glob.glob(prefix + ".*"):
        totals = [int(line.split()[1]) for line in Path(path).read_text().splitlines()
                  if line.startswith(("summary:", "totals:"))]
        counts[path.rpartition("-")[2]] = counts.get(path.rpartition("-")[2], 0) + max(
            totals, default=0)
    return counts


def instructions(root: str, backend: str, config: str | None, work: Path, statements: int,
                 delivered: Any, functions: dict[str, int] | None = None
                 ) -> tuple[float, float]:
    """Instructions per prepared point SELECT of a proxy under callgrind: all its threads,
    and the event loop's thread alone (the rest: the subscribers' delivery threads); each C
    function's own count into `functions`, if given."""
    port = free_port()
    out = str(work / f"callgrind-{port}.out")
    args = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
            "--instr-atstart=no", "--separate-threads=yes", sys.executable, "-m", "pgproxy",
            "serve", "--listen", f"127.0.0.1:{port}", "--backend", backend,
            "--log-level", "warning"]
    if config is not None:
        (work / f"pgproxy-{port}.toml").write_text(config)
        args += ["--config", str(work / f"pgproxy-{port}.toml")]
    proc = subprocess.Popen(
        args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PGPROXY_WORKERS": "1",
             "PYTHONPATH": f"{root}:{Path(__file__).resolve().parent}"},
    )
    dsn = f"host=127.0.0.1 port={port} user=tester dbname=app"
    sql = "SELECT id, name FROM obs_bench WHERE id = %s"
    start = delivered() if delivered else 0  # (the receiver and audit log are shared)
    try:
        _wait(dsn, proc)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in range(100):
                conn.execute(sql, (i % 100,), prepare=True).fetchall()
            # The warm-up's events delivered before counting starts: under valgrind a
            # linger of 2.5 s outlasts a fixed pause, and its batch (and the sinks'
            # threads starting) would be counted as the measured statements'.
            deadline = time.monotonic() + 300
            while delivered and delivered() - start < 100:
                if time.monotonic() > deadline:
                    sys.exit("the warm-up's events were not delivered under callgrind")
                time.sleep(0.2)
            time.sleep(3.5)  # a linger more: the entry point's, and the session's events
            for f in work.glob(f"callgrind-{port}.out.*"):
                f.unlink()
            before = delivered() if delivered else 0
            _control(proc, "-i", "on")
            _control(proc, "-z")
            for i in range(statements):
                conn.execute(sql, (i % 100,), prepare=True).fetchall()
            # Count the subscribers' delivery of these statements' events too.
            deadline = time.monotonic() + 300
            while delivered and delivered() - before < statements:
                if time.monotonic() > deadline:
                    sys.exit("events were not delivered under callgrind")
                time.sleep(0.2)
            time.sleep(5.0)  # (both) the entry point's batch of the same window
            _control(proc, "-d")
            _control(proc, "-i", "off")
        if functions is not None:
            functions.update(_by_function(out))
        threads = per_thread(out)
        return sum(threads.values()) / statements, threads.get("01", 0) / statements
    finally:
        proc.terminate()
        proc.wait(60)


def lowest(repeat: int, *args: Any, functions: dict[str, int]) -> tuple[float, float]:
    """The lowest of `repeat` runs of instructions(*args), its C functions into `functions`:
    under valgrind on a loaded machine one inline read may run past half the inline
    budget, and its prepared statement then takes the full path for the rest of the
    session (pgproxy/wire_reads.py, FULL_PATH): 85-120 k instructions more per statement,
    which only ever adds."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        got: dict[str, int] = {}
        n = instructions(*args, got)
        if n < best:
            best = n
            functions.clear()
            functions.update(got)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=3000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instructions", type=int, default=0,
                        help="count instructions per statement under callgrind instead")
    parser.add_argument("--repeat", type=int, default=1,
                        help="with --instructions: each configuration's lowest of N runs")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout whose pgproxy runs under --instructions")
    parser.add_argument("--functions", type=int, default=0,
                        help="with --instructions: the N C functions whose own instructions "
                             "grew the most with observers, per configuration")
    args = parser.parse_args()
    server, count = receiver()
    url = f"http://127.0.0.1:{server.server_address[1]}/events"
    work = Path(tempfile.mkdtemp(prefix="bench-observers-"))
    backend = f"sqlite:///{work / 'a.db'}"
    three = three_observers(work, url)
    env = {"PYTHONPATH": f"{Path(__file__).resolve().parent.parent}:{Path(__file__).parent}"}
    with run_proxy(backend) as plain:
        with psycopg.connect(plain.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE obs_bench (id INT PRIMARY KEY, name TEXT)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO obs_bench VALUES (%s, %s)",
                                [(i, f"n{i}") for i in range(100)])
        if args.instructions:
            plain.proc.terminate()
            # No health checks: their pings come with time, not statements, and the
            # observed run lasts longer (it waits for the delivery).
            quiet = "[health]\nenabled = false\n"
            counts: list[dict[str, int]] = [{}, {}, {}, {}]
            base = lowest(args.repeat, args.root, backend, quiet, work, args.instructions,
                          None, functions=counts[0])
            # Under valgrind Python runs about 50 times slower: a linger 50 times the
            # default's 0.05 s gives batches as large as in a real run's.
            # The statement path's share: observers configured, none taking statements.
            idle = quiet + f'[observers]\ndead_letter = "{work / "idle.db"}"\n' \
                "[[observers.subscriber]]\n" \
                f'type = "audit"\npath = "{work / "idle.jsonl"}"\nevents = ["connect"]\n'
            path = lowest(args.repeat, args.root, backend, idle, work, args.instructions,
                          None, functions=counts[1])
            three = quiet + three_observers(work, url, linger=2.5)
            posts = count[:]
            watched = lowest(args.repeat, args.root, backend, three, work,
                             args.instructions, lambda: min(count[0], audit_lines(work)),
                             functions=counts[2])
            per_post = (count[0] - posts[0]) / max(1, count[1] - posts[1])
            three = quiet + three_observers(work, url, linger=2.5, batch=True)
            batched = lowest(args.repeat, args.root, backend, three, work,
                             args.instructions, lambda: min(count[0], audit_lines(work)),
                             functions=counts[3])
            (base, _), (path, path_loop) = base, path
            print(f"point SELECT on SQLite, instructions per statement of the proxy process "
                  f"(callgrind, all threads, {args.instructions} statements, {args.root}):")
            print(f"  no observers     {base / 1000:8.1f} k")
            print(f"  statement path   {path / 1000:8.1f} k   (observers, none taking "
                  f"statement events: {100 * (path - base) / base:.1f} %)")
            rows = [(watched, "python entry point called per event",
                     f", {per_post:.0f} events per POST"),
                    (batched, "the same, the entry point called per batch", "")]
            for (total, loop), what, posts_note in rows:
                print(f"  three observers  {total / 1000:8.1f} k   (webhook, audit log, {what}): "
                      f"{100 * (total - base) / base:.1f} %{posts_note}")
                print(f"                   over the statement path's: "
                      f"{(loop - path_loop) / 1000:.1f} k on the event loop's thread, "
                      f"{(total - loop - (path - path_loop)) / 1000:.1f} k in the "
                      "subscribers' threads")
            labels = ["statement path", "three observers, per event", "three observers, batch"]
            for label, got in zip(labels, counts[1:], strict=True):
                grown = sorted(((got.get(k, 0) - counts[0].get(k, 0), k)
                                for k in set(got) | set(counts[0])), reverse=True)
                print(f"  {label}: the C functions grown most, instructions per statement")
                for n, name in grown[: args.functions]:
                    print(f"    {n / args.instructions:8.0f}  {name}")
            server.shutdown()
            return
        with run_proxy(backend, config=three, env=env) as observed:
            # Alternate, and keep each side's best median: on a shared machine the
            # noise between runs is larger than the difference being measured.
            bases, watches = [], []
            for _ in range(args.rounds):
                bases.append(latency_us(plain.dsn(), args.statements))
                watches.append(latency_us(observed.dsn(), args.statements))
            base, watched = min(bases), min(watches)
    print(f"point SELECT on SQLite through the proxy, "
          f"best median of {args.rounds} x {args.statements}:")
    print(f"  no observers     {base:8.1f} us")
    print(f"  three observers  {watched:8.1f} us   (webhook, audit log, python entry point)")
    print(f"  overhead         {100 * (watched - base) / base:8.1f} %   (target < 5%)")
    print(f"  webhook receiver got {count[0]} events")
    rate = asyncio.run(webhook_rate(url, args.events))
    print(f"webhook delivery to a loopback receiver: {rate:,.0f} events/s "
          f"({args.events} events, batches of up to 200)   (target 5,000/s)")
    server.shutdown()


if __name__ == "__main__":
    main()
