"""DDL translation: round-trip tables for SQLite and MariaDB, the steps statements become,
sequence options as PostgreSQL resolves them, and SQLite's table rebuild run on SQLite."""

# ruff: noqa: E501 -- expected SQL stays on one line per target so a diff reads as one.

from __future__ import annotations

import sqlite3

import pytest

from dialects import Generated, Step, Target, TranslationError, generate, parse, sequences
from dialects.generation import dialect_for
from dialects.sqlite_ddl import NEW_SUFFIX, index_sql, rebuild

SQLITE = Target("sqlite", "qmark", "sqlite", returning=True)
MARIADB = Target("mariadb", "format", "mariadb", as_of_timestamp=True, returning=True)
MYSQL = Target("mysql", "format", "mysql")


def gen(sql: str, target: Target) -> Generated:
    (statement,) = parse(sql)
    return generate(statement, target)


def shown(generated: Generated) -> list[str]:
    """The statement as the backend will run it: its SQL, or each step's SQL / routine."""
    if not generated.steps:
        return [generated.sql]
    return [step.sql or f"<{step.routine}>" for step in generated.steps]


ROUND_TRIP = [
    (
        "create table h (tid int, mtime timestamp, filler char(22)) with (fillfactor=100)",
        {"sqlite": ["CREATE TABLE h (tid INT, mtime TIMESTAMP, filler CHAR(22))"],
         "mariadb": ["CREATE TABLE h (tid INT, mtime DATETIME(6), filler CHAR(22)) DEFAULT CHARACTER SET=utf8mb4 COLLATE=utf8mb4_bin"]},
    ),
    (
        "create unlogged table u (a int)",
        {"sqlite": ["CREATE TABLE u (a INT)"]},
    ),
    (
        "drop table if exists a, b cascade",
        {"sqlite": ["<drop_tables>"],
         "mariadb": ["<drop_tables>"]},
    ),
    (
        "drop view v1, v2",
        {"sqlite": ["DROP VIEW v1", "DROP VIEW v2"], "mariadb": ["DROP VIEW v1, v2"]},
    ),
    (
        "drop index concurrently if exists i1, public.i2 cascade",
        {"sqlite": ['DROP INDEX IF EXISTS "i1"', 'DROP INDEX IF EXISTS "i2"'],
         "mariadb": ["<drop_index>"]},
    ),
    (
        "truncate a, b restart identity",
        {"sqlite": ["<truncate>"], "mariadb": ["<truncate>"]},
    ),
    (
        "create index concurrently if not exists i on t using btree (lower(name) varchar_pattern_ops) include (x) where a > 0",
        {"sqlite": ["CREATE INDEX IF NOT EXISTS i ON t(LOWER(name)) WHERE a > 0"]},
    ),
    (
        "create index i on t (a, b desc) where a > 0",
        {"sqlite": ["CREATE INDEX i ON t(a, b DESC) WHERE a > 0"],
         "mariadb": ["CREATE INDEX i ON t(a, b DESC)"]},
    ),
    (
        "create table f (a float(10), b float(30), c double precision, d real)",
        {"sqlite": ["CREATE TABLE f (a REAL, b DOUBLE PRECISION, c DOUBLE PRECISION, d REAL)"],
         "mariadb": ["CREATE TABLE f (a FLOAT, b DOUBLE, c DOUBLE, d FLOAT) DEFAULT CHARACTER SET=utf8mb4 COLLATE=utf8mb4_bin"]},
    ),
    (
        "create table c (a int check (a > 0) default 1, b int default 2 check (b > a))",
        {"sqlite": ["CREATE TABLE c (a INT CHECK (a > 0) DEFAULT 1, b INT DEFAULT 2 CHECK (b > a))"]},
    ),
    (
        "create table r (a int references u, b int references u (id) on delete cascade)",
        {"sqlite": ["CREATE TABLE r (a INT REFERENCES u, b INT REFERENCES u (id) ON delete CASCADE)"],
         "mariadb": ["<create_table>"]},  # MySQL needs u's key columns: the routine finds them
    ),
    (
        "create table e (m public.mood default 'ok'::public.mood)",
        {"sqlite": ["<create_table>"], "mariadb": ["<create_table>"]},
    ),
    (
        "create table s (id serial primary key, n bigserial)",
        {"sqlite": [sequences.CREATE_TABLE, "<create_sequence>", "<create_sequence>",
                    "CREATE TABLE s (id INT PRIMARY KEY NOT NULL DEFAULT (NEXTVAL('s_id_seq')), n BIGINT NOT NULL DEFAULT (NEXTVAL('s_n_seq')))"]},
    ),
    (
        "create table d (id integer default nextval('public.d_id_seq'::regclass) not null)",
        {"sqlite": ["CREATE TABLE d (id INT DEFAULT (NEXTVAL('public.d_id_seq')) NOT NULL)"],
         "mariadb": ["CREATE TABLE d (id INT DEFAULT NEXTVAL(`d_id_seq`) NOT NULL) DEFAULT CHARACTER SET=utf8mb4 COLLATE=utf8mb4_bin"]},
    ),
    (
        "select nextval('s'), currval('s'), pg_catalog.setval('public.s', 5, false)",
        {"sqlite": ["SELECT NEXTVAL('s') AS \"nextval\", CURRVAL('s') AS \"currval\", SETVAL('public.s', 5, FALSE) AS \"setval\""],
         # currval is checked first (55000 before any nextval): Describe sees the statement
         "mariadb": ["SELECT (@pgproxy_lastval := NEXTVAL(`s`)) AS `nextval`, LASTVAL(`s`) AS `currval`, SETVAL(`s`, 5, FALSE) AS `setval`"]},
    ),
    (
        "create sequence hibernate_sequence start 1 increment 50",
        {"sqlite": [sequences.CREATE_TABLE, "<create_sequence>"],
         "mariadb": ["CREATE SEQUENCE `hibernate_sequence` INCREMENT BY 50 MINVALUE 1 MAXVALUE 9223372036854775806 START WITH 1 NOCACHE NOCYCLE"]},
    ),
    (
        "alter sequence if exists s increment by 2 no maxvalue restart with 7 cycle",
        {"sqlite": ["<alter_sequence>"],
         "mariadb": ["ALTER SEQUENCE IF EXISTS `s` INCREMENT BY 2 NO MAXVALUE CYCLE RESTART WITH 7"]},
    ),
    (
        "drop sequence if exists a, b",
        {"sqlite": ["<drop_sequences>"], "mariadb": ["DROP SEQUENCE IF EXISTS `a`, `b`"]},
    ),
    (
        "alter table only public.t add constraint t_pkey primary key (id)",
        {"sqlite": ["<alter_table>"], "mariadb": ["ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id)"]},
    ),
    (
        "alter table t add constraint fk foreign key (a) references u (id) on delete set null deferrable initially deferred",
        {"mariadb": ["ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) ON delete SET NULL"]},
    ),
    (
        "alter table t alter column a type bigint using a::bigint, alter column b set not null",
        {"sqlite": ["<alter_table>"], "mariadb": ["<alter_table>"]},
    ),
    (
        "alter table t rename column a to b",
        {"sqlite": ["ALTER TABLE t RENAME COLUMN a TO b", "<rename_owned>"],
         "mariadb": ["ALTER TABLE t RENAME COLUMN a TO b"]},
    ),
    (
        'alter table "t" rename "a" to "b"',  # knex leaves COLUMN out
        {"sqlite": ['ALTER TABLE "t" RENAME COLUMN "a" TO "b"', "<rename_owned>"],
         "mariadb": ["ALTER TABLE `t` RENAME COLUMN `a` TO `b`"]},
    ),
    (
        "alter table t add column x int default 0 not null",
        {"sqlite": ["ALTER TABLE t ADD COLUMN x INT DEFAULT 0 NOT NULL"]},
    ),
    (
        "alter table t set (fillfactor = 50)",
        {"sqlite": ["SELECT 1 WHERE 0"], "mariadb": ["DO 0"]},
    ),
    ("alter table public.t owner to bob", {"sqlite": [""], "mariadb": [""]}),
    ("vacuum", {"sqlite": [""], "mariadb": [""]}),
    ("vacuum (verbose, analyze) t", {"sqlite": ['ANALYZE "t"'], "mariadb": ["ANALYZE TABLE `t`"]}),
    ("analyze", {"sqlite": ["ANALYZE"], "mariadb": [""]}),
    ("lock table t in access share mode", {"sqlite": [""], "mariadb": [""]}),
    ("alter table t validate constraint fk", {"sqlite": [""], "mariadb": [""]}),
    ("alter index if exists public.i rename to j",
     {"sqlite": ["<rename_index>"], "mariadb": ["<rename_index>"]}),
    ("alter index i set (fillfactor = 70)", {"sqlite": [""], "mariadb": [""]}),
    ("alter table only t disable trigger all", {"sqlite": [""], "mariadb": [""]}),
    ("alter table t alter column a set statistics 100", {"sqlite": [""]}),
    ("reindex table public.t", {"sqlite": ['REINDEX "t"'], "mariadb": [""]}),
    ("reindex (verbose) database app", {"sqlite": ["REINDEX"]}),
    (
        "lock table only t, u in exclusive mode nowait",
        {"sqlite": ['UPDATE "t" SET rowid = rowid WHERE 0', 'UPDATE "u" SET rowid = rowid WHERE 0'],
         "mariadb": ["SELECT 1 FROM `t` FOR UPDATE", "SELECT 1 FROM `u` FOR UPDATE"]},
    ),
]


