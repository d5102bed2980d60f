"""node-postgres (`pg` from npm) through the proxy.

tests/node/check.js connects with `pg.Client` and prints one JSON line per check: a
parameterised query, parameterised INSERT/SELECT over a table, a named prepared statement, a
transaction (BEGIN/INSERT/ROLLBACK, then COMMIT), errors with their `code` (SQLSTATE) followed
by working queries, and an error inside a transaction (25P02 until ROLLBACK).

`npm ci` runs once, when tests/node/node_modules is missing or older than package-lock.json;
the script then runs once per backend and each test below judges one check of its output.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from pgproxy import settings
from tests.fix_servers import apt_install

pytestmark = pytest.mark.integration

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
MODULES = NODE_DIR / "node_modules"
STAMP = MODULES / ".pgproxy-installed"


@pytest.fixture(scope="session")
def node_project() -> Path:
    """tests/node with its dependencies installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        apt_install("nodejs", "npm")  # Debian's, when the machine has none
    lock_file = NODE_DIR / "package-lock.json"
    with open(NODE_DIR / ".install.lock", "w") as lock:  # concurrent sessions install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not STAMP.exists() or STAMP.stat().st_mtime < lock_file.stat().st_mtime:
            proc = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0:
                pytest.fail(f"npm ci failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
            STAMP.touch()
    return NODE_DIR


_RUNS: dict[str, dict[str, dict]] = {}


@pytest.fixture
def node(proxy, node_project) -> dict[str, dict]:
    """The checks' output for this backend: check name -> JSON line."""
    if proxy.backend_url not in _RUNS:
        proc = subprocess.run(
            ["node", str(node_project / "check.js"), proxy.url(), uuid.uuid4().hex[:8]],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            pytest.fail(f"node check.js failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        _RUNS[proxy.backend_url] = {
            item["check"]: item for item in map(json.loads, proc.stdout.splitlines())
        }
    return _RUNS[proxy.backend_url]


def backend(proxy) -> str:
    return proxy.backend_url.split(":", 1)[0]


def ok(result: dict) -> dict:
    code, error = result.get("code"), result.get("error")
    assert result["ok"], f"{result['check']} failed: code {code} {error}"
    return result


def test_connect(node):
    assert ok(node["connect"])["version"].startswith(f"PostgreSQL {settings.SERVER_VERSION} ")
    ok(node["setup"])


def test_parameterised_query(node, proxy):
    r = ok(node["param_query"])
    row = r["row"]
    assert row["t"] == "h\u00e9llo 'w\u00f6rld'"
    assert row["b"] is True
    assert row["z"] is None
    types = dict(r["fields"])
    assert (types["t"], types["b"], types["z"]) == (25, 16, 23)
    # PostgreSQL: int4 + int4 is int4, which pg hands back as a JS number
    assert (row["n"], types["n"]) == (42, 23)


def test_parameterised_insert_and_select(node):
    r = ok(node["param_insert_select"])
    assert r["inserted"] == [1, 1]
    assert (r["command"], r["rowCount"]) == ("SELECT", 2)
    assert r["rows"] == [
        {"id": 1, "name": "ann", "amount": "12.50", "flag": True,
         "created": [2024, 2, 29, 13, 45, 56]},
        {"id": 2, "name": "bob", "amount": None, "flag": False, "created": None},
    ]


def test_named_prepared_statement(node):
    assert ok(node["named_prepared"])["ids"] == [1, 2]


def test_transaction_rollback_and_commit(node):
    r = ok(node["transaction"])
    assert r["seen_inside"] == 1
    assert r["after_rollback"] == 0
    assert r["after_commit"] == ["kept"]


def test_error_code_then_working_query(node, proxy):
    r = ok(node["error_then_query"])
    for protocol in ("simple", "extended"):
        err = r[protocol]
        assert err is not None, f"{protocol}: the missing table raised no error"
        assert (err["code"], err["severity"]) == ("42P01", "ERROR"), (protocol, err)
        assert "nmissing_" in err["message"]
    assert r["after"] == 42


def test_error_in_transaction_until_rollback(node, proxy):
    r = ok(node["error_in_transaction"])
    assert r["first"]["code"] == "42P01"
    assert r["aborted"]["code"] == "25P02"
    assert r["after_rollback"] == 1


def test_teardown(node):
    ok(node["teardown"])
