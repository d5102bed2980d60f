"""dialects.parse: splitting, kinds, tags, tables, cacheability, params, settings."""

from __future__ import annotations

import pytest

from dialects import Kind, Setting, TranslationError, parse


def one(sql: str):
    statements = parse(sql)
    assert len(statements) == 1, statements
    return statements[0]


@pytest.mark.parametrize(
    ("sql", "kind", "tag"),
    [
        ("SELECT 1", Kind.SELECT, "SELECT"),
        ("VALUES (1, 2)", Kind.SELECT, "SELECT"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", Kind.SELECT, "SELECT"),
        ("INSERT INTO t VALUES (1)", Kind.INSERT, "INSERT"),
        ("UPDATE t SET a = 1", Kind.UPDATE, "UPDATE"),
        ("DELETE FROM t", Kind.DELETE, "DELETE"),
        ("CREATE TABLE t (a int)", Kind.DDL, "CREATE TABLE"),
        ("CREATE TEMP TABLE t (a int)", Kind.DDL, "CREATE TABLE"),
        ("CREATE TABLE t AS SELECT 1", Kind.DDL, "SELECT"),
        ("SELECT * INTO n FROM t", Kind.DDL, "SELECT"),
        ("DROP TABLE IF EXISTS t", Kind.DDL, "DROP TABLE"),
        ("CREATE UNIQUE INDEX i ON t (a)", Kind.DDL, "CREATE INDEX"),
        ("CREATE OR REPLACE VIEW v AS SELECT 1", Kind.DDL, "CREATE VIEW"),
        ("CREATE MATERIALIZED VIEW v AS SELECT 1", Kind.DDL, "CREATE MATERIALIZED VIEW"),
        ("ALTER TABLE t ADD COLUMN b int", Kind.DDL, "ALTER TABLE"),
        ("TRUNCATE t", Kind.DDL, "TRUNCATE TABLE"),
        ("CREATE EXTENSION foo", Kind.DDL, "CREATE EXTENSION"),
        ("BEGIN", Kind.BEGIN, "BEGIN"),
        ("BEGIN WORK", Kind.BEGIN, "BEGIN"),
        ("START TRANSACTION", Kind.BEGIN, "START TRANSACTION"),
        ("COMMIT", Kind.COMMIT, "COMMIT"),
        ("END", Kind.COMMIT, "COMMIT"),
        ("ABORT", Kind.ROLLBACK, "ROLLBACK"),
        ("ROLLBACK", Kind.ROLLBACK, "ROLLBACK"),
        ("SAVEPOINT s1", Kind.SAVEPOINT, "SAVEPOINT"),
        ("RELEASE SAVEPOINT s1", Kind.RELEASE, "RELEASE"),
        ("RELEASE s1", Kind.RELEASE, "RELEASE"),
        ("ROLLBACK TO SAVEPOINT s1", Kind.ROLLBACK_TO, "ROLLBACK"),
        ("ROLLBACK TO s1", Kind.ROLLBACK_TO, "ROLLBACK"),
        ("SET x = 1", Kind.SET, "SET"),
        ("RESET x", Kind.SET, "RESET"),
        ("SHOW x", Kind.SHOW, "SHOW"),
        ('USE "mydb/feature-x"', Kind.USE, "SET"),
        ("CALL dolt_commit('-Am', 'msg')", Kind.CALL, "CALL"),
        ("EXPLAIN SELECT 1", Kind.OTHER, "EXPLAIN"),
        ("DISCARD ALL", Kind.OTHER, "DISCARD ALL"),
        ("DEALLOCATE ALL", Kind.OTHER, "DEALLOCATE ALL"),
        ("LISTEN x", Kind.OTHER, "LISTEN"),
    ],
)
def test_kind_and_tag(sql, kind, tag):
    s = one(sql)
    assert (s.kind, s.tag) == (kind, tag)


def test_split_keeps_each_statement_text():
    statements = parse("select 1; /* c */ SELECT 2 ;  ; insert into t values (';')")
    assert [s.sql for s in statements] == [
        "select 1",
        "/* c */ SELECT 2",
        "insert into t values (';')",
    ]
    assert [s.kind for s in statements] == [Kind.SELECT, Kind.SELECT, Kind.INSERT]


@pytest.mark.parametrize("sql", ["", "   ", "-- only a comment", "/* x */", ";", " ; ; "])
def test_empty(sql):
    assert [s.kind for s in parse(sql)] == [Kind.EMPTY]


@pytest.mark.parametrize(
    ("sql", "read", "written"),
    [
        ("SELECT * FROM Orders o JOIN public.Items i ON true", {"orders", "public.items", "items"},
         set()),
        ("WITH x AS (SELECT * FROM a) SELECT * FROM x, b", {"a", "b"}, set()),
        ("INSERT INTO t SELECT * FROM u", {"u"}, {"t"}),
        ("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", {"u"}, {"t"}),
        ("DELETE FROM t WHERE id IN (SELECT id FROM u)", {"u"}, {"t"}),
        ("DROP TABLE a, b", set(), {"a", "b"}),
        ("CREATE INDEX i ON s.t (a)", set(), {"s.t", "t"}),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", set(), {"t"}),
    ],
)
def test_tables(sql, read, written):
    s = one(sql)
    assert set(s.tables_read) == read
    assert set(s.tables_written) == written


@pytest.mark.parametrize(
    ("sql", "cacheable"),
    [
        ("SELECT * FROM t WHERE id = $1", True),
        ("SELECT 1", True),
        ("SELECT now()", False),
        ("SELECT current_timestamp", False),
        ("SELECT random()", False),
        ("SELECT nextval('s')", False),
        ("SELECT clock_timestamp()", False),
        ("SELECT current_user", False),
        ("SELECT user", False),
        ("SELECT * FROM t FOR UPDATE", False),
        ("SELECT * FROM t FOR SHARE", False),
        ("SELECT * FROM dolt_log", False),
        ("SELECT dolt_commit('-Am', 'x')", False),
        ("SELECT * FROM t AS OF 'HEAD~1'", False),
        ("INSERT INTO t VALUES (1)", False),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", False),
    ],
)
def test_cacheable(sql, cacheable):
    assert one(sql).cacheable is cacheable


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        ("SELECT 1", True),
        ("VALUES (1)", True),
        ("SHOW x", True),
        ("INSERT INTO t VALUES (1)", False),
        ("INSERT INTO t VALUES (1) RETURNING id", True),
        ("DELETE FROM t RETURNING *", True),
        ("CREATE TABLE t (a int)", False),
        ("SET x = 1", False),
        ("BEGIN", False),
        ("EXPLAIN SELECT 1", True),
    ],
)
def test_returns_rows(sql, rows):
    assert one(sql).returns_rows is rows


