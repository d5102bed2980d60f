"""Joins across routes: SQLite and MariaDB tables in one query, joined by DuckDB."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, fresh_database_url, run_proxy
from tests.fix_servers import free_port

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
    down = f"mysql://nobody:x@127.0.0.1:{free_port()}/gone"  # nothing listens there
    config = (f'[backends]\nshop = "{shop}"\nstock = "{stock}"\ncrm = "{crm}"\n'
              f'down = "{down}"\n[federation]\nmax_rows = {MAX_ROWS}\n')
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
PRICES = [("sku-0", Decimal("1.5")), ("sku-1", Decimal("2.25")), ("sku-2", Decimal("10")),
          ("sku-3", Decimal("0.125"))]


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
    with psycopg.connect(proxy.dsn("crm"), autocommit=True) as conn:
        conn.execute("CREATE TABLE prices (sku varchar(10), price numeric)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO prices VALUES (%s, %s)", PRICES)


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


def test_aggregate_group_order_limit_with_nulls(fed: ProxyProcess) -> None:
    """LEFT JOIN keeps orders without a customer (NULL names); DuckDB groups, sorts, limits."""
    with psycopg.connect(fed.dsn("shop")) as conn:
        cur = conn.execute(
            "SELECT c.name, count(*) AS n, sum(o.total) AS total, max(o.placed) "
            "FROM shop.orders o LEFT JOIN crm.customers c ON c.id = o.customer_id "
            "WHERE o.id <= 100 GROUP BY c.name ORDER BY n DESC, c.name NULLS FIRST LIMIT 4")
        rows = cur.fetchall()
        assert _types(cur) == [("name", VARCHAR), ("n", INT8), ("total", NUMERIC),
                               ("max", DATE)]
    customers = {c[0]: c for c in CUSTOMERS}
    groups: dict[str | None, list[tuple]] = {}
    for o in ORDERS:
        if o[0] <= 100:
            name = customers[o[1]][1] if o[1] in customers else None
            groups.setdefault(name, []).append(o)
    expected = sorted(
        ((name, len(g), sum(o[2] for o in g), max(o[3] for o in g)) for name, g in groups.items()),
        key=lambda r: (-r[1], r[0] is not None, r[0] or ""))[:4]
    assert rows == expected
    assert any(r[0] is None for r in expected)  # the NULL group is there to be checked


def test_sqlite_with_sqlite_and_unqualified_columns(fed: ProxyProcess) -> None:
    """Two SQLite routes, the session's own tables qualified by its own route name, columns
    resolved by the tables' schemas, a parameter bound in the pushed filter."""
    with psycopg.connect(fed.dsn("stock")) as conn:
        cur = conn.execute(
            "SELECT sku, sum(qty) AS qty, count(DISTINCT customer_id) AS buyers "
            "FROM stock.items JOIN shop.orders ON id = order_id "
            "WHERE qty > %s GROUP BY sku ORDER BY sku", (1,))
        rows = cur.fetchall()
        assert _types(cur) == [("sku", TEXT), ("qty", NUMERIC), ("buyers", INT8)]
    orders = {o[0]: o for o in ORDERS}
    expected: dict[str, tuple[int, set]] = {}
    for order_id, sku, qty in ITEMS:
        if qty > 1 and order_id in orders:
            total, buyers = expected.get(sku, (0, set()))
            if orders[order_id][1] is not None:
                buyers = buyers | {orders[order_id][1]}
            expected[sku] = (total + qty, buyers)
    assert rows == [(sku, t, len(b)) for sku, (t, b) in sorted(expected.items())]


def test_mariadb_with_sqlite_from_the_mariadb_session(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("crm")) as conn:
        cur = conn.execute(
            "SELECT c.id, c.since, i.sku FROM customers c "
            "JOIN shop.orders o ON o.customer_id = c.id JOIN stock.items i ON i.order_id = o.id "
            "WHERE c.name LIKE 'customer%%' AND i.qty = 4 ORDER BY i.order_id LIMIT 3")
        rows = cur.fetchall()
        assert _types(cur) == [("id", INT4), ("since", TIMESTAMP), ("sku", TEXT)]
    customers = {c[0]: c for c in CUSTOMERS if c[1] is not None}
    orders = {o[0]: o for o in ORDERS}
    expected = [
        (orders[i[0]][1], customers[orders[i[0]][1]][3], i[1])
        for i in ITEMS
        if i[2] == 4 and orders[i[0]][1] in customers
    ][:3]
    assert rows == expected


