"""Many real clients on a small pool (MariaDB, through the proxy process): 300 asyncpg
clients share a pool of 20 connections and are all served; under concurrency every
transaction keeps one backend connection, statements outside transactions share the
pool, and uncommitted work stays in its transaction.

The backend connections are counted on the server itself (its processlist, for a
MariaDB user of this module's own, not the proxy's SHOW POOLS) and told apart by
CONNECTION_ID(). test_pooling.py has the pool's single-session cases (temp table
pins, pool_timeout, session mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest

from tests.fix_load import peak_sampled
from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import MariaDBServer

pytestmark = pytest.mark.integration

USER = "pooltest"
DATABASE = "pooltest"
KEYS = 100


@pytest.fixture(scope="module")
def backend_url(mariadb: MariaDBServer) -> str:
    """A database and user of this module's own on the session's MariaDB."""
    password = secrets.token_hex(8)
    with mariadb.root() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        cur.execute(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4")
        cur.execute(f"DROP USER IF EXISTS '{USER}'@'127.0.0.1'")
        cur.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL PRIVILEGES ON `{DATABASE}`.* TO '{USER}'@'127.0.0.1'")
        cur.execute(f"CREATE TABLE `{DATABASE}`.kv (k INT PRIMARY KEY, v INT NOT NULL)")
        cur.executemany(
            f"INSERT INTO `{DATABASE}`.kv VALUES (%s, %s)", [(k, k) for k in range(1, KEYS + 1)]
        )
    return f"mysql://{USER}:{password}@{mariadb.host}:{mariadb.port}/{DATABASE}"


def backend_connections(mariadb: MariaDBServer) -> int:
    """Connections the proxy holds open to the server right now."""
    with mariadb.root() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = %s", (USER,)
        )
        return cur.fetchone()["n"]


@contextlib.contextmanager
def pooled(url: str, **pool: object) -> Iterator[ProxyProcess]:
    settings = "".join(
        f"{k} = {v!r}\n".replace("'", '"') for k, v in {"pool_mode": "transaction", **pool}.items()
    )
    with run_proxy(url, config=f"[pool]\n{settings}", extra_args=("--log-level", "info")) as p:
        yield p
        assert "Traceback" not in p.log(), p.log()


async def _client(dsn: str, n: int) -> list[int]:
    """A client's session: point reads, then a transaction; the CONNECTION_ID()s its
    transaction saw (they must be one)."""
    conn = await asyncpg.connect(dsn, timeout=120)
    try:
        for i in range(3):
            assert await conn.fetchval("SELECT v FROM kv WHERE k = $1", (n + i) % KEYS + 1) > 0
        async with conn.transaction():
            first = await conn.fetchval("SELECT CONNECTION_ID()")
            await conn.execute("UPDATE kv SET v = v + 1 WHERE k = $1", n % KEYS + 1)
            await conn.fetchval("SELECT SUM(v) FROM kv")
            await conn.execute("UPDATE kv SET v = v - 1 WHERE k = $1", n % KEYS + 1)
            last = await conn.fetchval("SELECT CONNECTION_ID()")
        return [first, last]
    finally:
        await conn.close()


async def _many(dsn: str, clients: int) -> list[list[int] | BaseException]:
    sem = asyncio.Semaphore(100)  # connect bursts below the listen backlog

    async def one(n: int) -> list[int]:
        async with sem:
            return await _client(dsn, n)

    return await asyncio.gather(*(one(n) for n in range(clients)), return_exceptions=True)


def test_300_clients_share_a_pool_of_20_and_all_are_served(mariadb, backend_url):
    with pooled(backend_url, pool_size=20, pool_timeout=60) as proxy:
        with peak_sampled(lambda: backend_connections(mariadb), 0.05) as peak:
            results = asyncio.run(_many(proxy.url(), 300))
        failed = [r for r in results if isinstance(r, BaseException)]
        assert not failed, f"{len(failed)} clients failed, e.g. {failed[:3]}"
        for first, last in results:  # type: ignore[misc]
            assert first == last
        # The pool's 20, and one for the health checker.
        assert 0 < peak[0] <= 21, peak
        assert backend_connections(mariadb) <= 21


def test_concurrent_transactions_each_keep_one_backend_connection(mariadb, backend_url):
    with pooled(backend_url, pool_size=4, pool_timeout=30) as proxy:
        results = asyncio.run(_many(proxy.url(), 40))
        failed = [r for r in results if isinstance(r, BaseException)]
        assert not failed, failed[:3]
        assert all(first == last for first, last in results)  # type: ignore[misc]
        # Statements outside a transaction are lent any of the pool's connections.
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            ids = {conn.execute("SELECT CONNECTION_ID()").fetchone()[0] for _ in range(40)}
        assert len({first for first, _ in results} | ids) <= 4  # type: ignore[misc]
        # Uncommitted work is seen by its own transaction only, and a rollback undoes it.
        with psycopg.connect(proxy.dsn()) as a, psycopg.connect(proxy.dsn()) as b:
            a.execute("INSERT INTO kv VALUES (%s, %s)", (KEYS + 1, 1))
            assert a.execute("SELECT v FROM kv WHERE k = %s", (KEYS + 1,)).fetchone() == (1,)
            assert b.execute("SELECT v FROM kv WHERE k = %s", (KEYS + 1,)).fetchone() is None
            b.rollback()
            a.rollback()
            assert a.execute("SELECT v FROM kv WHERE k = %s", (KEYS + 1,)).fetchone() is None
