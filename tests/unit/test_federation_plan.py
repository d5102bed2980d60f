"""The split of a query across routes: which tables go where, and what goes down with them."""

from __future__ import annotations

import pytest

import dialects
from pgproxy import errors
from pgproxy.federation import plan

ROUTES = {"shop", "crm", "stock"}
SCHEMAS = {
    "shop.orders": ["id", "customer_id", "total", "note"],
    "crm.customers": ["id", "name", "vip"],
    "orders": ["id", "customer_id", "total", "note"],
}


def _split(sql: str, own: str = "shop") -> plan.Split:
    tree = dialects.parse(sql)[0].expression
    sources = plan.sources(tree, ROUTES, own)
    columns = [SCHEMAS.get(s.name, SCHEMAS.get(f"{s.route}.{s.table.name}", [])) for s in sources]
    return plan.split(tree, ROUTES, own, columns)


def test_routed_only_when_another_route_is_named() -> None:
    def routed(tables: set[str]) -> bool:
        return plan.routed(plan.qualifiers(tables, ROUTES), "shop")

    assert routed({"crm.customers", "customers"})
    assert routed({"crm.public.customers"})
    assert routed({"shop.orders", "crm.customers"})
    # The session's own route name alone stays a schema of its own backend, as before.
    assert not routed({"shop.orders", "orders"})
    assert not routed({"public.orders", "orders"})
    assert not routed(set())


def test_each_table_gets_its_columns_and_its_own_filters() -> None:
    split = _split("SELECT o.id, c.name FROM shop.orders o JOIN crm.customers c "
                   "ON c.id = o.customer_id AND c.vip WHERE o.total > $1 AND o.note IS NULL "
                   "AND (o.id > c.id OR c.name = 'x')")
    orders, customers = split.parts
    assert (orders.source.route, customers.source.route) == ("shop", "crm")
    assert orders.sql == ('SELECT "t"."id", "t"."customer_id" FROM orders AS t '
                          "WHERE t.total > $1 AND t.note IS NULL")
    assert customers.sql == 'SELECT "t"."id", "t"."name" FROM customers AS t WHERE t.vip'
    # What touches both tables stays for DuckDB; the parameters it keeps are renumbered.
    assert "o.id > c.id OR c.name = 'x'" in split.sql and "$" not in split.sql
    assert split.params == []
    assert split.names == ["id", "name"]
    assert split.origins == [(orders.key, "id"), (customers.key, "name")]


def test_outer_joins_keep_filters_that_would_change_them() -> None:
    split = _split("SELECT o.id, c.name FROM shop.orders o LEFT JOIN crm.customers c "
                   "ON c.id = o.customer_id AND c.name LIKE 'A%' AND o.total > 5 "
                   "WHERE c.vip IS NULL AND o.id < 10")
    orders, customers = split.parts
    # The null-extended side's WHERE filter must see the join's NULLs: it stays.
    assert "c.vip IS NULL" in split.sql
    assert "WHERE t.id < 10" in orders.sql and "total" not in orders.sql.split("WHERE")[1]
    # ON conditions of the joined table filter what it joins: they go down; the preserved
    # side's do not (they decide matches, not rows).
    assert "t.name LIKE 'A%'" in customers.sql and "o.total > 5" in split.sql


def test_subqueries_aggregates_and_names() -> None:
    split = _split("SELECT count(*), sum(o.total) AS s, max(c.name) FROM shop.orders o, "
                   "crm.customers c WHERE c.id = o.customer_id "
                   "AND o.id IN (SELECT 1) GROUP BY c.vip")
    assert split.names == ["count", "s", "max"]
    assert split.origins == [None, None, None]
    assert "o.id IN (SELECT 1" in split.sql  # a subquery stays with DuckDB


def test_a_parameter_left_for_duckdb_is_renumbered() -> None:
    split = _split("SELECT o.id + $3 FROM shop.orders o JOIN crm.customers c "
                   "ON c.id = o.customer_id WHERE o.id > $2")
    assert split.params == [2]
    assert "$1" in split.sql and "$3" not in split.sql
    assert "$2" in split.parts[0].sql


def test_star_and_unknown_columns() -> None:
    split = _split("SELECT * FROM shop.orders o JOIN crm.customers c ON c.id = o.customer_id")
    assert split.names == ["id", "customer_id", "total", "note", "id", "name", "vip"]
    with pytest.raises(errors.PgError) as info:
        _split("SELECT o.nope FROM shop.orders o JOIN crm.customers c ON c.id = o.id")
    assert info.value.sqlstate == "42703"


def test_route_schema_table_and_ctes() -> None:
    tree = dialects.parse(
        "WITH x AS (SELECT 1 AS id) SELECT * FROM x JOIN crm.sales.customers c ON c.id = x.id "
        "JOIN shop.orders o ON o.id = c.id")[0].expression
    sources = plan.sources(tree, ROUTES, "shop")
    assert [(s.route, s.bare) for s in sources] == [("crm", "sales.customers"),
                                                    ("shop", "orders")]


