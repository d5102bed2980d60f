"""Every backend against a real server: types, errors, streaming, cancel, transactions.

SQL here is written in each backend's own dialect on purpose: translation is
the dialect layer's job and is tested there. These tests pin down what the
backends themselves promise through pgproxy.backends.base.
"""

from __future__ import annotations

import datetime
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends import from_url
from pgproxy.backends.base import Backend, Connection, Cursor

BACKENDS = ["sqlite", "mysql", "postgresql"]

UTC = datetime.UTC
TS = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456)
TSTZ = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=UTC)
UUID = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
TEXT_LIKE = {pgtypes.TEXT, pgtypes.VARCHAR, pgtypes.BPCHAR}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Backend]:
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite://{tmp_path}/test.db"  # tmp_path is absolute: sqlite:///tmp/...
    elif kind == "mysql":
        url = request.getfixturevalue("mariadb_url")
    else:
        url = request.getfixturevalue("postgresql_url")
    b = from_url(url)
    yield b
    b.close()


@pytest.fixture
def conn(backend: Backend) -> Iterator[Connection]:
    c = backend.connect()
    yield c
    c.close()


def run(conn: Connection, sql: str, params: tuple = ()) -> Cursor:
    return conn.execute(sql, params)


def rows(conn: Connection, sql: str, params: tuple = ()) -> list[tuple]:
    cur = conn.execute(sql, params)
    out = cur.fetch(10_000)
    cur.close()
    return out


def ph(backend: Backend, n: int) -> str:
    """n placeholders in the backend's paramstyle."""
    if backend.paramstyle == "qmark":
        marks = ["?"] * n
    elif backend.paramstyle == "format":
        marks = ["%s"] * n
    else:
        marks = [f"${i + 1}" for i in range(n)]
    return ", ".join(marks)


def drop(conn: Connection, *tables: str) -> None:
    for t in tables:
        run(conn, f"DROP TABLE IF EXISTS {t}").close()


# --- types --------------------------------------------------------------------

