"""SQLite backend specifics: URLs, the shared in-memory database, type decisions."""

from __future__ import annotations

import datetime
import uuid
from concurrent.futures import wait
from decimal import Decimal
from pathlib import Path

import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends import from_url
from pgproxy.backends.sqlite import declared_type


def fetch_all(conn, sql, params=()):
    cur = conn.execute(sql, params)
    out = cur.fetch(1000)
    cur.close()
    return out


def test_memory_database_is_shared_by_connections_of_one_backend() -> None:
    b = from_url("sqlite://:memory:")
    a, c = b.connect(), b.connect()
    a.execute("CREATE TABLE m (x INT)", ()).close()
    a.execute("INSERT INTO m VALUES (1)", ()).close()
    assert fetch_all(c, "SELECT x FROM m") == [(1,)]
    other = from_url("sqlite://:memory:")
    with pytest.raises(errors.UndefinedTable):
        fetch_all(other.connect(), "SELECT x FROM m")
    b.close()
    other.close()


def test_url_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = from_url(f"sqlite://{tmp_path}/abs.db")  # three slashes: /tmp/...
    assert absolute.filename == f"{tmp_path}/abs.db"
    absolute.connect().close()
    assert (tmp_path / "abs.db").exists()
    assert from_url(f"sqlite:///{tmp_path}/x.db").filename == f"/{tmp_path}/x.db"
    monkeypatch.chdir(tmp_path)
    relative = from_url("sqlite:rel.db")
    relative.connect().close()
    assert (tmp_path / "rel.db").exists()
    assert from_url("sqlite://sub/rel.db").filename == "sub/rel.db"


def test_file_database_pragmas(tmp_path: Path) -> None:
    c = from_url(f"sqlite://{tmp_path}/p.db").connect()
    assert fetch_all(c, "PRAGMA journal_mode") == [("wal",)]
    assert fetch_all(c, "PRAGMA foreign_keys") == [(1,)]
    c.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)", ()).close()
    c.execute("CREATE TABLE ch (pid INT REFERENCES p(id))", ()).close()
    with pytest.raises(errors.ForeignKeyViolation):
        c.execute("INSERT INTO ch VALUES (1)", ()).close()
    c.close()


def test_integer_primary_key_is_int8_other_integers_int4() -> None:
    c = from_url("sqlite://:memory:").connect()
    c.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, n INTEGER, s SMALLINT)", ()).close()
    c.execute("INSERT INTO k VALUES (?, ?, ?)", (2**40, 5, 1)).close()
    cur = c.execute("SELECT id, n, s FROM k", ())
    assert [col.type_oid for col in cur.columns] == [pgtypes.INT8, pgtypes.INT4, pgtypes.INT2]
    assert cur.fetch(5) == [(2**40, 5, 1)]


def test_untyped_columns_are_typed_from_values() -> None:
    c = from_url("sqlite://:memory:").connect()
    cur = c.execute("SELECT 1, 1.5, 'x', x'00ff', NULL", ())
    assert [col.type_oid for col in cur.columns] == [
        pgtypes.INT8, pgtypes.FLOAT8, pgtypes.TEXT, pgtypes.BYTEA, pgtypes.TEXT,
    ]
    assert cur.fetch(5) == [(1, 1.5, "x", b"\x00\xff", None)]
    c.execute("CREATE TABLE u (v)", ()).close()
    c.execute("INSERT INTO u VALUES (1), (NULL), (2.5)", ()).close()
    sql = "SELECT v FROM u"
    assert c.execute(sql, ()).columns[0].type_oid == pgtypes.FLOAT8
    # describe() agrees for read-only statements, and reports what execute will.
    assert c.describe(sql, ())[0].type_oid == pgtypes.FLOAT8


