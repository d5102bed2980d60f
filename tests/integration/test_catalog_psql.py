"""psql's backslash commands through the proxy, on SQLite and on MariaDB."""

from __future__ import annotations

import os
import subprocess
import uuid

import psycopg
import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("psql_client"),
]


def psql(proxy, *commands: str) -> str:
    args = ["psql", "-X", "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user, "app"]
    for c in commands:
        args += ["-c", c]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if proxy.password:
        env["PGPASSWORD"] = proxy.password
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert "ERROR" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def schema(proxy):
    suffix = uuid.uuid4().hex[:6]
    parent, child, view = f"cat_parent_{suffix}", f"cat_child_{suffix}", f"cat_view_{suffix}"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {parent} (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)")
        conn.execute(
            f"CREATE TABLE {child} (id INT PRIMARY KEY, parent_id INT REFERENCES {parent}(id),"
            f" code VARCHAR(20) UNIQUE, amount NUMERIC(10,2) DEFAULT 0)"
        )
        conn.execute(f"CREATE INDEX {child}_amount ON {child}(amount)")
        conn.execute(f"CREATE VIEW {view} AS SELECT id, name FROM {parent}")
        yield parent, child, view
        conn.execute(f"DROP VIEW {view}")
        conn.execute(f"DROP TABLE {child}")
        conn.execute(f"DROP TABLE {parent}")


def test_list_commands(proxy, schema):
    parent, child, view = schema
    out = psql(proxy, r"\dt", r"\dt+", r"\d", r"\di", r"\dv", r"\dn", r"\l", r"\du")
    assert f" {parent} " in out and f" {child} " in out
    assert f"{child}_amount" in out and f"{parent}_pkey" in out
    assert f" {view} " in out and "| view" in out
    assert " public " in out
    assert " app " in out  # \l lists the database the client connected to


def test_describe_table(proxy, schema):
    parent, child, _ = schema
    out = psql(proxy, rf"\d {child}")
    assert f'Table "public.{child}"' in out
    assert "character varying(20)" in out and "numeric(10,2)" in out
    assert "not null" in out
    assert f'"{child}_pkey" PRIMARY KEY, btree (id)' in out
    assert f"{child}_amount" in out
    assert "Foreign-key constraints:" in out
    assert f"REFERENCES {parent}(id)" in out
    assert "Referenced by:" in psql(proxy, rf"\d {parent}")


def test_created_table_visible_without_reconnecting(proxy):
    name = f"cat_new_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        before = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = %s", [name]
        ).fetchone()
        conn.execute(f"CREATE TABLE {name} (a INT)")
        try:
            after = conn.execute(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = %s", [name]
            ).fetchone()
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert before == (0,) and after == (1,)


def test_driver_details(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        assert conn.execute("select pg_is_in_recovery()").fetchone() == (False,)
        assert conn.execute(
            "SELECT * FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1").fetchall() == []
        cur = conn.execute("SELECT * FROM pg_catalog.pg_namespace")
        assert [d.name for d in cur.description] == ["oid", "nspname", "nspowner", "nspacl"]
        # An OID bound as int8 (pgjdbc's setLong) compares with oid columns.
        oid = conn.execute(
            "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public'").fetchone()[0]
        row = conn.execute(
            "SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = %s::int8", [oid]
        ).fetchone()
        assert row == ("public",)