def test_explain_shows_the_sql_each_backend_gets(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("shop")) as conn:
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT o.id, c.name FROM shop.orders o JOIN crm.customers c "
            "ON c.id = o.customer_id WHERE o.total > 150 AND c.vip"))
    lines = [line.strip() for line in plan.splitlines()]
    # Each table's part: only the columns the query reads after its own filter went down
    # with it, in the backend's own dialect.
    assert lines[1:5] == [
        'Part 0: "shop.orders" on route shop (sqlite), conditions pushed down: 1',
        'Backend SQL: SELECT "t"."id", "t"."customer_id" FROM orders AS t WHERE t.total > 150',
        'Part 1: "crm.customers" on route crm (mysql), conditions pushed down: 1',
        "Backend SQL: SELECT `t`.`id`, `t`.`name` FROM customers AS t WHERE t.vip",
    ]
    assert "DuckDB plan:" in plan and "JOIN" in plan.upper()


def test_limit_writes_and_errors_keep_the_session(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("shop"), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as info:
            conn.execute("SELECT count(*) FROM shop.big b JOIN crm.customers c ON c.id = b.id")
        assert "shop.big" in str(info.value) and str(MAX_ROWS) in str(info.value)
        assert info.value.sqlstate == "54000"
        # A filter pushed down brings the input under the limit.
        assert conn.execute(
            "SELECT count(*) FROM shop.big b JOIN crm.customers c ON c.id = b.id "
            "WHERE b.id < 100").fetchone() == (len(CUSTOMERS),)
        with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
            conn.execute("INSERT INTO orders (id) SELECT id + 1000 FROM crm.customers")
        assert info.value.sqlstate == "0A000"
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("UPDATE crm.customers SET vip = true")
        for ddl in ("CREATE TABLE crm.made_here (id integer)", "DROP TABLE crm.customers",
                    "CREATE INDEX ix ON crm.customers (name)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(ddl)
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT o.nope FROM shop.orders o JOIN crm.customers c ON c.id = o.id")
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT * FROM shop.orders o JOIN crm.nope n ON n.id = o.id")
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (len(ORDERS),)


def test_inside_a_transaction_the_own_route_reads_its_own_writes(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("shop")) as conn:
        conn.execute("INSERT INTO orders (id, customer_id, total) VALUES (9001, 2, 1.5)")
        row = conn.execute(
            "SELECT o.id, c.name FROM shop.orders o JOIN crm.customers c ON c.id = o.customer_id "
            "WHERE o.id = 9001").fetchone()
        assert row == (9001, "customer 2")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM orders WHERE id = 9001").fetchone() == (0,)
        # An error inside the block fails the block, as PostgreSQL's would; ROLLBACK ends it.
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT o.nope FROM shop.orders o JOIN crm.customers c ON c.id = o.id")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM shop.orders o JOIN crm.customers c "
                            "ON c.id = o.customer_id").fetchone()[0] > 0


def test_asyncpg_prepares_and_describes_a_query_across_routes(fed: ProxyProcess) -> None:
    """Parse/Describe before any row: parameter types from the tables' columns, the result's
    columns from DuckDB's plan over empty parts."""
    import asyncpg
    async def main() -> None:
        conn = await asyncpg.connect(fed.url("shop"))
        try:
            stmt = await conn.prepare(
                "SELECT o.id, c.name, o.total * 2 AS double FROM shop.orders o "
                "JOIN crm.customers c ON c.id = o.customer_id WHERE o.id BETWEEN $1 AND $2 "
                "AND c.name = $3 ORDER BY o.id")
            assert [t.name for t in stmt.get_parameters()] == ["int4", "int4", "varchar"]
            assert [(a.name, a.type.name) for a in stmt.get_attributes()] == [
                ("id", "int4"), ("name", "varchar"), ("double", "numeric")]
            total = await conn.prepare(
                "SELECT sum(p.price) FROM shop.orders o JOIN crm.prices p ON p.sku = o.note")
            assert [(a.name, a.type.name) for a in total.get_attributes()] == [("sum", "numeric")]
            rows = await stmt.fetch(1, 50, "customer 2")
            assert [tuple(r) for r in rows] == [
                (o[0], "customer 2", o[2] * 2) for o in ORDERS if 1 <= o[0] <= 50 and o[1] == 2]
        finally:
            await conn.close()

    asyncio.run(main())


def test_a_fresh_proxy_reads_every_row_of_big_parts(tmp_path) -> None:
    """The first query of a fresh proxy builds each backend's catalog: that must not end a
    part's open result after its first batch (SQLite keeps one result open at a time)."""
    config = "[backends]\n" + "".join(
        f'{name} = "sqlite:///{tmp_path / name}.db"\n' for name in ("east", "west"))
    for name in ("east", "west"):
        conn = sqlite3.connect(tmp_path / f"{name}.db")
        with conn:
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT)")
            conn.executemany("INSERT INTO t VALUES (?, ?)",
                             [(i, f"{name} {i}") for i in range(1, 5001)])
        conn.close()
    with run_proxy("", config=config) as proxy, \
            psycopg.connect(proxy.dsn("east"), autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(*), count(w.id), max(e.label) FROM east.t e "
            "LEFT JOIN west.t w ON w.id = e.id").fetchone() == (5000, 5000, "east 999")


