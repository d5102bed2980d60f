"""`UPDATE … RETURNING` (MariaDB runs it as steps), `INSERT … ON CONFLICT … RETURNING` and
`DELETE … RETURNING` through the proxy on SQLite and MariaDB, compared with PostgreSQL 15:
rows, their order, column names and types, and the command tag.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess

pytestmark = pytest.mark.integration

SETUP = [
    "DROP TABLE IF EXISTS ur_items",
    "DROP TABLE IF EXISTS ur_pairs",
    "DROP TABLE IF EXISTS ur_coded",
    "CREATE TABLE ur_items (id integer PRIMARY KEY, code text NOT NULL UNIQUE, n integer,"
    " note text)",
    "INSERT INTO ur_items VALUES (1, 'a', 10, NULL), (2, 'b', 20, 'x'), (3, 'c', 30, NULL),"
    " (4, 'd', 40, 'y')",
    "CREATE TABLE ur_pairs (a integer, b integer, v text, PRIMARY KEY (a, b))",
    "INSERT INTO ur_pairs VALUES (1, 1, 'p'), (1, 2, 'q'), (2, 1, 'r')",
    # A key the SET changes, and a unique NOT NULL one it leaves alone.
    "CREATE TABLE ur_coded (id integer PRIMARY KEY, code integer NOT NULL UNIQUE, v text)",
    "INSERT INTO ur_coded VALUES (1, 100, 'one'), (2, 200, 'two')",
]

# (statement, parameters): run in order on a fresh copy of the tables.
STATEMENTS = [
    ("UPDATE ur_items SET n = n + 1 WHERE n > 15 RETURNING id, n, code || '!', note AS c",
     None),
    ("UPDATE ur_items SET note = %s WHERE id = %s RETURNING *", ("set", 1)),
    ("UPDATE ur_items SET n = 0 WHERE id = 99 RETURNING id, n", None),
    ("UPDATE ur_items SET (n, note) = (n + 5, %s) WHERE id = 3 RETURNING id, n, note",
     ("pair",)),
    ("UPDATE ur_items AS i SET n = i.n - 1 WHERE i.code IN ('a', 'c') RETURNING i.id, i.n",
     None),
    # the key changes: rows are found again by their new key
    ("UPDATE ur_items SET id = id + 100, code = upper(code) WHERE id <= 2 RETURNING id, code",
     None),
    ("UPDATE ur_items SET id = n, n = id RETURNING id, n", None),
    ("UPDATE ur_pairs SET b = b + 10, v = v || a WHERE a = %s RETURNING a, b, v", (1,)),
    ("UPDATE ur_coded SET id = id * 10 RETURNING id, code, v", None),
    # the same statements read by other clients' forms
    ("INSERT INTO ur_pairs VALUES (2, 1, 'new'), (3, 3, 's') ON CONFLICT (a, b)"
     " DO UPDATE SET v = ur_pairs.v || excluded.v RETURNING a, b, v", None),
    ("INSERT INTO ur_pairs VALUES (3, 3, 'z'), (4, 4, 't') ON CONFLICT DO NOTHING"
     " RETURNING a, b, v", None),
    ("DELETE FROM ur_items WHERE n >= %s RETURNING id, code", (20,)),
    ("SELECT id, code, n, note FROM ur_items ORDER BY id", None),
    ("SELECT a, b, v FROM ur_pairs ORDER BY a, b", None),
]


def answers(conn: psycopg.Connection, prepare: bool) -> list:
    out = []
    for sql in SETUP:
        conn.execute(sql)
    for sql, params in STATEMENTS:
        cur = conn.execute(sql, params, prepare=prepare)
        names = [(d.name, d.type_code) for d in cur.description or []]
        rows = cur.fetchall() if cur.description else None
        if rows is not None and "ORDER BY" not in sql:
            rows = sorted(rows, key=repr)  # PostgreSQL returns rows in the heap's order
        out.append((sql, cur.statusmessage, names, rows))
    return out


# MariaDB keeps a text key as VARCHAR(255), read back as varchar (DIFFERENCES.md).
def _loose(found: list, dialect: str) -> list:
    if dialect != "mysql":
        return found
    return [(sql, tag, [(n, 25 if t == 1043 else t) for n, t in cols], rows)
            for sql, tag, cols, rows in found]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "prepared"])
def test_returning_matches_postgresql(prepare, postgresql_url, proxy: ProxyProcess):
    with psycopg.connect(postgresql_url, autocommit=True) as pg:
        expected = answers(pg, prepare)
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        found = answers(conn, prepare)
    dialect = "mysql" if proxy.backend_url.startswith("mysql") else "sqlite"
    for want, got in zip(expected, _loose(found, dialect), strict=True):
        assert got == want


def test_update_returning_in_a_transaction(proxy: ProxyProcess):
    """Inside a transaction block: the rows are the transaction's, ROLLBACK undoes them,
    and a failed UPDATE … RETURNING aborts the block as in PostgreSQL."""
    with psycopg.connect(proxy.dsn()) as conn:
        for sql in SETUP:
            conn.execute(sql)
        conn.commit()
        rows = conn.execute("UPDATE ur_items SET n = n * 10 WHERE id < %s RETURNING id, n",
                            (3,)).fetchall()
        assert sorted(rows) == [(1, 100), (2, 200)]
        assert conn.execute("SELECT sum(n) FROM ur_items").fetchone()[0] == 370
        conn.rollback()
        assert conn.execute("SELECT sum(n) FROM ur_items").fetchone()[0] == 100
        conn.execute("UPDATE ur_items SET n = 1 WHERE id = 1 RETURNING id")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("UPDATE ur_items SET code = 'b' WHERE id = 1 RETURNING id")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT n, code FROM ur_items WHERE id = 1").fetchone() == (10, "a")


def test_failed_update_returning_changes_nothing(proxy: ProxyProcess):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for sql in SETUP:
            conn.execute(sql)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("UPDATE ur_items SET code = 'z', n = n + 1 RETURNING id")
        rows = conn.execute("SELECT id, code, n FROM ur_items ORDER BY id").fetchall()
        assert rows == [(1, "a", 10), (2, "b", 20), (3, "c", 30), (4, "d", 40)]
        assert not conn.info.transaction_status  # idle, nothing left open


def test_what_mariadb_refuses(proxy_mysql: ProxyProcess):
    """Rows that cannot be found again are refused before anything changes."""
    with psycopg.connect(proxy_mysql.dsn(), autocommit=True) as conn:
        for sql in SETUP:
            conn.execute(sql)
        conn.execute("DROP TABLE IF EXISTS ur_keyless")
        conn.execute("CREATE TABLE ur_keyless (id integer, v text)")
        conn.execute("INSERT INTO ur_keyless VALUES (1, 'a')")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="needs a primary key"):
            conn.execute("UPDATE ur_keyless SET v = 'b' RETURNING id")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="volatile"):
            conn.execute("UPDATE ur_coded SET id = floor(random() * 1000), code = code + 1"
                         " RETURNING id")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="FROM"):
            conn.execute("UPDATE ur_items SET n = 0 FROM ur_pairs WHERE ur_pairs.a = ur_items.id"
                         " RETURNING ur_items.id")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="WITH"):
            conn.execute("WITH k AS (SELECT 1 AS id) UPDATE ur_items SET n = 0"
                         " WHERE id IN (SELECT id FROM k) RETURNING id")
        assert conn.execute("SELECT v FROM ur_keyless").fetchall() == [("a",)]
        assert conn.execute("SELECT id, code FROM ur_coded ORDER BY id").fetchall() == [
            (1, 100), (2, 200)]


def test_names_that_need_quoting(proxy: ProxyProcess):
    """Table and column names are quoted wherever the steps spell them (pymysql %-formats
    the SQL text: a % in a name must survive)."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        conn.execute('DROP TABLE IF EXISTS "Ur 100%"')
        conn.execute('CREATE TABLE "Ur 100%" ("Id%" integer PRIMARY KEY, "v`" text)')
        conn.execute("""INSERT INTO "Ur 100%" VALUES (1, 'a'), (2, 'b')""")
        # with parameters, psycopg reads %% as %
        cur = conn.execute("""UPDATE "Ur 100%%" SET "v`" = "v`" || '%%', "Id%%" = "Id%%" * 10"""
                           """ WHERE "v`" LIKE %s RETURNING "Id%%", "v`" """, ("%",))
        assert (cur.statusmessage, sorted(cur.fetchall())) == ("UPDATE 2", [(10, "a%"),
                                                                             (20, "b%")])
        assert [d.name for d in cur.description] == ["Id%", "v`"]
