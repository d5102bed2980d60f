"""Joins across routes: SQLite and MariaDB tables in one query, joined by DuckDB."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, fresh_database_url, run_proxy

pytest.importorskip("duckdb", reason="joins across routes need the analytics extra (duckdb)")
pytest.importorskip("pyarrow", reason="joins across routes need the analytics extra (pyarrow)")

pytestmark = pytest.mark.integration

INT4, INT8, TEXT, VARCHAR, NUMERIC, BOOL, DATE, TIMESTAMP, FLOAT8 = (
    23, 20, 25, 1043, 1700, 16, 1082, 1114, 701)
MAX_ROWS = 500


@pytest.fixture(scope="module")
def fed(request: pytest.FixtureRequest) -> Iterator[ProxyProcess]:
    """Routes: shop and stock on SQLite files, crm on MariaDB."""
    shop = fresh_database_url("sqlite", request, "fed_shop")
    stock = fresh_database_url("sqlite", request, "fed_stock")
    crm = fresh_database_url("mysql", request, "fed_crm")
    config = (f'[backends]\nshop = "{shop}"\nstock = "{stock}"\ncrm = "{crm}"\n'
              f"[federation]\nmax_rows = {MAX_ROWS}\n")
    with run_proxy("", config=config) as proxy:
        _seed(proxy)
        yield proxy


ORDERS = [
    (i, i % 7 if i % 10 else None, Decimal(i) + Decimal("0.25"),
     datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 30),
     None if i % 3 else f"note {i}")
    for i in range(1, 201)
]
CUSTOMERS = [
    (i, f"customer {i}" if i != 3 else None, i % 2 == 0, datetime.datetime(2020, 1, i + 1, 12, 30))
    for i in range(6)
]
ITEMS = [(i, f"sku-{i % 4}", i % 5) for i in range(1, 201, 2)]


def _seed(proxy: ProxyProcess) -> None:
    with psycopg.connect(proxy.dsn("shop"), autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer, "
                     "total numeric(10,2), placed date, note text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s)", ORDERS)
        conn.execute("CREATE TABLE big (id integer PRIMARY KEY)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO big VALUES (%s)", [(i,) for i in range(MAX_ROWS + 1)])
    with psycopg.connect(proxy.dsn("crm"), autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id integer PRIMARY KEY, name varchar(40), "
                     "vip boolean, since timestamp)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s)", CUSTOMERS)
    with psycopg.connect(proxy.dsn("stock"), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (order_id integer, sku text, qty integer)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO items VALUES (%s, %s, %s)", ITEMS)


def _types(cur: psycopg.Cursor) -> list[tuple[str, int]]:
    assert cur.description is not None
    return [(d.name, d.type_code) for d in cur.description]


def test_join_sqlite_mariadb_with_filters_and_types(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("shop")) as conn:
        cur = conn.execute(
            "SELECT o.id, o.total, o.placed, o.note, c.name, c.vip, c.since "
            "FROM shop.orders o JOIN crm.customers c ON c.id = o.customer_id "
            "WHERE o.total > %s AND c.vip AND o.id < 30 ORDER BY o.id", (Decimal("10"),))
        rows = cur.fetchall()
        assert _types(cur) == [("id", INT4), ("total", NUMERIC), ("placed", DATE),
                               ("note", TEXT), ("name", VARCHAR), ("vip", BOOL),
                               ("since", TIMESTAMP)]
    customers = {c[0]: c for c in CUSTOMERS}
    expected = [
        (o[0], o[2], o[3], o[4], *customers[o[1]][1:])
        for o in ORDERS
        if o[1] in customers and o[2] > 10 and customers[o[1]][2] and o[0] < 30
    ]
    assert rows == expected