def test_unconstrained_numeric_sums_exactly(fed: ProxyProcess) -> None:
    """A numeric without precision and scale (MariaDB's DECIMAL(65,30) here) still sums
    exactly: DuckDB gets decimals as wide as the values need."""
    with psycopg.connect(fed.dsn("stock")) as conn:
        cur = conn.execute(
            "SELECT i.sku, sum(i.qty * p.price) AS amount, min(p.price) AS price "
            "FROM items i JOIN crm.prices p ON p.sku = i.sku GROUP BY i.sku ORDER BY i.sku")
        rows = cur.fetchall()
        assert _types(cur) == [("sku", TEXT), ("amount", NUMERIC), ("price", NUMERIC)]
    prices = dict(PRICES)
    expected = {}
    for _, sku, qty in ITEMS:
        expected[sku] = expected.get(sku, 0) + qty * prices[sku]
    assert [(sku, amount, price.normalize()) for sku, amount, price in rows] == [
        (sku, amount, prices[sku].normalize()) for sku, amount in sorted(expected.items())]


def test_time_travel_a_backend_cannot_honour_is_refused(fed: ProxyProcess) -> None:
    """A hint is never dropped on the way to a part: SQLite and MariaDB (no system
    versioning here) refuse it with 0A000 rather than answer with the present."""
    join = "FROM shop.orders{} o JOIN crm.customers c ON c.id = o.customer_id"
    with psycopg.connect(fed.dsn("shop"), autocommit=True) as conn:
        for sql in (
            "/*+ as_of('HEAD~1') */ SELECT o.id " + join.format(""),
            "SELECT o.id " + join.format(" AS OF 'HEAD~1'"),
        ):
            with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
                conn.execute(sql)
            assert "HEAD~1" in str(info.value) or "as_of" in str(info.value).lower()
        assert conn.execute("SELECT count(*) " + join.format("")).fetchone()[0] > 0


def test_a_semi_join_narrows_the_unfiltered_part(fed: ProxyProcess) -> None:
    """orders has a filter, customers none: customers is read after orders, only the rows
    whose id is among the orders' customer_id values (one array parameter), NULL keys
    left out; the answer is the same as the plain join's."""
    sql = ("SELECT o.id, c.name FROM shop.orders o JOIN crm.customers c "
           "ON c.id = o.customer_id WHERE o.id BETWEEN 8 AND 22 ORDER BY o.id")
    with psycopg.connect(fed.dsn("shop")) as conn:
        plan = [r[0].strip() for r in conn.execute("EXPLAIN " + sql)]
        rows = conn.execute(sql).fetchall()
    at = plan.index('Part 1: "crm.customers" on route crm (mysql), conditions pushed down: 0')
    assert plan[at + 1].startswith('Semi-join: rows whose "id" is among the "customer_id" '
                                   "values of part 0")
    assert plan[at + 2] == (
        "Backend SQL: SELECT `t`.`id`, `t`.`name` FROM customers AS t WHERE t.id IN "
        "(SELECT e.`value` FROM JSON_TABLE(%s, '$[*]' COLUMNS (`value` BIGINT PATH '$')) AS e)")
    customers = dict((c[0], c[1]) for c in CUSTOMERS)
    assert rows == [(o[0], customers[o[1]]) for o in ORDERS
                    if 8 <= o[0] <= 22 and o[1] in customers]
    assert any(o[1] is None for o in ORDERS if 8 <= o[0] <= 22)  # a NULL key was there


def test_a_server_side_cursor_reads_a_query_across_routes(fed: ProxyProcess) -> None:
    """psycopg's named cursor: DECLARE … CURSOR over DuckDB's result, FETCHed in batches."""
    with psycopg.connect(fed.dsn("shop")) as conn:
        with conn.cursor(name="across") as cur:
            cur.itersize = 7
            cur.execute("SELECT o.id, c.name FROM shop.orders o JOIN crm.customers c "
                        "ON c.id = o.customer_id WHERE o.id > %s ORDER BY o.id", (150,))
            rows = list(cur)
            assert _types(cur) == [("id", INT4), ("name", VARCHAR)]
    customers = dict((c[0], c[1]) for c in CUSTOMERS)
    assert rows == [(o[0], customers[o[1]]) for o in ORDERS if o[0] > 150 and o[1] in customers]


