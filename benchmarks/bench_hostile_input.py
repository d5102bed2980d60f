"""Hostile and huge input through the proxy: answer times and proxy peak RSS.

    python benchmarks/bench_hostile_input.py [--mb 200] [--cases params,bytea,text]

Each case starts its own proxy on a fresh SQLite file (tests/fix_proxy.py, a
real process), so the proxy's VmHWM (peak RSS since it started) read at the
end belongs to that case alone:

  params   `SELECT $2147483648`, `SELECT $10000000`, 5,000 nested parentheses
           and a 20,000-term `1+1+...` by psql-like simple queries: ms to the
           ErrorResponse and its SQLSTATE, and the latency of a second client's
           `SELECT 1` sent meanwhile
  bytea    a --mb MB random bytea parameter, `SELECT %b::bytea` with psycopg,
           binary result: round-trip seconds, equality, proxy peak RSS
  text     a --mb MB query text: `SELECT length('xxx...')` by the simple
           protocol: seconds, the answer, proxy peak RSS

Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.fix_proxy import ProxyProcess, run_proxy  # noqa: E402


def peak_mb(proxy: ProxyProcess) -> float:
    for line in Path(f"/proc/{proxy.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def connect(proxy: ProxyProcess) -> psycopg.Connection:
    return psycopg.connect(proxy.dsn(), autocommit=True)


def case_params(proxy: ProxyProcess, _mb: int) -> None:
    statements = {
        "SELECT $2147483648": "SELECT $2147483648",
        "SELECT $10000000": "SELECT $10000000",
        "5,000 nested parentheses": "SELECT " + "(" * 5000 + "1" + ")" * 5000,
        "20,000-term 1+1+...": "SELECT " + "+".join(["1"] * 20000),
    }
    with connect(proxy) as hostile, connect(proxy) as other:
        for label, sql in statements.items():
            lat: list[float] = []

            def ping(lat: list[float] = lat) -> None:
                t = time.perf_counter()
                other.execute("SELECT 1").fetchone()
                lat.append(time.perf_counter() - t)

            pinger = threading.Thread(target=ping)
            t = time.perf_counter()
            pinger.start()
            try:
                hostile.execute(sql.encode(), prepare=False)
                outcome = "answered rows"
            except psycopg.Error as exc:
                outcome = f"{exc.sqlstate} {exc.diag.message_primary}"
            took = time.perf_counter() - t
            pinger.join()
            print(
                f"  {label:28s} {took * 1000:8.1f} ms  {outcome}; "
                f"other client's SELECT 1 meanwhile: {lat[0] * 1000:.1f} ms"
            )


def case_bytea(proxy: ProxyProcess, mb: int) -> None:
    data = os.urandom(mb << 20)
    with connect(proxy) as conn:
        t = time.perf_counter()
        row = conn.execute("SELECT %b::bytea", (data,), binary=True).fetchone()
        took = time.perf_counter() - t
    assert row is not None
    print(f"  {mb} MB bytea parameter round trip: {took:.2f} s, equal: {row[0] == data}")


def case_text(proxy: ProxyProcess, mb: int) -> None:
    sql = "SELECT length('" + "x" * (mb << 20) + "')"
    worst: list[float] = []
    done = threading.Event()

    def ping() -> None:  # another client's SELECT 1, over and over, while the text is read
        with connect(proxy) as other:
            while not done.is_set():
                t = time.perf_counter()
                other.execute("SELECT 1").fetchone()
                worst.append(time.perf_counter() - t)

    pinger = threading.Thread(target=ping)
    with connect(proxy) as conn:
        pinger.start()
        t = time.perf_counter()
        row = conn.execute(sql.encode(), prepare=False).fetchone()
        took = time.perf_counter() - t
        done.set()
        pinger.join()
    print(f"  {mb} MB query text: {took:.2f} s, answer {row}; another client's SELECT 1"
          f" meanwhile: {len(worst)} answered, slowest {max(worst) * 1000:.0f} ms")


CASES = {"params": case_params, "bytea": case_bytea, "text": case_text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    for name in args.cases.split(","):
        with tempfile.TemporaryDirectory() as tmp, run_proxy(f"sqlite:///{tmp}/app.db") as proxy:
            print(f"{name}:")
            CASES[name](proxy, args.mb)
            print(f"  proxy peak RSS (VmHWM): {peak_mb(proxy):.0f} MB")


if __name__ == "__main__":
    main()
