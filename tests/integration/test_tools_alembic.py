"""Alembic through the proxy: autogenerate from an empty database, upgrade, autogenerate
again with no model change (an empty migration), downgrade to base and upgrade again.

The model and the driver script are tests/tools/alembicapp; Alembic comes with the test
extra. Each backend gets an empty database of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fix_proxy import fresh_database_url, run_proxy

pytestmark = pytest.mark.integration

CHECK = Path(__file__).resolve().parents[1] / "tools" / "alembicapp" / "check.py"


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_autogenerate_twice_upgrade_downgrade(kind, request):
    import alembic  # noqa: F401  (the test extra installs it)
    url = fresh_database_url(kind, request, "alembic_check")
    with run_proxy(url) as proxy:
        target = f"postgresql+psycopg://{proxy.user}@{proxy.host}:{proxy.port}/app"
        proc = subprocess.run(
            [sys.executable, str(CHECK), target], capture_output=True, text=True, timeout=300
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {
        "creates": ["accounts", "transfers"],
        "diff_after_upgrade": [],
        "second_is_empty": True,
        "tables_after_downgrade": [],
        "tables_after_upgrade": ["accounts", "transfers"],
    }
