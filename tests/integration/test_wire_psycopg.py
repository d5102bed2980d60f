"""psycopg 3 through the proxy, on SQLite and on MariaDB: the protocol end to end."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import psycopg.types.string
import pytest
from psycopg import errors as pgerrors

from pgproxy import settings

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as c:
        yield c


@pytest.fixture
def table(conn, request):
    name = f"t_{request.node.name.split('[')[0][-20:]}_{uuid.uuid4().hex[:6]}"
    yield name
    conn.execute(f"DROP TABLE IF EXISTS {name}")


def test_select_one_and_server_parameters(conn):
    assert conn.execute("select 1").fetchone() == (1,)
    # The advertised version: [server] server_version, by default the one Debian's pg_dump has.
    assert str(conn.info.server_version) == settings.SERVER_VERSION_NUM
    assert conn.info.parameter_status("server_version") == settings.DEFAULT_SERVER_VERSION
    assert conn.info.parameter_status("server_encoding") == "UTF8"
    assert conn.info.parameter_status("integer_datetimes") == "on"


def test_a_select_of_no_columns_is_one_empty_row(conn):
    # PostgreSQL's `SELECT;` (a fuzzer found it answered XX000): one row, no columns.
    cur = conn.execute("SELECT ")
    assert cur.description == [] and cur.fetchall() == [()]
    cur = conn.execute("SELECT", binary=True)
    assert cur.fetchall() == [()]


def test_crud_and_command_tags(conn, table):
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER)")
    assert cur.statusmessage == "CREATE TABLE"
    cur.execute(f"INSERT INTO {table} (id, name, n) VALUES (1, 'a', 10), (2, 'b', 20)")
    assert cur.statusmessage == "INSERT 0 2"
    cur.execute(f"UPDATE {table} SET n = n + 1 WHERE id = %s", (2,))
    assert cur.statusmessage == "UPDATE 1"
    cur.execute(f"SELECT id, name, n FROM {table} ORDER BY id")
    assert cur.fetchall() == [(1, "a", 10), (2, "b", 21)]
    assert cur.statusmessage == "SELECT 2"
    cur.execute(f"DELETE FROM {table} WHERE id = %s", (1,))
    assert cur.statusmessage == "DELETE 1"


def test_errors_carry_sqlstate_and_session_stays_usable(conn, table):
    with pytest.raises(pgerrors.UndefinedTable):
        conn.execute("SELECT * FROM no_such_table_here")
    assert conn.execute("select 2").fetchone() == (2,)
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    conn.execute(f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(pgerrors.UniqueViolation):
        conn.execute(f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(pgerrors.SyntaxError):
        conn.execute("SELEC 1")
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)


def test_transactions_commit_rollback_and_failed_state(proxy, table):
    with psycopg.connect(proxy.dsn()) as c:  # psycopg opens transactions itself
        c.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
        c.commit()
        c.execute(f"INSERT INTO {table} VALUES (1)")
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        c.rollback()
        assert c.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        c.execute(f"INSERT INTO {table} VALUES (2)")
        c.commit()
        with pytest.raises(pgerrors.UniqueViolation):
            c.execute(f"INSERT INTO {table} VALUES (2)")
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(pgerrors.InFailedSqlTransaction):
            c.execute("SELECT 1")
        c.rollback()
        assert c.execute(f"SELECT id FROM {table}").fetchall() == [(2,)]
        c.rollback()
        c.execute(f"DROP TABLE {table}")
        c.commit()


def test_prepared_statements_and_executemany(conn, table):
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
    with conn.cursor() as cur:
        rows = [(i, f"n{i}") for i in range(50)]
        cur.executemany(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", rows)
        for i in range(10):  # psycopg prepares a statement after it has run 5 times
            cur.execute(f"SELECT name FROM {table} WHERE id = %s", (i,), prepare=True)
            assert cur.fetchone() == (f"n{i}",)
        cur.execute(f"SELECT count(*) FROM {table}")
        assert cur.fetchone() == (50,)


def test_pipeline_mode(conn, table):
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
    with conn.pipeline():
        cur = conn.cursor()
        for i in range(20):
            cur.execute(f"INSERT INTO {table} (id, v) VALUES (%s, %s)", (i, str(i)))
        cur.execute(f"SELECT count(*) FROM {table}")
    assert cur.fetchone() == (20,)


def test_server_side_cursor_streams_100k_rows(proxy, table):
    with psycopg.connect(proxy.dsn(), autocommit=True) as c:
        c.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
        with c.transaction(), c.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {table} (id, v) VALUES (%s, %s)",
                [(i, f"value {i}") for i in range(100_000)],
            )
    with psycopg.connect(proxy.dsn()) as c:
        total = 0
        count = 0
        with c.cursor(name="big") as cur:
            cur.itersize = 5000
            cur.execute(f"SELECT id, v FROM {table} ORDER BY id")
            for row in cur:
                total += row[0]
                count += 1
        assert count == 100_000
        assert total == sum(range(100_000))
        c.rollback()


@pytest.mark.parametrize("binary", [False, True])
def test_types_round_trip(conn, binary):
    values = {
        "bool": True,
        "int2": 12,
        "int4": 123456,
        "int8": 2**40,
        "float8": 1.5,
        "numeric": Decimal("12345.678"),
        "text": "héllo wörld",
        "bytea": b"\x00\x01\xff",
        "date": dt.date(2024, 2, 29),
        "time": dt.time(13, 14, 15, 123000),
        "timestamp": dt.datetime(2024, 1, 2, 3, 4, 5, 678000),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }
    with conn.cursor(binary=binary) as cur:
        for pgtype, value in values.items():
            cur.execute(f"SELECT %s::{pgtype}", (value,))
            got = cur.fetchone()[0]
            assert got == value, (pgtype, got, value)
        cur.execute("SELECT NULL::int4")
        assert cur.fetchone() == (None,)


def test_set_and_show(conn):
    conn.execute("SET application_name = 'pgproxy-test'")
    assert conn.execute("SHOW application_name").fetchone() == ("pgproxy-test",)
    assert conn.info.parameter_status("application_name") == "pgproxy-test"
    conn.execute("SET statement_timeout TO '5s'")
    assert conn.execute("SHOW statement_timeout").fetchone() == ("5s",)  # as PostgreSQL shows it
    with pytest.raises(pgerrors.UndefinedObject):
        conn.execute("SHOW no_such_setting")
    assert conn.execute("select 3").fetchone() == (3,)


def test_connect_time_functions(conn):
    row = conn.execute("SELECT version(), current_database(), current_user").fetchone()
    assert row[0].startswith(f"PostgreSQL {settings.DEFAULT_SERVER_VERSION} ")
    assert row[1] == "app"
    assert row[2] == "tester"


def test_empty_query(conn):
    cur = conn.execute("")
    assert cur.pgresult.status == psycopg.pq.ExecStatus.EMPTY_QUERY
    assert conn.execute("select 4").fetchone() == (4,)


def test_multi_statement_query_is_one_implicit_transaction(conn, table):
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    # psycopg sends a parameterless text as one simple Query.
    with pytest.raises(pgerrors.UniqueViolation):
        conn.execute(f"INSERT INTO {table} VALUES (1); INSERT INTO {table} VALUES (2), (2)")
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    conn.execute(f"INSERT INTO {table} VALUES (1); INSERT INTO {table} VALUES (2)")
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)
    conn.execute(f"BEGIN; INSERT INTO {table} VALUES (3); ROLLBACK")
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)


def test_timezone_setting_shapes_timestamptz_output(conn):
    conn.execute("SET TimeZone = 'America/New_York'")
    assert conn.info.parameter_status("TimeZone") == "America/New_York"
    cur = conn.cursor()
    # Read the value as the text the server sent, not as a datetime.
    cur.adapters.register_loader("timestamptz", psycopg.types.string.TextLoader)
    cur.execute("SELECT CAST('2024-01-15 12:00:00+00' AS timestamptz)")
    assert cur.fetchone() == ("2024-01-15 07:00:00-05",)
    with pytest.raises(pgerrors.InvalidParameterValue):
        conn.execute("SET TimeZone = 'Mars/Olympus_Mons'")
    conn.execute("SET TimeZone = 'UTC'")
    assert conn.execute("select 9").fetchone() == (9,)
