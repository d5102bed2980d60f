"""The catalog engine over a real SQLite schema: translation, relations, functions."""

from __future__ import annotations

import apsw
import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends.sqlite import SQLiteBackend
from pgproxy.catalog import projection_types, translate
from pgproxy.catalog.engine import CatalogDB, format_type
from pgproxy.catalog.introspect import introspect


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "app.db"
    db = apsw.Connection(str(path))
    db.execute(
        "CREATE TABLE author (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE);"
        "CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT 'untitled',"
        " price NUMERIC(10,2), author_id INT REFERENCES author(id) ON DELETE CASCADE);"
        "CREATE INDEX book_title ON book(title, price);"
        "CREATE VIEW titles AS SELECT title FROM book;"
    )
    db.close()
    backend = SQLiteBackend(f"sqlite:///{path}")
    conn = backend.connect()
    catalog = CatalogDB(introspect(conn, "sqlite"), "sqlite")
    catalog.ensure_session("alice", "app")
    yield catalog
    conn.close()
    backend.close()


def run(engine, sql, *params):
    tree = translate.parse(sql)
    columns, rows = engine.query(translate.to_sqlite(tree), params, projection_types(tree))
    return columns, rows


def test_tables_found_by_psql_dt_shape(engine):
    _, rows = run(engine, """
        SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
        LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r','p','') AND n.nspname <> 'pg_catalog'
          AND n.nspname !~ '^pg_toast' AND n.nspname <> 'information_schema'
          AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2""")
    assert rows == [("public", "author"), ("public", "book")]


def test_operator_syntax_regclass_and_column_types(engine):
    columns, rows = run(engine, """
        SELECT c.oid, c.relname, c.relhasindex, c.oid::pg_catalog.regclass
        FROM pg_catalog.pg_class c
        WHERE c.relname OPERATOR(pg_catalog.~) '^(book)$' COLLATE pg_catalog.default""")
    assert [c.type_oid for c in columns] == [pgtypes.OID, pgtypes.NAME, pgtypes.BOOL,
                                             pgtypes.TEXT]
    oid, name, hasindex, regclass = rows[0]
    assert (name, hasindex, regclass) == ("book", True, "book")
    assert oid >= 16384
    _, again = run(engine, "SELECT 'public.book'::regclass::oid, 'book'::regclass = $1", oid)
    assert again == [(oid, True)]


def test_columns_types_defaults_and_not_null(engine):
    _, rows = run(engine, """
        SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
          (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d
           WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef), a.attnotnull
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = 'book'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum""")
    assert rows == [
        ("id", "bigint", "nextval('book_id_seq'::regclass)", True),
        ("title", "text", "'untitled'::text", True),
        ("price", "numeric(10,2)", None, False),
        ("author_id", "integer", None, False),
    ]


def test_indexes_constraints_and_arrays(engine):
    _, rows = run(engine, """
        SELECT c2.relname, i.indisprimary, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
               i.indkey, i.indkey[0], array_to_string(ARRAY(SELECT a.attname
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = i.indrelid
                 AND a.attnum = ANY(i.indkey) ORDER BY a.attnum), ',')
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c2 ON c2.oid = i.indexrelid
        WHERE i.indrelid = 'book'::regclass ORDER BY i.indisprimary DESC, c2.relname""")
    assert rows[0][:3] == ("book_pkey", True,
                           "CREATE UNIQUE INDEX book_pkey ON public.book USING btree (id)")
    assert rows[1][0] == "book_title"
    assert rows[1][3] == [2, 3] and rows[1][4] == 2 and rows[1][5] == "title,price"
    _, fks = run(engine, """
        SELECT conname, pg_catalog.pg_get_constraintdef(r.oid, true), r.conkey, r.confkey
        FROM pg_catalog.pg_constraint r WHERE r.conrelid = 'book'::regclass AND r.contype = 'f'""")
    assert fks == [("book_author_id_fkey",
                    "FOREIGN KEY (author_id) REFERENCES author(id) ON DELETE CASCADE",
                    [4], [1])]


def test_set_returning_functions_in_lockstep(engine):
    _, rows = run(engine, """
        SELECT unnest(i.indkey) AS attnum, unnest(i.indclass) AS opclass,
               generate_subscripts(i.indkey, 1) AS ord
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = 'book_title' ORDER BY ord""")
    assert rows == [(2, 1978, 0), (3, 1978, 1)]
    _, rows = run(engine, "SELECT x, n FROM unnest(ARRAY['a','b']) WITH ORDINALITY AS u(x, n)")
    assert rows == [("a", 1), ("b", 2)]


def test_builtin_types_information_schema_and_session_functions(engine):
    _, rows = run(engine, "SELECT oid, typname, typarray FROM pg_catalog.pg_type "
                          "WHERE typname = ANY(ARRAY['int4', 'uuid', '_text']) ORDER BY oid")
    assert rows == [(23, "int4", 1007), (1009, "_text", 0), (2950, "uuid", 2951)]
    _, rows = run(engine, "SELECT table_name, column_name, data_type, is_nullable "
                          "FROM information_schema.columns WHERE table_name = 'author' "
                          "ORDER BY ordinal_position")
    assert rows == [("author", "id", "bigint", "NO"),
                    ("author", "name", "character varying", "NO")]
    _, rows = run(engine, "SELECT datname FROM pg_catalog.pg_database WHERE 1<>1 LIMIT 1")
    assert rows == []
    _, rows = run(engine, "SELECT pg_catalog.pg_is_in_recovery(), current_schemas(false)")
    assert rows == [(False, ["public"])]
    _, rows = run(engine, "SELECT viewname FROM pg_catalog.pg_views")
    assert rows == [("titles",)]


def test_stable_oids_and_unknown_relation(engine, tmp_path):
    _, first = run(engine, "SELECT oid FROM pg_catalog.pg_class WHERE relname = 'author'")
    _, again = run(engine, "SELECT 'author'::regclass::oid")
    assert first == again
    with pytest.raises(errors.UndefinedTable):
        run(engine, "SELECT 'nosuch'::regclass")


def test_format_type_spellings(engine):
    names = engine.names
    assert format_type(pgtypes.VARCHAR, 24, names) == "character varying(20)"
    assert format_type(pgtypes.TIMESTAMPTZ, -1, names) == "timestamp with time zone"
    assert format_type(pgtypes.INT4_ARRAY, -1, names) == "integer[]"
