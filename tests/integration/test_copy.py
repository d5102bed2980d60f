"""COPY FROM STDIN / TO STDOUT through the proxy on SQLite and MariaDB, against real PostgreSQL.

Real clients (psycopg's cursor.copy(), psql's \\copy, libpq's CopyFail) on a
real proxy process; COPY TO output is compared byte for byte with what
PostgreSQL itself writes for the same table and rows, and errors with
PostgreSQL's SQLSTATE, message and CONTEXT for the same bad input.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import pq

from tests.fix_proxy import ProxyProcess, run_proxy

DDL = "CREATE TABLE {t} (id int PRIMARY KEY, name text, score float8, ok boolean)"
ROWS = [
    (1, "plain", 1.5, True),
    (2, None, None, None),
    (3, "", 0.25, False),
    (4, "tab\there", -3.0, True),
    (5, "new\nline\r\nwin", 100.125, True),
    (6, 'back\\slash "quoted", comma', 2.5, False),
    (7, "unicode: héllo ✓ 日本", 7.0, True),
    (8, "\\N", 8.0, True),
    (9, "NULL", 9.0, None),
    (10, "\\.", 10.0, False),
]
FORMATS = [
    "",
    " (FORMAT csv)",
    " (FORMAT csv, HEADER true, FORCE_QUOTE (name))",
    " WITH CSV HEADER DELIMITER ';' QUOTE '''' ESCAPE '\\'",
    " (FORMAT text, DELIMITER '|', NULL 'nil')",
    " (FORMAT text, HEADER, DELIMITER ',')",
    " (FORMAT csv, DELIMITER E'\\t', QUOTE '|', NULL 'NULL', FORCE_QUOTE *)",
    " (FORMAT binary)",
]


_FORCE_QUOTE = re.compile(r", FORCE_QUOTE (\(\w+\)|\*)")


@pytest.fixture(scope="module")
def pg(postgresql_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgresql_url, autocommit=True) as conn:
        yield conn


def connect(proxy: ProxyProcess) -> psycopg.Connection:
    return psycopg.connect(proxy.dsn(), autocommit=True)


def fresh(conn: psycopg.Connection, table: str, ddl: str = DDL) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(ddl.format(t=table))


def copy_out(conn: psycopg.Connection, sql: str) -> bytes:
    with conn.cursor().copy(sql) as copy:
        return b"".join(bytes(chunk) for chunk in copy)


def copy_in(conn: psycopg.Connection, sql: str, data: bytes) -> str:
    cur = conn.cursor()
    with cur.copy(sql) as copy:
        copy.write(data)
    return cur.statusmessage or ""


def load_rows(conn: psycopg.Connection, table: str, binary: bool = False) -> str:
    cur = conn.cursor()
    sql = f"COPY {table} (id, name, score, ok) FROM STDIN" + (" (FORMAT binary)" if binary else "")
    with cur.copy(sql) as copy:
        if binary:
            copy.set_types(["int4", "text", "float8", "bool"])
        for row in ROWS:
            copy.write_row(row)
    return cur.statusmessage or ""


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_write_row_and_rows_round_trip(proxy, binary):
    table = f"copy_rt_{int(binary)}"
    with connect(proxy) as conn:
        fresh(conn, table)
        assert load_rows(conn, table, binary) == f"COPY {len(ROWS)}"
        stored = conn.execute(f"SELECT id, name, score, ok FROM {table} ORDER BY id").fetchall()
        assert stored == ROWS
        cur = conn.cursor()
        fmt = " (FORMAT binary)" if binary else ""
        query = f"COPY (SELECT id, name, score, ok FROM {table} ORDER BY id) TO STDOUT{fmt}"
        with cur.copy(query) as copy:
            copy.set_types(["int4", "text", "float8", "bool"])
            assert list(copy.rows()) == ROWS


@pytest.mark.parametrize("options", FORMATS)
def test_copy_to_matches_postgresql_byte_for_byte(proxy, pg, options):
    table = "copy_cmp"
    with connect(proxy) as conn:
        fresh(conn, table)
        fresh(pg, table)
        load_rows(conn, table)
        load_rows(pg, table)
        query = f"COPY (SELECT id, name, score, ok FROM {table} ORDER BY id) TO STDOUT{options}"
        ours, theirs = copy_out(conn, query), copy_out(pg, query)
        assert ours == theirs
        # and what PostgreSQL wrote loads back into the proxy as the same rows
        fresh(conn, table)
        load = f"COPY {table} FROM STDIN" + _FORCE_QUOTE.sub("", options)  # COPY TO only
        assert copy_in(conn, load, theirs) == f"COPY {len(ROWS)}"
        assert copy_out(conn, query) == theirs


def test_psql_backslash_copy_in_and_out(proxy, pg, psql_client, postgresql_url, tmp_path):
    table = "copy_psql"
    fresh(pg, table)
    load_rows(pg, table)
    with connect(proxy) as conn:
        for fmt in ("csv header", "", "csv", "(format text, null 'NULL!')"):
            src, out = tmp_path / "src.dat", tmp_path / "out.dat"
            order = f"(SELECT * FROM {table} ORDER BY id)"
            psql(psql_client, postgresql_url, f"\\copy {order} to '{src}' {fmt}")
            fresh(conn, table)
            done = psql(psql_client, proxy.url(), f"\\copy {table} from '{src}' {fmt}")
            assert done.strip() == f"COPY {len(ROWS)}"
            psql(psql_client, proxy.url(), f"\\copy {order} to '{out}' {fmt}")
            assert out.read_bytes() == src.read_bytes(), fmt
            # psql's COPY ... TO STDOUT straight to its output, too
            shown = psql(psql_client, proxy.url(), f"COPY {order} TO STDOUT {fmt}")
            assert shown.encode() == src.read_bytes()


def psql(psql_client: str, url: str, command: str) -> str:
    done = subprocess.run(
        [psql_client, "-X", "-v", "ON_ERROR_STOP=1", url, "-c", command],
        capture_output=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


BAD_INPUT = [
    ("", b"1\ta\t1\tt\n2\tb\t2\tf\n3\tc\tnot-a-number\tt\n"),
    ("", b"1\ta\t1\tt\n2\tb\t2\n"),
    ("", b"1\ta\t1\tt\textra\n"),
    ("", b"x1\ta\t1\tt\n"),
    ("", b"1\ta\t1\tmaybe\n"),
    (" (FORMAT csv)", b'1,a,1,t\n2,"open,2,t\n'),
    (" (FORMAT csv)", b"1,a,1,t\n99999999999,b,2,t\n"),
    (" (FORMAT binary)", b"PGCOPX\n\xff\r\n\x00"),
]


@pytest.mark.parametrize(("options", "data"), BAD_INPUT)
def test_bad_row_fails_like_postgresql_and_commits_nothing(proxy, pg, options, data):
    table = "copy_bad"
    errs = []
    with connect(proxy) as conn:
        for target in (conn, pg):
            fresh(target, table)
            with pytest.raises(psycopg.Error) as caught:
                copy_in(target, f"COPY {table} FROM STDIN{options}", data)
            e = caught.value
            errs.append((e.sqlstate, e.diag.message_primary, e.diag.context))
            assert target.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert errs[0] == errs[1]
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_copy_fail_rolls_back_with_57014(proxy):
    table = "copy_fail"
    with connect(proxy) as conn:
        fresh(conn, table)
        pgconn = conn.pgconn
        pgconn.send_query(f"COPY {table} FROM STDIN".encode())
        assert pgconn.get_result().status == pq.ExecStatus.COPY_IN
        pgconn.put_copy_data(b"1\ta\t1\tt\n" * 3)
        pgconn.put_copy_end(b"the client changed its mind")
        res = pgconn.get_result()
        assert res.status == pq.ExecStatus.FATAL_ERROR
        assert res.error_field(pq.DiagnosticField.SQLSTATE) == b"57014"
        assert res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) == (
            b"COPY from stdin failed: the client changed its mind"
        )
        assert pgconn.get_result() is None
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        # psycopg sends CopyFail when the block raises
        sql = f"COPY {table} FROM STDIN"
        with pytest.raises(ZeroDivisionError), conn.cursor().copy(sql) as copy:
            copy.write_row((1, "a", 1.0, True))
            1 / 0  # noqa: B018
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_copy_joins_an_open_transaction(proxy):
    table = "copy_tx"
    with connect(proxy) as conn:
        fresh(conn, table)
        conn.execute("BEGIN")
        copy_in(conn, f"COPY {table} FROM STDIN", b"1\ta\t1\tt\n2\tb\t2\tf\n")
        assert conn.info.transaction_status == pq.TransactionStatus.INTRANS
        conn.execute("ROLLBACK")
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {table} VALUES (10, 'x', 0, true)")
        copy_in(conn, f"COPY {table} FROM STDIN", b"1\ta\t1\tt\n")
        conn.execute("COMMIT")
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)
        # a bad row aborts the transaction block, as in PostgreSQL
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            copy_in(conn, f"COPY {table} FROM STDIN", b"3\tc\tbad\tt\n")
        assert conn.info.transaction_status == pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.execute("ROLLBACK")
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)


def test_column_list_leaves_defaults_and_checks_names(proxy):
    table = "copy_cols"
    ddl = "CREATE TABLE {t} (id int PRIMARY KEY, name text DEFAULT 'dflt', n int)"
    with connect(proxy) as conn:
        fresh(conn, table, ddl)
        assert copy_in(conn, f"COPY {table} (n, id) FROM STDIN (FORMAT csv)", b"7,1\n,2\n") == (
            "COPY 2"
        )
        assert conn.execute(f"SELECT id, name, n FROM {table} ORDER BY id").fetchall() == [
            (1, "dflt", 7), (2, "dflt", None),
        ]
        assert copy_out(conn, f"COPY {table} (id, n) TO STDOUT") == b"1\t7\n2\t\\N\n"
        with pytest.raises(psycopg.errors.UndefinedColumn):
            copy_in(conn, f"COPY {table} (nope) FROM STDIN", b"1\n")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            copy_out(conn, f"COPY {table} (id, nope) TO STDOUT")
        with pytest.raises(psycopg.errors.DuplicateColumn):
            copy_in(conn, f"COPY {table} (id, id) FROM STDIN", b"1\t1\n")
        with pytest.raises(psycopg.errors.UndefinedTable):
            copy_in(conn, "COPY copy_no_such_table FROM STDIN", b"1\n")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_server_files_and_programs_are_refused(proxy):
    with connect(proxy) as conn:
        for sql in (
            "COPY copy_cols FROM '/etc/passwd'",
            "COPY copy_cols TO '/tmp/pgproxy-copy-out'",
            "COPY copy_cols TO PROGRAM 'touch /tmp/pgproxy-copy-pwned'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        assert not Path("/tmp/pgproxy-copy-out").exists()
        assert not Path("/tmp/pgproxy-copy-pwned").exists()


def test_copy_invalidates_the_cache_and_reports_a_write(tmp_path):
    audit = tmp_path / "audit.jsonl"
    config = f"""
