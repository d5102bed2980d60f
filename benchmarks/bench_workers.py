"""pgbench point SELECTs through the proxy on SQLite: --workers 1 against --workers 2 (or more).

One SQLite file (WAL), 100,000 accounts loaded through the proxy, the same
custom pgbench script as bench_pgbench.py (`-n -f`, point SELECT by primary
key, like `pgbench -S`), `-M simple` and `-M extended`, 8 and 64 clients, each
worker count on a fresh proxy. Prints TPS, the ratio to one worker, and how
the kernel spread the connections over the workers (SO_REUSEPORT), counted
from the proxy's log. pgbench runs on the same machine: say its core count
and load with the figures.

    python benchmarks/bench_workers.py [--seconds 10] [--clients 8,64] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pgbench import load_through_proxy, pgbench, proxy_env  # noqa: E402

from tests.fix_proxy import run_proxy  # noqa: E402

_CONNECTED = re.compile(r"\[worker (\d+)\]: client \S+ connected")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", default="8,64")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--modes", default="simple,extended")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    modes = args.modes.split(",")
    results: dict[tuple[int, str, int], float] = {}
    spread: dict[int, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        with run_proxy(url) as proxy:
            load_through_proxy(proxy_env(proxy))
        for n in workers:
            with run_proxy(url, extra_args=("--workers", str(n))) as proxy:
                env = proxy_env(proxy)
                for c in clients:
                    for mode in modes:
                        results[(n, mode, c)] = pgbench(env, mode, args.seconds, c)
                spread[n] = Counter(_CONNECTED.findall(proxy.log()))
    load = os.getloadavg()
    print(
        f"\npoint SELECT by primary key on SQLite, {args.seconds} s per run, "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(f"{'workers':<9}{'mode':<10}{'clients':>8}{'TPS':>10}{'vs 1 worker':>13}")
    for (n, mode, c), tps in results.items():
        base = results.get((workers[0], mode, c))
        ratio = f"{tps / base:.2f}x" if base else ""
        print(f"{n:<9}{mode:<10}{c:>8}{tps:>10.0f}{ratio:>13}")
    for n, counts in spread.items():
        if n > 1:
            shares = ", ".join(f"worker {w}: {k}" for w, k in sorted(counts.items()))
            print(f"--workers {n}: connections per worker ({shares})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
