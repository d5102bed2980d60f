"""psql's describe commands over what DDL through the proxy made: \\ds, \\d sequence,
\\d+ table (enum-typed column, serial default, check constraints), \\dT+ (enum labels)."""

from __future__ import annotations

import subprocess

from tests.fix_proxy import ProxyProcess


def _psql(proxy: ProxyProcess, command: str) -> str:
    result = subprocess.run(
        ["psql", "-X", "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user, "-d", "app",
         "-c", command],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_psql_describes_ddl(proxy_sqlite: ProxyProcess) -> None:
    _psql(proxy_sqlite, "create sequence psql_seq increment 3; "
                        "create type psql_mood as enum ('low', 'high'); "
                        "create table psql_t (id serial primary key, m psql_mood, "
                        "n int check (n > 0))")
    listed = _psql(proxy_sqlite, "\\ds")
    assert "psql_seq" in listed and "psql_t_id_seq" in listed and "sequence" in listed
    sequence = _psql(proxy_sqlite, "\\d psql_seq")
    row = [cell.strip() for cell in sequence.splitlines()[3].split("|")]
    assert row == ["bigint", "1", "1", "9223372036854775807", "3", "no", "1"]
    table = _psql(proxy_sqlite, "\\d+ psql_t")
    assert "nextval('psql_t_id_seq'::regclass)" in table
    assert "psql_mood" in table  # the column's type, not text
    assert '"psql_t_n_check" CHECK ((n > 0))' in table
    assert "pgproxy_enum" not in table  # the enum's CHECK is the proxy's, not a constraint
    types = _psql(proxy_sqlite, "\\dT+ psql_mood")
    assert "low" in types and "high" in types
    _psql(proxy_sqlite, "drop table psql_t; drop sequence psql_seq; drop type psql_mood")