def test_a_route_that_is_down_fails_the_query_not_the_session(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("shop"), autocommit=True) as conn:
        with pytest.raises(psycopg.OperationalError) as info:
            conn.execute("SELECT o.id FROM shop.orders o JOIN down.customers c ON c.id = o.id")
        assert info.value.sqlstate.startswith("08") and "password" not in str(info.value)
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (len(ORDERS),)


def test_eight_clients_at_once(fed: ProxyProcess) -> None:
    """Concurrent queries across routes, each on its own session: the proxy's sessions on
    the other routes are never shared between two of them."""
    customers = dict((c[0], c[1]) for c in CUSTOMERS)
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with psycopg.connect(fed.dsn("shop" if n % 2 else "crm")) as conn:
                for low in range(n, 200, 40):
                    rows = conn.execute(
                        "SELECT o.id, c.name FROM shop.orders o JOIN crm.customers c "
                        "ON c.id = o.customer_id WHERE o.id BETWEEN %s AND %s ORDER BY o.id",
                        (low, low + 30)).fetchall()
                    assert rows == [(o[0], customers[o[1]]) for o in ORDERS
                                    if low <= o[0] <= low + 30 and o[1] in customers]
        except BaseException as exc:  # reported below, from the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[0]


def test_tables_of_one_route_are_joined_in_their_backend(fed: ProxyProcess) -> None:
    """orders and big are both on shop: one part joins them there (their join condition
    and filters with it); customers, on crm, is narrowed by a semi-join on that part."""
    sql = ("SELECT c.name, count(*) AS n FROM shop.orders o JOIN shop.big b ON b.id = o.id "
           "JOIN crm.customers c ON c.id = o.customer_id WHERE b.id % 2 = 0 AND o.total > 20 "
           "GROUP BY c.name ORDER BY c.name NULLS FIRST")
    with psycopg.connect(fed.dsn("crm")) as conn:
        plan = [r[0].strip() for r in conn.execute("EXPLAIN " + sql)]
        rows = conn.execute(sql).fetchall()
    assert plan[1] == ('Part 0: "shop.orders, shop.big" on route shop (sqlite), '
                       "conditions pushed down: 3")
    assert plan[2] == (
        'Backend SQL: SELECT "o"."customer_id" AS "o__customer_id" FROM orders AS o '
        'CROSS JOIN big AS b WHERE (o.total > 20 AND b.id % 2 = 0) AND b.id = o.id')
    assert plan[3].startswith('Part 2: "crm.customers" on route crm')
    assert plan[4].startswith('Semi-join: rows whose "id" is among the "o__customer_id"')
    customers = dict((c[0], c[1]) for c in CUSTOMERS)
    counts: dict[str | None, int] = {}
    for o in ORDERS:
        if o[0] % 2 == 0 and o[0] <= MAX_ROWS and o[2] > 20 and o[1] in customers:
            counts[customers[o[1]]] = counts.get(customers[o[1]], 0) + 1
    assert rows == sorted(counts.items(), key=lambda r: (r[0] is not None, r[0] or ""))


def test_an_outer_join_keeps_tables_of_one_route_apart(fed: ProxyProcess) -> None:
    sql = ("SELECT count(*), count(b.id) FROM shop.orders o LEFT JOIN shop.big b "
           "ON b.id = o.id * 2 AND b.id < 300 JOIN crm.customers c ON c.id = o.customer_id")
    with psycopg.connect(fed.dsn("crm")) as conn:
        plan = [r[0].strip() for r in conn.execute("EXPLAIN " + sql)]
        row = conn.execute(sql).fetchone()
    assert sum(line.startswith("Part ") for line in plan) == 3
    customers = {c[0] for c in CUSTOMERS}
    matched = [o for o in ORDERS if o[1] in customers]
    assert row == (len(matched), sum(1 for o in matched if o[0] * 2 < 300))


SLOW = ("SELECT count(*) FROM shop.orders a, shop.orders b, shop.orders c, stock.items i "
        "WHERE a.total + b.total + c.total + i.qty = -1")  # 200 x 200 x 200 x 100 in DuckDB


def test_a_cancel_request_interrupts_duckdb(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("crm"), autocommit=True) as conn:
        timer = threading.Timer(1.0, conn.cancel)
        timer.start()
        started = time.monotonic()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled) as info:
                conn.execute(SLOW)
        finally:
            timer.cancel()
        assert "user request" in str(info.value) and time.monotonic() - started < 30
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (len(CUSTOMERS),)


def test_statement_timeout_bounds_a_query_across_routes(fed: ProxyProcess) -> None:
    with psycopg.connect(fed.dsn("crm"), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '1s'")
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            conn.execute(SLOW)
        assert "statement timeout" in str(info.value) and time.monotonic() - started < 30
        conn.execute("RESET statement_timeout")
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (len(CUSTOMERS),)