@pytest.mark.parametrize(
    ("sql", "nparams", "types"),
    [
        ("SELECT $1::int, $2", 2, (23, 0)),
        ("SELECT * FROM t WHERE a = $2 AND b = $1::text", 2, (25, 0)),
        ("SELECT $1,$2,$3", 3, (0, 0, 0)),
        ("SELECT CAST($1 AS bigint), $2::timestamptz, $3::numeric(10, 2), $4::uuid", 4,
         (20, 1184, 1700, 2950)),
        ("SELECT $1::boolean, $2::jsonb, $3::bytea, $4::varchar(3), $5::date", 5,
         (16, 3802, 17, 1043, 1082)),
        ("SELECT $1, $1::int4", 1, (23,)),
        ("SELECT '$1', \"$2\" FROM t", 0, ()),
        ("CALL p($1, $2)", 2, (0, 0)),
    ],
)
def test_params(sql, nparams, types):
    s = one(sql)
    assert (s.nparams, s.param_types) == (nparams, types)


@pytest.mark.parametrize(
    ("sql", "catalog"),
    [
        ("SELECT * FROM pg_catalog.pg_class", True),
        ("SELECT * FROM pg_class c JOIN pg_namespace n ON true", True),
        ("SELECT * FROM information_schema.tables", True),
        ("SELECT * FROM pg_type t JOIN orders o ON true", False),
        ("SELECT 1", False),
        ("SELECT * FROM orders", False),
    ],
)
def test_catalog_only(sql, catalog):
    assert one(sql).catalog_only is catalog


