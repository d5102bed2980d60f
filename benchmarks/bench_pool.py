"""Many clients on one MariaDB through the proxy, with backend connection pooling.

    python benchmarks/bench_pool.py [--clients 1000] [--seconds 20] [--procs 2]
                                    [--pool-mode session|transaction|none] [--pool-size 20]

--clients asyncpg connections (spread over --procs load processes) run point
SELECTs by primary key through a fresh proxy for --seconds, with `[pool]
pool_mode` and `pool_size` as given (`none`: no [pool] section, the proxy's
default). The load is bench_hostile.py's, so the figures compare with its
load-mariadb part: errors by SQLSTATE, p50/p99 latency, a fresh client's connect +
SELECT 1 at mid-load, the proxy's RSS before / peak during / after the clients
leave. Added here: the backend connections MariaDB saw (its Threads_connected,
sampled: peak during the load and after it).

Figures only; nothing is asserted. The MariaDB server is a throwaway one from
tests/fix_servers.py, the proxy a real process (tests/fix_proxy.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_hostile import load, prepare_mariadb  # noqa: E402
from tests.fix_load import peak_sampled  # noqa: E402
from tests.fix_proxy import run_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer  # noqa: E402


def threads_connected(server: MariaDBServer) -> int:
    """Client connections MariaDB has open (this probe's own not counted)."""
    with server.root() as conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
        return int(cur.fetchone()["Value"]) - 1


def proxy_config(mode: str, size: int, clients: int) -> str:
    # Room for the fresh client on top of the load's (max_client_conn defaults to 1,000).
    text = f"[server]\nmax_client_conn = {clients + 100}\n"
    if mode != "none":
        text += f'[pool]\npool_mode = "{mode}"\npool_size = {size}\npool_timeout = 120\n'
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument(
        "--pool-mode", choices=["session", "transaction", "none"], default="transaction"
    )
    parser.add_argument("--pool-size", type=int, default=20)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 3 * args.clients + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f},"
        f" fd limit {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"
    )
    config = proxy_config(args.pool_mode, args.pool_size, args.clients)
    print("config: " + config.strip().replace("\n", "; "))
    with MariaDBServer.started() as server:
        prepare_mariadb(server, args.clients)
        with run_proxy(server.url, config=config, extra_args=("--log-level", "warning")) as p:
            with peak_sampled(lambda: threads_connected(server), 0.2) as peak:
                load(p, "app", args.clients, args.seconds, args.procs)
            print(
                f"  backend connections: peak during {peak[0]}, after {threads_connected(server)}"
            )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