# (column, declared type, parameter, expected OID, expected value) per backend.
TYPE_CASES: dict[str, list[tuple[str, str, Any, Any, Any]]] = {
    "sqlite": [
        ("c_bool", "BOOLEAN", True, pgtypes.BOOL, True),
        ("c_int2", "SMALLINT", 7, pgtypes.INT2, 7),
        ("c_int4", "INTEGER", 2**31 - 1, pgtypes.INT4, 2**31 - 1),
        ("c_int8", "BIGINT", 2**40, pgtypes.INT8, 2**40),
        ("c_float4", "FLOAT4", 1.5, pgtypes.FLOAT4, 1.5),
        ("c_float8", "DOUBLE PRECISION", 2.25, pgtypes.FLOAT8, 2.25),
        ("c_numeric", "NUMERIC(10,2)", Decimal("12.30"), pgtypes.NUMERIC, Decimal("12.30")),
        ("c_text", "TEXT", "héllo", pgtypes.TEXT, "héllo"),
        ("c_varchar", "VARCHAR(20)", "abc", pgtypes.VARCHAR, "abc"),
        ("c_bpchar", "CHAR(3)", "ab", pgtypes.BPCHAR, "ab"),
        ("c_bytea", "BLOB", b"\x00\xff", pgtypes.BYTEA, b"\x00\xff"),
        ("c_date", "DATE", datetime.date(2024, 2, 29), pgtypes.DATE, "2024-02-29"),
        ("c_time", "TIME", datetime.time(13, 14, 15), pgtypes.TIME, "13:14:15"),
        ("c_ts", "TIMESTAMP", TS, pgtypes.TIMESTAMP, "2024-02-29 13:14:15.123456"),
        ("c_tstz", "TIMESTAMPTZ", TSTZ, pgtypes.TIMESTAMPTZ, "2024-02-29 13:14:15.123456+00:00"),
        ("c_interval", "INTERVAL", datetime.timedelta(days=1, hours=1), pgtypes.INTERVAL,
         "1 day 01:00:00"),
        ("c_uuid", "UUID", UUID, pgtypes.UUID, str(UUID)),
        ("c_json", "JSON", '{"a": 1}', pgtypes.JSON, '{"a": 1}'),
        ("c_jsonb", "JSONB", '{"b": [1, 2]}', pgtypes.JSONB, '{"b": [1, 2]}'),
    ],
    "mysql": [
        ("c_bool", "BOOLEAN", True, pgtypes.BOOL, True),
        ("c_int2", "SMALLINT", 7, pgtypes.INT2, 7),
        ("c_int4", "INT", 2**31 - 1, pgtypes.INT4, 2**31 - 1),
        ("c_int8", "BIGINT", 2**40, pgtypes.INT8, 2**40),
        ("c_float4", "FLOAT", 1.5, pgtypes.FLOAT4, 1.5),
        ("c_float8", "DOUBLE", 2.25, pgtypes.FLOAT8, 2.25),
        ("c_numeric", "DECIMAL(10,2)", Decimal("12.30"), pgtypes.NUMERIC, Decimal("12.30")),
        ("c_text", "TEXT", "héllo", pgtypes.TEXT, "héllo"),
        ("c_varchar", "VARCHAR(20)", "abc", pgtypes.VARCHAR, "abc"),
        ("c_bpchar", "CHAR(3)", "ab", pgtypes.BPCHAR, "ab"),  # MySQL strips CHAR padding
        ("c_bytea", "BLOB", b"\x00\xff", pgtypes.BYTEA, b"\x00\xff"),
        ("c_date", "DATE", datetime.date(2024, 2, 29), pgtypes.DATE, datetime.date(2024, 2, 29)),
        ("c_time", "TIME", datetime.time(13, 14, 15), pgtypes.TIME, datetime.time(13, 14, 15)),
        ("c_ts", "DATETIME(6)", TS, pgtypes.TIMESTAMP, TS),
        # The session is UTC: a naive value goes in, the same instant comes out tagged UTC.
        ("c_tstz", "TIMESTAMP(6) NULL", TS, pgtypes.TIMESTAMPTZ, TSTZ),
        # MariaDB's UUID and JSON reach pymysql as plain strings (documented gap).
        ("c_uuid", "UUID", str(UUID), TEXT_LIKE, str(UUID)),
        ("c_json", "JSON", '{"a": 1}', {pgtypes.JSON, pgtypes.TEXT}, '{"a": 1}'),
    ],
    "postgresql": [
        ("c_bool", "boolean", True, pgtypes.BOOL, True),
        ("c_int2", "smallint", 7, pgtypes.INT2, 7),
        ("c_int4", "integer", 2**31 - 1, pgtypes.INT4, 2**31 - 1),
        ("c_int8", "bigint", 2**40, pgtypes.INT8, 2**40),
        ("c_float4", "real", 1.5, pgtypes.FLOAT4, 1.5),
        ("c_float8", "double precision", 2.25, pgtypes.FLOAT8, 2.25),
        ("c_numeric", "numeric(10,2)", Decimal("12.3"), pgtypes.NUMERIC, Decimal("12.30")),
        ("c_text", "text", "héllo", pgtypes.TEXT, "héllo"),
        ("c_varchar", "varchar(20)", "abc", pgtypes.VARCHAR, "abc"),
        ("c_bpchar", "char(3)", "ab", pgtypes.BPCHAR, "ab "),
        ("c_bytea", "bytea", b"\x00\xff", pgtypes.BYTEA, b"\x00\xff"),
        ("c_date", "date", datetime.date(2024, 2, 29), pgtypes.DATE, datetime.date(2024, 2, 29)),
        ("c_time", "time", datetime.time(13, 14, 15), pgtypes.TIME, datetime.time(13, 14, 15)),
        ("c_ts", "timestamp", TS, pgtypes.TIMESTAMP, TS),
        ("c_tstz", "timestamptz", TSTZ, pgtypes.TIMESTAMPTZ, TSTZ),
        ("c_interval", "interval", datetime.timedelta(days=1, hours=1), pgtypes.INTERVAL,
         "1 day 01:00:00"),
        ("c_uuid", "uuid", UUID, pgtypes.UUID, UUID),
        ("c_json", "json", '{"a": 1}', pgtypes.JSON, '{"a": 1}'),
        ("c_jsonb", "jsonb", '{"b": [1, 2]}', pgtypes.JSONB, '{"b": [1, 2]}'),
    ],
}