def _cases():
    for pg, expected in ROUND_TRIP:
        for name, out in expected.items():
            yield pytest.param(pg, name, out, id=f"{name}:{pg[:40]}")


@pytest.mark.parametrize(("pg", "target", "expected"), list(_cases()))
def test_round_trip(pg: str, target: str, expected: list[str]) -> None:
    assert shown(gen(pg, {"sqlite": SQLITE, "mariadb": MARIADB}[target])) == expected


@pytest.mark.parametrize(
    ("sql", "target", "words"),
    [
        ("do $$ begin perform 1; end $$", SQLITE, "DO blocks"),
        ("create function f() returns int as $$ select 1 $$ language sql", MARIADB,
         "CREATE FUNCTION"),
        ("create or replace procedure p() language sql as $$ select 1 $$", SQLITE,
         "CREATE PROCEDURE"),
        ("create index i on t using gin (a)", SQLITE, "index method gin"),
        ("select nextval('s')", MYSQL, "no sequences"),
        ("create index i on t (lower(a))", MARIADB, "expressions"),
        ("create unique index i on t (a) where b", MARIADB, "partial unique"),
        ("select nextval(a) from t", MARIADB, "constant or a parameter"),
        ("create sequence s", MYSQL, "sequences are not supported"),
        ("alter table t rename constraint a to b", MARIADB, "RENAME CONSTRAINT"),
    ],
)
def test_refused_with_0a000(sql: str, target: Target, words: str) -> None:
    with pytest.raises(TranslationError, match=words) as info:
        gen(sql, target)
    assert info.value.sqlstate == "0A000"


