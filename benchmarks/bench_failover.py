"""Failover under read load: a route over a real MariaDB primary and replica (binlog replication).

    python benchmarks/bench_failover.py [--seconds 5] [--readers 4]
                                        [--scenarios replica,primary,lag]
                                        [--split include_primary]

Each scenario starts a fresh proxy with route `shop` (tests/fix_routes.py) and
--readers threads of point reads (tests/fix_load.py), then:

replica: SIGKILL the replica, restart it --seconds later.
primary: SIGKILL the primary, restart it --seconds later; a writer session
         INSERTs every 20 ms meanwhile.
lag:     hold the replica's SQL thread behind a row lock (a write it cannot
         apply), so its Seconds_Behind_Master grows past max_replica_lag = 2,
         then release it.

Printed per scenario: read TPS before, during (kill to restart) and after
(restart to end); failed reads by SQLSTATE; the slowest read within 2 s of
the kill (a stall while the proxy finds out); detection time, from the kill to
the proxy's first backend_down / ban / failover event (an audit observer's
log); the time from the restart to the first read the member answers again
(and to its backend_up event); for the primary, the time to the first failed
write and how long that write took, failed writes, and the time from the
restart to the first write that succeeds. For lag: the time from the
replica's reported lag passing the limit to its last read, and from its
catching up to its first read again.

--primary-only configures `shop` as a plain [backends] entry for the primary
instead of a route group: the figures of a proxy without replicas or failover.

Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pgproxy.observers.events import TYPES  # noqa: E402
from tests.fix_load import ReadLoad  # noqa: E402
from tests.fix_proxy import ProxyProcess, run_proxy  # noqa: E402
from tests.fix_routes import (  # noqa: E402
    KEYS,
    WHOAMI,
    audit_section,
    prepare,
    read_events,
    route_proxy,
)
from tests.fix_servers import MariaDBReplication, MariaDBServer  # noqa: E402

# Routing events, as far as this version of the proxy knows them.
ROUTING_EVENTS = [
    e for e in ("backend_down", "backend_up", "failover", "ban", "unban") if e in TYPES
]
DOWN_EVENTS = {"backend_down", "ban", "failover"}


def first_event(path: str, kinds: set[str], since_wall: float, timeout: float = 0) -> float | None:
    """Seconds from since_wall to the first event of `kinds` at or after it."""
    deadline = time.monotonic() + timeout
    while True:
        seen = read_events(path)
        times = [e["time"] for e in seen if e["type"] in kinds and e["time"] >= since_wall]
        if times:
            return min(times) - since_wall
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds * 1000:.0f} ms"


def shop_proxy(
    pair: MariaDBReplication, args: argparse.Namespace, extra: str = "", **options: object
) -> contextlib.AbstractContextManager[ProxyProcess]:
    """The proxy on route `shop`; with --primary-only, `shop` is a plain [backends] entry
    for the primary (what a proxy without route groups can do)."""
    if not args.primary_only:
        return route_proxy(pair, split=args.split, extra=extra, **options, **QUIET)
    config = (
        f'[backends]\nshop = "{pair.primary.url}"\n[health]\ninterval = 0.2\ntimeout = 1\n' + extra
    )
    return run_proxy("", config=config, **QUIET)


def phases(load: ReadLoad, t0: float, killed: float, restarted: float, end: float) -> None:
    before = load.rate(t0, killed)
    during = load.rate(killed, restarted)
    after = load.rate(restarted, end)
    print(f"  read TPS: before {before:.0f}, during {during:.0f}, after {after:.0f}")
    print(
        f"  answered by: during {dict(load.count(killed, restarted))},"
        f" after {dict(load.count(restarted, end))}"
    )
    failed = Counter(f.sqlstate for f in load.failed())
    print(f"  failed reads: {sum(failed.values())} {dict(failed) if failed else ''}")
    print(f"  slowest read within 2 s of the kill: {ms(load.slowest(killed, killed + 2))}")


class Writer(threading.Thread):
    """One session INSERTing a new key every 20 ms, recording each outcome."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.outcomes: list[tuple[float, float, str]] = []  # (at, took, '' or SQLSTATE)
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        key = KEYS + 1
        conn: psycopg.Connection | None = None
        while not self.stop.wait(0.02):
            started = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
                conn.execute("INSERT INTO kv VALUES (%s, %s)", (key, key))
                key += 1
                state = ""
            except psycopg.Error as exc:
                state = exc.sqlstate or type(exc).__name__
                if conn is not None and conn.broken:
                    conn.close()
            self.outcomes.append((time.monotonic(), time.monotonic() - started, state))
        if conn is not None:
            conn.close()