[query_cache]
enabled = true
ttl = 300

[[observers.subscriber]]
name = "audit"
type = "audit"
path = "{audit}"
"""
    backend = f"sqlite:///{tmp_path / 'c.db'}"
    with run_proxy(backend, config=config) as proxy, connect(proxy) as conn:
        fresh(conn, "copy_cache")
        count = "SELECT count(*) FROM copy_cache"
        assert conn.execute(count).fetchone() == (0,)
        assert conn.execute(count).fetchone() == (0,)  # served from the cache now
        copy_in(conn, "COPY copy_cache FROM STDIN", b"1\ta\t1\tt\n2\tb\t2\tf\n")
        assert conn.execute(count).fetchone() == (2,)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            events = [json.loads(line) for line in audit.read_text().splitlines()] if (
                audit.exists()) else []
            writes = [e for e in events if e["type"] == "write" and e["rows"] == 2]
            if writes:
                break
            time.sleep(0.1)
        assert writes and writes[0]["tables"] == ["copy_cache"]


def test_copy_in_the_extended_protocol(proxy):
    """libpq's PQsendQueryParams: Parse/Bind/Describe/Execute/Sync, then the COPY."""
    table = "copy_ext"
    with connect(proxy) as conn:
        fresh(conn, table)
        pgconn = conn.pgconn
        pgconn.send_query_params(f"COPY {table} (id, name) FROM STDIN (FORMAT csv)".encode(), None)
        assert pgconn.get_result().status == pq.ExecStatus.COPY_IN
        pgconn.put_copy_data(b'1,"x,y"\n2,\n')
        pgconn.put_copy_end()
        res = pgconn.get_result()
        assert res.status == pq.ExecStatus.COMMAND_OK and res.command_status == b"COPY 2"
        assert pgconn.get_result() is None
        pgconn.send_query_params(f"COPY {table} (id, name) TO STDOUT".encode(), None)
        assert pgconn.get_result().status == pq.ExecStatus.COPY_OUT
        got = []
        while True:
            n, data = pgconn.get_copy_data(0)
            if n < 0:
                break
            got.append(bytes(data))
        assert got == [b"1\tx,y\n", b"2\t\\N\n"]
        res = pgconn.get_result()
        assert res.status == pq.ExecStatus.COMMAND_OK and res.command_status == b"COPY 2"
        assert pgconn.get_result() is None
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_asyncpg_copy_records_and_copy_from_table(proxy):
    import asyncio
    import io

    import asyncpg

    table = "copy_apg"
    with connect(proxy) as conn:
        fresh(conn, table)

    async def run() -> tuple[str, bytes]:
        c = await asyncpg.connect(host=proxy.host, port=proxy.port, user=proxy.user,
                                  database="app")
        try:
            tag = await c.copy_records_to_table(  # binary COPY FROM
                table, records=ROWS[:4],
                columns=["id", "name", "score", "ok"],
            )
            out = io.BytesIO()
            await c.copy_from_table(table, output=out, format="csv", columns=["id", "name"])
            return tag, out.getvalue()
        finally:
            await c.close()

    tag, data = asyncio.run(run())
    assert tag == "COPY 4"
    assert data == b'1,plain\n2,\n3,""\n4,tab\there\n'


