"""knex (npm) through the proxy: migrate:latest of a migration with increments, foreign
keys, indexes, defaults, json and an ALTER, inserts returning ids, a transaction, typed
reads, then migrate:rollback. tests/node/knex_check.js prints one JSON object.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.fix_proxy import fresh_database_url, run_proxy
from tests.integration.test_node_postgres import node_project  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_knex_migrate_up_and_rollback(kind, request, node_project):  # noqa: F811
    url = fresh_database_url(kind, request, "knex_check")
    with run_proxy(url) as proxy:
        proc = subprocess.run(
            ["node", "knex_check.js", f"postgres://{proxy.user}@{proxy.host}:{proxy.port}/app"],
            cwd=node_project,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {
        "applied": ["20250101000000_shop.js"],
        "ids": [1, 2],
        "book": {"title": "Notes", "price": "9.50", "pages": 0, "meta": {"tags": ["math"]}},
        "active": 2,
        "rolled_back": ["20250101000000_shop.js"],
        "tables_left": False,
        "batches": [1, 1],
    }
