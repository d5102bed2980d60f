"""The Flight SQL endpoint's edges: authentication (basic, bearer, refused), TLS, errors
carrying their SQLSTATE, hints and observers on the same path as the wire, and the
flag without the extra."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import adbc_driver_manager as adbc_errors
import asyncpg
import pytest
from pyarrow import flight

from pgproxy.flight import messages
from tests.fix_flight import FlightProxy, run_flight_proxy, wait_port
from tests.fix_proxy import ROOT, run_proxy
from tests.fix_servers import free_port
from tests.fix_tls import self_signed

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> FlightProxy:
    from pgproxy.users import md5_hash, scram_verifier

    db = tmp_path_factory.mktemp("flight-auth") / "app.db"
    users = {"alice": "wonder land", "bob": md5_hash("builder", "bob"),
             "carol": scram_verifier("s3cret")}
    config = f'[backends]\napp = "sqlite:///{db}"\n'
    with run_flight_proxy("", config=config, users=users) as fp:
        yield fp


def test_basic_auth_for_each_kind_of_secret(secured):
    for user, password in (("alice", "wonder land"), ("bob", "builder"), ("carol", "s3cret")):
        with secured.connect(user=user, password=password) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == user


@pytest.mark.parametrize("user,password", [("alice", "wrong"), ("bob", "md5" + "0" * 32),
                                           ("nobody", "x")])
def test_wrong_password_is_refused_with_28p01(secured, user, password):
    with pytest.raises(adbc_errors.Error, match="28P01") as caught:
        with secured.connect(user=user, password=password) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    assert "UNAUTHENTICATED" in str(caught.value)


def test_no_credentials_and_bad_tokens_are_refused(secured):
    client = secured.client()
    query = messages.M["CommandStatementQuery"](query="SELECT 1")
    descriptor = flight.FlightDescriptor.for_command(messages.pack(query))
    with pytest.raises(flight.FlightUnauthenticatedError, match="28000"):
        client.get_flight_info(descriptor)
    forged = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer not-a-token")])
    with pytest.raises(flight.FlightUnauthenticatedError, match="28000"):
        client.get_flight_info(descriptor, forged)


def test_basic_auth_gives_a_bearer_token_for_later_calls(secured):
    client = secured.client()
    header = client.authenticate_basic_token("carol", "s3cret")
    options = flight.FlightCallOptions(headers=[header, (b"database", b"app")])
    query = messages.M["CommandStatementQuery"](query="SELECT current_user, current_database()")
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(messages.pack(query)), options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.to_pylist() == [{"current_user": "carol", "current_database": "app"}]


def test_a_ticket_is_its_users_own(secured):
    client = secured.client()
    alice = flight.FlightCallOptions(headers=[client.authenticate_basic_token(
        "alice", "wonder land")])
    carol = flight.FlightCallOptions(headers=[client.authenticate_basic_token(
        "carol", "s3cret")])
    query = messages.M["CommandStatementQuery"](query="SELECT current_user AS who")
    info = client.get_flight_info(flight.FlightDescriptor.for_command(messages.pack(query)),
                                  alice)
    ticket = info.endpoints[0].ticket
    with pytest.raises(flight.FlightServerError, match="26000"):
        client.do_get(ticket, carol).read_all()
    assert client.do_get(ticket, alice).read_all().to_pylist() == [{"who": "alice"}]


@pytest.fixture(scope="module")
def open_proxy(tmp_path_factory) -> FlightProxy:
    where = tmp_path_factory.mktemp("flight-errors")
    down = f"mysql://root:pw@127.0.0.1:{free_port()}/nothing"
    audit = where / "audit.jsonl"
    config = f"""
[backends]
app = "sqlite:///{where / 'app.db'}"
down = "{down}"

[observers]
dead_letter = "{where / 'dl.db'}"

