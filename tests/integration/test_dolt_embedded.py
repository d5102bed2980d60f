"""The embedded Dolt backend (native/ libdolt through cffi) against real Dolt."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends import base, dolt


@pytest.fixture
def backend(libdolt, tmp_path):
    b = dolt.DoltBackend(f"dolt://{tmp_path}/dbs?database=mydb&commitname=Tester"
                         "&commitemail=tester@example.invalid")
    yield b
    b.close()


@pytest.fixture
def conn(backend):
    c = backend.connect()
    yield c
    c.close()


def rows(conn, sql, params=()):
    cur = conn.execute(sql, params)
    out = []
    while batch := cur.fetch(100):
        out.extend(batch)
    cur.close()
    return out


TYPES_DDL = """CREATE TABLE typed (
    id INT PRIMARY KEY, small SMALLINT, big BIGINT, flag BOOLEAN,
    price DECIMAL(10,2), ratio DOUBLE, name VARCHAR(40), code CHAR(3), body TEXT,
    born DATE, seen DATETIME(6), stamp TIMESTAMP, doc JSON, raw BLOB)"""
TYPES_ROWS = [
    (1, 7, 2**40, True, Decimal("12.50"), 0.25, "héllo", "abc", "long text",
     dt.date(2025, 1, 2), dt.datetime(2025, 1, 2, 3, 4, 5, 123456),
     dt.datetime(2025, 6, 7, 8, 9, 10), '{"a": [1, 2]}', b"\x00\xffbin"),
    (2, None, None, False, Decimal("-0.01"), -1e300, "", "x", None,
     None, None, None, None, b""),
]


def test_protocol_and_capabilities(backend, conn):
    assert isinstance(backend, base.Backend)
    assert isinstance(conn, base.Connection)
    assert (backend.name, backend.dialect, backend.paramstyle) == ("dolt", "dolt", "qmark")
    caps = backend.capabilities
    assert caps.as_of_commit and caps.as_of_timestamp and caps.branches
    assert "libdolt" in backend.version


def test_empty_directory_becomes_a_database(libdolt, tmp_path):
    target = tmp_path / "fresh" / "dir"
    b = dolt.DoltBackend(f"dolt://{target}?database=newdb")
    try:
        assert (target / "newdb" / ".dolt").is_dir()
        c = b.connect()
        assert rows(c, "SELECT active_branch()") == [("main",)]
        (msg,) = rows(c, "SELECT message FROM dolt_log")[0]
        assert msg == "Initialize data repository"
        c.close()
    finally:
        b.close()


def test_typed_values_round_trip(conn):
    conn.execute(TYPES_DDL, ()).close()
    cur = conn.execute("INSERT INTO typed VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", TYPES_ROWS[0])
    assert cur.columns is None and cur.rowcount == 1
    conn.execute("INSERT INTO typed VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", TYPES_ROWS[1]).close()
    cur = conn.execute("SELECT * FROM typed ORDER BY id", ())
    oids = [c.type_oid for c in cur.columns]
    assert oids == [pgtypes.INT4, pgtypes.INT2, pgtypes.INT8, pgtypes.BOOL, pgtypes.NUMERIC,
                    pgtypes.FLOAT8, pgtypes.VARCHAR, pgtypes.BPCHAR, pgtypes.TEXT, pgtypes.DATE,
                    pgtypes.TIMESTAMP, pgtypes.TIMESTAMPTZ, pgtypes.JSON, pgtypes.BYTEA]
    got = cur.fetch(10)
    assert cur.fetch(10) == []
    first = list(TYPES_ROWS[0])
    first[11] = first[11].replace(tzinfo=dt.UTC)
    assert got[0] == tuple(first)
    assert str(got[0][4]) == "12.50"  # scale kept, as numeric(10,2) would
    assert got[1] == TYPES_ROWS[1]


def test_update_counts_and_params(conn):
    conn.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", ()).close()
    conn.execute("INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c')", ()).close()
    cur = conn.execute("UPDATE t SET v = ? WHERE id >= ?", ("z", 2))
    assert cur.rowcount == 2
    # found rows, as PostgreSQL counts: a no-op update still counts the row
    assert conn.execute("UPDATE t SET v = 'z' WHERE id = 3", ()).rowcount == 1
    assert rows(conn, "SELECT v FROM t WHERE id = ?", (1,)) == [("a",)]
    assert rows(conn, "SELECT ?, ?, ?", (None, "it's", 1.5)) == [(None, "it's", 1.5)]


def test_batches_stream(conn):
    cur = conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
        "SELECT i, CONCAT('row', i) FROM n", ())
    sizes = []
    total = 0
    while batch := cur.fetch(1000):
        sizes.append(len(batch))
        total += sum(r[0] for r in batch)
    assert sizes == [1000, 1000, 500]
    assert total == 2500 * 2501 // 2


def test_commit_and_as_of(conn):
    conn.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)", ()).close()
    conn.execute("INSERT INTO t VALUES (1, 10)", ()).close()
    (first,) = rows(conn, "CALL DOLT_COMMIT('-Am', 'first')")[0]
    conn.execute("UPDATE t SET v = 20 WHERE id = 1", ()).close()
    conn.execute("INSERT INTO t VALUES (2, 30)", ()).close()
    rows(conn, "CALL DOLT_COMMIT('-Am', 'second')")
    assert rows(conn, "SELECT * FROM t ORDER BY id") == [(1, 20), (2, 30)]
    assert rows(conn, "SELECT * FROM t AS OF 'HEAD~1' ORDER BY id") == [(1, 10)]
    assert rows(conn, f"SELECT * FROM t AS OF '{first}' ORDER BY id") == [(1, 10)]
    log = rows(conn, "SELECT message, committer FROM dolt_log ORDER BY date DESC LIMIT 2")
    assert log == [("second", "Tester"), ("first", "Tester")]
    diff = rows(conn, "SELECT to_id, diff_type FROM dolt_diff_t "
                      "WHERE to_commit = HASHOF('HEAD') ORDER BY to_id")
    assert diff == [(1, "modified"), (2, "added")]


def test_branch_sessions_are_isolated(backend, conn):
    conn.execute("CREATE TABLE t (id INT PRIMARY KEY)", ()).close()
    conn.execute("INSERT INTO t VALUES (1)", ()).close()
    rows(conn, "CALL DOLT_COMMIT('-Am', 'base')")
    rows(conn, "CALL DOLT_BRANCH('feature-x')")
    other = backend.connect()
    try:
        rows(other, "CALL DOLT_CHECKOUT('feature-x')")
        other.execute("INSERT INTO t VALUES (2)", ()).close()
        rows(other, "CALL DOLT_COMMIT('-Am', 'on feature')")
        assert rows(other, "SELECT active_branch()") == [("feature-x",)]
        assert rows(conn, "SELECT active_branch()") == [("main",)]
        assert rows(conn, "SELECT id FROM t ORDER BY id") == [(1,)]
        assert rows(other, "SELECT id FROM t ORDER BY id") == [(1,), (2,)]
    finally:
        other.close()
    revision = backend.connect("mydb/feature-x")
    try:
        assert rows(revision, "SELECT id FROM t ORDER BY id") == [(1,), (2,)]
    finally:
        revision.close()
    with pytest.raises(errors.InvalidCatalogName):
        backend.connect("mydb/no-such-branch")


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("SELECT * FROM missing_table", "42P01"),
        ("SELECT nope FROM t", "42703"),
        ("INSERT INTO t VALUES (1, 'dup')", "23505"),
        ("INSERT INTO t VALUES (2, NULL)", "23502"),
        ("SELEC 1", "42601"),
        ("INSERT INTO t VALUES (99999999999, 'x')", "22003"),
        ("INSERT INTO t VALUES ('abc', 'x')", "22P02"),
        ("SELECT * FROM t AS OF 'no-such-branch'", "42704"),
    ],
)
def test_errors_map_to_sqlstate(conn, sql, sqlstate):
    conn.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL)", ()).close()
    conn.execute("INSERT INTO t VALUES (1, 'one')", ()).close()
    with pytest.raises(errors.PgError) as info:
        conn.execute(sql, ())
    assert info.value.sqlstate == sqlstate, info.value.message
    assert rows(conn, "SELECT COUNT(*) FROM t") == [(1,)]  # the session stays usable


def test_error_codes_without_a_statement_that_raises_them():
    # Dolt answers 1/0 with NULL, as MySQL does outside strict mode; a division
    # by zero error can still come from elsewhere and must keep its meaning.
    assert dolt.map_error(1365, "Division by 0").sqlstate == "22012"
    assert dolt.map_error(dolt.ERR_CANCELED, "canceled").sqlstate == "57014"
    assert dolt.map_error(9999, "something new").sqlstate == "XX000"


def test_transactions_are_the_engines_state(conn):
    conn.execute("CREATE TABLE t (id INT PRIMARY KEY)", ()).close()
    assert not conn.in_transaction
    conn.execute("BEGIN", ()).close()
    assert conn.in_transaction
    conn.execute("INSERT INTO t VALUES (1)", ()).close()
    conn.execute("ROLLBACK", ()).close()
    assert not conn.in_transaction
    assert rows(conn, "SELECT COUNT(*) FROM t") == [(0,)]


def test_describe_runs_no_write(conn):
    conn.execute("CREATE TABLE t (id INT PRIMARY KEY, v DECIMAL(5,1))", ()).close()
    cols = conn.describe("SELECT id, v FROM t WHERE id = ?", (1,))
    assert [(c.name, c.type_oid) for c in cols] == [("id", pgtypes.INT4), ("v", pgtypes.NUMERIC)]
    assert conn.describe("INSERT INTO t VALUES (1, 1.0)", ()) is None
    assert rows(conn, "SELECT COUNT(*) FROM t") == [(0,)]


def test_cancel_from_another_thread(conn):
    timer = threading.Timer(0.3, conn.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(errors.QueryCanceled):
        cur = conn.execute("SELECT SLEEP(30)", ())
        cur.fetch(10)
    assert time.monotonic() - started < 10
    assert rows(conn, "SELECT 1") == [(1,)]


def test_sessions_run_in_parallel_threads(backend, conn):
    conn.execute("CREATE TABLE kv (k INT PRIMARY KEY, v VARCHAR(20))", ()).close()
    conn.execute("INSERT INTO kv VALUES " + ",".join(f"({i}, 'v{i}')" for i in range(100)),
                 ()).close()
    failures = []

    def worker(n):
        c = backend.connect()
        try:
            for i in range(50):
                k = (n * 7 + i) % 100
                if rows(c, "SELECT v FROM kv WHERE k = ?", (k,)) != [(f"v{k}",)]:
                    failures.append((n, k))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_same_directory_shares_one_engine(libdolt, tmp_path):
    url = f"dolt://{tmp_path}/shared?database=mydb"
    a = dolt.DoltBackend(url)
    b = dolt.DoltBackend(url)  # would fail on Dolt's lock if it were a second engine
    try:
        ca, cb = a.connect(), b.connect()
        ca.execute("CREATE TABLE t (id INT PRIMARY KEY)", ()).close()
        ca.execute("INSERT INTO t VALUES (1)", ()).close()
        assert rows(cb, "SELECT id FROM t") == [(1,)]
        ca.close()
        cb.close()
    finally:
        a.close()
        b.close()


def test_bad_directories_give_clear_errors(libdolt, tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a database")
    with pytest.raises(errors.PgError) as info:
        dolt.DoltBackend(f"dolt://{junk}?database=mydb")
    assert "not a Dolt directory" in info.value.message
    assert info.value.sqlstate == "08006"
    with pytest.raises(errors.PgError) as info:
        dolt.DoltBackend(f"dolt://{junk / 'notes.txt'}?database=mydb")
    assert "is a file" in info.value.message
    with pytest.raises(errors.PgError) as info:
        dolt.DoltBackend(f"dolt://{junk}")
    assert "names no database" in info.value.message
    # a directory of databases that lacks the one named
    good = tmp_path / "good"
    dolt.DoltBackend(f"dolt://{good}?database=one").close()
    with pytest.raises(errors.PgError) as info:
        dolt.DoltBackend(f"dolt://{good}?database=two")
    assert info.value.sqlstate == "3D000" and "does not exist" in info.value.message
    dolt.DoltBackend(f"dolt://{good}?database=two&create=true").close()


def test_missing_library_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setattr(dolt, "_lib", None)
    monkeypatch.setattr(dolt, "_ffi", None)
    monkeypatch.setenv("PGPROXY_LIBDOLT", str(tmp_path / "nope.so"))
    with pytest.raises(dolt.LibraryMissing) as info:
        dolt.DoltBackend(f"dolt://{tmp_path}?database=mydb")
    assert "make -C native" in (info.value.hint or "")


# --- against a real `dolt sql-server` -----------------------------------------------


def _normal(v):
    """pymysql's value and ours, compared as the same Python value.

    JSON compares as JSON: the server sends a stored document compact and a
    computed one MySQL-style ('{"a": [1, 2]}'); the embedded driver renders
    both MySQL-style, which is also how PostgreSQL prints jsonb.
    """
    if isinstance(v, str) and v[:1] in ("{", "["):
        try:
            return json.loads(v)
        except ValueError:
            return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


COMPARE_QUERIES = [
    "SELECT * FROM typed ORDER BY id",
    "SELECT id, price * 2, ratio / 4, UPPER(name), LENGTH(raw), born + INTERVAL 1 DAY "
    "FROM typed ORDER BY id",
    "SELECT COUNT(*), SUM(price), MAX(seen), JSON_EXTRACT(MAX(doc), '$.a') FROM typed",
    "SELECT 1 = 1, 2.5, 'x', NULL, CAST('2024-02-29' AS DATE)",
]


def test_matches_dolt_sql_server(libdolt, dolt_server, tmp_path):
    server = dolt_server.connect()
    with server.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute(TYPES_DDL)
        for row in TYPES_ROWS:
            cur.execute("INSERT INTO typed VALUES (" + ",".join(["%s"] * len(row)) + ")", row)
    b = dolt.DoltBackend(f"dolt://{tmp_path}/embedded?database=mydb")
    conn = b.connect()
    try:
        conn.execute(TYPES_DDL, ()).close()
        for row in TYPES_ROWS:
            conn.execute("INSERT INTO typed VALUES (" + ",".join(["?"] * len(row)) + ")",
                         row).close()
        for q in COMPARE_QUERIES:
            with server.cursor() as cur:
                cur.execute(q)
                want = [tuple(_normal(v) for v in r) for r in cur.fetchall()]
            got = [tuple(_normal(v) for v in r) for r in rows(conn, q)]
            assert got == want, q
    finally:
        conn.close()
        b.close()
        server.close()


def test_directory_held_by_sql_server(libdolt, dolt_server):
    url = f"dolt://{dolt_server.directory}?database=mydb"
    with pytest.raises(errors.PgError) as info:
        dolt.DoltBackend(url)
    assert info.value.sqlstate == "55P03"
    assert "sql-server" in info.value.message
    b = dolt.DoltBackend(url + "&readonly=true")
    try:
        assert b.read_only
        c = b.connect()
        assert rows(c, "SELECT 1") == [(1,)]
        c.close()
    finally:
        b.close()


def test_server_fixture_is_reachable(dolt_server: object) -> None:
    assert Path(dolt_server.directory).is_dir()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.slow
def test_memory_flat_over_many_queries(conn):
    conn.execute("CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(40))", ()).close()
    conn.execute("INSERT INTO kv VALUES " + ",".join(f"({i}, 'value {i}')" for i in range(1000)),
                 ()).close()

    def burst(n):
        for i in range(n):
            k = i % 1000
            assert rows(conn, "SELECT v FROM kv WHERE id = ?", (k,)) == [(f"value {k}",)]

    burst(2000)  # warm-up: caches, arenas, the Go heap's first growth
    before = _rss_kib()
    burst(10000)
    grown_mib = (_rss_kib() - before) / 1024
    print(f"RSS growth over 10,000 embedded queries: {grown_mib:.1f} MiB")
    assert grown_mib < 10
