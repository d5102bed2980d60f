"""Transaction pooling on MariaDB through the proxy process: connections are shared between
transactions, never within one, a session that leaves state on its connection keeps it, and a
full pool answers 53300 after pool_timeout."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy

pytestmark = pytest.mark.integration


def _config(url: str, **pool: Any) -> str:
    lines = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in pool.items())
    return f'[backends]\napp = "{url}"\n[health]\nenabled = false\n[pool]\n{lines}'


def pools(proxy: ProxyProcess) -> dict[str, Any]:
    with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        cur = admin.execute("SHOW POOLS")
        names = [d.name for d in cur.description]
        return dict(zip(names, next(r for r in cur if r[0] == "app"), strict=True))


def backend_id(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT connection_id()").fetchone()[0]


def test_a_transaction_never_spans_two_backend_connections(mariadb_url: str) -> None:
    with run_proxy("", config=_config(mariadb_url, pool_size=2)) as proxy:
        stop = threading.Event()

        def churn() -> None:  # others borrow and return connections meanwhile
            with psycopg.connect(proxy.dsn(), autocommit=True) as other:
                while not stop.is_set():
                    other.execute("SELECT 1").fetchone()

        threads = [threading.Thread(target=churn) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            with psycopg.connect(proxy.dsn()) as conn:  # psycopg opens a transaction block
                for _ in range(5):
                    ids = {backend_id(conn) for _ in range(20)}
                    assert len(ids) == 1
                    conn.commit()
        finally:
            stop.set()
            for t in threads:
                t.join()
        state = pools(proxy)
        assert state["pool_mode"] == "transaction" and state["open"] <= 2


def test_statements_outside_a_transaction_share_connections(mariadb_url: str) -> None:
    with run_proxy("", config=_config(mariadb_url, pool_size=1)) as proxy:
        conns = [psycopg.connect(proxy.dsn(), autocommit=True) for _ in range(3)]
        try:
            ids = {backend_id(c) for c in conns for _ in range(3)}
            assert len(ids) == 1  # three clients, one backend connection
            state = pools(proxy)
            assert (state["open"], state["opened"], state["pinned"]) == (1, 1, 0)
        finally:
            for c in conns:
                c.close()


def test_a_temp_table_pins_its_session(mariadb_url: str) -> None:
    with run_proxy("", config=_config(mariadb_url, pool_size=3)) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as owner, \
                psycopg.connect(proxy.dsn(), autocommit=True) as other:
            owner.execute("CREATE TEMP TABLE scratch (v int)")
            owner.execute("INSERT INTO scratch VALUES (1), (2)")
            pinned = backend_id(owner)
            for _ in range(5):  # the others' statements never take the pinned connection
                assert backend_id(other) != pinned
                assert owner.execute("SELECT count(*) FROM scratch").fetchone()[0] == 2
                assert backend_id(owner) == pinned
            assert pools(proxy)["pinned"] == 1
            with pytest.raises(psycopg.errors.UndefinedTable):
                other.execute("SELECT * FROM scratch")
        # The pinned connection closed with its session, never lent with the table in it.
        deadline = time.monotonic() + 5
        while pools(proxy)["pinned"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pools(proxy)["pinned"] == 0
        with psycopg.connect(proxy.dsn(), autocommit=True) as fresh:
            with pytest.raises(psycopg.errors.UndefinedTable):
                fresh.execute("SELECT * FROM scratch")


def test_a_full_pool_answers_53300_after_pool_timeout(mariadb_url: str) -> None:
    with run_proxy("", config=_config(mariadb_url, pool_size=1, pool_timeout=0.5)) as proxy:
        with psycopg.connect(proxy.dsn()) as holder, \
                psycopg.connect(proxy.dsn(), autocommit=True) as waiter:
            holder.execute("SELECT 1")  # holds the only connection in its transaction
            start = time.monotonic()
            with pytest.raises(psycopg.errors.TooManyConnections) as info:
                waiter.execute("SELECT 2")
            assert 0.4 < time.monotonic() - start < 3
            assert "app" in str(info.value) and "pool_timeout" in str(info.value)
            holder.commit()
            assert waiter.execute("SELECT 3").fetchone() == (3,)  # the session carries on
            assert pools(proxy)["timeouts"] == 1


def test_many_clients_share_a_small_pool(mariadb_url: str) -> None:
    table = f"pool_{uuid.uuid4().hex[:8]}"
    with run_proxy("", config=_config(mariadb_url, pool_size=10, pool_timeout=60)) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as setup:
            setup.execute(f"CREATE TABLE {table} (client int, n int)")

        async def client(i: int) -> int:
            async with await psycopg.AsyncConnection.connect(proxy.dsn()) as conn:
                for n in range(3):
                    await conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, n))
                    await conn.commit()
                cur = await conn.execute(f"SELECT count(*) FROM {table} WHERE client = %s", (i,))
                return (await cur.fetchone())[0]

        async def main() -> list[int]:
            return await asyncio.gather(*(client(i) for i in range(200)))

        assert asyncio.run(main()) == [3] * 200
        state = pools(proxy)
        assert state["opened"] <= 10 and state["timeouts"] == 0
        with psycopg.connect(proxy.dsn(), autocommit=True) as check:
            assert check.execute(f"SELECT count(*) FROM {table}").fetchone() == (600,)
            check.execute(f"DROP TABLE {table}")


def test_session_mode_keeps_one_connection_per_session(mariadb_url: str) -> None:
    config = _config(mariadb_url, pool_mode="session", pool_size=4)
    with run_proxy("", config=config) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as a, \
                psycopg.connect(proxy.dsn(), autocommit=True) as b:
            assert len({backend_id(a) for _ in range(3)}) == 1
            assert backend_id(a) != backend_id(b)
            assert pools(proxy)["in_use"] == 2
        deadline = time.monotonic() + 5
        while pools(proxy)["in_use"] and time.monotonic() < deadline:
            time.sleep(0.05)
        state = pools(proxy)
        assert (state["in_use"], state["idle"]) == (0, 2)  # clean: back to the pool