def test_describe_runs_nothing() -> None:
    c = from_url("sqlite://:memory:").connect()
    c.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, flag BOOLEAN)", ()).close()
    cols = c.describe("INSERT INTO d (flag) VALUES (?) RETURNING id, flag", ())
    assert [(col.name, col.type_oid) for col in cols] == [
        ("id", pgtypes.INT8), ("flag", pgtypes.BOOL),
    ]
    assert c.describe("CREATE TABLE never (x)", ()) is None
    assert fetch_all(c, "SELECT COUNT(*) FROM d") == [(0,)]
    assert fetch_all(c, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'never'") == [(0,)]


def test_boolean_column_values() -> None:
    c = from_url("sqlite://:memory:").connect()
    c.execute("CREATE TABLE b (v BOOLEAN)", ()).close()
    for v in (1, 0, "true", "f", None, True):
        c.execute("INSERT INTO b VALUES (?)", (v,)).close()
    assert [r[0] for r in fetch_all(c, "SELECT v FROM b")] == [True, False, True, False, None, True]


def test_binds_python_values_sqlite_lacks() -> None:
    c = from_url("sqlite://:memory:").connect()
    u = uuid.uuid4()
    got = fetch_all(
        c,
        "SELECT ?, ?, ?, ?, ?, ?",
        (
            datetime.date(2024, 1, 2),
            datetime.datetime(2024, 1, 2, 3, 4, 5),
            Decimal("1.10"),
            u,
            {"a": [1]},
            datetime.timedelta(days=2, seconds=1),
        ),
    )
    assert got == [("2024-01-02", "2024-01-02 03:04:05", "1.10", str(u), '{"a": [1]}',
                     "2 days 00:00:01")]


def test_rowcount_ignores_earlier_statements() -> None:
    c = from_url("sqlite://:memory:").connect()
    c.execute("CREATE TABLE r (x INT)", ()).close()
    assert c.execute("INSERT INTO r VALUES (1), (2)", ()).rowcount == 2
    assert c.execute("CREATE TABLE r2 (x INT)", ()).rowcount == 0


@pytest.mark.parametrize(
    ("decl", "oid", "typmod"),
    [
        ("BOOLEAN", pgtypes.BOOL, -1),
        ("int", pgtypes.INT4, -1),
        ("BIGINT", pgtypes.INT8, -1),
        ("UNSIGNED BIG INT", pgtypes.INT8, -1),
        ("double precision", pgtypes.FLOAT8, -1),
        ("REAL", pgtypes.FLOAT8, -1),
        ("varchar(20)", pgtypes.VARCHAR, 24),
        ("CHARACTER VARYING (5)", pgtypes.VARCHAR, 9),
        ("CHAR(3)", pgtypes.BPCHAR, 7),
        ("NUMERIC(10, 2)", pgtypes.NUMERIC, ((10 << 16) | 2) + 4),
        ("DECIMAL", pgtypes.NUMERIC, -1),
        ("timestamp with time zone", pgtypes.TIMESTAMPTZ, -1),
        ("DATETIME", pgtypes.TIMESTAMP, -1),
        ("jsonb", pgtypes.JSONB, -1),
        ("uuid", pgtypes.UUID, -1),
        ("bytea", pgtypes.BYTEA, -1),
        ("MEDIUMBLOB", pgtypes.BYTEA, -1),  # affinity rule: contains BLOB
        ("NATIVE CHARACTER(70)", pgtypes.BPCHAR, 74),
        ("LONGTEXT", pgtypes.TEXT, -1),
        ("WHATEVER", pgtypes.TEXT, -1),
    ],
)
def test_declared_type_map(decl: str, oid: int, typmod: int) -> None:
    assert declared_type(decl)[:2] == (oid, typmod)


def test_a_result_stays_readable_while_other_statements_run(tmp_path: Path) -> None:
    """open_results: a DECLAREd cursor's result outlives the statements after it (a
    catalog read, another query), so the backend never closes one result for the next."""
    b = from_url(f"sqlite:///{tmp_path}/open.db")
    conn = b.connect()
    conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY)", ()).close()
    conn.executemany("INSERT INTO r VALUES (?)", [(i,) for i in range(5000)])
    first = conn.execute("SELECT id FROM r ORDER BY id", ())
    assert len(first.fetch(1000)) == 1000
    assert fetch_all(conn, "SELECT count(*) FROM r") == [(5000,)]
    assert conn.describe("SELECT id FROM r WHERE id = ?", (1,)) is not None
    rest = first.fetch(10_000)
    assert len(rest) == 4000 and rest[0] == (1000,)
    first.close()
    b.close()


def test_read_ahead_takes_turns_with_other_calls_and_keeps_errors(tmp_path: Path) -> None:
    """SQLiteCursor.read_ahead reads in a background thread only while no other call uses
    the connection; the rows it read come next, and an error it met is the next fetch's
    (never a silently shorter result)."""
    b = from_url(f"sqlite:///{tmp_path}/ahead.db")
    conn = b.connect()
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, j TEXT)", ()).close()
    rows = [(i, "1" if i != 1500 else "{bad") for i in range(3000)]
    conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
    cur = conn.execute("SELECT id FROM t ORDER BY id", ())
    got = cur.fetch(500)
    for _ in range(5):
        cur.read_ahead(700)
        assert fetch_all(conn, "SELECT count(*) FROM t") == [(3000,)]  # beside the read
        got += cur.fetch(500)
    cur.read_ahead(5000)
    got += cur.fetch(5000)
    assert [r[0] for r in got] == list(range(3000))
    assert cur.fetch(10) == []
    cur.close()
    bad = conn.execute("SELECT id, json(j) FROM t ORDER BY id", ())
    assert len(bad.fetch(1000)) == 1000
    bad.read_ahead(1000)  # meets row 1500's malformed JSON in the background
    wait([bad._pending])  # it has failed before the rows are asked for
    assert bad.ready(1000) is None  # its error is for fetch() to raise, in a worker
    with pytest.raises(errors.PgError):
        bad.fetch(1000)
    bad.close()
    closing = conn.execute("SELECT id FROM t ORDER BY id", ())
    closing.fetch(100)
    b.read_ahead.shutdown()
    closing.read_ahead(1000)  # a closing backend reads no more ahead: fetch reads them
    assert [r[0] for r in closing.fetch(1000)] == list(range(100, 1100))
    closing.close()
    assert fetch_all(conn, "SELECT count(*) FROM t") == [(3000,)]
    conn.close()
    b.close()
