"""The SQL Server backend on the wire: the proxy against the mock TDS server (mssql-mock-tds).

The mock answers the canned statements of tests/mssql_mock/src/main.rs and an empty
result to anything else; these tests send PostgreSQL through the proxy and check what a
psycopg client gets: login, result decoding and types, errors as SQLSTATEs with the
session still usable, cancel, TLS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from pgproxy import errors
from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import mssql_mock_server
from tests.fix_tls import self_signed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proxy(mssql_mock_url: str) -> Iterator[ProxyProcess]:
    with run_proxy(mssql_mock_url) as p:
        yield p


def usable(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT n FROM small").fetchall() == [(1,), (2,), (3,)]


def test_login_and_result_decoding(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        cur = conn.execute("SELECT id, name, visits FROM people")
        assert [(d.name, d.type_code) for d in cur.description] == [
            ("id", 23), ("name", 25), ("visits", 20)]
        assert cur.fetchall() == [(1, "Alice", 1 << 40), (2, "Zoë ✓", None), (3, None, -7)]
        binary = conn.cursor(binary=True)
        assert binary.execute("SELECT id, name, visits FROM people").fetchone() == (
            1, "Alice", 1 << 40)


def test_a_result_of_many_rows_streams(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        seen = [n for (n,) in conn.cursor().stream("SELECT n FROM big")]  # row by row
        assert seen == list(range(1, 601))
        assert conn.execute("SELECT n FROM big").fetchall()[-1] == (600,)


@pytest.mark.parametrize(
    ("sql", "sqlstate", "words"),
    [
        ("SELECT * FROM missing", "42P01", "Invalid object name 'missing'"),
        ("SELECT 1 / 0", "22012", "Divide by zero"),
        ("SELECT * FROM orders AS OF TIMESTAMP '2025-01-01 10:00:00'", "0A000", '"orders"'),
        ("SELECT * FROM orders FOR SYSTEM_TIME AS OF TIMESTAMP '2025-01-01 10:00:00'", "0A000",
         "is not system-versioned"),
        ("SELECT * FROM orders AS OF 'HEAD~1'", "0A000", "mssql"),
    ],
)
def test_errors_are_sqlstates_and_the_session_stays_usable(
    proxy: ProxyProcess, sql: str, sqlstate: str, words: str
) -> None:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == sqlstate
        assert words in str(info.value)
        usable(conn)


def test_a_constraint_violation_names_its_constraint(proxy: ProxyProcess) -> None:
    """The constant is bound as an sp_executesql parameter: the mock finds the statement
    by its text with @P1 in place of the value."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation) as info:
            conn.execute('INSERT INTO "PEOPLE" ("ID") VALUES (1)')
        diag = info.value.diag
        assert (diag.constraint_name, diag.table_name) == ("PK_people", "people")
        assert "SQL Server error 2627" in (diag.message_detail or "")
        usable(conn)


def test_cancel_sends_attention_and_the_session_goes_on(proxy: ProxyProcess) -> None:
    """The mock holds `SELECT n FROM slow` for 60 s unless an attention packet comes."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT n FROM slow")
        assert time.monotonic() - started < 10
        timer.join()
        usable(conn)


def test_statement_timeout_cancels_through_the_driver(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 300")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT n FROM slow")
        conn.execute("SET statement_timeout = 0")
        usable(conn)


def test_the_catalog_reads_information_schema_and_sys(proxy: ProxyProcess) -> None:
    """The mock answers the catalog's reads (introspect_mssql.py) with one table."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT table_name FROM information_schema.tables"
                            " WHERE table_schema = 'public'").fetchall() == [("people",)]
        assert conn.execute(
            "SELECT column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_name = 'people'"
            " ORDER BY ordinal_position").fetchall() == [
            ("id", "integer", "NO", "nextval('people_id_seq'::regclass)"),
            ("name", "text", "YES", None),
            ("visits", "bigint", "YES", "0"),
        ]
        assert conn.execute("SELECT indexname, indexdef FROM pg_indexes"
                            " WHERE tablename = 'people'").fetchall() == [
            ("people_pkey", "CREATE UNIQUE INDEX people_pkey ON public.people USING btree (id)")]