def test_links_for_a_semi_join_only_where_no_row_is_null_extended() -> None:
    inner = _split("SELECT o.id FROM shop.orders o JOIN crm.customers c "
                   "ON c.id = o.customer_id WHERE o.total > 5")
    orders, customers = inner.parts
    assert plan.Link(orders.key, "customer_id", customers.key, "id") in inner.links
    assert plan.Link(customers.key, "id", orders.key, "customer_id") in inner.links
    comma = _split("SELECT o.id FROM shop.orders o, crm.customers c WHERE c.id = o.customer_id")
    assert len(comma.links) == 2
    left = _split("SELECT o.id FROM shop.orders o LEFT JOIN crm.customers c "
                  "ON c.id = o.customer_id WHERE o.total > 5")
    assert left.links == []
    # The keyed part keeps its own filters and takes the keys as one array parameter.
    assert orders.keyed_sql("customer_id", "int4", 3) == (
        'SELECT "t"."id", "t"."customer_id" FROM orders AS t '
        "WHERE t.total > 5 AND t.customer_id = ANY(CAST($3 AS INT[]))")


def test_a_schema_named_like_a_route_is_refused() -> None:
    tree = dialects.parse("SELECT 1 FROM crm.stock.items i JOIN shop.orders o ON o.id = i.id")[0]
    with pytest.raises(errors.FeatureNotSupported):
        plan.sources(tree.expression, ROUTES, "shop")


def test_every_part_and_its_keyed_form_keep_the_hint_comment() -> None:
    tree = dialects.parse("SELECT o.id FROM shop.orders o JOIN crm.customers c "
                          "ON c.id = o.customer_id")[0].expression
    hint = "/*+ as_of('HEAD~1') */ "
    split = plan.split(tree, ROUTES, "shop", [SCHEMAS["orders"], SCHEMAS["crm.customers"]], hint)
    assert all(p.sql.startswith(hint) for p in split.parts)
    assert split.parts[1].keyed_sql("id", "int4", 1).startswith(hint)
    assert dialects.parse(split.parts[1].keyed_sql("id", "int4", 1))[0].hints.as_of == "HEAD~1"


def test_result_names_as_postgresql_gives_them() -> None:
    split = _split("SELECT row_number() OVER (ORDER BY o.id), date_trunc('month', o.total), "
                   "CASE WHEN c.vip THEN 1 END, o.total::int, o.id + 1, lower(c.name) "
                   "FROM shop.orders o JOIN crm.customers c ON c.id = o.customer_id")
    assert split.names == ["row_number", "date_trunc", "case", "total", "?column?", "lower"]
    with pytest.raises(errors.PgError) as info:
        _split("SELECT id FROM shop.orders o JOIN crm.customers c ON c.id = o.customer_id")
    assert info.value.sqlstate == "42702"


def test_duckdb_divides_integers_as_postgresql_does() -> None:
    tree = dialects.parse("SELECT o.id / 4, o.total / 4 FROM shop.orders o "
                          "JOIN crm.customers c ON c.id = o.customer_id")[0].expression
    columns = [SCHEMAS["orders"], SCHEMAS["crm.customers"]]
    types = [["int4", "int4", "numeric", "text"], ["int4", "text", "bool"]]
    typed = plan.split(tree, ROUTES, "shop", columns, "", types)
    assert "CAST(TRUNC(o.id / 4) AS BIGINT)" in typed.sql  # integer division, truncated
    assert "o.total / 4" in typed.sql and "TRUNC(o.total" not in typed.sql


def test_the_federation_section() -> None:
    from pgproxy.federation.stage import DEFAULT_MAX_ROWS, Options

    assert Options.from_section({}) == Options(DEFAULT_MAX_ROWS, 50_000)
    assert Options.from_section({"max_rows": 10, "semi_join_keys": 0}) == Options(10, 0)
    for bad in ({"max_rows": 0}, {"max_rows": "many"}, {"semi_join_keys": -1},
                {"max_rows": True}, {"rows": 5}):
        with pytest.raises(ValueError):
            Options.from_section(bad)


def test_tables_of_one_route_tied_by_a_condition_become_one_part() -> None:
    tree = dialects.parse(
        "SELECT o.id, x.id, c.name FROM shop.orders o, shop.orders x, crm.customers c "
        "WHERE x.customer_id = o.id AND c.id = o.customer_id AND x.total > 1")[0].expression
    columns = [SCHEMAS["orders"], SCHEMAS["orders"], SCHEMAS["crm.customers"]]
    split = plan.split(tree, ROUTES, "crm", columns)
    group, customers = split.parts
    assert group.name == "shop.orders, shop.orders" and customers.name == "crm.customers"
    assert group.sql == (
        'SELECT "o"."id" AS "o__id", "o"."customer_id" AS "o__customer_id", "x"."id" AS '
        '"x__id" FROM orders AS o CROSS JOIN orders AS x WHERE x.total > 1 AND '
        "x.customer_id = o.id")
    assert group.column_sources == [(0, "id"), (0, "customer_id"), (1, "id")]
    assert split.names == ["id", "id", "name"]
    assert split.origins == [(group.key, "o__id"), (group.key, "x__id"),
                             (customers.key, "name")]
    assert "c.id = o.o__customer_id" in split.sql


def test_no_group_without_a_condition_of_their_own_or_past_an_outer_join() -> None:
    cross = _split("SELECT o.id, x.id FROM shop.orders o, shop.orders x, crm.customers c "
                   "WHERE c.id = o.customer_id AND c.id = x.customer_id")
    assert len(cross.parts) == 3  # no condition ties o and x alone: no cross product there
    outer = _split("SELECT o.id FROM shop.orders o LEFT JOIN shop.orders x ON x.id = o.id "
                   "JOIN crm.customers c ON c.id = o.customer_id")
    assert len(outer.parts) == 3
