"""Observers through the proxy process: a real webhook receiver that fails on purpose, restarts."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from tests.fix_proxy import run_proxy

SECRET = "hook-secret"


class Receiver:
    """A loopback HTTP server that answers 500 to its first `fail` requests (or all: -1)."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.requests = 0
        self.events: list[dict] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if receiver.fail < 0 or receiver.requests <= receiver.fail:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if self.headers.get("X-Pgproxy-Signature") != want:
                    receiver.bad_signatures += 1
                receiver.events.extend(json.loads(body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver got {len(self.events)} events: {self.events[-3:]}")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def config(url: str, dead_letter: str, audit: str | None = None, retries: int = 3) -> str:
    text = f"""
[observers]
dead_letter = "{dead_letter}"

[[observers.subscriber]]
name = "hook"
type = "webhook"
url = "{url}"
secret = "{SECRET}"
timeout = 2
retries = {retries}
backoff = 0.05
events = ["statement", "write"]
"""
    if audit:
        text += f"""
[[observers.subscriber]]
name = "audit"
type = "audit"
path = "{audit}"
"""
    return text


def test_webhook_retries_then_delivers_signed_events(receiver, tmp_path):
    receiver.fail = 2  # two 500s, then success: within 3 retries
    audit = tmp_path / "audit.jsonl"
    with run_proxy(f"sqlite:///{tmp_path / 'a.db'}",
                   config=config(receiver.url, str(tmp_path / "dl.db"), str(audit))) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE obs_t (id INT)")
            conn.execute("INSERT INTO obs_t VALUES (1), (2)")
            conn.execute("SELECT * FROM obs_t").fetchall()
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute("SELECT * FROM obs_missing")
        receiver.wait_for(lambda: sum(e["type"] == "statement" for e in receiver.events) >= 4)
        with psycopg.connect(p.dsn("pgproxy"), autocommit=True) as admin:
            hook = next(r for r in admin.execute("SHOW OBSERVERS") if r[0] == "hook")
            assert hook[5] >= 2  # failed attempts
            assert admin.execute("SHOW DEADLETTER").fetchall() == []
    assert receiver.bad_signatures == 0
    writes = [e for e in receiver.events if e["type"] == "write"]
    assert writes[-1]["tables"] == ["obs_t"] and writes[-1]["rows"] == 2
    stmts = [e for e in receiver.events if e["type"] == "statement"]
    assert any(e["sqlstate"] == "42P01" for e in stmts)
    select = next(e for e in stmts if e["tag"] == "SELECT 2")
    assert select["rows"] == 2 and select["operation"] == "select"
    assert select["tables"] == ["obs_t"] and select["sqlstate"] is None
    assert 0 < select["duration_ms"] < 60_000 and select["cache_hit"] is None
    assert len({e["id"] for e in receiver.events}) == len(receiver.events)
    logged = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {e["type"] for e in logged} >= {"connect", "statement", "write", "disconnect"}


@pytest.mark.parametrize("events", ["statement", "connect"])
def test_show_stats_counts_statements_as_they_run(tmp_path, events):
    """SHOW STATS' statements, errors and rows: summed from the statement events' records
    when a subscriber takes them (those the collector has not taken yet counted too: a
    linger of 60 s holds them), counted on the path when none does."""
    text = f"""
[observers]
dead_letter = "{tmp_path / 'dl.db'}"

[[observers.subscriber]]
type = "audit"
path = "{tmp_path / 'audit.jsonl'}"
events = ["{events}"]
linger = {60 if events == "statement" else 0.05}
"""

    def stats(proxy) -> tuple[int, int, int]:
        with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
            got = dict(admin.execute("SHOW STATS").fetchall())
        return int(got["statements"]), int(got["statement_errors"]), int(got["rows"])

    with run_proxy(f"sqlite:///{tmp_path / 'a.db'}", config=text) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            before = stats(p)
            conn.execute("CREATE TABLE counted (id INT)")
            conn.execute("INSERT INTO counted VALUES (1), (2), (3)")
            for _ in range(3):
                assert len(conn.execute("SELECT id FROM counted").fetchall()) == 3
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute("SELECT * FROM not_there")
            after = stats(p)
    assert after[0] - before[0] == 6
    assert after[1] - before[1] == 1
    assert after[2] - before[2] == 3 + 3 * 3


def test_dead_letters_survive_a_restart_and_replay(receiver, tmp_path):
    receiver.fail = -1  # everything fails
    dead_letter = str(tmp_path / "dl.db")
    backend = f"sqlite:///{tmp_path / 'a.db'}"
    with run_proxy(backend, config=config(receiver.url, dead_letter, retries=1)) as p:
        with psycopg.connect(p.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE dl_t (id INT)")
            conn.execute("INSERT INTO dl_t VALUES (1)")
        with psycopg.connect(p.dsn("pgproxy"), autocommit=True) as admin:
            deadline = time.monotonic() + 15
            while len(admin.execute("SHOW DEADLETTER").fetchall()) < 3:
                assert time.monotonic() < deadline, "events never reached the dead-letter store"
                time.sleep(0.1)
            before = admin.execute("SHOW DEADLETTER").fetchall()
    assert receiver.events == []
    receiver.fail = 0
    with run_proxy(backend, config=config(receiver.url, dead_letter, retries=1)) as p:
        with psycopg.connect(p.dsn("pgproxy"), autocommit=True) as admin:
            stored = admin.execute("SHOW DEADLETTER").fetchall()
            assert [r[2] for r in stored] == [r[2] for r in before]
            assert admin.execute("DEADLETTER REPLAY").fetchone() == (len(stored),)
            receiver.wait_for(lambda: len(receiver.events) >= len(stored))
            assert admin.execute("SHOW DEADLETTER").fetchall() == []
    assert {e["id"] for e in receiver.events} >= {r[2] for r in before}