def test_copy_through_the_postgresql_backend(proxy_postgresql, pg):
    """The pass-through backend gets the same batched INSERTs; output matches PostgreSQL's."""
    table = "copy_passthrough"
    with connect(proxy_postgresql) as conn:
        fresh(conn, table)
        assert load_rows(conn, table, binary=True) == f"COPY {len(ROWS)}"
        query = f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT (FORMAT csv)"
        assert copy_out(conn, query) == copy_out(pg, query)


TYPED_DDL = (
    "CREATE TABLE {t} (id int PRIMARY KEY, d date, ts timestamp, amount numeric(10,2),"
    " raw bytea, big bigint, small smallint)"
)
TYPED_CSV = (
    b"1,2024-02-29,2024-02-29 13:45:00,12.50,\\x00ff10,9007199254740993,-32768\n"
    b"2,,,,,,\n"
    b"3,1999-12-31,1999-12-31 23:59:59.5,-0.01,\\x,-1,7\n"
)


@pytest.mark.parametrize("options", ["", " (FORMAT csv)", " (FORMAT binary)"])
def test_typed_columns_match_postgresql(proxy, pg, options):
    table = "copy_typed"
    with connect(proxy) as conn:
        for target in (conn, pg):
            fresh(target, table, TYPED_DDL)
            assert copy_in(target, f"COPY {table} FROM STDIN (FORMAT csv)", TYPED_CSV) == "COPY 3"
        query = f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT{options}"
        theirs = copy_out(pg, query)
        assert copy_out(conn, query) == theirs
        fresh(conn, table, TYPED_DDL)
        assert copy_in(conn, f"COPY {table} FROM STDIN{options}", theirs) == "COPY 3"
        assert copy_out(conn, query) == theirs


