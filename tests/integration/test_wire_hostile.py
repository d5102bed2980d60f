"""Hostile input, stalled peers and huge messages against a real proxy process (issue 8).

Each test sends what broke the proxy before: a $n that sized a 2 GB tuple,
statements nested past sqlglot's recursion, invalid UTF-8 and malformed
values in Bind, messages over the old 8 MB read pause, clients that stall
before authenticating, more clients than allowed. After each, the proxy must
still serve, with no XX000 and no traceback in its log.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from pgproxy import pgtypes as t
from tests.fix_proxy import ROOT, ProxyProcess, run_proxy
from tests.fix_servers import free_port
from tests.fix_wire import SYNC, RawClient, extended, frame, parse, query, startup
from tests.integration.test_wire_tls import certificate  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("hostile") / "app.db"
    with run_proxy(f"sqlite:///{db}") as proxy:
        yield proxy
        assert "Traceback" not in proxy.log()
        assert "XX000" not in proxy.log()


def _still_serves(proxy: ProxyProcess) -> None:
    assert proxy.alive()
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _ask(proxy: ProxyProcess, data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """Log in, send `data`, and return the SQLSTATEs and errors up to ReadyForQuery; then
    check that the same session still answers."""
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        client.send(data)
        reply = client.reply()
        assert reply.ready, reply
        client.send(query("SELECT 42"))
        after = client.reply()
        assert after.rows() == [[b"42"]], after
        return reply.sqlstates, reply.errors


# ---------------------------------------------------------------- $n and nesting


def test_huge_parameter_number_is_42P02_while_another_client_is_served(proxy):
    answers: list[tuple[int, ...]] = []
    with psycopg.connect(proxy.dsn(), autocommit=True) as other:
        # A second client keeps querying while the hostile statements go in.
        def keep_busy() -> None:
            for i in range(50):
                answers.append(other.execute("SELECT %s::int", (i,)).fetchone())

        worker = threading.Thread(target=keep_busy)
        worker.start()
        for n in ("2147483648", "10000000", "0", "65536", "9" * 5000):
            codes, errors = _ask(proxy, query(f"SELECT ${n}"))
            assert codes == ["42P02"], errors
            assert errors[0]["M"].startswith("there is no parameter $")
            codes, _ = _ask(proxy, parse(f"SELECT ${n}") + SYNC)
            assert codes == ["42P02"]
        worker.join(30)
    assert answers == [(i,) for i in range(50)]
    assert proxy.rss_kb() < 400_000
    _still_serves(proxy)


def test_parse_may_declare_65535_parameter_types(proxy):
    describe = frame(b"D", b"S\0")
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        client.send(parse("SELECT $1", (t.TEXT,) * 65535) + describe + SYNC)
        reply = client.reply()
        assert reply.sqlstates == [] and reply.ready, reply.errors
        (described,) = [body for mtype, body in reply.messages if mtype == b"t"]
        assert struct.unpack_from("!H", described) == (65535,)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT " + "(" * 5000 + "1" + ")" * 5000, id="5000-parentheses"),
        pytest.param("SELECT " + "+".join(["1"] * 20000), id="20000-terms"),
        pytest.param("SELECT ARRAY" + "[" * 1001 + "1" + "]" * 1001, id="1001-deep-array"),
        pytest.param("SELECT " + "CASE WHEN true THEN " * 300 + "1" + " END" * 300, id="case"),
        pytest.param("SELECT 1" + "::int" * 1000, id="casts"),
    ],
)
def test_deep_statements_are_54001(proxy, sql):
    for data in (query(sql), parse(sql) + SYNC):
        codes, errors = _ask(proxy, data)
        assert codes == ["54001"], errors
        assert errors[0]["M"] == "stack depth limit exceeded"


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        # 100 subqueries pass the proxy's estimate but exceed SQLite's expression depth.
        pytest.param("SELECT " + "(SELECT " * 100 + "1" + ")" * 100, "54001", id="depth"),
        pytest.param(" UNION ALL ".join(f"SELECT {i}" for i in range(600)), "54000",
                     id="compound-terms"),
        pytest.param("SELECT " + ", ".join(["1"] * 3000), "54011", id="columns"),
    ],
)
def test_sqlite_limits_are_54xxx(proxy, sql, code):
    codes, errors = _ask(proxy, query(sql))
    assert codes == [code], errors


def test_statements_nested_within_the_limit_run(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        sql = "SELECT " + "(" * 150 + "1" + ")" * 150
        assert conn.execute(sql.encode(), prepare=False).fetchone() == (1,)
        assert conn.execute("SELECT " + "+".join(["1"] * 150)).fetchone() == (150,)
        # OR chains are built flat: an ORM's long lists of conditions are fine (up to
        # what SQLite's own expression depth of 1,000 takes).
        where = " OR ".join(f"x = {i}" for i in range(900))
        sql = f"SELECT count(*) FROM (SELECT 1 AS x) t WHERE {where}"
        assert conn.execute(sql.encode(), prepare=False).fetchone() == (1,)


# ---------------------------------------------------------------- malformed Bind values


@pytest.mark.parametrize(
    "oid",
    [
        t.INT4,
        t.INT8,
        t.NUMERIC,
        t.DATE,
        t.TIME,
        t.TIMESTAMP,
        t.TIMESTAMPTZ,
        t.UUID,
        t.BOOL,
        t.INT4_ARRAY,
        t.INTERVAL,
        t.TEXT,
        t.FLOAT8,
    ],
)
def test_invalid_utf8_in_a_text_value_is_22021(proxy, oid):
    codes, errors = _ask(proxy, extended("SELECT $1", [b"\xc3\x28"], (oid,)))
    assert codes == ["22021"], errors
    assert errors[0]["M"] == 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'


def test_invalid_utf8_in_query_text_is_22021(proxy):
    codes, errors = _ask(proxy, query(b"SELECT '\xff'"))
    assert codes == ["22021"], errors


def test_binary_int4_array_with_a_zero_dimension_is_empty(proxy):
    value = struct.pack("!iiiiiii", 2, 0, t.INT4, 0, 1, 3, 1)  # ndim 2, dims 0 x 3, no items
    codes, errors = _ask(proxy, extended("SELECT $1", [value], (t.INT4_ARRAY,), (1,)))
    assert "XX000" not in codes and codes in ([], ["0A000"]), errors


@pytest.mark.parametrize(
    ("oid", "value", "fmt", "code"),
    [
        pytest.param(t.INTERVAL, b"99999999999 years", 0, "22015", id="interval-text"),
        pytest.param(
            t.INTERVAL, struct.pack("!qii", 0, 2**31 - 1, 0), 1, "22015", id="interval-binary"
        ),
        pytest.param(t.NUMERIC_ARRAY, b"{{1},{2,3}}", 0, "22P02", id="ragged-array"),
        pytest.param(
            t.INT4_ARRAY, b"{" * 1001 + b"1" + b"}" * 1001, 0, "54000", id="1001-deep-literal"
        ),
        pytest.param(
            t.NUMERIC_ARRAY, struct.pack("!iii", 7, 0, t.NUMERIC), 1, "54000", id="seven-dimensions"
        ),
        pytest.param(
            t.NUMERIC_ARRAY,
            struct.pack("!iiiii", 1, 0, t.NUMERIC, 2**30, 1),
            1,
            "54000",
            id="billion-items",
        ),
        pytest.param(
            t.NUMERIC_ARRAY,
            struct.pack("!iiiii", 1, 0, t.NUMERIC, 1000, 1),
            1,
            "22P03",
            id="items-missing",
        ),
        pytest.param(t.NUMERIC, b"1e999999999", 0, "22003", id="numeric-exponent"),
        pytest.param(t.TIMETZ, struct.pack("!qi", 0, 86400 * 2), 1, "22P03", id="timetz-offset"),
        pytest.param(t.INT4, b"1", 7, "22023", id="format-code"),
    ],
)
def test_malformed_values_get_their_sqlstate(proxy, oid, value, fmt, code):
    codes, errors = _ask(proxy, extended("SELECT $1", [value], (oid,), (fmt,)))
    assert codes == [code], errors


def test_bind_counts_beyond_the_message_are_08P01(proxy):
    # 65,535 values announced, none sent: refused before anything is sized by the count.
    body = b"\0\0" + struct.pack("!HH", 0, 65535)
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        client.send(parse("SELECT $1") + frame(b"B", body) + SYNC)
        reply = client.reply()
        assert reply.sqlstates == ["08P01"] and reply.closed
    _still_serves(proxy)


# ---------------------------------------------------------------- message sizes


def test_messages_past_8_mb_are_answered(proxy):
    data = os.urandom(9 << 20)
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT %b::bytea", (data,), binary=True).fetchone() == (data,)
        sql = "SELECT length('" + "x" * (9 << 20) + "')"
        assert conn.execute(sql.encode(), prepare=False).fetchone() == (9 << 20,)
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.slow
def test_a_200_mb_parameter_round_trips_with_bounded_memory(tmp_path):
    data = os.urandom(200 << 20)
    with run_proxy(f"sqlite:///{tmp_path}/big.db") as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT %b::bytea", (data,), binary=True).fetchone()
            assert row is not None and row[0] == data
        peak_kb = int(
            next(
                line.split()[1]
                for line in Path(f"/proc/{proxy.proc.pid}/status").read_text().splitlines()
                if line.startswith("VmHWM:")
            )
        )
        # The value is held a few times over (read, bound, SQLite's copy, the result),
        # never the whole of a 1 GB length claim.
        assert peak_kb < 1_500_000, peak_kb
        _still_serves(proxy)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"Q" + struct.pack("!i", 1 << 30), id="over-1-GB"),
        pytest.param(b"S" + struct.pack("!i", 20000), id="big-sync"),
        pytest.param(b"Z" + struct.pack("!i", 4), id="unknown-type"),
    ],
)
def test_an_impossible_length_is_08P01_at_once(proxy, header):
    with RawClient(proxy.host, proxy.port) as client:
        assert client.login().ready
        client.send(header)  # nothing follows: the header alone must be refused
        reply = client.reply(timeout=10)
        assert reply.sqlstates == ["08P01"] and reply.closed, reply
    _still_serves(proxy)


# ---------------------------------------------------------------- stalled and surplus clients


def test_a_stalled_client_is_dropped_after_authentication_timeout(tmp_path):
    config = "[server]\nauthentication_timeout = 1\n"
    with run_proxy(
        f"sqlite:///{tmp_path}/loris.db", config=config, users={"alice": "secret"}
    ) as proxy:
        with (
            RawClient(proxy.host, proxy.port) as two_bytes,
            RawClient(proxy.host, proxy.port) as no_password,
        ):
            two_bytes.send(b"\0\0")
            no_password.send(startup(user="alice"))
            assert no_password.reply(timeout=2, until=b"R").messages[0][0] == b"R"
            # Both hold nothing past the timeout (the socket's own limit is 10 s).
            for client in (two_bytes, no_password):
                reply = client.reply(timeout=10)
                assert reply.closed, reply
                assert reply.sqlstates in ([], ["57014"])
        _still_serves(proxy)


def test_max_client_conn_refuses_the_surplus_with_53300(tmp_path):
    config = "[server]\nmax_client_conn = 3\n"
    with run_proxy(f"sqlite:///{tmp_path}/many.db", config=config) as proxy:
        held = [psycopg.connect(proxy.dsn()) for _ in range(3)]
        try:
            with pytest.raises(psycopg.OperationalError) as info:
                psycopg.connect(proxy.dsn())
            assert "sorry, too many clients already" in str(info.value)
            with RawClient(proxy.host, proxy.port) as raw:
                reply = raw.login()
                assert reply.sqlstates == ["53300"] and reply.errors[0]["S"] == "FATAL"
        finally:
            held.pop().close()
        # One left: the next client gets its place, once the proxy has seen the close
        # (Terminate and the socket's end reach it after psycopg's close() returns).
        deadline = time.monotonic() + 10
        while True:
            try:
                conn = psycopg.connect(proxy.dsn())
                break
            except psycopg.OperationalError as exc:
                assert "too many clients" in str(exc) and time.monotonic() < deadline
                time.sleep(0.05)
        with conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        for conn in held:
            conn.close()


# ---------------------------------------------------------------- start-up refusals


def _serve(*args: str, config: str | None = None, cwd: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pgproxy", "serve", *args]
    if config is not None:
        (cwd / "pgproxy.toml").write_text(config)
        argv += ["--config", str(cwd / "pgproxy.toml")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_an_unknown_backend_url_is_one_line_and_exit_2(tmp_path):
    done = _serve("--listen", f"127.0.0.1:{free_port()}", "--backend", "x", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1 and "unknown backend URL scheme" in lines[0]


def test_trust_on_a_non_loopback_listener_refuses_to_start(tmp_path):
    done = _serve(
        "--listen",
        f"0.0.0.0:{free_port()}",
        "--backend",
        f"sqlite:///{tmp_path}/t.db",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1 and "allow_remote_trust" in lines[0]


def test_allow_remote_trust_lets_it_start(tmp_path):
    port = free_port()
    config = "[server]\nallow_remote_trust = true\n"
    with run_proxy(
        f"sqlite:///{tmp_path}/r.db", config=config, extra_args=("--listen", f"0.0.0.0:{port}")
    ) as proxy:
        _still_serves(proxy)


def _outside_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_require_tls_refuses_plain_clients_from_the_network(tmp_path, certificate):  # noqa: F811
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    cert, key = certificate
    port = free_port()
    config = f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\nrequire_tls = true\n'
    with run_proxy(
        f"sqlite:///{tmp_path}/tls.db",
        config=config,
        users={"alice": "pw"},
        extra_args=("--listen", f"{outside}:{port}"),
    ) as proxy:
        remote = f"host={outside} port={port} user=alice password=pw dbname=app"
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(remote + " sslmode=disable")
        assert "requires TLS" in str(info.value)
        with psycopg.connect(remote + " sslmode=require") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with psycopg.connect(proxy.dsn(sslmode="disable")) as conn:  # loopback: plain is fine
            assert conn.execute("SELECT 2").fetchone() == (2,)


def test_require_tls_without_a_certificate_refuses_to_start(tmp_path):
    done = _serve(
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--backend",
        f"sqlite:///{tmp_path}/t.db",
        config="[server]\nrequire_tls = true\n",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "require_tls" in done.stderr
