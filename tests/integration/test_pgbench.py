"""pgbench as its users run it: `pgbench -i -s 1` (drop, create with fillfactor, COPY of
100,000 accounts, vacuum, primary keys) and then the default TPC-B-like run with several
clients, through the proxy on SQLite and on MariaDB, each on an empty database of its own.
"""

from __future__ import annotations

import re
import subprocess

import psycopg
import pytest

from tests.fix_proxy import fresh_database_url, run_proxy

pytestmark = pytest.mark.integration


def _pgbench(postgresql, proxy, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [f"{postgresql.bindir}/pgbench", "-h", proxy.host, "-p", str(proxy.port),
         "-U", proxy.user, *args, "app"],
        capture_output=True, text=True, timeout=300,
        env={"PGPASSWORD": "", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_pgbench_init_then_run(kind, request, postgresql):
    url = fresh_database_url(kind, request, "pgbench_check")
    with run_proxy(url) as proxy:
        init = _pgbench(postgresql, proxy, "-i", "-s", "1")
        assert init.returncode == 0, init.stderr
        assert "100000 of 100000 tuples (100%) done" in init.stderr
        run = _pgbench(postgresql, proxy, "-T", "5", "-c", "4")
        assert run.returncode == 0, run.stderr
        processed = int(re.search(r"transactions actually processed: (\d+)", run.stdout)[1])
        assert processed > 0
        assert "number of failed transactions: 0 (0.000%)" in run.stdout
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            counts = conn.execute(
                "select (select count(*) from pgbench_accounts),"
                " (select count(*) from pgbench_history),"
                " (select sum(abalance) = (select sum(delta) from pgbench_history)"
                "  from pgbench_accounts)"
            ).fetchone()
    assert counts == (100000, processed, True)