def test_types_round_trip(backend: Backend, conn: Connection) -> None:
    cases = TYPE_CASES[backend.name]
    drop(conn, "types_rt")
    cols = ", ".join(f"{name} {decl}" for name, decl, *_ in cases)
    run(conn, f"CREATE TABLE types_rt (k INT PRIMARY KEY, {cols})").close()
    names = ", ".join(name for name, *_ in cases)
    insert = f"INSERT INTO types_rt (k, {names}) VALUES ({ph(backend, len(cases) + 1)})"
    assert run(conn, insert, (1, *[c[2] for c in cases])).rowcount == 1
    assert run(conn, insert, (2, *[None] * len(cases))).rowcount == 1

    cur = run(conn, f"SELECT {names} FROM types_rt ORDER BY k")
    assert cur.columns is not None
    assert [c.name for c in cur.columns] == [c[0] for c in cases]
    got = cur.fetch(10)
    assert cur.fetch(10) == []
    assert len(got) == 2
    for col, (name, _decl, _param, oid, value), actual in zip(
        cur.columns, cases, got[0], strict=True
    ):
        expected_oids = oid if isinstance(oid, set) else {oid}
        assert col.type_oid in expected_oids, f"{name}: OID {col.type_oid}"
        assert actual == value, f"{name}: {actual!r} != {value!r}"
        assert type(actual) is type(value), f"{name}: {type(actual)} is not {type(value)}"
    assert got[1] == (None,) * len(cases)

    # describe() agrees with execute() and runs nothing.
    described = conn.describe(f"SELECT {names} FROM types_rt ORDER BY k", ())
    assert described is not None
    assert [c.type_oid for c in described] == [c.type_oid for c in cur.columns]


def test_numeric_keeps_declared_scale(backend: Backend, conn: Connection) -> None:
    drop(conn, "num_scale")
    decl = "numeric(12,3)" if backend.name == "postgresql" else "NUMERIC(12,3)"
    run(conn, f"CREATE TABLE num_scale (n {decl})").close()
    run(conn, f"INSERT INTO num_scale VALUES ({ph(backend, 1)})", (Decimal("2.5"),)).close()
    cur = run(conn, "SELECT n FROM num_scale")
    assert cur.columns[0].type_mod == ((12 << 16) | 3) + 4
    assert cur.fetch(5) == [(Decimal("2.500"),)]


def test_null_expression_is_text(conn: Connection) -> None:
    cur = run(conn, "SELECT NULL AS x")
    assert cur.columns is not None
    assert cur.columns[0].type_oid in {pgtypes.TEXT, pgtypes.UNKNOWN}
    assert cur.fetch(5) == [(None,)]


def test_describe_has_no_side_effects(backend: Backend, conn: Connection) -> None:
    drop(conn, "desc_t")
    run(conn, "CREATE TABLE desc_t (id INT PRIMARY KEY, v VARCHAR(10))").close()
    insert = f"INSERT INTO desc_t VALUES ({ph(backend, 2)})"
    assert conn.describe(insert, (1, "a")) is None
    assert conn.describe(insert, ()) is None  # before Bind: parameters unknown
    assert rows(conn, "SELECT COUNT(*) FROM desc_t") == [(0,)]
    cols = conn.describe(f"SELECT id, v FROM desc_t WHERE id = {ph(backend, 1)}", ())
    assert cols is not None
    assert [c.name for c in cols] == ["id", "v"]
    assert cols[1].type_oid == pgtypes.VARCHAR