def test_a_bad_row_early_in_a_long_copy_stops_it(proxy):
    """The error comes while the client is still sending; what it sends after is dropped."""
    table = "copy_long_bad"
    good = b"".join(b"%d\tname\t1\tt\n" % i for i in range(10, 200_000))
    with connect(proxy) as conn:
        fresh(conn, table)
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as caught:
            copy_in(conn, f"COPY {table} FROM STDIN", b"1\ta\t1\tt\n2\tb\tx\tt\n" + good)
        assert caught.value.diag.context == 'COPY copy_long_bad, line 2, column score: "x"'
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert copy_in(conn, f"COPY {table} FROM STDIN", good) == f"COPY {200_000 - 10}"


def test_client_gone_mid_copy_leaves_nothing(proxy):
    table = "copy_gone"
    with connect(proxy) as conn:
        fresh(conn, table)
    conn = connect(proxy)
    pgconn = conn.pgconn
    pgconn.send_query(f"COPY {table} FROM STDIN".encode())
    assert pgconn.get_result().status == pq.ExecStatus.COPY_IN
    pgconn.put_copy_data(b"".join(b"%d\tx\t1\tt\n" % i for i in range(50_000)))
    pgconn.flush()
    pgconn.finish()  # the socket closes mid-COPY
    deadline = time.monotonic() + 10
    with connect(proxy) as conn:
        while time.monotonic() < deadline:
            try:
                count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                break
            except psycopg.errors.LockNotAvailable:  # SQLite: the dead session still rolls back
                time.sleep(0.1)
        assert count == (0,)
        assert copy_in(conn, f"COPY {table} FROM STDIN", b"1\ta\t1\tt\n") == "COPY 1"