[[observers.subscriber]]
name = "audit"
type = "audit"
path = "{audit}"
"""
    with run_flight_proxy("", config=config) as fp:
        fp.audit = audit  # type: ignore[attr-defined]
        yield fp


@pytest.mark.parametrize("sql,sqlstate", [
    ("SELEC 1", "42601"),
    ("SELECT * FROM no_such_table", "42P01"),
    ("SELECT 1/0", "22012"),
])
def test_errors_carry_their_sqlstate_and_the_connection_goes_on(open_proxy, sql, sqlstate):
    with open_proxy.connect() as conn, conn.cursor() as cur:
        with pytest.raises(adbc_errors.Error, match=sqlstate):
            cur.execute(sql)
        cur.execute("SELECT 41 + 1")
        assert cur.fetchone()[0] == 42


def test_errors_reach_pyarrow_flight_with_extra_info(open_proxy):
    client = open_proxy.client()
    options = flight.FlightCallOptions(headers=[(b"database", b"app")])
    query = messages.M["CommandStatementQuery"](query="SELECT * FROM no_such_table")
    with pytest.raises(flight.FlightServerError) as caught:
        client.get_flight_info(flight.FlightDescriptor.for_command(messages.pack(query)), options)
    assert json.loads(caught.value.extra_info)["sqlstate"] == "42P01"


def test_backend_down_is_unavailable_with_the_wires_sqlstate(open_proxy):
    # What a wire client is told (asyncpg shows a startup error's SQLSTATE).
    with pytest.raises(asyncpg.PostgresError) as wire:
        asyncio.run(asyncpg.connect(open_proxy.proxy.url("down")))
    code = wire.value.sqlstate
    assert code in ("08001", "08006")  # refused at connect; lost afterwards
    with pytest.raises(adbc_errors.Error, match=code) as caught:
        with open_proxy.connect("down") as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    assert "Unavailable" in str(caught.value)  # the gRPC status: a client may retry
    with open_proxy.connect() as conn, conn.cursor() as cur:  # the other route serves on
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1


def test_hints_take_the_same_path_as_the_wire(open_proxy):
    with open_proxy.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS hinted (id integer)")
        # SQLite keeps no history: the dialect layer refuses AS OF, never ignores it.
        with pytest.raises(adbc_errors.Error, match="0A000"):
            cur.execute("SELECT * FROM hinted AS OF 'HEAD~1'")
        with pytest.raises(adbc_errors.Error, match="0A000"):
            cur.execute("/*+ as_of('HEAD~1') */ SELECT * FROM hinted")


def test_observers_see_flight_statements(open_proxy):
    with open_proxy.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS observed (id integer)")
        cur.adbc_statement.set_sql_query("INSERT INTO observed VALUES (1), (2), (3)")
        assert cur.adbc_statement.execute_update() == 3
    deadline = time.monotonic() + 10
    while True:
        events = [json.loads(line) for line in open_proxy.audit.read_text().splitlines()]
        writes = [e for e in events if e["type"] == "write" and e.get("tables") == ["observed"]
                  and e.get("rows")]  # the INSERT's (the CREATE TABLE's has none)
        if writes or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [e["rows"] for e in writes] == [3]
    assert any(e["type"] == "connect" for e in events)


def test_tls(tmp_path):
    cert, key = self_signed(tmp_path)
    config = f'[backends]\napp = "sqlite:///{tmp_path / "app.db"}"\n'
    with run_flight_proxy("", config=config, tls=(cert, key)) as fp:
        assert fp.uri.startswith("grpc+tls://")
        with fp.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 'over tls' AS t")
            assert cur.fetchone()[0] == "over tls"
        plain = flight.FlightClient(f"grpc://127.0.0.1:{fp.flight_port}")
        query = messages.M["CommandStatementQuery"](query="SELECT 1")
        with pytest.raises(flight.FlightError):
            plain.get_flight_info(flight.FlightDescriptor.for_command(messages.pack(query)),
                                  flight.FlightCallOptions(timeout=5))


def test_flag_without_the_extra_says_what_to_install(tmp_path):
    # A pyarrow that cannot be imported, ahead of the real one on the path.
    fake = tmp_path / "shadow" / "pyarrow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('pyarrow is not installed')\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pgproxy", "serve", "--listen", f"127.0.0.1:{free_port()}",
         "--backend", f"sqlite:///{tmp_path / 'a.db'}", "--flight", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{fake.parent}{os.pathsep}{ROOT}"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'pgproxy[flight]'" in lines[0]


def test_a_set_lasts_for_its_own_call_only(open_proxy):
    with open_proxy.connect() as conn, conn.cursor() as cur:
        cur.execute("SET TimeZone = 'Europe/Rome'")
        cur.execute("SHOW TimeZone")  # another call: a pooled session, RESET
        assert cur.fetchone()[0] == "UTC"
        cur.execute("SELECT current_setting('TimeZone') AS tz")
        assert cur.fetchone()[0] == "UTC"


def test_the_admin_console_answers_over_flight(open_proxy):
    with open_proxy.connect("pgproxy") as conn, conn.cursor() as cur:
        cur.execute("SHOW BACKENDS")
        names = {r["name"]: r["state"] for r in cur.fetch_arrow_table().to_pylist()}
    assert names["app"] == "up"


def test_a_client_gone_mid_stream_leaves_the_endpoint_serving(open_proxy):
    big = messages.M["CommandStatementQuery"](
        query="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
              "SELECT i, 'row ' || i AS label FROM n")
    options = flight.FlightCallOptions(headers=[(b"database", b"app")])
    for _ in range(3):
        client = open_proxy.client()
        info = client.get_flight_info(flight.FlightDescriptor.for_command(messages.pack(big)),
                                      options)
        reader = client.do_get(info.endpoints[0].ticket, options)
        assert reader.read_chunk().data.num_rows > 0  # one batch, then the client goes away
        client.close()
    with open_proxy.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT 'still serving'")
        assert cur.fetchone()[0] == "still serving"
    assert "Traceback" not in open_proxy.proxy.log()


def test_config_key_and_no_trust_on_a_network_listener(tmp_path):
    # [server] flight on all interfaces, no users: as on the wire, nobody is trusted there.
    port = free_port()
    config = (f'[server]\nflight = "0.0.0.0:{port}"\n'
              f'[backends]\napp = "sqlite:///{tmp_path / "app.db"}"\n')
    with run_proxy("", config=config) as proxy:
        fp = FlightProxy(proxy, port)
        wait_port(proxy, port)
        with pytest.raises(adbc_errors.Error, match="28000"):
            with fp.connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")


def test_a_taken_port_stops_the_start_with_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "pgproxy", "serve", "--listen", f"127.0.0.1:{free_port()}",
             "--backend", f"sqlite:///{tmp_path / 'a.db'}", "--flight", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert f"cannot start the Flight SQL endpoint on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
