"""A route group over a MariaDB replication pair: its config, its data, the proxy on it.

Route `shop` has the pair's primary and its replica. Table kv holds keys 1..KEYS
on both (by replication); table whoami's row says 'primary' on the primary and
'replica' on the replica (each written with the binary log off), so WHOAMI through
the proxy tells which member answered a read.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pymysql

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import MariaDBReplication, MariaDBServer

KEYS = 1000  # rows in kv; tests write keys above it
WHOAMI = "SELECT name FROM whoami WHERE id = 1"


def route_config(
    pair: MariaDBReplication,
    *,
    split: str = "include_primary",
    sticky: float = 0.0,
    max_lag: float = 30,
    ban_time: float = 2,
    extra: str = "",
) -> str:
    """[routes.shop] over the pair, health checked every 0.2 s; `extra`: more sections."""
    return f"""
[routes.shop]
primary = "{pair.primary.url}"
replicas = ["{pair.replica.url}"]
read_write_split = "{split}"
load_balance = "round_robin"
sticky_after_write = {sticky}
ban_time = {ban_time}
max_replica_lag = {max_lag}

[health]
interval = 0.2
timeout = 1
{extra}"""


def audit_section(path: str, events: list[str]) -> str:
    """An audit observer writing `events` (routing events) to `path`, one JSON line each."""
    return (
        f'[[observers.subscriber]]\ntype = "audit"\npath = "{path}"\n'
        f"events = {json.dumps(events)}\n"
    )


def read_events(path: str) -> list[dict[str, Any]]:
    """The audit log's events so far (each has its type and time, Unix seconds)."""
    with contextlib.suppress(FileNotFoundError), open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
    return []


def direct(server: MariaDBServer) -> pymysql.connections.Connection:
    return pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.database,
        autocommit=True,
    )


def prepare(pair: MariaDBReplication) -> None:
    """kv (keys 1..KEYS) on both members by replication, and the whoami markers."""
    with direct(pair.primary) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS kv (k INT PRIMARY KEY, v INT NOT NULL)")
        cur.execute("CREATE TABLE IF NOT EXISTS whoami (id INT PRIMARY KEY, name TEXT)")
        cur.execute("SELECT COUNT(*) FROM kv WHERE k <= %s", (KEYS,))
        if cur.fetchone()[0] < KEYS:
            cur.executemany(
                "INSERT IGNORE INTO kv VALUES (%s, %s)", [(k, k) for k in range(1, KEYS + 1)]
            )
        cur.execute("DELETE FROM kv WHERE k > %s", (KEYS,))
        cur.execute("UPDATE kv SET v = k WHERE v <> k")
    pair.wait_replicated()
    for server in (pair.primary, pair.replica):
        with direct(server) as conn, conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")  # this row is each member's own
            cur.execute(
                "REPLACE INTO whoami VALUES (1, %s)",
                ("primary" if server is pair.primary else "replica",),
            )


@contextlib.contextmanager
def route_proxy(
    pair: MariaDBReplication, extra_args: tuple[str, ...] = (), **options: Any
) -> Iterator[ProxyProcess]:
    """The proxy with route `shop` over the pair (options as route_config's)."""
    with run_proxy("", config=route_config(pair, **options), extra_args=extra_args) as proxy:
        yield proxy
        assert "Traceback" not in proxy.log(), proxy.log()


def eventually(probe, timeout: float = 20.0, every: float = 0.1):
    """probe()'s first truthy answer within timeout (errors count as not yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = probe()
            if answer:
                return answer
        except psycopg.Error:
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(every)
