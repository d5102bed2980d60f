"""The catalog engine over a real SQLite schema: translation, relations, functions."""

from __future__ import annotations

import apsw
import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends.sqlite import SQLiteBackend
from pgproxy.catalog import projection_types, translate
from pgproxy.catalog.common import Context, format_type
from pgproxy.catalog.engine import CatalogDB
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
    catalog = CatalogDB(introspect(conn, backend.capabilities.schema_source), "sqlite")
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


def test_session_functions_sqlglot_parses_into_classes(engine):
    # current_database() is exp.CurrentDatabase, version() exp.CurrentVersion, session_user
    # exp.SessionUser …: each must reach the engine's own function, not SQLite's.
    engine.ctx = Context(user="alice", database="app")
    _, rows = run(engine, "SELECT current_database(), pg_catalog.current_database(), "
                          "current_catalog, current_schema(), current_schema, current_user, "
                          "session_user, user, current_role")
    assert rows == [("app", "app", "app", "public", "public", "alice", "alice", "alice",
                     "alice")]
    _, rows = run(engine, "SELECT version(), pg_catalog.version()")
    assert rows[0][0] == rows[0][1] and rows[0][0].startswith("PostgreSQL")


def test_subscripts_are_one_based_whatever_the_index(engine):
    # sqlglot shifts a literal index to 0-based but not a column: both must mean PostgreSQL's.
    _, rows = run(engine, """
        SELECT a[1], a[2], a[3], a[p.n], a[p.n + 1 - 1], (current_schemas(true))[1]
        FROM (SELECT ARRAY[10, 20] AS a) s, (SELECT 2 AS n) p""")
    assert rows == [(10, 20, None, 20, 20, "pg_catalog")]
    # An int2vector counts from 0 (indkey, indoption): pgjdbc's I_INDOPTION[pos - 1].
    _, rows = run(engine, """
        SELECT i.indkey[0], i.indkey[1], i.indkey[2], i.indkey[k.n - 1]
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid,
             (SELECT 2 AS n) k
        WHERE c.relname = 'book_title'""")
    assert rows == [(2, 3, None, 3)]


def test_foreign_keys_by_position_over_generate_series(engine):
    # pgjdbc's getImportedKeys: con.conkey[pos.n] over generate_series(1, 32) pos(n).
    _, rows = run(engine, """
        SELECT pkc.relname, pka.attname, fkc.relname, fka.attname, pos.n
        FROM pg_catalog.pg_class pkc, pg_catalog.pg_attribute pka, pg_catalog.pg_class fkc,
             pg_catalog.pg_attribute fka, pg_catalog.pg_constraint con,
             pg_catalog.generate_series(1, 32) pos(n)
        WHERE pkc.oid = pka.attrelid AND pka.attnum = con.confkey[pos.n]
          AND con.confrelid = pkc.oid AND fkc.oid = fka.attrelid
          AND fka.attnum = con.conkey[pos.n] AND con.conrelid = fkc.oid AND con.contype = 'f'
          AND fkc.relname = $1 ORDER BY pos.n""", "book")
    assert rows == [("author", "id", "book", "author_id", 1)]


def test_pg_expandarray_field_access(engine):
    # pgjdbc's getPrimaryKeys: (f(a)).n and a composite alias read back as (alias).x.
    _, rows = run(engine, """
        SELECT result.COLUMN_NAME, result.KEY_SEQ FROM (
          SELECT a.attname AS COLUMN_NAME,
                 (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ,
                 information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM
          FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid
          WHERE c.relname = 'book_title') result
        WHERE result.A_ATTNUM = (result.KEYS).x ORDER BY result.KEY_SEQ""")
    assert rows == [("title", 1), ("price", 2)]
    # getIndexInfo: one row per key column, its 1-based position.
    _, rows = run(engine, """
        SELECT (information_schema._pg_expandarray(i.indkey)).n AS pos,
               (information_schema._pg_expandarray(i.indkey)).x AS attnum
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = 'book_title' ORDER BY pos""")
    assert rows == [(1, 2), (2, 3)]
    _, rows = run(engine, "SELECT * FROM information_schema._pg_expandarray(ARRAY['a','b'])")
    assert rows == [("a", 1), ("b", 2)]
    _, rows = run(engine, "SELECT k.v, k.p FROM "
                          "information_schema._pg_expandarray(ARRAY[7]) AS k(v, p)")
    assert rows == [(7, 1)]


def test_unnamed_columns_get_postgresql_names(engine):
    columns, _ = run(engine, """
        SELECT pg_catalog.pg_get_viewdef('titles'::regclass, true), c.relname, c.relname::text,
               'book'::regclass, i.indkey[0], current_database(), count(*), 1 + 1,
               (SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.oid = c.relnamespace),
               CASE WHEN true THEN 1 END, string_agg(c.relname, ',')
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
        WHERE c.relname = 'book' GROUP BY 1, 2, 3, 4, 5, 6, 9""")
    assert [c.name for c in columns] == [
        "pg_get_viewdef", "relname", "relname", "regclass", "indkey", "current_database",
        "count", "?column?", "nspname", "case", "string_agg"]


def test_generate_subscripts_in_from_and_regproc_as_text(engine):
    _, rows = run(engine, """
        SELECT array_to_string(ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k + 1, true)
                                     FROM generate_subscripts(i.indkey, 1) AS k ORDER BY k), ',')
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = 'book_title'""")
    assert rows == [("title,price",)]
    columns, rows = run(engine, "SELECT t.* FROM pg_catalog.pg_type t WHERE t.typname = 'int4'")
    typinput = [c.name for c in columns].index("typinput")
    assert columns[typinput].type_oid == pgtypes.TEXT and rows[0][typinput] == "int4in"
