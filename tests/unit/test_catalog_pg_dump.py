"""What pg_dump asks the catalog engine, over a real SQLite schema.

Every catalog query pg_dump 15 sent to a real PostgreSQL 15 (captured in
pg_dump15_queries.sql) runs; the answers pg_dump builds its dump from are
PostgreSQL's: names qualified by search_path, system columns named, default
privileges, CHECK constraints, DESC and partial indexes, view queries.
"""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from pgproxy import pgtypes
from pgproxy.backends.sqlite import SQLiteBackend
from pgproxy.catalog import Catalog, projection_types, translate
from pgproxy.catalog import builtins as b
from pgproxy.catalog.common import Context, stable_oid
from pgproxy.catalog.engine import CatalogDB
from pgproxy.catalog.introspect import introspect

QUERIES = [q.strip() for q in
           (Path(__file__).parent / "pg_dump15_queries.sql").read_text().split("\n-- next\n")]
QUERIES[0] = QUERIES[0].split("\n", 3)[3]  # the file's header comment


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("pg_dump") / "app.db"
    db = apsw.Connection(str(path))
    db.execute(
        "CREATE TABLE author (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE,"
        " born DATE DEFAULT (date('now')), CHECK (id > 0));"
        "CREATE TABLE book (id INT PRIMARY KEY, author_id INT REFERENCES author(id),"
        " title TEXT NOT NULL DEFAULT 'untitled' CHECK (length(title) < 200),"
        " price NUMERIC(8,2));"
        "CREATE INDEX book_recent ON book (price DESC, title);"
        "CREATE INDEX book_cheap ON book (price) WHERE price < 10;"
        "CREATE INDEX book_lower ON book (lower(title), price + 1 DESC);"
        "CREATE VIEW cheap AS SELECT title FROM book WHERE price < 10;"
    )
    db.close()
    backend = SQLiteBackend(f"sqlite:///{path}")
    conn = backend.connect()
    catalog = CatalogDB(introspect(conn, backend.capabilities.schema_source), "sqlite")
    catalog.ensure_session("tester", "app")
    yield catalog
    conn.close()
    backend.close()


@pytest.fixture
def session(engine):
    """The engine as one session sees it: its settings, which set_config() changes."""
    settings = {"search_path": '"$user", public'}

    def apply(name: str, value: str | None, local: bool) -> None:
        settings[name] = value or ""

    engine.ctx = Context("tester", "app", settings.__getitem__, 7, apply)
    yield settings
    engine.ctx = Context()


def run(engine, sql, *params, sequences=frozenset()):
    tree = translate.parse(sql)
    return engine.query(translate.to_sqlite(tree, sequences), params,
                        projection_types(tree, sequences))


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: " ".join(q.split())[:60])
def test_every_pg_dump_query_runs(engine, session, query):
    session["search_path"] = ""
    params = [b.PG_CLASS_RELID] if "$1" in query else []
    columns, _ = run(engine, query, *params)
    assert columns


def test_set_config_changes_the_session(engine, session):
    _, rows = run(engine, "SELECT pg_catalog.set_config('search_path', '', false)")
    assert rows == [("",)] and session["search_path"] == ""
    _, rows = run(engine, "SELECT pg_catalog.current_schemas(false)")
    assert rows == [([],)]
    # set_config() of each row pg_settings has (none here by that name): no row, no change.
    _, rows = run(engine, "SELECT set_config(name, 'view', false) FROM pg_settings"
                          " WHERE name = 'restrict_nonsystem_relation_kind'")
    assert rows == []


def test_names_follow_search_path(engine, session):
    query = ("SELECT pg_get_constraintdef(c.oid), pg_get_viewdef('public.cheap'::regclass),"
             " c.conrelid::regclass FROM pg_constraint c WHERE c.contype = 'f'")
    _, rows = run(engine, query)
    assert rows == [("FOREIGN KEY (author_id) REFERENCES author(id)",
                     " SELECT\n  title\nFROM book\nWHERE\n  price < 10;", "book")]
    session["search_path"] = ""
    _, rows = run(engine, query)
    assert rows == [("FOREIGN KEY (author_id) REFERENCES public.author(id)",
                     " SELECT\n  title\nFROM public.book\nWHERE\n  price < 10;", "public.book")]
    _, rows = run(engine, "SELECT pg_catalog.current_schemas(true)")
    assert rows == [(["pg_catalog"],)]


