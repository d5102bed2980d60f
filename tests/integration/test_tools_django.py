"""Django through the proxy: `migrate` of the contrib apps and a model of our own, then the
ORM's common writes and reads (bulk_create, atomic blocks, JSONField, aware datetimes).

The project is tests/tools/djangoapp (settings, a `shop` app with its migration made by
`makemigrations`, and check.py). Django comes from the `test` extra. Each backend gets an
empty database of its own, since migrate creates tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fix_proxy import fresh_database_url, run_proxy

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[1] / "tools" / "djangoapp"


def _django(proxy, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings",
        "PYTHONPATH": str(APP),
        "PGHOST": proxy.host,
        "PGPORT": str(proxy.port),
        "PGUSER": proxy.user,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=APP, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def migrated(request):
    import django  # noqa: F401  (the test extra installs it)
    url = fresh_database_url(request.param, request, "django_check")
    with run_proxy(url) as proxy:
        proc = _django(proxy, "-m", "django", "migrate", "--no-input")
        assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        yield proxy, proc.stdout


def test_migrate_applies_every_migration(migrated):
    proxy, out = migrated
    assert "Applying shop.0001_initial... OK" in out
    assert "Applying auth.0001_initial... OK" in out
    # A second migrate finds nothing to do: the migration table reads back as written.
    again = _django(proxy, "-m", "django", "migrate", "--no-input")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "No migrations to apply" in again.stdout


def test_nothing_left_to_make(migrated):
    proxy, _ = migrated
    proc = _django(proxy, "-m", "django", "makemigrations", "--check", "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_orm_reads_and_writes(migrated):
    proxy, _ = migrated
    proc = _django(proxy, str(APP / "check.py"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {
        "bulk_ids": True,
        "orders": 1000,
        "integrity_error": True,
        "rolled_back_absent": True,
        "atomic_kept": True,
        "json_roundtrip": {"n": 0, "tags": ["a"]},
        "fk_name": "c0",
        "bool_filter": 101,
        "joined_aware": "2025-03-01T12:30:00+00:00",
        "aggregate": "9991.50",
        "annotate": 5,
        "updated": 5,
        "user": True,
    }
