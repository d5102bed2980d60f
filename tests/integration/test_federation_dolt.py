"""Joins across routes with embedded Dolt: Dolt x SQLite and Dolt x MariaDB, and time travel
on the Dolt part (its AS OF honoured there, refused by a backend that has none)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, fresh_database_url, run_proxy

pytest.importorskip("duckdb", reason="joins across routes need the analytics extra (duckdb)")
pytest.importorskip("pyarrow", reason="joins across routes need the analytics extra (pyarrow)")

pytestmark = pytest.mark.integration

INT4, INT8, TEXT, VARCHAR, NUMERIC, TIMESTAMP = 23, 20, 25, 1043, 1700, 1114
PAYMENTS = [(i, i % 5 + 1, Decimal(i) * Decimal("1.10"), datetime.datetime(2024, 2, i, 9, 0))
            for i in range(1, 21)]
ACCOUNTS = [(i, f"account {i}" if i != 4 else None) for i in range(1, 6)]


@pytest.fixture(scope="module")
def fed_dolt(libdolt: Path, request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """Routes: ledger on embedded Dolt, accounts on SQLite, crm on MariaDB."""
    directory = tmp_path_factory.mktemp("fed-dolt")
    sqlite = fresh_database_url("sqlite", request, "fed_dolt_sqlite")
    mariadb = fresh_database_url("mysql", request, "fed_dolt_crm")
    config = (f'[backends]\nledger = "dolt://{directory}?database=ledger"\n'
              f'books = "{sqlite}"\ncrm = "{mariadb}"\n')
    with run_proxy("", config=config) as proxy:
        with psycopg.connect(proxy.dsn("ledger"), autocommit=True) as conn:
            conn.execute("CREATE TABLE payments (id integer PRIMARY KEY, account integer, "
                         "amount numeric(10,2), paid timestamp)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO payments VALUES (%s, %s, %s, %s)", PAYMENTS[:10])
            conn.execute("SELECT dolt_commit('-Am', 'first ten')")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO payments VALUES (%s, %s, %s, %s)", PAYMENTS[10:])
            conn.execute("SELECT dolt_commit('-Am', 'ten more')")
        for route in ("books", "crm"):
            with psycopg.connect(proxy.dsn(route), autocommit=True) as conn:
                conn.execute("CREATE TABLE accounts (id integer PRIMARY KEY, name varchar(20))")
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO accounts VALUES (%s, %s)", ACCOUNTS)
        yield proxy


def _expected(payments: list[tuple]) -> list[tuple]:
    names = dict(ACCOUNTS)
    totals: dict[int, list] = {}
    for _, account, amount, _ in payments:
        total = totals.setdefault(account, [names[account], 0, Decimal(0)])
        total[1] += 1
        total[2] += amount
    return sorted(((n, c, a) for n, c, a in totals.values()),
                  key=lambda r: (r[0] is None, r[0] or ""))


@pytest.mark.parametrize("other", ["books", "crm"])
def test_dolt_joined_with_sqlite_and_mariadb(fed_dolt: ProxyProcess, other: str) -> None:
    with psycopg.connect(fed_dolt.dsn("ledger")) as conn:
        cur = conn.execute(
            f"SELECT a.name, count(*) AS n, sum(p.amount) AS total FROM ledger.payments p "
            f"JOIN {other}.accounts a ON a.id = p.account WHERE p.paid >= %s "
            f"GROUP BY a.name ORDER BY a.name NULLS LAST",
            (datetime.datetime(2024, 2, 1),))
        assert [(d.name, d.type_code) for d in cur.description] == [
            ("name", VARCHAR), ("n", INT8), ("total", NUMERIC)]
        assert cur.fetchall() == _expected(PAYMENTS)


def test_as_of_on_the_dolt_part(fed_dolt: ProxyProcess) -> None:
    """AS OF the previous commit reaches Dolt's part; a SQLite session asks it too."""
    with psycopg.connect(fed_dolt.dsn("books")) as conn:
        rows = conn.execute(
            "SELECT a.name, count(*) AS n, sum(p.amount) AS total "
            "FROM ledger.payments AS OF 'HEAD~1' p JOIN accounts a ON a.id = p.account "
            "GROUP BY a.name ORDER BY a.name NULLS LAST").fetchall()
        assert rows == _expected(PAYMENTS[:10])
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("/*+ as_of('HEAD~1') */ SELECT count(*) FROM ledger.payments p "
                         "JOIN accounts a ON a.id = p.account")
        conn.rollback()
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT p.id FROM ledger.payments AS OF 'HEAD~1' p "
            "JOIN accounts a ON a.id = p.account WHERE p.amount > 5"))
        assert ("Backend SQL: SELECT `t`.`id`, `t`.`account` FROM payments AS OF 'HEAD~1' AS t "
                "WHERE t.amount > 5") in plan
