"""psql 15's tab completion through the proxy, on SQLite and MariaDB; `\\x` output.

psql's tab-complete.c (postgres/postgres, src/bin/psql/tab-complete.c, REL_15) builds its
completion queries in _complete_from_query from SchemaQuery / VersionedQuery entries:
Query_for_list_of_tables, …_selectables, …_relations, …_indexes, …_views, …_sequences,
…_datatypes, …_functions, Query_for_list_of_attributes, …_schemas, …_roles,
…_databases, …_constraints_with_schema … . COMPLETION below are those queries exactly as
psql 15.18 sent them, captured on the wire while typing TAB after `SELECT * FROM `,
`\\d `, `\\di `, `\\dv `, `\\ds `, `\\dn `, `\\du `, `\\c `, `\\dT `, `\\df `,
`INSERT INTO t (`, `UPDATE t SET `, `ALTER TABLE t DROP COLUMN `, `ALTER TABLE t ALTER
COLUMN am`, `DROP INDEX `, `SET search_path TO `, `ALTER TABLE t DROP CONSTRAINT `,
`SET `, `SHOW `, `\\dx ` …, with the table name and the typed prefixes templated.
Each is replayed with psql itself (`psql -c`, the simple query protocol psql uses), and the
answers are checked for the backend's real objects. A pty-driven psql completes a real
table and column name end to end.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import psycopg
import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("psql_client"),
]

# {child}: a table name; {prefix_like} / {child_like}: typed prefixes, LIKE-escaped as psql
# escapes them (`tc_` -> 'tc\\_').
COMPLETION = [
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is"
    '_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE'
    " nspname = 'pg_catalog')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE '{prefix_like}%' AND pg_catalo"
    'g.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_na'
    "mespace WHERE nspname = 'pg_catalog')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '{prefix_like}%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, n.nspname FROM pg_catalog.pg_class c, pg_catalog.pg_namespace n WH'
    "ERE c.relnamespace = n.oid AND c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.re"
    "lname) LIKE '%' AND n.nspname = 'public'\n"
    'LIMIT 1000',
    'SELECT c.relname, n.nspname FROM pg_catalog.pg_class c, pg_catalog.pg_namespace n WH'
    "ERE c.relnamespace = n.oid AND c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.re"
    "lname) LIKE '{prefix_like}%' AND n.nspname = 'public'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE (c.relname)'
    " LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oi"
    "d FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE (c.relname)'
    " LIKE '{prefix_like}%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace "
    "<> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '{prefix_like}%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('r', 'p') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid) AND "
    "c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catal"
    "og')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('i', 'I') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid) AND "
    "c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catal"
    "og')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('v') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.rel"
    "namespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')"
    '\n'
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    "SELECT nspname FROM pg_catalog.pg_namespace  WHERE nspname LIKE '%'\n"
    'LIMIT 1000',
    " SELECT rolname    FROM pg_catalog.pg_roles   WHERE rolname LIKE '%'\n"
    'LIMIT 1000',
    "SELECT datname FROM pg_catalog.pg_database  WHERE datname LIKE '%'\n"
    'LIMIT 1000',
    'SELECT t.typname, NULL::pg_catalog.text FROM pg_catalog.pg_type t WHERE (t.typrelid '
    "= 0  OR (SELECT c.relkind = 'c'     FROM pg_catalog.pg_class c WHERE c.oid = t.typre"
    "lid)) AND t.typname !~ '^_' AND (t.typname) LIKE '%' AND pg_catalog.pg_type_is_visib"
    'le(t.oid)\n'
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT p.proname, NULL::pg_catalog.text FROM pg_catalog.pg_proc p WHERE p.prokind !='
    " 'p' AND (p.proname) LIKE '%' AND pg_catalog.pg_function_is_visible(p.oid)\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('S') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.rel"
    "namespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')"
    '\n'
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT a.attname, NULL::pg_catalog.text FROM pg_catalog.pg_attribute a, pg_catalog.p'
    'g_class c WHERE c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped AND (a.at'
    "tname) LIKE '%' AND c.relname = '{child}' AND pg_catalog.pg_table_is_visible(c.oid)"
    '\n'
    'LIMIT 1000',
    'SELECT a.attname, NULL::pg_catalog.text FROM pg_catalog.pg_attribute a, pg_catalog.p'
    'g_class c WHERE c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped AND (a.at'
    "tname) LIKE 'am%' AND c.relname = '{child}' AND pg_catalog.pg_table_is_visible(c.oid"
    ')\n'
    'LIMIT 1000',
    "SELECT nspname FROM pg_catalog.pg_namespace  WHERE nspname LIKE '%' AND nspname NOT "
    "LIKE E'pg\\\\_toast%' AND nspname NOT LIKE E'pg\\\\_temp%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('r', 'f', 'p') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid)"
    " AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_"
    "catalog')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('r', 'p', 'm', 'f') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c"
    '.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname ='
    " 'pg_catalog')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
    'SELECT con.conname, NULL::pg_catalog.text FROM pg_catalog.pg_constraint con, pg_cata'
    "log.pg_class c1 WHERE con.conrelid=c1.oid AND (con.conname) LIKE '%' AND c1.relname "
    "= '{child}' AND pg_catalog.pg_table_is_visible(c1.oid)\n"
    'LIMIT 1000',
    'SELECT con.conname, NULL::pg_catalog.text FROM pg_catalog.pg_constraint con, pg_cata'
    "log.pg_class c1 WHERE con.conrelid=c1.oid AND (con.conname) LIKE '{child_like}\\_p%'"
    " AND c1.relname = '{child}' AND pg_catalog.pg_table_is_visible(c1.oid)\n"
    'LIMIT 1000',
    "SELECT pg_catalog.lower(name) FROM pg_catalog.pg_settings  WHERE context IN ('user',"
    " 'superuser')    AND pg_catalog.lower(name) LIKE pg_catalog.lower('%')\n"
    'LIMIT 1000',
    'SELECT pg_catalog.lower(name) FROM pg_catalog.pg_settings  WHERE pg_catalog.lower(na'
    "me) LIKE pg_catalog.lower('%')\n"
    'LIMIT 1000',
    " SELECT extname    FROM pg_catalog.pg_extension   WHERE extname LIKE '%'\n"
    'LIMIT 1000',
    'SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind I'
    "N ('r', 'p', 'm') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid)"
    " AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_"
    "catalog')\n"
    'UNION ALL\n'
    'SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspna'
    "me LIKE '%' AND n.nspname NOT LIKE E'pg\\\\_%'\n"
    'LIMIT 1000',
]


def psql(proxy, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if proxy.password:
        env["PGPASSWORD"] = proxy.password
    return subprocess.run(
        ["psql", "-X", "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user, "app", *args],
        capture_output=True, text=True, timeout=60, env=env)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


@pytest.fixture
def names(proxy):
    suffix = uuid.uuid4().hex[:6]
    parent, child, view = f"tc{suffix}_parent", f"tc{suffix}_child", f"tc{suffix}_view"
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {parent} (id INT PRIMARY KEY, name VARCHAR(40))")
        conn.execute(f"CREATE TABLE {child} (id INT PRIMARY KEY, parent_id INT REFERENCES"
                     f" {parent}(id), amount NUMERIC)")
        conn.execute(f"CREATE INDEX {child}_amount ON {child}(amount)")
        conn.execute(f"CREATE VIEW {view} AS SELECT id FROM {parent}")
        yield {"parent": parent, "child": child, "view": view,
               "prefix_like": _like(f"tc{suffix}_"), "child_like": _like(child)}
        conn.execute(f"DROP VIEW {view}")
        conn.execute(f"DROP TABLE {child}")
        conn.execute(f"DROP TABLE {parent}")


def completions(proxy, names: dict[str, str]) -> dict[int, list[str]]:
    """Every completion query through psql: index -> the words it offers (first column)."""
    out: dict[int, list[str]] = {}
    failed = []
    for i, template in enumerate(COMPLETION):
        done = psql(proxy, "-A", "-t", "-F", "|", "-c", template.format(**names))
        if done.returncode or "ERROR" in done.stderr:
            failed.append(f"{template[:120]}: {done.stderr.strip()}")
            continue
        out[i] = [line.split("|")[0] for line in done.stdout.splitlines()]
    assert not failed, "\n".join(failed)
    return out


def _find(fragment: str) -> int:
    return next(i for i, q in enumerate(COMPLETION) if fragment in q)


def test_every_completion_query_is_answered(proxy, names):
    answers = completions(proxy, names)
    assert len(answers) == len(COMPLETION)
    selectables = answers[0]
    assert {names["parent"], names["child"], names["view"]} <= set(selectables)
    typed = answers[_find("LIKE '{prefix_like}%' AND pg_catalog.pg_table_is_visible")]
    assert sorted(w for w in typed if w) == sorted([names["parent"], names["child"],
                                                    names["view"]])
    attributes = answers[_find("a.attname) LIKE '%'")]
    assert sorted(attributes) == ["amount", "id", "parent_id"]  # attnum > 0: no system columns
    assert answers[_find("a.attname) LIKE 'am%'")] == ["amount"]
    indexes = answers[_find("relkind IN ('i', 'I')")]
    assert f"{names['child']}_amount" in indexes
    assert names["view"] in answers[_find("relkind IN ('v')")]
    assert "public" in answers[_find("SELECT nspname FROM pg_catalog.pg_namespace  WHERE")]
    assert "app" in answers[_find("SELECT datname")]
    constraints = answers[_find("con.conname) LIKE '{child_like}")]  # typed `<child>_p`
    assert f"{names['child']}_pkey" in constraints
    assert all(c.startswith(f"{names['child']}_p") for c in constraints)
    assert "search_path" in answers[_find("context IN ('user', 'superuser')")]


def test_tab_completes_table_and_column_names(proxy, names):
    import pexpect
    env = {**os.environ, "PAGER": "", "TERM": "dumb"}
    if proxy.password:
        env["PGPASSWORD"] = proxy.password
    child = pexpect.spawn("psql", ["-X", "-h", proxy.host, "-p", str(proxy.port), "-U",
                                   proxy.user, "app"], env=env, encoding="utf-8", timeout=10)
    try:
        child.expect("app=")
        child.send(f"SELECT * FROM {names['child'][:-3]}\t")
        child.expect(names["child"])  # readline completed the unique prefix
        child.send(" WHERE amo\t")
        child.expect("amount")
        child.sendcontrol("c")
        child.sendline("\\q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_expanded_output_is_client_side(proxy, names):
    done = psql(proxy, "-x", "-c", f"SELECT id, name FROM {names['parent']} UNION ALL"
                                   " SELECT 1, 'one'")
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stderr
    assert "-[ RECORD 1 ]" in done.stdout and "name | one" in done.stdout
    done = psql(proxy, "-c", "\\x on", "-c", "select 1 as a, 2 as b")
    assert "Expanded display is on." in done.stdout and "a | 1" in done.stdout