def test_a_row_the_backend_refuses_is_named_by_its_line(proxy, pg):
    table = "copy_dup"
    data = b"".join(b"%d\tx\t1\tt\n" % i for i in range(1, 5000)) + b"7\tdup\t1\tt\n"
    found = []
    with connect(proxy) as conn:
        for target in (conn, pg):
            fresh(target, table)
            with pytest.raises(psycopg.errors.UniqueViolation) as caught:
                copy_in(target, f"COPY {table} FROM STDIN", data)
            found.append(caught.value.diag.context)
            assert target.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    assert found[0] == found[1] == f"COPY {table}, line 5000"


def test_pg_dump_style_script_through_psql(proxy, psql_client, tmp_path):
    """A pg_dump data section: COPY ... FROM stdin; with the rows inline, ended by \\."""
    script = tmp_path / "dump.sql"
    script.write_bytes(
        b"DROP TABLE IF EXISTS copy_dump;\n"
        b"CREATE TABLE copy_dump (id integer NOT NULL, name text, note text);\n"
        b"COPY public.copy_dump (id, name, note) FROM stdin;\n"
        b"1\tada\t\\N\n2\tgr\\\\ace\tline\\nbreak\\ttab\n\\.\n"
        b"COPY public.copy_dump (id, name, note) FROM stdin;\n"
        b"\\.\n"
        b"SELECT count(*) FROM copy_dump;\n"
    )
    done = subprocess.run(
        [psql_client, "-X", "-v", "ON_ERROR_STOP=1", "-At", proxy.url(), "-f", str(script)],
        capture_output=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines()[-3:] == ["COPY 2", "COPY 0", "2"]
    with connect(proxy) as conn:
        assert conn.execute("SELECT id, name, note FROM copy_dump ORDER BY id").fetchall() == [
            (1, "ada", None), (2, "gr\\ace", "line\nbreak\ttab"),
        ]


@pytest.mark.parametrize("data", [b"1\ta\n\\N\tb\n", b"1\ta\n2\tbad\n"], ids=["not-null", "check"])
def test_row_check_errors_show_their_line_like_postgresql(proxy, pg, data):
    table = "copy_checks"
    ddl = "CREATE TABLE {t} (id int NOT NULL, v text CHECK (v <> 'bad'))"
    found = []
    with connect(proxy) as conn:
        for target in (conn, pg):
            fresh(target, table, ddl)
            with pytest.raises(psycopg.errors.IntegrityError) as caught:
                copy_in(target, f"COPY {table} FROM STDIN", data)
            found.append((caught.value.sqlstate, caught.value.diag.context))
            assert target.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    assert found[0] == found[1]