# --- errors -------------------------------------------------------------------

SCHEMA = {
    "sqlite": [
        "CREATE TABLE err_parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE err_child (id INT PRIMARY KEY, pid INT NOT NULL REFERENCES err_parent(id),"
        " v INT CHECK (v < 100), s VARCHAR(3))",
    ],
    "mysql": [
        "CREATE TABLE err_parent (id INT PRIMARY KEY) ENGINE=InnoDB",
        "CREATE TABLE err_child (id INT PRIMARY KEY, pid INT NOT NULL,"
        " v INT CHECK (v < 100), s VARCHAR(3), t TINYINT, d DATE,"
        " FOREIGN KEY (pid) REFERENCES err_parent(id)) ENGINE=InnoDB",
    ],
    "postgresql": [
        "CREATE TABLE err_parent (id int PRIMARY KEY)",
        "CREATE TABLE err_child (id int PRIMARY KEY, pid int NOT NULL REFERENCES err_parent(id),"
        " v int CHECK (v < 100), s varchar(3))",
    ],
}

COMMON_ERRORS = [
    ("42P01", "SELECT * FROM no_such_table"),
    ("42703", "SELECT no_such_column FROM err_child"),
    ("23505", "INSERT INTO err_child (id, pid) VALUES (1, 1)"),
    ("23502", "INSERT INTO err_child (id, pid) VALUES (2, NULL)"),
    ("23503", "INSERT INTO err_child (id, pid) VALUES (3, 999)"),
    ("23514", "INSERT INTO err_child (id, pid, v) VALUES (4, 1, 1000)"),
    ("42601", "SELEC 1"),
    ("42P07", "CREATE TABLE err_parent (id INT)"),
]
BACKEND_ERRORS = {
    "sqlite": [
        ("42804", "INSERT INTO err_parent (id) VALUES ('abc')"),
        ("42601", "SELECT *"),
        ("42P20", "SELECT id FROM err_parent WHERE count(*) OVER () > 0"),
        ("42704", "SELECT 'a' COLLATE nosuch = 'b'"),
        ("22023", "SELECT json_extract('{}', 'x')"),
    ],
    "mysql": [
        ("22012", "INSERT INTO err_child (id, pid, v) VALUES (5, 1, 1/0)"),
        ("22001", "INSERT INTO err_child (id, pid, s) VALUES (6, 1, 'abcdef')"),
        ("22003", "INSERT INTO err_child (id, pid, t) VALUES (7, 1, 1000)"),
        ("22007", "INSERT INTO err_child (id, pid, d) VALUES (8, 1, '2024-13-45')"),
        ("22P02", "INSERT INTO err_parent (id) VALUES ('abc')"),
    ],
    "postgresql": [
        ("22012", "SELECT 1/0"),
        ("22001", "INSERT INTO err_child (id, pid, s) VALUES (6, 1, 'abcdef')"),
        ("22P02", "INSERT INTO err_parent (id) VALUES ('abc')"),
    ],
}


def test_errors_map_to_sqlstates(backend: Backend, conn: Connection) -> None:
    drop(conn, "err_child", "err_parent")
    for ddl in SCHEMA[backend.name]:
        run(conn, ddl).close()
    run(conn, "INSERT INTO err_parent (id) VALUES (1)").close()
    run(conn, "INSERT INTO err_child (id, pid) VALUES (1, 1)").close()
    for sqlstate, sql in COMMON_ERRORS + BACKEND_ERRORS[backend.name]:
        with pytest.raises(errors.PgError) as info:
            cur = run(conn, sql)
            cur.fetch(10)
        assert info.value.sqlstate == sqlstate, f"{sql}: {info.value!r}"
        assert info.value.message
        # The same connection keeps working after every error.
        assert rows(conn, "SELECT 1") == [(1,)]
    assert not conn.in_transaction