def test_system_columns_and_default_privileges(engine, session):
    columns, rows = run(engine, "SELECT tableoid, n.oid, acldefault('n', n.nspowner) AS acl,"
                                " acldefault('r', 10), acldefault('f', 10)"
                                " FROM pg_namespace n WHERE nspname = 'public'")
    assert [c.name for c in columns] == ["tableoid", "oid", "acl", "acldefault", "acldefault"]
    assert rows == [(b.PG_NAMESPACE_RELID, b.PUBLIC_NS,
                     "{pg_database_owner=UC/pg_database_owner}", "{postgres=arwdDxt/postgres}",
                     "{=X/postgres,postgres=X/postgres}")]
    _, rows = run(engine, "SELECT nspowner::regrole, nspacl FROM pg_namespace"
                          " WHERE nspname = 'public'")
    assert rows == [("pg_database_owner",
                     "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}")]


def test_text_and_array_functions(engine):
    _, rows = run(engine, "SELECT quote_literal('it''s'), quote_literal(E'a\\\\b'),"
                          " array_remove(array_remove('{a,b,c}'::text[], 'b'), 'x'),"
                          " pg_catalog.array_agg(n ORDER BY n DESC)"
                          " FROM (SELECT 1 AS n UNION ALL SELECT 2) s")
    assert rows == [("'it''s'", "E'a\\\\b'", ["a", "c"], [2, 1])]
    _, rows = run(engine, "SELECT option_name, option_value FROM"
                          " pg_options_to_table('{fillfactor=70,autovacuum_enabled=off}')"
                          " ORDER BY 1")
    assert rows == [("autovacuum_enabled", "off"), ("fillfactor", "70")]


def test_checks_defaults_and_indexes(engine, session):
    session["search_path"] = ""
    _, rows = run(engine, "SELECT c.relname, c.relchecks, k.conname, pg_get_constraintdef(k.oid)"
                          " FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid"
                          " AND k.contype = 'c' ORDER BY 1, 3")
    assert rows == [("author", 1, "author_id_check", "CHECK ((id > 0))"),
                    ("book", 1, "book_title_check", "CHECK ((length(title) < 200))")]
    _, rows = run(engine, "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d"
                          " JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
                          " ORDER BY 1")
    assert rows == [("born", "CURRENT_DATE"), ("title", "'untitled'::text")]
    _, rows = run(engine, "SELECT i.indoption, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                          " JOIN pg_class c ON c.oid = i.indexrelid"
                          " WHERE c.relname LIKE 'book\\_%' AND NOT i.indisprimary ORDER BY 2")
    assert rows == [
        ([0], "CREATE INDEX book_cheap ON public.book USING btree (price) WHERE (price < 10)"),
        ([0, 3], "CREATE INDEX book_lower ON public.book USING btree (lower(title),"
                 " (price + 1) DESC)"),
        ([3, 0], "CREATE INDEX book_recent ON public.book USING btree (price DESC, title)")]
    _, rows = run(engine, "SELECT i.indkey, i.indexprs IS NOT NULL,"
                          " pg_get_indexdef(i.indexrelid, 2, true), a.attname"
                          " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                          " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 2"
                          " WHERE c.relname = 'book_lower'")
    assert rows == [([0, 0], True, "(price + 1)", "expr1")]


def test_view_is_dumped_after_what_it_reads(engine):
    _, rows = run(engine, "SELECT r.rulename, r.ev_class::regclass, d.refobjid::regclass,"
                          " d.deptype FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid"
                          " AND d.classid = 'pg_rewrite'::regclass ORDER BY 4")
    assert rows == [("_RETURN", "cheap", "cheap", "i"), ("_RETURN", "cheap", "book", "n")]


