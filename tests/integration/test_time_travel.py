"""Time travel through the proxy, written as a PostgreSQL client writes it.

On both Dolt backends (embedded dolt:// and dolt+mysql:// to a `dolt sql-server`):
commits made through the proxy, then every AS OF form of shared/DESIGN.md reads
the old rows; hint values are validated (an injection attempt is 22023 and
changes nothing). On MariaDB a timestamp AS OF reads a real system-versioned
table and commits/branches are refused 0A000; on SQLite every hint is refused
0A000, naming the backend and the hint.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from datetime import timedelta

import psycopg
import pytest

from tests.fix_proxy import run_proxy


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _sqlstate(conn: psycopg.Connection, sql: str) -> tuple[str | None, str]:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    return info.value.sqlstate, str(info.value)


@pytest.fixture(scope="module")
def history(proxy_dolt):
    """A table with two commits made through the proxy: (conn, table, [hash1, hash2], ts)."""
    conn = psycopg.connect(proxy_dolt.dsn("mydb"), autocommit=True)
    t = _name("tt")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, v text)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'one')")
    (h1,) = conn.execute("SELECT dolt_commit('-Am', 'first rows')").fetchone()  # Doltgres style
    time.sleep(1.2)  # commit dates have to differ for AS OF TIMESTAMP
    (first,) = conn.execute(
        "SELECT date FROM dolt_log WHERE commit_hash = %s", (h1,)
    ).fetchone()
    between = first + timedelta(seconds=0.6)
    conn.execute(f"INSERT INTO {t} VALUES (2, 'two')")
    conn.execute(f"UPDATE {t} SET v = 'uno' WHERE id = 1")
    (h2,) = conn.execute("CALL dolt_commit('-Am', 'second rows')").fetchone()  # MySQL style
    yield conn, t, [h1, h2], between
    conn.close()


OLD = [(1, "one")]
NEW = [(1, "uno"), (2, "two")]


def test_commits_through_the_proxy(history):
    conn, t, hashes, _ = history
    log = conn.execute("SELECT commit_hash, message FROM dolt_log LIMIT 2").fetchall()
    assert log == [(hashes[1], "second rows"), (hashes[0], "first rows")]
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == NEW


@pytest.mark.parametrize(
    "form",
    [
        "SELECT * FROM {t} AS OF 'HEAD~1' ORDER BY id",
        "SELECT * FROM {t} AS OF 'HEAD~1' AS x ORDER BY x.id",
        "SELECT * FROM {t} AS OF '{h1}' ORDER BY id",
        "SELECT * FROM {t} AS OF TIMESTAMP '{ts}' ORDER BY id",
        "SELECT * FROM {t} FOR SYSTEM_TIME AS OF TIMESTAMP '{ts}' ORDER BY id",
        "SELECT * FROM {t} AS OF SYSTEM TIME 'HEAD~1' ORDER BY id",
        "/*+ as_of('HEAD~1') */ SELECT * FROM {t} ORDER BY id",
        "/*+ as_of('{h1}') */ SELECT * FROM {t} ORDER BY id",
    ],
)
def test_as_of_forms_read_the_old_rows(history, form):
    conn, t, (h1, _), ts = history
    sql = form.format(t=t, h1=h1, ts=ts.strftime("%Y-%m-%d %H:%M:%S.%f"))
    assert conn.execute(sql).fetchall() == OLD
    # the present is unchanged for the next statement
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == NEW


def test_as_of_with_parameters_and_join(history):
    conn, t, (h1, _), _ = history
    rows = conn.execute(
        f"SELECT n.id, o.v, n.v FROM {t} AS OF '{h1}' o JOIN {t} n ON n.id = o.id WHERE n.id = %s",
        (1,),
    ).fetchall()
    assert rows == [(1, "one", "uno")]


def test_set_show_reset_as_of(history):
    conn, t, _, ts = history
    conn.execute("SET pgproxy.as_of = 'HEAD~1'")
    assert conn.execute("SHOW pgproxy.as_of").fetchone() == ("HEAD~1",)
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == OLD
    # a write is refused rather than made against the past
    state, _ = _sqlstate(conn, f"INSERT INTO {t} VALUES (9, 'nine')")
    assert state == "0A000"
    conn.execute("RESET pgproxy.as_of")
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == NEW
    conn.execute(f"SET pgproxy.as_of = '{ts:%Y-%m-%d %H:%M:%S.%f}'")
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == OLD
    conn.execute("RESET ALL")
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == NEW


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM {t} AS OF 'main''; DROP TABLE {t}; --'",
        "SELECT * FROM {t} AS OF 'HEAD~1 OR 1=1'",
        "/*+ as_of('main''; DROP TABLE {t}; --') */ SELECT * FROM {t}",
        "/*+ branch('x`.t; DROP TABLE {t}; --') */ SELECT * FROM {t}",
        "SET pgproxy.branch = 'x; drop'",
        "SET pgproxy.branch = 'main`; DROP TABLE {t}; --'",
        "SET pgproxy.as_of = 'HEAD~1''; DROP TABLE {t}; --'",
    ],
)
def test_injection_through_a_hint_is_refused(history, sql):
    conn, t, _, _ = history
    state, message = _sqlstate(conn, sql.format(t=t))
    assert state in ("22023", "42601"), message
    if state == "22023":
        assert "invalid" in message
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == NEW
    assert conn.execute("SHOW pgproxy.branch").fetchone() in (("",), (None,))
    assert conn.execute("SELECT count(*) FROM dolt_status").fetchone() == (0,)


def test_unknown_ref_is_a_clear_error(history):
    conn, t, _, _ = history
    state, message = _sqlstate(conn, f"SELECT * FROM {t} AS OF 'no-such-branch'")
    assert state == "42704" and "no-such-branch" in message  # same on both Dolt backends


@pytest.mark.usefixtures("psql_client")
def test_psql_as_of(history, proxy_dolt):
    _, t, _, _ = history
    out = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", proxy_dolt.url("mydb"),
         "-c", f"SELECT v FROM {t} AS OF 'HEAD~1' ORDER BY id",
         "-c", "SET pgproxy.as_of = 'HEAD~1'", "-c", "SHOW pgproxy.as_of",
         "-c", f"SELECT count(*) FROM {t}"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["one", "SET", "HEAD~1", "1"]


# --- MariaDB: system-versioned tables -----------------------------------------------


@pytest.fixture(scope="module")
def mariadb_proxy(mariadb_url):
    # mariadb:// (not mysql://) is the backend that knows system versioning.
    with run_proxy("mariadb://" + mariadb_url.split("://", 1)[1]) as proxy:
        yield proxy


@pytest.fixture
def versioned(mariadb, mariadb_url):
    """A system-versioned table made directly on MariaDB, changed after a known instant."""
    import pymysql

    t = _name("sv")
    direct = pymysql.connect(host=mariadb.host, port=mariadb.port, user=mariadb.user,
                             password=mariadb.password, database=mariadb.database,
                             autocommit=True)
    with direct.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")  # the proxy's sessions run in UTC
        cur.execute(f"CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(20)) WITH SYSTEM VERSIONING")
        cur.execute(f"INSERT INTO {t} VALUES (1, 'one')")
        time.sleep(0.05)
        cur.execute("SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')")
        (instant,) = cur.fetchone()
        time.sleep(0.05)
        cur.execute(f"UPDATE {t} SET v = 'uno' WHERE id = 1")
        cur.execute(f"INSERT INTO {t} VALUES (2, 'two')")
    yield t, instant
    with direct.cursor() as cur, contextlib.suppress(Exception):
        cur.execute(f"DROP TABLE {t}")
    direct.close()


@pytest.mark.parametrize(
    "form",
    [
        "SELECT * FROM {t} AS OF TIMESTAMP '{ts}' ORDER BY id",
        "SELECT * FROM {t} FOR SYSTEM_TIME AS OF TIMESTAMP '{ts}' ORDER BY id",
        "SELECT * FROM {t} AS OF '{ts}' ORDER BY id",
        "/*+ as_of('{ts}') */ SELECT * FROM {t} ORDER BY id",
    ],
)
def test_mariadb_timestamp_as_of(mariadb_proxy, versioned, form):
    t, instant = versioned
    with psycopg.connect(mariadb_proxy.dsn(), autocommit=True) as conn:
        assert conn.execute(form.format(t=t, ts=instant)).fetchall() == OLD
        assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == NEW
        conn.execute(f"SET pgproxy.as_of = '{instant}'")
        assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == OLD


@pytest.mark.parametrize(
    ("sql", "names"),
    [
        ("SELECT * FROM {t} AS OF 'HEAD~1'", "commit"),
        ("/*+ branch('feature-x') */ SELECT * FROM {t}", "branch"),
        ("SET pgproxy.branch = 'feature-x'", "pgproxy.branch"),
        ("SET pgproxy.as_of = 'HEAD~1'", None),
    ],
)
def test_mariadb_refuses_commits_and_branches(mariadb_proxy, versioned, sql, names):
    t, _ = versioned
    with psycopg.connect(mariadb_proxy.dsn(), autocommit=True) as conn:
        try:
            conn.execute(sql.format(t=t))
            # SET pgproxy.as_of = 'HEAD~1' may be taken; the read that uses it may not
            state, message = _sqlstate(conn, f"SELECT * FROM {t}")
        except psycopg.Error as exc:
            state, message = exc.sqlstate, str(exc)
        assert state == "0A000", message
        assert "mariadb" in message
        if names:
            assert names in message
    with pytest.raises(psycopg.Error) as info:
        psycopg.connect(mariadb_proxy.dsn("app/feature-x"), autocommit=True)
    assert "branch" in str(info.value)


# --- SQLite: no time travel at all ------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "names"),
    [
        ("SELECT * FROM {t} AS OF 'HEAD~1'", "HEAD~1"),
        ("SELECT * FROM {t} AS OF TIMESTAMP '2025-01-01 10:00:00'", "2025-01-01 10:00:00"),
        ("SELECT * FROM {t} FOR SYSTEM_TIME AS OF TIMESTAMP '2025-01-01 10:00:00'", "2025-01-01"),
        ("/*+ as_of('HEAD~1') */ SELECT * FROM {t}", "HEAD~1"),
        ("/*+ branch('feature-x') */ SELECT * FROM {t}", "feature-x"),
        ("SET pgproxy.branch = 'feature-x'", "pgproxy.branch"),
        ("SET pgproxy.as_of = 'HEAD~1'", "pgproxy.as_of"),
    ],
)
def test_sqlite_refuses_every_hint(proxy_sqlite, sql, names):
    t = _name("st")
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, v text)")
        conn.execute(f"INSERT INTO {t} VALUES (1, 'one')")
        state, message = _sqlstate(conn, sql.format(t=t))
        assert state == "0A000", message
        assert "sqlite" in message and names in message, message
        assert conn.execute(f"SELECT * FROM {t}").fetchall() == [(1, "one")]


def test_sqlite_refuses_a_branch_database(proxy_sqlite):
    with pytest.raises(psycopg.Error) as info:
        psycopg.connect(proxy_sqlite.dsn("app/feature-x"), autocommit=True)
    assert "no branches" in str(info.value)