def test_notices_name_what_was_dropped() -> None:
    generated = gen("create unlogged table t (a int) with (fillfactor=70, autovacuum_enabled=false)",
                    SQLITE)
    assert any("UNLOGGED" in n for n in generated.notices)
    assert any("fillfactor" in n for n in generated.notices)
    assert any("autovacuum_enabled" in n for n in generated.notices)
    assert not gen("create table t (a int)", SQLITE).notices


# --- sequences as PostgreSQL resolves them ----------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("create sequence s", {"data_type": "bigint", "increment": 1, "min_value": 1,
                               "max_value": 9223372036854775807, "start_value": 1}),
        ("create sequence s as integer increment by -1",
         {"data_type": "integer", "increment": -1, "min_value": -2147483648, "max_value": -1,
          "start_value": -1}),
        ("create sequence s as smallint start with 5 minvalue 5 maxvalue 10 cycle cache 3",
         {"data_type": "smallint", "min_value": 5, "max_value": 10, "start_value": 5,
          "cycle": True, "cache": 3}),
    ],
)
def test_sequence_defaults(sql: str, expected: dict) -> None:
    found = sequences.resolve(sequences.parse(sql).options)
    assert {k: found[k] for k in expected} == expected
    assert found["last_value"] == found["start_value"] and found["is_called"] is False


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("create sequence s increment 0", "INCREMENT must not be zero"),
        ("create sequence s minvalue 10 maxvalue 5", "must be less than MAXVALUE"),
        ("create sequence s start 0", "cannot be less than MINVALUE"),
        ("create sequence s as smallint maxvalue 40000", "out of range"),
        ("create sequence s as text", "must be smallint, integer, or bigint"),
    ],
)
def test_sequence_checks(sql: str, message: str) -> None:
    with pytest.raises(TranslationError, match=message) as info:
        sequences.resolve(sequences.parse(sql).options)
    assert info.value.sqlstate in ("22023",)


def test_alter_sequence_keeps_what_it_does_not_name() -> None:
    current = sequences.resolve(sequences.parse("create sequence s increment 5 start 10").options)
    current["last_value"], current["is_called"] = 40, True
    changed = sequences.resolve(sequences.parse("alter sequence s maxvalue 100").options, current)
    assert (changed["increment"], changed["max_value"], changed["last_value"]) == (5, 100, 40)
    restarted = sequences.resolve(sequences.parse("alter sequence s restart").options, current)
    assert (restarted["last_value"], restarted["is_called"]) == (10, False)


def test_sequence_names() -> None:
    assert sequences.name_of('public."Mixed"') == "Mixed"
    assert sequences.name_of("PUBLIC.Plain") == "plain"
    with pytest.raises(TranslationError):
        sequences.name_of("")


# --- SQLite's rebuild, run on SQLite ---------------------------------------------------------