@pytest.mark.parametrize(
    ("sql", "setting"),
    [
        ("SET x = 1", Setting("x", "1")),
        ("SET x TO 'a b'", Setting("x", "a b")),
        ("SET SESSION DateStyle = 'ISO, MDY'", Setting("datestyle", "ISO, MDY")),
        ("SET LOCAL statement_timeout = 5000", Setting("statement_timeout", "5000", True)),
        ("SET TIME ZONE 'UTC'", Setting("timezone", "UTC")),
        ("SET TIME ZONE LOCAL", Setting("timezone", None)),
        ("SET NAMES 'utf8'", Setting("client_encoding", "utf8")),
        ("SET search_path TO a, B, \"C\"", Setting("search_path", "a, b, C")),
        ("SET search_path = DEFAULT", Setting("search_path", None)),
        ("SET extra_float_digits = -3", Setting("extra_float_digits", "-3")),
        ("SET pgproxy.branch = 'feature-x'", Setting("pgproxy.branch", "feature-x")),
        ("SET pgproxy.as_of = 'HEAD~1'", Setting("pgproxy.as_of", "HEAD~1")),
        ("RESET pgproxy.branch", Setting("pgproxy.branch")),
        ("RESET x", Setting("x")),
        ("RESET ALL", Setting("all")),
        ("SHOW x", Setting("x")),
        ("SHOW ALL", Setting("all")),
        ("SHOW search_path", Setting("search_path")),
        ("SHOW TIME ZONE", Setting("timezone")),
        ("SHOW TRANSACTION ISOLATION LEVEL", Setting("transaction_isolation")),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            Setting("default_transaction_isolation", "serializable"),
        ),
        (
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            Setting("transaction_isolation", "repeatable read", True),
        ),
        (
            "BEGIN ISOLATION LEVEL READ COMMITTED",
            Setting("transaction_isolation", "read committed", True),
        ),
        ("SELECT set_config('search_path', 'a', false)", Setting("search_path", "a")),
        ("SELECT set_config('x', 'y', true)", Setting("x", "y", True)),
        ("SELECT set_config($1, $2, false)", Setting("", None, False, (0, 1, None))),
        ("SELECT set_config('TimeZone', $1::text, $2)", Setting("timezone", None, False,
                                                                (None, 0, 1))),
        ('USE "mydb/feature-x"', Setting("database", "mydb/feature-x")),
    ],
)
def test_settings(sql, setting):
    assert one(sql).setting == setting


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("SELECT * FORM t", "42601"),
        ("SELECT (1", "42601"),
        ("SELECT 'unterminated", "42601"),
        ("SELECT 1; SELEC 2", "42601"),
        # an operator with no right operand: sqlglot's builders get None
        ("wat?", "42601"),
        ("SELECT a ? FROM t", "42601"),
        ("SELECT 1 #>", "42601"),
        ("?#>", "42601"),
        ("SET pgproxy.nope = 'x'", "42704"),
        ("SET pgproxy.branch = 'a b'", "22023"),
        ("SELECT set_config(name, 'v', false) FROM t", "0A000"),
    ],
)
def test_errors(sql, sqlstate):
    with pytest.raises(TranslationError) as info:
        parse(sql)
    assert info.value.sqlstate == sqlstate
    assert "\x1b" not in info.value.message


def test_syntax_error_message_is_tidy():
    with pytest.raises(TranslationError) as info:
        parse("SELECT * FORM t")
    assert info.value.message.startswith('syntax error at or near "t"')


def test_dollar_params_next_to_each_other():
    # sqlglot's stock tokenizer reads `$1,$2` as a dollar-quoted string
    s = one("INSERT INTO t(a,b) VALUES ($1,$2) ON CONFLICT (a) DO UPDATE SET b=$2")
    assert s.nparams == 2


def test_real_dollar_quotes_still_work():
    s = one("SELECT $$it's$$ AS x")
    assert s.kind is Kind.SELECT


# ---------------------------------------------------------------- limits (issue 8)


@pytest.mark.parametrize("n", ["0", "65536", "2147483648", "10000000", "9" * 5000])
def test_a_parameter_no_bind_can_fill_is_42P02(n):
    for sql in (f"SELECT ${n}", f"VACUUM ${n}", f"SELECT ${n} FROM t WHERE a = 1"):
        with pytest.raises(TranslationError) as info:
            parse(sql)
        assert info.value.sqlstate == "42P02"
        assert info.value.message.startswith("there is no parameter $")


def test_the_highest_parameter_a_bind_can_fill_parses():
    assert parse("SELECT $65535")[0].nparams == 65535


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "(" * 5000 + "1" + ")" * 5000,
        "SELECT " + "+".join(["1"] * 20000),
        "SELECT ARRAY" + "[" * 1001 + "1" + "]" * 1001,
        "SELECT " + "CASE WHEN true THEN " * 201 + "1" + " END" * 201,
        "SELECT 1" + "::int" * 201,
        "SELECT " + "(" * 201 + "1",  # unbalanced: still refused before the tokenizer
    ],
)
def test_nesting_past_the_limit_is_54001_before_parsing(sql):
    with pytest.raises(TranslationError) as info:
        parse(sql)
    assert (info.value.sqlstate, info.value.message) == ("54001", "stack depth limit exceeded")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "(" * 200 + "1" + ")" * 200,
        "SELECT " + "+".join(["1"] * 201),
        "SELECT 1 WHERE " + " OR ".join(["x = 1"] * 5000),
        "SELECT " + "||".join(["'a'"] * 5000),
        "SELECT 1 WHERE x IN (" + ",".join(["1"] * 20000) + ")",
        # Brackets inside strings, quoted names, comments and dollar quotes do not count.
        "SELECT '" + "(" * 1000 + "', E'\\'" + "(" * 1000 + "', \"" + "(" * 1000 + "\" -- "
        + "(" * 1000 + "\n /* " + "(" * 1000 + " */, $q$" + "(" * 1000 + "$q$",
    ],
)
def test_wide_or_shallow_statements_are_not_refused(sql):
    assert parse(sql)


def test_copy_query_after_leading_whitespace_and_another_statement():
    # token positions count in the whole string, the statement's own text is stripped
    s = one("\n   copy (\n  select '1'::int4\n) to stdout\n ")
    assert s.copy.query == "select '1'::int4"
    assert parse("select 1;  copy (select 2) to stdout")[1].copy.query == "select 2"