def test_sequence_read_as_a_relation(engine, session):
    """pg_dump's `SELECT last_value, is_called FROM public.s` of a sequence the catalog lists."""
    oid = stable_oid("public.book_id_seq", engine._taken)
    engine.names.relations[oid] = ("public", "book_id_seq", "S")
    engine.__dict__.pop("sequence_names", None)
    engine.insert("pg_sequences", [("public", "book_id_seq", "postgres", pgtypes.INT8, 1, 1,
                                     2**63 - 1, 1, False, 1, 41)])
    engine.insert("pg_sequences", [("public", "fresh_seq", "postgres", pgtypes.INT8, 5, 1,
                                     2**63 - 1, 1, False, 1, None)])
    assert "book_id_seq" in engine.sequence_names
    columns, rows = run(engine, "SELECT last_value, is_called FROM public.book_id_seq",
                        sequences=frozenset({"book_id_seq"}))
    assert [(c.name, c.type_oid) for c in columns] == [("last_value", pgtypes.INT8),
                                                       ("is_called", pgtypes.BOOL)]
    assert rows == [(41, True)]
    _, rows = run(engine, "SELECT * FROM fresh_seq", sequences=frozenset({"fresh_seq"}))
    assert rows == [(5, 0, False)]


def test_catalog_stage_routes_sequence_reads_only(engine):
    """A SELECT of sequences only comes to the catalog; one reading a table does not."""
    import dialects
    from pgproxy.backends import registry

    catalog = Catalog()

    class Route:
        backend = type("B", (), {"dialect": "sqlite",
                                 "capabilities": registry.capabilities("sqlite")})()

    class Session:
        route = Route()

    catalog._engines[id(Session.route.backend)] = (engine, None, 0.0)
    engine.names.relations[stable_oid("public.s_seq", engine._taken)] = ("public", "s_seq", "S")
    engine.__dict__.pop("sequence_names", None)
    assert catalog.handles(Session(), dialects.parse("SELECT last_value FROM public.s_seq")[0])
    assert not catalog.handles(Session(), dialects.parse("SELECT * FROM book, s_seq")[0])
    assert not catalog.handles(Session(), dialects.parse("SELECT * FROM other.s_seq")[0])


def test_oid_of_a_subquery_in_where(engine):
    """pg_dumpall's `… WHERE setrole = (SELECT oid FROM pg_authid …)`: the subquery's own oid."""
    _, rows = run(engine, "SELECT count(*) FROM pg_db_role_setting WHERE setdatabase = 0 AND"
                          " setrole = (SELECT oid FROM pg_authid WHERE rolname = 'postgres')")
    assert rows == [(0,)]


def test_view_queries_in_postgresql_sql():
    """SQLite's CREATE VIEW with a column list, MariaDB's qualified, backquoted query."""
    from pgproxy.catalog.deparse import view_sql

    assert view_sql("CREATE VIEW v (a, \"B\") AS SELECT x, y + 1 AS z FROM t", "sqlite") == (
        ' SELECT\n  x AS a,\n  y + 1 AS "B"\nFROM t;')
    assert view_sql("select `app`.`t`.`x` AS `x`,`app`.`t`.`select` AS `select`"
                    " from `app`.`t` where `app`.`t`.`x` > 1", "mariadb") == (
        ' SELECT\n  t.x AS x,\n  t."select" AS "select"\nFROM t\nWHERE\n  t.x > 1;')


def test_descriptions(engine):
    """obj_description / col_description read pg_description (a query inside a query)."""
    _, rows = run(engine, "SELECT obj_description(n.oid, 'pg_namespace'),"
                          " obj_description(c.oid, 'pg_class'), col_description(c.oid, 1)"
                          " FROM pg_namespace n, pg_class c"
                          " WHERE n.nspname = 'public' AND c.relname = 'book'")
    assert rows == [("standard public schema", None, None)]


def test_types_of_public_follow_search_path(engine, session):
    """A table's row type (and later an enum) is public.<name> once search_path misses it."""
    query = ("SELECT format_type(reltype, NULL), reltype::regtype FROM pg_class"
             " WHERE relname = 'book'")
    _, rows = run(engine, query)
    assert rows == [("book", "book")]
    session["search_path"] = ""
    _, rows = run(engine, query)
    assert rows == [("public.book", "public.book")]
