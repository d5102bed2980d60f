"""Hibernate ORM 7 (through pgjdbc) with its defaults: `@GeneratedValue` ids from a
sequence with allocation size 50, schema export (create-drop), persisting 120 rows in one
transaction, HQL queries over a foreign key, a numeric sum, a timestamptz, and a unique
violation rolled back. `pgproxy.hibernate.Check` lives in the Maven project tests/java.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.fix_proxy import fresh_database_url, run_proxy
from tests.integration.test_pgjdbc import pgjdbc_classpath  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_hibernate_default_ids_and_queries(kind, request, pgjdbc_classpath):  # noqa: F811
    url = fresh_database_url(kind, request, "hibernate_check")
    with run_proxy(url) as proxy:
        jdbc_url = f"jdbc:postgresql://{proxy.host}:{proxy.port}/app"
        proc = subprocess.run(
            ["java", "-cp", pgjdbc_classpath, "pgproxy.hibernate.Check", jdbc_url, proxy.user],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {
        "distinct_ids": 120,
        "books": 120,
        "sum": "1500.00",
        "published": "2024-05-06T07:08:09Z",
        "unique_violation": True,
        "authors": 1,
    }