def test_an_unreachable_server_is_08001_without_the_password() -> None:
    from tests.fix_servers import free_port

    port = free_port()  # nothing listens there
    with run_proxy(f"mssql://sa:s3cretpw@127.0.0.1:{port}/app?connect_timeout=2") as p:
        with pytest.raises(psycopg.OperationalError) as info:
            with psycopg.connect(p.dsn(), autocommit=True, connect_timeout=20) as conn:
                conn.execute("SELECT 1")
        assert info.value.sqlstate == "08001"
        assert "Connection refused" in str(info.value)
        assert "s3cretpw" not in str(info.value) and "s3cretpw" not in p.log()
        assert p.alive()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    cert, key = self_signed(tmp_path_factory.mktemp("mssql-tls"))
    return str(cert), str(key)


@pytest.mark.parametrize("options", ["encrypt=true&sslrootcert={cert}",
                                     "trust_server_certificate=true"])
def test_tls_to_the_backend(certificate: tuple[str, str], options: str) -> None:
    """TDS 7.4's TLS (the handshake inside PRELOGIN packets): verified against the CA file,
    or trusting a self-signed certificate as SQL Server's TrustServerCertificate does."""
    cert, _ = certificate
    with mssql_mock_server(certificate) as port:
        url = f"mssql://sa:pw@127.0.0.1:{port}/app?" + options.format(cert=cert)
        with run_proxy(url) as p, psycopg.connect(p.dsn(), autocommit=True) as conn:
            usable(conn)
            assert conn.execute("SELECT id, name, visits FROM people").fetchone() == (
                1, "Alice", 1 << 40)


@pytest.mark.parametrize(("query", "reason"), [
    # Without encrypt, a server that insists on TLS is a connect error, not a hang.
    ("", "set encrypt=true"),
    # encrypt=true without the server's CA: the system's bundle does not know a self-signed
    # certificate, so the connect fails rather than trusting it.
    ("?encrypt=true", "certificate verify failed"),
])
def test_a_tls_login_that_cannot_succeed_is_08001(
    certificate: tuple[str, str], query: str, reason: str
) -> None:
    """A server that requires TLS, reached without it or without its CA: 08001 saying why."""
    with mssql_mock_server(certificate) as port:
        with run_proxy(f"mssql://sa:pw@127.0.0.1:{port}/app{query}") as p:
            with pytest.raises(psycopg.OperationalError) as info:
                with psycopg.connect(p.dsn(), autocommit=True, connect_timeout=20) as conn:
                    conn.execute("SELECT 1")
            assert info.value.sqlstate == "08001"
            assert reason in str(info.value)


def test_describe_asks_sp_describe_first_result_set_and_leaves_the_connection_usable(
    mssql_mock_url: str,
) -> None:
    """The mock has no answer for sp_describe_first_result_set (SQL Server lists the
    columns there): no columns, no broken connection, and the statement's own text with
    @P1 declared by its value's type."""
    from pgproxy.backends import from_url
    from pgproxy.backends.mssql import _FORMAT, _declared

    conn = from_url(mssql_mock_url).connect()
    try:
        assert conn.describe("SELECT n FROM small WHERE n > %s AND j = '{}%%'", [5]) is None
        assert not conn.broken
        assert conn.execute("SELECT n FROM small", ()).fetch(5) == [(1,), (2,), (3,)]
    finally:
        conn.close()
    assert _FORMAT.sub(lambda m: "%" if m.group() == "%%" else "@P1", "'{x}%%' = %s") == (
        "'{x}%' = @P1")
    assert [_declared(v) for v in (1, True, "x", None, b"")] == [
        "bigint", "bit", "nvarchar(max)", "sql_variant", "varbinary(max)"]


def test_abort_breaks_off_a_statement_the_server_sits_on(mssql_mock_url: str) -> None:
    """The proxy's last resort when a cancel is not answered: the socket shut from another
    thread ends the blocked call with 08006 at once, and the connection says it is broken."""
    from pgproxy.backends import from_url

    conn = from_url(mssql_mock_url).connect()
    timer = threading.Timer(0.3, conn.abort)
    timer.start()
    started = time.monotonic()
    with pytest.raises(errors.PgError) as info:
        conn.execute("SELECT n FROM slow", ())
    timer.join()
    assert getattr(info.value, "sqlstate", None) == "08006"
    assert time.monotonic() - started < 10
    assert conn.broken
    conn.close()