def test_sqlite_division_by_zero_is_null(tmp_path: Any) -> None:
    """SQLite answers 1/0 with NULL; only the dialect layer can make it 22012."""
    b = from_url(f"sqlite://{tmp_path}/z.db")
    c = b.connect()
    assert rows(c, "SELECT 1/0") == [(None,)]
    c.close()
    b.close()


def test_lock_timeout_is_55P03(backend: Backend, tmp_path: Any) -> None:
    if backend.name == "sqlite":
        backend.close()
        backend = from_url(f"sqlite://{tmp_path}/locks.db?busy_timeout=100")
    a, b = backend.connect(), backend.connect()
    try:
        drop(a, "locks")
        run(a, "CREATE TABLE locks (id INT PRIMARY KEY, v INT)").close()
        run(a, "INSERT INTO locks VALUES (1, 0)").close()
        if backend.name == "mysql":
            run(b, "SET SESSION innodb_lock_wait_timeout = 1").close()
        elif backend.name == "postgresql":
            run(b, "SET lock_timeout = '200ms'").close()
        run(a, "BEGIN").close()
        run(a, "UPDATE locks SET v = 1 WHERE id = 1").close()
        with pytest.raises(errors.PgError) as info:
            run(b, "UPDATE locks SET v = 2 WHERE id = 1").close()
        assert info.value.sqlstate == "55P03"
        run(a, "ROLLBACK").close()
        if b.in_transaction:
            run(b, "ROLLBACK").close()
        assert rows(b, "SELECT v FROM locks") == [(0,)]
    finally:
        a.close()
        b.close()
        backend.close()


def test_password_never_in_messages(backend: Backend) -> None:
    if backend.name == "sqlite":
        pytest.skip("a SQLite URL carries no password, so there is nothing to redact")
    url = backend.redacted_url()
    assert "***" in url
    real = getattr(backend, "password", None)
    assert real and real not in url
    wrong_pw = "not-the-password-" + real
    bad = from_url(backend.url.replace(f":{real}@", f":{wrong_pw}@"))  # type: ignore[attr-defined]
    with pytest.raises(errors.PgError) as info:
        bad.connect()
    assert info.value.sqlstate.startswith("08")
    text = " ".join(str(v) for v in info.value.fields().values())
    assert wrong_pw not in text and real not in text
    assert wrong_pw not in bad.redacted_url()


def test_mysql_unknown_database_is_3D000(mariadb_url: str) -> None:
    b = from_url(mariadb_url)
    with pytest.raises(errors.PgError) as info:
        b.connect("no_such_database")
    assert info.value.sqlstate == "3D000"


# --- streaming ----------------------------------------------------------------

STREAM_ROWS = 200_000

SERIES = {
    # 100-character text per row: buffering 200k of them would cost > 20 MB.
    "sqlite": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {n})"
    " SELECT i, printf('%0100d', i) FROM r",
    "mysql": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {n})"
    " SELECT i, LPAD(i, 100, '0') FROM r",
    "postgresql": "SELECT i, lpad(i::text, 100, '0') FROM generate_series(1, {n}) i",
}


@pytest.mark.slow
def test_streams_large_result_in_batches(backend: Backend, conn: Connection) -> None:
    if backend.name == "mysql":
        run(conn, "SET SESSION max_recursive_iterations = 1000000").close()
    sql = SERIES[backend.name].format(n=STREAM_ROWS)
    tracemalloc.start()
    try:
        cur = run(conn, sql)
        count = total = 0
        batches = 0
        while batch := cur.fetch(1000):
            assert len(batch) <= 1000
            batches += 1
            count += len(batch)
            total += sum(int(r[0]) for r in batch)
            assert len(batch[-1][1]) == 100
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == STREAM_ROWS
    assert total == STREAM_ROWS * (STREAM_ROWS + 1) // 2
    assert batches >= STREAM_ROWS // 1000
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes: the result was buffered"
    assert rows(conn, "SELECT 1") == [(1,)]