def kill_scenario(
    pair: MariaDBReplication, member: str, args: argparse.Namespace, workdir: str
) -> None:
    server: MariaDBServer = getattr(pair, member)
    audit = os.path.join(workdir, f"{member}-events.jsonl")
    mode = "primary only, [backends]" if args.primary_only else args.split
    print(f"{member} SIGKILL ({mode}, {args.readers} readers, {args.seconds:g} s phases):")
    with (
        shop_proxy(pair, args, audit_section(audit, ROUTING_EVENTS)) as proxy,
        ReadLoad(proxy.dsn("shop"), WHOAMI, threads=args.readers) as load,
    ):
        writer = Writer(proxy.dsn("shop")) if member == "primary" else None
        t0 = time.monotonic()
        if writer:
            writer.start()
        time.sleep(args.seconds)
        killed_wall, killed = time.time(), time.monotonic()
        server.kill()
        time.sleep(args.seconds)
        restarted_wall, restarted = time.time(), time.monotonic()
        server.restart()
        back = load.wait_for(member, since=restarted, timeout=60)
        time.sleep(args.seconds)
        end = time.monotonic()
        if writer:
            writer.stop.set()
            writer.join()
    phases(load, t0, killed, restarted, end)
    print(
        f"  detection (kill to first {'/'.join(sorted(DOWN_EVENTS & set(TYPES)))} event):"
        f" {ms(first_event(audit, DOWN_EVENTS, killed_wall))}"
    )
    print(
        f"  back in reads: {ms(back)} after the restart (its backend_up event:"
        f" {ms(first_event(audit, {'backend_up'}, restarted_wall))})"
    )
    if writer:
        report_writes(writer, killed, restarted)
    log_tail(proxy)


def report_writes(writer: Writer, killed: float, restarted: float) -> None:
    during = [o for o in writer.outcomes if killed <= o[0] < restarted]
    failed = [o for o in during if o[2]]
    first = failed[0] if failed else None
    states = Counter(o[2] for o in failed)
    ok_after = [o for o in writer.outcomes if o[0] >= restarted and not o[2]]
    print(
        f"  writes while down: {len(failed)} failed {dict(states)}, {len(during) - len(failed)}"
        f" succeeded; first failure {ms(first[0] - killed if first else None)} after the kill,"
        f" taking {ms(first[1] if first else None)}; slowest failure"
        f" {ms(max((o[1] for o in failed), default=None))}"
    )
    print(
        f"  first write after the restart: {ms(ok_after[0][0] - restarted if ok_after else None)}"
    )


def lag_scenario(pair: MariaDBReplication, args: argparse.Namespace) -> None:
    limit = 2
    print(f"replica lag past max_replica_lag = {limit} ({args.split}, {args.readers} readers):")
    with (
        shop_proxy(pair, args, max_lag=limit) as proxy,
        ReadLoad(proxy.dsn("shop"), WHOAMI, threads=args.readers) as load,
    ):
        time.sleep(args.seconds)
        with pair.held("kv"):
            import psycopg

            with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn:
                conn.execute("UPDATE kv SET v = v + 1 WHERE k = 1")
            while (pair.lag() or 0) <= limit:
                time.sleep(0.05)
            over = time.monotonic()
            time.sleep(args.seconds)
            last = max((at for at, _t, v in load.answers if v == "replica"), default=None)
            held_until = time.monotonic()
        pair.wait_replicated()
        caught_up = time.monotonic()
        back = load.wait_for("replica", since=caught_up, timeout=60)
    out = "never answered" if last is None else f"{ms(last - over)} after it"
    print(
        f"  last replica read after the lag passed the limit: {out}"
        f" (reads while lagging: {dict(load.count(over + 1, held_until))})"
    )
    print(f"  back in reads {ms(back)} after catching up; failed reads {len(load.failed())}")
    log_tail(proxy)


def log_tail(proxy: ProxyProcess) -> None:
    errors = [line for line in proxy.log().splitlines() if "Traceback" in line or "ERROR" in line]
    if errors:
        print(f"  proxy log: {len(errors)} error line(s), e.g. {errors[0][:160]}")


QUIET = {"extra_args": ("--log-level", "warning")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--scenarios", default="replica,primary,lag")
    parser.add_argument(
        "--split",
        default="include_primary",
        choices=["include_primary", "exclude_primary", "prefer_primary"],
    )
    parser.add_argument(
        "--primary-only",
        action="store_true",
        help="no route group: [backends] shop = the primary (today's single-backend figures)",
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    workdir = tempfile.mkdtemp(prefix="bench-failover-")
    with MariaDBReplication.started() as pair:
        for scenario in args.scenarios.split(","):
            if args.primary_only and scenario != "primary":
                print(f"{scenario}: no replica in reads with --primary-only, skipped")
                continue
            pair.ensure_running()
            prepare(pair)
            if scenario == "lag":
                lag_scenario(pair, args)
            else:
                kill_scenario(pair, scenario, args, workdir)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
