"""The SQL Server backend on a real SQL Server, when PGPROXY_TEST_MSSQL_URL names one.

No SQL Server can be installed from the package sources this project reaches, so these
skip without it. For SQL Server 2022 in a container:
    PGPROXY_TEST_MSSQL_URL='mssql://sa:<pw>@127.0.0.1:1433/master?trust_server_certificate=true'
The tests make their own tables (pgproxy_live_*) and drop them.
Babelfish for PostgreSQL (a T-SQL engine speaking TDS) through its babelfish:// scheme:
    PGPROXY_TEST_MSSQL_URL='babelfish://user:<pw>@127.0.0.1:1433/db'
where it lacks a feature (MERGE, temporal tables, a cancel mid-statement), the test checks
the clear error the client gets instead.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from pgproxy.backends import from_url
from tests.fix_proxy import ProxyProcess, run_proxy

URL = os.environ.get("PGPROXY_TEST_MSSQL_URL", "")
BABELFISH = URL.startswith("babelfish:")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not URL, reason="PGPROXY_TEST_MSSQL_URL is not set: no SQL Server to test"),
]


@pytest.fixture(scope="module")
def proxy() -> Iterator[ProxyProcess]:
    with run_proxy(URL) as p:
        yield p


@pytest.fixture
def conn(proxy: ProxyProcess) -> Iterator[psycopg.Connection]:
    with psycopg.connect(proxy.dsn(), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS pgproxy_live_items")
        c.execute("CREATE TABLE pgproxy_live_items (id SERIAL PRIMARY KEY, name TEXT NOT NULL,"
                  " flag BOOLEAN, n INT, made TIMESTAMPTZ, tag UUID, data BYTEA, doc JSON)")
        yield c
        c.execute("DROP TABLE IF EXISTS pgproxy_live_items")


def test_types_returning_and_upsert(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "INSERT INTO pgproxy_live_items (name, flag, n, data, doc) VALUES (%s, true, 7, %s, %s)"
        " RETURNING id, name, flag", ("Zoë", b"\x00\xff", '{"a": 1}')).fetchone()
    assert row == (1, "Zoë", True)
    assert conn.execute("SELECT data, doc FROM pgproxy_live_items").fetchall() == [
        (b"\x00\xff", '{"a": 1}')]
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO pgproxy_live_items (name, doc) VALUES ('x', 'not json')")
    # a numeric keeps its scale; a varchar(n) column is described as one
    cur = conn.execute("SELECT CAST(1.5 AS NUMERIC(10, 2)) AS d, CAST('ab' AS VARCHAR(7)) AS v")
    assert cur.fetchone() == (Decimal("1.50"), "ab")
    assert [(c.name, c.type_code, c.internal_size) for c in cur.description][1][:2] == ("v", 1043)


def test_upsert(conn: psycopg.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS pgproxy_live_kv")
    conn.execute("CREATE TABLE pgproxy_live_kv (k INT PRIMARY KEY, v TEXT)")
    try:
        for v in ("a", "b"):
            conn.execute("INSERT INTO pgproxy_live_kv (k, v) VALUES (1, %s)"
                         " ON CONFLICT (k) DO UPDATE SET v = excluded.v", (v,))
        conn.execute("INSERT INTO pgproxy_live_kv (k, v) VALUES (1, 'c')"
                     " ON CONFLICT (k) DO NOTHING")
        assert conn.execute("SELECT k, v FROM pgproxy_live_kv").fetchall() == [(1, "b")]
    except psycopg.errors.FeatureNotSupported as exc:
        if not BABELFISH:
            raise
        assert "MERGE" in str(exc)  # Babelfish has no MERGE: ON CONFLICT is a clear 0A000
        assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        conn.execute("DROP TABLE pgproxy_live_kv")


def test_predicates_text_and_paging(conn: psycopg.Connection) -> None:
    for i, name in enumerate(["Apple", "apricot", "Banana", None]):
        conn.execute("INSERT INTO pgproxy_live_items (name, flag, n) VALUES (%s, %s, %s)",
                     (name or "none", i % 2 == 0, i if name else None))
    assert conn.execute("SELECT name FROM pgproxy_live_items WHERE name ILIKE 'ap%'"
                        " ORDER BY id").fetchall() == [("Apple",), ("apricot",)]
    assert conn.execute("SELECT count(*) FROM pgproxy_live_items WHERE name LIKE 'a%'"
                        ).fetchone() == (1,)  # case-sensitive, as PostgreSQL's LIKE
    assert conn.execute("SELECT id FROM pgproxy_live_items WHERE flag ORDER BY id"
                        ).fetchall() == [(1,), (3,)]
    assert conn.execute("SELECT n FROM pgproxy_live_items ORDER BY n LIMIT 2 OFFSET 2"
                        ).fetchall() == [(2,), (None,)]  # NULLs last, as PostgreSQL
    assert conn.execute("SELECT 'x' || NULL, 'n=' || 7, 7 / 2").fetchone() == (None, "n=7", 3)
    assert conn.execute("SELECT string_agg(name, ',' ORDER BY name) FROM pgproxy_live_items"
                        " WHERE n < 2").fetchone() == ("Apple,apricot",)
    assert conn.execute("SELECT sum(g) FROM generate_series(1, 10) g").fetchone() == (55,)


def test_errors_and_transactions(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.GeneratedAlways):  # an IDENTITY takes no explicit value
        conn.execute("INSERT INTO pgproxy_live_items (id, name) VALUES (5, 'a')")
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT * FROM pgproxy_live_missing")
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute("SELECT 1 / 0")
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute("INSERT INTO pgproxy_live_items (name) VALUES (NULL)")
    conn.autocommit = False
    conn.execute("INSERT INTO pgproxy_live_items (name) VALUES ('rolled back')")
    conn.rollback()
    conn.autocommit = True
    assert conn.execute("SELECT count(*) FROM pgproxy_live_items WHERE name = 'rolled back'"
                        ).fetchone() == (0,)


@pytest.mark.skipif(BABELFISH, reason="Babelfish reads a TDS attention only after the"
                    " statement ends (it ran this one for 113 s, then answered 57014)")
def test_cancel(conn: psycopg.Connection) -> None:
    timer = threading.Timer(0.5, conn.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        # a cross join long enough to still run when the cancel comes
        conn.execute("SELECT count(*) FROM sys.all_objects a, sys.all_objects b,"
                     " sys.all_objects c")
    assert time.monotonic() - started < 10
    timer.join()
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_babelfish_refuses_time_travel(conn: psycopg.Connection) -> None:
    """Babelfish has no temporal tables: every AS OF form is 0A000 before it is sent."""
    if not BABELFISH:
        pytest.skip("SQL Server has temporal tables: test_time_travel_on_a_temporal_table")
    for sql in ("SELECT * FROM pgproxy_live_items AS OF TIMESTAMP '2020-01-01'",
                "SET pgproxy.as_of = '2020-01-01'"):
        with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
            conn.execute(sql)
            conn.execute("SELECT * FROM pgproxy_live_items")
        assert "babelfish" in str(info.value)
        conn.execute("RESET pgproxy.as_of")
    assert conn.execute("SELECT count(*) FROM pgproxy_live_items").fetchone() == (0,)


@pytest.mark.skipif(BABELFISH, reason="Babelfish has no SYSTEM_VERSIONING (temporal tables)")
def test_time_travel_on_a_temporal_table(proxy: ProxyProcess) -> None:
    """FOR SYSTEM_TIME AS OF on a system-versioned table; 0A000 naming a plain one."""
    admin = from_url(URL).connect()
    try:
        for sql in (
            "IF OBJECT_ID('pgproxy_live_hist') IS NOT NULL ALTER TABLE pgproxy_live_hist"
            " SET (SYSTEM_VERSIONING = OFF)",
            "DROP TABLE IF EXISTS pgproxy_live_hist", "DROP TABLE IF EXISTS pgproxy_live_hist_h",
            "CREATE TABLE pgproxy_live_hist (id INT PRIMARY KEY, v INT,"
            " s DATETIME2 GENERATED ALWAYS AS ROW START, e DATETIME2 GENERATED ALWAYS AS ROW END,"
            " PERIOD FOR SYSTEM_TIME (s, e)) WITH (SYSTEM_VERSIONING = ON"
            " (HISTORY_TABLE = dbo.pgproxy_live_hist_h))",
            "INSERT INTO pgproxy_live_hist (id, v) VALUES (1, 1)",
        ):
            admin.execute(sql, ()).close()
        before = admin.execute("SELECT CONVERT(VARCHAR(23), SYSUTCDATETIME(), 121)", ()).fetch(1)
        time.sleep(0.1)
        admin.execute("UPDATE pgproxy_live_hist SET v = 2 WHERE id = 1", ()).close()
        with psycopg.connect(proxy.dsn(), autocommit=True) as c:
            past = c.execute(f"SELECT v FROM pgproxy_live_hist AS OF TIMESTAMP '{before[0][0]}'"
                             ).fetchall()
            assert past == [(1,)]
            assert c.execute("SELECT v FROM pgproxy_live_hist").fetchall() == [(2,)]
            with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
                c.execute("SELECT * FROM pgproxy_live_hist_h AS OF TIMESTAMP '2020-01-01'")
            assert "pgproxy_live_hist_h" in str(info.value)
    finally:
        admin.execute("ALTER TABLE pgproxy_live_hist SET (SYSTEM_VERSIONING = OFF)", ()).close()
        admin.execute("DROP TABLE pgproxy_live_hist", ()).close()
        admin.execute("DROP TABLE pgproxy_live_hist_h", ()).close()
        admin.close()


def test_conformance_runner_on_sql_server(capsys: pytest.CaptureFixture[str]) -> None:
    """The conformance cases through the proxy on this SQL Server, reported case by case.
    Differences are not annotated for mssql yet (no SQL Server was reachable when the
    backend was written), so the run must complete and give every case a status; the
    report is the list of what to fix or annotate."""
    from conformance import runner

    code = runner.main(["--backends", "mssql", "--mssql", URL])
    out = capsys.readouterr().out
    assert code in (0, 1)
    for case in runner.load_cases(runner.CASES_DIR):
        assert case.name in out