def test_closing_a_result_early_keeps_connection_and_transaction(
    backend: Backend, conn: Connection
) -> None:
    if backend.name == "mysql":
        run(conn, "SET SESSION max_recursive_iterations = 1000000").close()
    drop(conn, "early")
    run(conn, "CREATE TABLE early (id INT PRIMARY KEY)").close()
    run(conn, "BEGIN").close()
    run(conn, "INSERT INTO early VALUES (1)").close()
    cur = run(conn, SERIES[backend.name].format(n=50_000))
    assert len(cur.fetch(10)) == 10
    cur.close()
    assert cur.fetch(10) == []
    assert conn.in_transaction
    assert rows(conn, "SELECT id FROM early") == [(1,)]
    run(conn, "COMMIT").close()
    assert not conn.in_transaction
    # Starting a new statement with a result still open discards the old one.
    cur = run(conn, SERIES[backend.name].format(n=50_000))
    cur.fetch(5)
    assert rows(conn, "SELECT COUNT(*) FROM early") == [(1,)]


# --- cancel -------------------------------------------------------------------

LONG_STATEMENT = {
    "sqlite": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r"
    " WHERE i < 10000000000) SELECT SUM(i) FROM r",
    "mysql": "SELECT SLEEP(60)",
    "postgresql": "SELECT pg_sleep(60)",
}


def test_cancel_interrupts_a_running_statement(backend: Backend, conn: Connection) -> None:
    finished = threading.Event()

    def canceller() -> None:
        # Repeat: a cancel that lands before the statement starts is a no-op.
        time.sleep(0.3)
        while not finished.wait(0.3):
            conn.cancel()

    t = threading.Thread(target=canceller)
    t.start()
    started = time.monotonic()
    try:
        with pytest.raises(errors.PgError) as info:
            cur = run(conn, LONG_STATEMENT[backend.name])
            cur.fetch(10)
    finally:
        finished.set()
        t.join()
    assert info.value.sqlstate == "57014"
    assert time.monotonic() - started < 20
    assert rows(conn, "SELECT 1") == [(1,)]
    conn.cancel()  # idle: harmless
    assert rows(conn, "SELECT 2") == [(2,)]


# --- transactions -------------------------------------------------------------


def test_in_transaction_follows_the_backend(backend: Backend, conn: Connection) -> None:
    drop(conn, "txn")
    run(conn, "CREATE TABLE txn (id INT PRIMARY KEY)").close()
    assert not conn.in_transaction
    run(conn, "BEGIN").close()
    assert conn.in_transaction
    run(conn, "INSERT INTO txn VALUES (1)").close()
    assert conn.in_transaction
    run(conn, "COMMIT").close()
    assert not conn.in_transaction
    run(conn, "BEGIN").close()
    run(conn, "INSERT INTO txn VALUES (2)").close()
    run(conn, "ROLLBACK").close()
    assert not conn.in_transaction
    assert rows(conn, "SELECT id FROM txn") == [(1,)]
    if backend.capabilities.savepoints:
        run(conn, "BEGIN").close()
        run(conn, "SAVEPOINT s1").close()
        run(conn, "INSERT INTO txn VALUES (3)").close()
        run(conn, "ROLLBACK TO SAVEPOINT s1").close()
        assert conn.in_transaction
        run(conn, "COMMIT").close()
        assert rows(conn, "SELECT COUNT(*) FROM txn") == [(1,)]


def test_rowcount_counts_matched_rows(backend: Backend, conn: Connection) -> None:
    drop(conn, "rc")
    run(conn, "CREATE TABLE rc (id INT PRIMARY KEY, v INT)").close()
    assert run(conn, "INSERT INTO rc VALUES (1, 0), (2, 0), (3, 5)").rowcount == 3
    # PostgreSQL counts matched rows, MySQL by default only changed ones.
    assert run(conn, "UPDATE rc SET v = 0").rowcount == 3
    assert run(conn, "DELETE FROM rc WHERE id > 1").rowcount == 2
    assert run(conn, "UPDATE rc SET v = 1 WHERE id = 99").rowcount == 0
