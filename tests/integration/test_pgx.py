"""pgx v5 (Go) through the proxy: CopyFrom (binary COPY), a batch whose `qty + $1`
parameter is typed from its column, typed scans and a rolled-back transaction.

tests/go/pgxcheck is built with the machine's Go (pgx from the Go module proxy) into the
test cache once per source change; it prints one JSON object that the test judges.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fix_dolt import CACHE, _go_env, require_go
from tests.fix_proxy import fresh_database_url, run_proxy

pytestmark = pytest.mark.integration

SOURCE = Path(__file__).resolve().parents[1] / "go" / "pgxcheck"


@pytest.fixture(scope="session")
def pgxcheck() -> Path:
    go = require_go()
    binary = CACHE / "pgxcheck"
    newest = max(p.stat().st_mtime for p in SOURCE.iterdir())
    if not binary.exists() or binary.stat().st_mtime < newest:
        CACHE.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [go, "build", "-o", str(binary), "."],
            cwd=SOURCE,
            env=_go_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
    return binary


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_pgx_copyfrom_batch_and_types(kind, request, pgxcheck):
    url = fresh_database_url(kind, request, "pgx_check")
    with run_proxy(url) as proxy:
        proc = subprocess.run(
            [str(pgxcheck), f"postgres://{proxy.user}@{proxy.host}:{proxy.port}/app"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    got = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    assert proc.returncode == 0, f"{got}\n{proc.stderr[-3000:]}"
    assert got == {
        "copied": 10000,
        "qty_7": 10,
        "count_ge_10": 100,
        "max_name": "item 99",
        "added": "2025-01-02T03:04:05Z",
        "after_rollback": 10000,
    }