def _rebuilt(conn: sqlite3.Connection, table: str, alter_sql: str) -> None:
    """Apply the rebuild the way pgproxy/backends/sqlite_ddl.py does, without the proxy."""
    generated = gen(alter_sql, SQLITE)
    if generated.steps[0].sql:  # SQLite's own ALTER TABLE does it
        conn.execute(generated.steps[0].sql)
        return
    (step,) = generated.steps
    assert step == Step(routine="alter_table", args=step.args)
    create_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    declared = {r[1]: r[2] for r in conn.execute(f'PRAGMA table_xinfo("{table}")')}
    plan = rebuild(table, create_sql, declared, step.args[0], dialect_for("sqlite"))
    indexes = [r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,))]
    conn.execute(plan.create_sql)
    conn.execute(f'INSERT INTO "{table}{NEW_SUFFIX}" ({", ".join(plan.copy_columns)}) '
                 f'SELECT {", ".join(plan.copy_values)} FROM "{table}"')
    conn.execute(f'DROP TABLE "{table}"')
    conn.execute(f'ALTER TABLE "{table}{NEW_SUFFIX}" RENAME TO "{table}"')
    for sql in indexes:
        again = index_sql(sql, plan.renamed, plan.dropped)
        if again:
            conn.execute(again)


def test_rebuild_applies_every_action() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER, a TEXT, b INT DEFAULT 3, gone INT)")
    conn.execute("CREATE INDEX t_a ON t (a)")
    conn.execute("CREATE INDEX t_gone ON t (gone)")
    conn.execute("INSERT INTO t VALUES (1, '10', NULL, 0), (2, '20', 4, 0)")
    _rebuilt(conn, "t", "alter table t add primary key (id), alter column a type bigint "
                        "using a::bigint, alter column b drop default, drop column gone, "
                        "add constraint t_b_check check (b is null or b > 0)")
    _rebuilt(conn, "t", "alter table t rename column a to amount")
    assert conn.execute("SELECT id, amount, typeof(amount), b FROM t ORDER BY id").fetchall() == [
        (1, 10, "integer", None), (2, 20, "integer", 4)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO t (id, amount) VALUES (1, 5)")  # the new primary key
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO t (id, b) VALUES (9, -1)")  # the new CHECK
    conn.execute("INSERT INTO t (id) VALUES (3)")
    assert conn.execute("SELECT b FROM t WHERE id = 3").fetchone() == (None,)  # default gone
    index_names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "t_a" in index_names and "t_gone" not in index_names  # recreated; dropped with its column
    _rebuilt(conn, "t", "alter table t drop constraint t_pkey, drop constraint t_b_check")
    conn.execute("INSERT INTO t (id, b) VALUES (1, -1)")


def test_rebuild_refuses_what_postgresql_refuses() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT)")
    for sql, code in [
        ("alter table t add primary key (a), alter column a set not null", "42P16"),
        ("alter table t alter column nope set not null", "42703"),
        ("alter table t drop constraint nope, alter column a set not null", "42704"),
        ("alter table t add column a int, alter column a set not null", "42701"),
    ]:
        with pytest.raises(TranslationError) as info:
            _rebuilt(conn, "t", sql)
        assert info.value.sqlstate == code


def test_mariadb_sequence_calls_plan() -> None:
    """currval / lastval checked, a bound name resolved by the proxy, a bare setval applied
    when MariaDB does not (pgproxy/backends/sequence_calls.py)."""
    (step,) = gen("select currval('s'), nextval($1), lastval(), $2::int", MARIADB).steps
    plan = step.args[0]
    assert step.routine == "sequence_calls" and step.result
    assert plan.sql == ("SELECT LASTVAL(`s`) AS `currval`, (@pgproxy_lastval := NEXTVAL("
                        "`pgproxy_bound_seq_0`)) AS `nextval`, @pgproxy_lastval AS `lastval`,"
                        " CAST(%s AS SIGNED) AS `int4`")
    assert (plan.bound, plan.currval, plan.lastval, plan.setval) == ((0,), ("`s`",), False, None)
    assert step.params == (0, 1)  # the name, then the statement's own parameters
    assert "CAST(NULL AS SIGNED)" in step.sql and "pgproxy_bound_seq" not in step.sql
    (step,) = gen("select pg_catalog.setval('public.s', $1, false)", MARIADB).steps
    assert step.args[0].setval == ("`s`", True)
    assert step.args[0].sql == "SELECT SETVAL(`s`, %s, FALSE) AS `setval`, %s, FALSE"
    assert step.sql == "SELECT SETVAL(`s`, %s, FALSE) AS `setval`"
    assert not gen("select nextval('s')", MARIADB).steps  # nothing to check
    ddl = gen("create table d (id int default nextval('s'))", MARIADB)
    assert "pgproxy_lastval" not in ddl.sql
