"""The admin console (database "pgproxy") read with psycopg and psql."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from tests.fix_proxy import run_proxy


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    db = tmp_path_factory.mktemp("admin") / "app.db"
    with run_proxy(f"sqlite:///{db}", config="[query_cache]\nenabled = true\n") as p:
        yield p


def test_console_answers_result_sets(proxy):
    with psycopg.connect(proxy.dsn("app"), autocommit=True) as client, \
            psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        client.execute("SELECT 1").fetchall()
        clients = admin.execute("SHOW CLIENTS").fetchall()
        assert any(row[1] == proxy.user and row[2] == "app" for row in clients)
        cols = [d.name for d in admin.execute("SHOW BACKENDS").description]
        assert cols == ["name", "type", "dialect", "url", "capabilities", "state", "detail",
                        "route", "role", "queries", "errors", "retries", "bans", "banned",
                        "p50_ms", "p99_ms", "lag"]
        assert admin.execute("SHOW BACKENDS").fetchone()[1] == "sqlite"
        pool = admin.execute("SHOW POOLS").fetchone()
        assert pool[:3] == ("default", "transaction", 20)  # SQLite pools by transaction
        cache = dict(admin.execute("SHOW CACHE").fetchall())
        assert cache["enabled"] == "true" and "hit_ratio" in cache
        stats = dict(admin.execute("SHOW STATS").fetchall())
        assert int(stats["clients"]) >= 1
        assert admin.execute("SHOW OBSERVERS").fetchall() == []
        assert admin.execute("CACHE INVALIDATE").fetchone() == (1,)  # the SELECT 1 above
        assert admin.execute("CACHE INVALIDATE").fetchone() == (0,)
        # Parameters bind like any statement's.
        assert admin.execute("CACHE INVALIDATE %s", ("nothing*",)).fetchone() == (0,)
        with pytest.raises(psycopg.errors.SyntaxError):
            admin.execute("SHOW NONSENSE")
        assert admin.execute("SHOW HELP").fetchall()  # the session still works


def test_console_in_a_driver_transaction(proxy):
    with psycopg.connect(proxy.dsn("pgproxy")) as admin:  # psycopg sends BEGIN first
        assert admin.execute("SHOW STATS").fetchall()
        admin.commit()


@pytest.mark.usefixtures("psql_client")
def test_psql_reads_the_console(proxy):
    out = subprocess.run(
        ["psql", proxy.url("pgproxy"), "-X", "-A", "-t", "-c", "SHOW CACHE"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    assert "enabled|true" in out


def test_only_admin_users_when_users_are_configured(tmp_path):
    config = '[admin]\nusers = ["boss"]\n'
    with run_proxy(f"sqlite:///{tmp_path / 'a.db'}", config=config,
                   users={"worker": "pw1", "boss": "pw2"}) as p:
        with pytest.raises(psycopg.OperationalError, match="admin console"):
            psycopg.connect(p.dsn("pgproxy"))  # worker, the first user
        dsn = f"host={p.host} port={p.port} user=boss password=pw2 dbname=pgproxy"
        with psycopg.connect(dsn, autocommit=True) as admin:
            assert admin.execute("SHOW CACHE").fetchone() == ("enabled", "false")
