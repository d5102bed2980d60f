"""dialects.generate: PostgreSQL in, each backend's SQL and placeholders out (round-trip tables)."""

# ruff: noqa: E501 -- expected SQL stays on one line per target so a diff reads as one.

from __future__ import annotations

import sqlite3

import pytest

from dialects import Generated, Target, TranslationError, generate, parse
from dialects.sqlite import SESSION_SETUP

SQLITE = Target("sqlite", "qmark", "sqlite", returning=True)
MYSQL = Target("mysql", "format", "mysql")
MARIADB = Target("mariadb", "format", "mariadb", as_of_timestamp=True, returning=True)
DOLT = Target("dolt", "format", "dolt", as_of_commit=True, as_of_timestamp=True, branches=True,
              database="mydb")
POSTGRES = Target("postgres", "dollar", "postgres", returning=True)
TARGETS = {"sqlite": SQLITE, "mysql": MYSQL, "mariadb": MARIADB, "dolt": DOLT,
           "postgres": POSTGRES}


def gen(sql: str, target: Target) -> Generated:
    (statement,) = parse(sql)
    return generate(statement, target)


# (PostgreSQL, {target: expected SQL}); "mysql" also stands for mariadb and dolt unless given.
ROUND_TRIP = [
    (
        "SELECT a::int, CAST(b AS TEXT), c::varchar, d::numeric, e::numeric(10, 2) FROM t",
        {
            "sqlite": "SELECT CAST(CASE WHEN TYPEOF(a) = 'real' THEN ROUND(a) ELSE a END AS INTEGER) "
            'AS "a", CAST(b AS TEXT) AS "b", '
            'CAST(c AS TEXT) AS "c", CAST(d AS NUMERIC) AS "d", CAST(e AS NUMERIC) AS "e" FROM t',
            "mysql": "SELECT CAST(a AS SIGNED) AS `a`, CAST(b AS CHAR) AS `b`, "
            "CAST(c AS CHAR) AS `c`, CAST(d AS DECIMAL(65, 30)) AS `d`, "
            "CAST(e AS DECIMAL(10, 2)) AS `e` FROM t",
        },
    ),
    (
        "SELECT * FROM t WHERE name ILIKE 'ab%'",
        {
            "sqlite": "SELECT * FROM t WHERE LOWER(name) LIKE LOWER('ab%') ESCAPE '\\'",
            "mysql": "SELECT * FROM t WHERE LOWER(name) LIKE LOWER('ab%%')",
        },
    ),
    (
        "SELECT * FROM t WHERE name LIKE 'A_c%' AND name NOT LIKE 'x*'",
        {
            "sqlite": "SELECT * FROM t WHERE name GLOB 'A?c*' AND name NOT GLOB 'x[*]'",
            "mysql": "SELECT * FROM t WHERE name LIKE 'A_c%%' AND name NOT LIKE 'x*'",
        },
    ),
    (
        "SELECT * FROM t WHERE name LIKE 'a\\_b'",
        {"sqlite": "SELECT * FROM t WHERE name GLOB 'a_b'"},
    ),
    (
        "SELECT * FROM t WHERE b = TRUE AND c = FALSE",
        {
            "sqlite": "SELECT * FROM t WHERE b = TRUE AND c = FALSE",
            "mysql": "SELECT * FROM t WHERE b = TRUE AND c = FALSE",
        },
    ),
    (
        "SELECT a FROM t LIMIT 5 OFFSET 10",
        {"sqlite": "SELECT a FROM t LIMIT 5 OFFSET 10", "mysql": "SELECT a FROM t LIMIT 5 OFFSET 10"},
    ),
    (
        "SELECT a FROM t LIMIT ALL OFFSET 10",
        {
            "sqlite": "SELECT a FROM t LIMIT -1 OFFSET 10",
            "mysql": "SELECT a FROM t LIMIT 18446744073709551615 OFFSET 10",
        },
    ),
    (
        "SELECT a FROM t FETCH FIRST 3 ROWS ONLY",
        {"sqlite": "SELECT a FROM t LIMIT 3", "mysql": "SELECT a FROM t LIMIT 3"},
    ),
    (
        "SELECT a || b || 'x' FROM t",
        {
            "sqlite": "SELECT a || b || 'x' AS \"?column?\" FROM t",
            "mysql": "SELECT CONCAT(a, b, 'x') AS `?column?` FROM t",
        },
    ),
    (
        "SELECT 7 / 2 AS q, 7.0 / 2 AS r, a / b AS s, (1 + 2) / $1::int AS u",
        {
            # a divisor that may be 0 goes through pgproxy_nonzero (22012, not NULL)
            "sqlite": "SELECT 7 / 2 AS q, 7.0 / 2 AS r, a / pgproxy_nonzero(b) AS s, "
            "(1 + 2) / pgproxy_nonzero(CAST(? AS INTEGER)) AS u",
            "mysql": "SELECT 7 DIV 2 AS q, 7.0 / 2 AS r, a / b AS s, "
            "(1 + 2) DIV CAST(%s AS SIGNED) AS u",
        },
    ),
    (
        "SELECT a FROM t ORDER BY a, b DESC",
        {
            "sqlite": "SELECT a FROM t ORDER BY a NULLS LAST, b DESC NULLS FIRST",
            "mysql": "SELECT a FROM t ORDER BY CASE WHEN a IS NULL THEN 1 ELSE 0 END, a, "
            "CASE WHEN b IS NULL THEN 1 ELSE 0 END DESC, b DESC",
        },
    ),
    (
        'SELECT "Mixed", Lower FROM "T"',
        {"sqlite": 'SELECT "Mixed", lower FROM "T"', "mysql": "SELECT `Mixed`, lower FROM `T`"},
    ),
    (
        "SELECT E'a\\nb' AS s, 'c\\d' AS t",
        {"sqlite": "SELECT 'a\nb' AS s, 'c\\d' AS t", "mysql": "SELECT 'a\\nb' AS s, 'c\\\\d' AS t"},
    ),
    (
        "SELECT a IS DISTINCT FROM b AS x, a IS NOT DISTINCT FROM b AS y FROM t",
        {
            "sqlite": "SELECT a IS NOT b AS x, a IS b AS y FROM t",
            "mysql": "SELECT NOT a <=> b AS x, a <=> b AS y FROM t",
        },
    ),
    (
        "SELECT string_agg(x, ','), coalesce(a, 'z') FROM t",
        {
            "sqlite": "SELECT GROUP_CONCAT(x, ',') AS \"string_agg\", "
            "COALESCE(a, 'z') AS \"coalesce\" FROM t",
            "mysql": "SELECT GROUP_CONCAT(x SEPARATOR ',') AS `string_agg`, "
            "COALESCE(a, 'z') AS `coalesce` FROM t",
        },
    ),
    (
        "SELECT count(*), now(), current_timestamp AS ts FROM t",
        {
            "sqlite": 'SELECT COUNT(*) AS "count", CURRENT_TIMESTAMP AS "now", '
            "CURRENT_TIMESTAMP AS ts FROM t",
            "mysql": "SELECT COUNT(*) AS `count`, CURRENT_TIMESTAMP(6) AS `now`, "
            "CURRENT_TIMESTAMP(6) AS ts FROM t",
        },
    ),
    (
        "INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
        {
            "sqlite": "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            "mysql": "INSERT INTO t (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = VALUES(v)",
        },
    ),
    (
        "INSERT INTO t (k) VALUES (1) ON CONFLICT DO NOTHING",
        {
            "sqlite": "INSERT INTO t (k) VALUES (1) ON CONFLICT DO NOTHING",
            "mysql": "INSERT IGNORE INTO t (k) VALUES (1)",
        },
    ),
    (
        "CREATE TABLE t (id SERIAL PRIMARY KEY, name TEXT NOT NULL, code TEXT UNIQUE, "
        "at TIMESTAMPTZ DEFAULT now(), ok BOOLEAN, doc JSONB, u UUID, raw BYTEA, "
        "amount NUMERIC(10, 2), n NUMERIC, v VARCHAR, w VARCHAR(20))",
        {
            "sqlite": "CREATE TABLE t (id INT PRIMARY KEY NOT NULL DEFAULT (NEXTVAL('t_id_seq')), "
            "name TEXT NOT NULL, code TEXT UNIQUE, at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, ok BOOLEAN, doc JSONB, "
            "u UUID, raw BYTEA, amount DECIMAL(10, 2), n DECIMAL, v VARCHAR, w VARCHAR(20))",
            "mysql": "CREATE TABLE t (id INT PRIMARY KEY NOT NULL AUTO_INCREMENT, name TEXT NOT NULL, "
            "code VARCHAR(255) UNIQUE, at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'pgproxy:timestamptz', "
            "ok BOOLEAN, "
            "doc JSON COMMENT 'pgproxy:jsonb', u CHAR(36), raw LONGBLOB, amount DECIMAL(10, 2), "
            "n DECIMAL(65, 30), "
            "v TEXT, w VARCHAR(20)) DEFAULT CHARACTER SET=utf8mb4 COLLATE=utf8mb4_bin",
            "dolt": "CREATE TABLE t (id INT PRIMARY KEY NOT NULL AUTO_INCREMENT, name TEXT NOT NULL, "
            "code VARCHAR(255) UNIQUE, at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'pgproxy:timestamptz', "
            "ok BOOLEAN, "
            "doc JSON COMMENT 'pgproxy:jsonb', u CHAR(36), raw LONGBLOB, amount DECIMAL(10, 2), "
            "n DECIMAL(65, 30), "
            "v TEXT, w VARCHAR(20))",
        },
    ),
    (
        "CREATE TABLE t (id BIGINT GENERATED ALWAYS AS IDENTITY, k TEXT, PRIMARY KEY (id))",
        {
            "sqlite": "CREATE TABLE t (id BIGINT NOT NULL DEFAULT (NEXTVAL('t_id_seq')) PRIMARY KEY, "
            "k TEXT)",
            "dolt": "CREATE TABLE t (id BIGINT AUTO_INCREMENT, k TEXT, PRIMARY KEY (id))",
        },
    ),
    (
        "CREATE TABLE t (k TEXT, v INT, PRIMARY KEY (k))",
        {"dolt": "CREATE TABLE t (k VARCHAR(255), v INT, PRIMARY KEY (k))"},
    ),
    (
        "CREATE INDEX i ON t (a, b DESC)",
        {"sqlite": "CREATE INDEX i ON t(a, b DESC)", "mysql": "CREATE INDEX i ON t(a, b DESC)"},
    ),
    (
        "SELECT * FROM public.t JOIN other.u ON true",
        {"sqlite": "SELECT * FROM t JOIN other.u ON TRUE"},
    ),
    ("SELECT * FROM t FOR UPDATE", {"sqlite": "SELECT * FROM t", "mysql": "SELECT * FROM t FOR UPDATE"}),
    (
        "SELECT 'yes'::boolean AS b",
        {"sqlite": "SELECT 1 AS b", "mysql": "SELECT 1 AS b"},
    ),
    ("BEGIN", {"sqlite": "BEGIN", "mysql": "START TRANSACTION", "postgres": "BEGIN"}),
    ("START TRANSACTION READ ONLY", {"sqlite": "BEGIN", "mysql": "START TRANSACTION READ ONLY"}),
    ("END", {"sqlite": "COMMIT", "mysql": "COMMIT"}),
    ("ABORT", {"sqlite": "ROLLBACK", "mysql": "ROLLBACK"}),
    ('SAVEPOINT "S1"', {"sqlite": 'SAVEPOINT "S1"', "mysql": "SAVEPOINT `S1`"}),
    ("RELEASE s1", {"sqlite": 'RELEASE SAVEPOINT "s1"', "mysql": "RELEASE SAVEPOINT `s1`"}),
    ("ROLLBACK TO s1", {"sqlite": 'ROLLBACK TO SAVEPOINT "s1"', "mysql": "ROLLBACK TO SAVEPOINT `s1`"}),
    ("SET x = 1", {"sqlite": "", "mysql": ""}),
    ("SHOW x", {"sqlite": "", "mysql": ""}),
    ("DISCARD ALL", {"sqlite": "", "mysql": ""}),
    ("", {"sqlite": "", "mysql": "", "postgres": ""}),
]


def _cases():
    for pg, expected in ROUND_TRIP:
        for name, sql in expected.items():
            names = ["mysql", "mariadb", "dolt"] if name == "mysql" else [name]
            for target in names:
                if target in expected and target != name:
                    continue
                yield pytest.param(pg, target, sql, id=f"{target}:{pg[:40]}")


@pytest.mark.parametrize(("pg", "target", "expected"), list(_cases()))
def test_round_trip(pg, target, expected):
    generated = gen(pg, TARGETS[target])
    # A statement run as several steps (dialects/ddl.py): its last step is the statement itself.
    assert (generated.sql or (generated.steps[-1].sql if generated.steps else "")) == expected


@pytest.mark.parametrize(
    ("sql", "target", "expected", "params"),
    [
        ("SELECT * FROM t WHERE a = $2 AND b = $1 OR c = $2", SQLITE,
         "SELECT * FROM t WHERE a = ? AND b = ? OR c = ?", (1, 0, 1)),
        ("SELECT * FROM t WHERE a = $2 AND b = $1", MYSQL,
         "SELECT * FROM t WHERE a = %s AND b = %s", (1, 0)),
        ("SELECT * FROM t WHERE a = $2 AND b = $1", POSTGRES,
         "SELECT * FROM t WHERE a = $2 AND b = $1", (0, 1)),
        ("SELECT a % 2 AS m, '100%' AS p FROM t", MYSQL,
         "SELECT a %% 2 AS m, '100%%' AS p FROM t", ()),
        ("SELECT '100%' AS p, $1 AS q", MYSQL, "SELECT '100%%' AS p, %s AS q", (0,)),
        ("SELECT a % 2 AS m FROM t", SQLITE, "SELECT a % 2 AS m FROM t", ()),
        ("SELECT '$1' AS s, $1 AS q", SQLITE, "SELECT '$1' AS s, ? AS q", (0,)),
        ("CALL dolt_checkout($1)", DOLT, "CALL dolt_checkout(%s)", (0,)),
    ],
)
def test_placeholders(sql, target, expected, params):
    g = gen(sql, target)
    assert (g.sql, g.params) == (expected, params)
    assert "@" not in g.sql


@pytest.mark.parametrize(
    ("sql", "expected", "params"),
    [
        ("SELECT version()", 'SELECT ? AS "version"', ("version",)),
        ("SELECT current_database()", 'SELECT ? AS "current_database"', ("current_database",)),
        ("SELECT current_catalog", 'SELECT ? AS "current_catalog"', ("current_database",)),
        ("SELECT current_schema()", 'SELECT ? AS "current_schema"', ("current_schema",)),
        ("SELECT current_schema", 'SELECT ? AS "current_schema"', ("current_schema",)),
        ("SELECT current_user", 'SELECT ? AS "current_user"', ("current_user",)),
        ("SELECT session_user", 'SELECT ? AS "session_user"', ("session_user",)),
        ("SELECT user", 'SELECT ? AS "user"', ("current_user",)),
        ("SELECT pg_backend_pid()", 'SELECT ? AS "pg_backend_pid"', ("backend_pid",)),
        ("SELECT current_setting('TimeZone')", 'SELECT ? AS "current_setting"',
         ("setting:timezone",)),
        ("SELECT set_config('search_path', 'a', false)", 'SELECT ? AS "set_config"',
         ("setting:search_path",)),
        ("SELECT set_config($1, $2, false)", 'SELECT ? AS "set_config"', ("setting:$1",)),
        ("SELECT current_setting($1), current_setting($2, true)",
         'SELECT ? AS "current_setting", ? AS "current_setting"',
         ("setting:$1", "setting:$2:true")),
        ("SELECT current_setting('x.y', $1::bool)", 'SELECT ? AS "current_setting"',
         ("setting:x.y:$1",)),
        ("SELECT version() AS v, $1 AS p", "SELECT ? AS v, ? AS p", ("version", 0)),
        ("SELECT * FROM t WHERE owner = current_user AND id = $1",
         "SELECT * FROM t WHERE owner = ? AND id = ?", ("current_user", 0)),
    ],
)
def test_session_functions(sql, expected, params):
    g = gen(sql, SQLITE)
    assert (g.sql, g.params) == (expected, params)


def test_session_functions_dollar_style_number_after_client_params():
    target = Target("sqlite", "dollar", "sqlite")
    g = gen("SELECT $1 AS a, version() AS v, $2 AS b, version() AS w", target)
    assert g.sql == "SELECT $1 AS a, $3 AS v, $2 AS b, $3 AS w"
    assert g.params == (0, 1, "version")


@pytest.mark.parametrize(
    ("sql", "target"),
    [
        ("INSERT INTO t VALUES (1) RETURNING id", MYSQL),
        ("INSERT INTO t VALUES (1) RETURNING id", DOLT),
        ("UPDATE t SET a = 1 FROM u WHERE u.id = t.id RETURNING *", MARIADB),
        ("DELETE FROM t RETURNING *", Target("sqlite", "qmark", "sqlite", returning=False)),
        ("INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 1 WHERE t.c > 0", MYSQL),
        ("CALL p()", SQLITE),
        ("EXPLAIN SELECT 1", MYSQL),
        ("SELECT 'maybe'::boolean", SQLITE),
    ],
)
def test_refused(sql, target):
    with pytest.raises(TranslationError) as info:
        gen(sql, target)
    assert info.value.sqlstate in ("0A000", "22P02")


@pytest.mark.parametrize(
    ("sql", "target", "expected"),
    [
        ("INSERT INTO t VALUES (1) RETURNING id", SQLITE, "INSERT INTO t VALUES (1) RETURNING id"),
        ("UPDATE t SET a = 1 RETURNING *", SQLITE, "UPDATE t SET a = 1 RETURNING *"),
        ("DELETE FROM t RETURNING *", MARIADB, "DELETE FROM t RETURNING *"),
        ("INSERT INTO t VALUES (1) RETURNING id", MARIADB, "INSERT INTO t VALUES (1) RETURNING id"),
    ],
)
def test_returning_where_native(sql, target, expected):
    assert gen(sql, target).sql == expected


def test_postgres_is_pass_through():
    sql = "select $1::int,$2 from T where x ilike 'a%'"
    g = gen(sql, POSTGRES)
    assert (g.sql, g.params) == (sql, (0, 1))


def test_postgres_format_paramstyle_converts_outside_strings():
    g = gen("select '$1 100%', $1", Target("postgres", "format", "postgres"))
    assert (g.sql, g.params) == ("select '$1 100%%', %s", (0,))


# --- the SQLite output really runs -----------------------------------------------------------

SCRIPT = [
    "CREATE TABLE items (id INT PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INT, "
    "price NUMERIC(10, 2), ok BOOLEAN DEFAULT TRUE, at TIMESTAMPTZ DEFAULT now())",
    "INSERT INTO items (id, name, qty, price) VALUES (1, 'Apple', 3, 1.5), (2, 'apple', NULL, 2), "
    "(3, 'Banana', 7, 0.25)",
    "INSERT INTO items (id, name, qty) VALUES (4, 'Apple', 10) ON CONFLICT (name) DO UPDATE "
    "SET qty = EXCLUDED.qty",
    "INSERT INTO items (id, name, qty) VALUES (5, 'Banana', 1) ON CONFLICT DO NOTHING",
]
QUERIES = [
    ("SELECT name FROM items WHERE name LIKE 'A%' ORDER BY name", [("Apple",)]),
    ("SELECT name FROM items WHERE name ILIKE 'A%' ORDER BY name", [("Apple",), ("apple",)]),
    ("SELECT name FROM items WHERE name LIKE $1 ORDER BY name", [("Apple",)]),
    ("SELECT qty FROM items ORDER BY qty", [(7,), (10,), (None,)]),
    ("SELECT qty FROM items ORDER BY qty DESC", [(None,), (10,), (7,)]),
    ("SELECT 7 / 2, count(*) FROM items", [(3, 3)]),
    ("SELECT name || '!' FROM items WHERE id = $2 - 1", [("apple!",)]),
    ("SELECT name FROM items WHERE qty IS DISTINCT FROM 7 ORDER BY id", [("Apple",), ("apple",)]),
    ("SELECT string_agg(name, ',') FROM (SELECT name FROM items ORDER BY id) s",
     [("Apple,apple,Banana",)]),
    ("UPDATE items SET qty = qty + 1 WHERE name = 'Banana' RETURNING qty", [(8,)]),
    ("SELECT name FROM items ORDER BY id LIMIT ALL OFFSET 2", [("Banana",)]),
    ("SELECT name FROM items ORDER BY id FETCH FIRST 1 ROWS ONLY", [("Apple",)]),
    ("SELECT version()", [("PostgreSQL 16 (pgproxy)",)]),
]


def test_sqlite_output_runs():
    db = sqlite3.connect(":memory:")
    for pragma in SESSION_SETUP:
        db.execute(pragma)
    for sql in SCRIPT:
        db.execute(gen(sql, SQLITE).sql)
    client_params = ["A%", 3]
    session = {"version": "PostgreSQL 16 (pgproxy)"}
    for sql, rows in QUERIES:
        g = gen(sql, SQLITE)
        values = [client_params[p] if isinstance(p, int) else session[p] for p in g.params]
        assert db.execute(g.sql, values).fetchall() == rows, (sql, g.sql)


def test_sqlite_column_names_follow_postgres():
    db = sqlite3.connect(":memory:")
    g = gen("SELECT count(*), 1, 'a'::text, now() IS NOT NULL AS fresh", SQLITE)
    cursor = db.execute(g.sql)
    assert [d[0] for d in cursor.description] == ["count", "?column?", "text", "fresh"]


def test_update_returning_on_mariadb_is_a_plan_with_bound_values():
    """The pieces the run-time routine joins (pgproxy/backends/returning.py): values stay
    placeholders, in the order assignments, WHERE, RETURNING."""
    g = gen("UPDATE t AS x SET a = $2, b = b || 'q' WHERE x.id = $1 RETURNING a, b || $3",
            MARIADB)
    assert g.sql == "" and len(g.steps) == 1
    step = g.steps[0]
    assert step.routine == "update_returning" and step.result
    plan = step.args[0]
    assert g.params == step.params == (1, 0, 2)
    assert [(c, p.sql, p.nvalues) for c, p, _ in plan.assignments] == [
        ("a", "%s", 1), ("b", "CONCAT(b, 'q')", 0)]
    assert (plan.where.sql, plan.where.nvalues) == ("(x.id = %s)", 1)
    assert plan.returning.sql == "a, CONCAT(b, %s) AS `?column?`"
    assert (plan.table, plan.target, plan.qualifier) == ("t", "t AS x", "`x`")
    assert step.sql.startswith("SELECT a, CONCAT(b, %s) AS `?column?` FROM t AS x WHERE FALSE")


def test_default_in_some_rows_splits_into_inserts_on_sqlite():
    """Rows that disagree on DEFAULT: INSERTs of rows that agree, in order, params bound."""
    g = gen("INSERT INTO t (a, b) VALUES ($1, DEFAULT), (DEFAULT, 2), (DEFAULT, 3),"
            " (DEFAULT, DEFAULT), (DEFAULT, DEFAULT) RETURNING a", SQLITE)
    assert [s.sql for s in g.steps] == [
        "INSERT INTO t (a) VALUES (?) RETURNING a",
        "INSERT INTO t (b) VALUES (2), (3) RETURNING a",
        "INSERT INTO t DEFAULT VALUES RETURNING a",
        "INSERT INTO t DEFAULT VALUES RETURNING a",
    ]
    assert all(s.result for s in g.steps)
    assert g.params == (0,)
