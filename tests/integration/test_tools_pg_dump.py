"""pg_dump against the proxy, and psql -f of its output into a real PostgreSQL (and back).

A schema is made in the backend's own SQL (SQLite, MariaDB), as an existing
database would be; the real pg_dump of the PostgreSQL fixture dumps it through
the proxy; the dump is restored into a fresh database of the real PostgreSQL
with `psql -v ON_ERROR_STOP=1 -f`; the restored tables, keys, indexes, views
and rows must be the ones the proxy shows. The reverse direction restores a
dump written by PostgreSQL's own pg_dump into the proxy.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pymysql
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import MariaDBServer, PostgreSQLServer

pytestmark = pytest.mark.integration

# The same schema in each backend's own SQL: keys of every kind, none numbered by a
# sequence (those need the sequences' catalog rows; see test_serial_columns).
SQLITE_SCHEMA = [
    "CREATE TABLE customers (code VARCHAR(10) PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE,"
    " joined DATE, vip BOOLEAN DEFAULT 0,"
    " balance NUMERIC(10,2) DEFAULT 0 CHECK (balance > -1000))",
    "CREATE TABLE orders (customer VARCHAR(10) NOT NULL REFERENCES customers(code)"
    " ON DELETE CASCADE, line INT NOT NULL, amount NUMERIC(8,2) NOT NULL, note TEXT,"
    " placed TIMESTAMP, PRIMARY KEY (customer, line),"
    " CONSTRAINT orders_line_check CHECK (line > 0))",
    "CREATE INDEX orders_amount ON orders (amount)",
    "CREATE INDEX orders_recent ON orders (placed DESC, customer)",
    "CREATE UNIQUE INDEX orders_one_note ON orders (note) WHERE note IS NOT NULL",
    "CREATE INDEX orders_note_lower ON orders (lower(note))",
    "CREATE TABLE tags (id INT PRIMARY KEY, label TEXT NOT NULL DEFAULT 'none',"
    " weight INT DEFAULT (2 * 3), added TIMESTAMP DEFAULT (datetime('now')),"
    " doubled INT GENERATED ALWAYS AS (weight * 2) VIRTUAL)",
    "CREATE VIEW big_orders AS SELECT customer, amount FROM orders WHERE amount > 100",
]
MYSQL_SCHEMA = [
    "CREATE TABLE customers (code VARCHAR(10) PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE,"
    " joined DATE, vip BOOLEAN DEFAULT 0, balance DECIMAL(10,2) DEFAULT 0,"
    " CONSTRAINT customers_balance_check CHECK (balance > -1000))",
    "CREATE TABLE orders (customer VARCHAR(10) NOT NULL, line INT NOT NULL,"
    " amount DECIMAL(8,2) NOT NULL, note TEXT, placed DATETIME, PRIMARY KEY (customer, line),"
    " CONSTRAINT orders_customer_fkey FOREIGN KEY (customer) REFERENCES customers(code)"
    " ON DELETE CASCADE, CONSTRAINT orders_line_check CHECK (line > 0))",
    "CREATE INDEX orders_amount ON orders (amount)",
    "CREATE INDEX orders_recent ON orders (placed DESC, customer)",
    "CREATE TABLE tags (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL DEFAULT 'none'"
    " COMMENT 'what the tag says', weight INT DEFAULT (2 * 3),"
    " added DATETIME DEFAULT CURRENT_TIMESTAMP) COMMENT 'labels, o''clock'",
    "CREATE VIEW big_orders AS SELECT customer, amount FROM orders WHERE amount > 100",
]
ROWS = {
    "customers": [
        ("ann", "Ann O'Hara", "2020-01-31", 1, "12.50"),
        ("zoe", "Zoë \\ Backslash", None, 0, "0.00"),
        ("tab", "Tab\tand \"quotes\"", "1999-12-31", 0, "-3.25"),
    ],
    "orders": [
        ("ann", 1, "250.00", "first\nline two", "2024-05-06 07:08:09"),
        ("ann", 2, "99.99", None, None),
        ("zoe", 1, "100.01", "", "2000-01-01 00:00:00"),
    ],
    "tags": [(1, "red", 1, "2024-01-02 03:04:05"), (2, "none", 6, None), (3, "naïve", 0, None)],
}
KEYS = {"customers": "code", "orders": "customer, line", "tags": "id"}
TABLES = sorted(KEYS)


def _fill(execute) -> None:
    for table, rows in ROWS.items():
        marks = ", ".join(["?"] * len(rows[0]))
        for row in rows:
            execute(f"INSERT INTO {table} VALUES ({marks})", row)


@contextlib.contextmanager
def backend_proxy(kind: str, statements: list[str], where: Path,
                  mariadb: MariaDBServer | None = None, fill: bool = True
                  ) -> Iterator[ProxyProcess]:
    """The proxy over a new SQLite file or MariaDB database made by `statements` in the
    backend's own SQL (and ROWS, unless not `fill`)."""
    if kind == "sqlite":
        import apsw

        db = apsw.Connection(str(where / "source.db"))
        for statement in statements:
            db.execute(statement)
        if fill:
            _fill(db.execute)
        db.close()
        with run_proxy(f"sqlite:///{where / 'source.db'}") as proxy:
            yield proxy
        return
    assert mariadb is not None
    database = f"dump_{uuid.uuid4().hex[:8]}"
    conn = pymysql.connect(host=mariadb.host, port=mariadb.port, user=mariadb.user,
                           password=mariadb.password, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
        cur.execute(f"USE {database}")
        for statement in statements:
            cur.execute(statement)
        if fill:
            _fill(lambda sql, row: cur.execute(sql.replace("?", "%s"), row))
    url = (f"mysql://{mariadb.user}:{mariadb.password}@{mariadb.host}:{mariadb.port}"
           f"/{database}")
    try:
        with run_proxy(url) as proxy:
            yield proxy
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE {database}")
        conn.close()


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    with backend_proxy("sqlite", SQLITE_SCHEMA, tmp_path_factory.mktemp("pg_dump")) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def mysql_source(mariadb: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[ProxyProcess]:
    with backend_proxy("mysql", MYSQL_SCHEMA, tmp_path_factory.mktemp("pg_dump"),
                       mariadb) as proxy:
        yield proxy


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def source(request: pytest.FixtureRequest) -> ProxyProcess:
    """The proxy over the schema above, on each translated backend in turn."""
    return request.getfixturevalue(f"{request.param}_source")


# ---------------------------------------------------------------- helpers


def _proxy_env(proxy: ProxyProcess) -> dict[str, str]:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGOPTIONS": ""}
    env.pop("PGPASSWORD", None)
    if proxy.password:
        env["PGPASSWORD"] = proxy.password
    return env


def pg_dump(pg: PostgreSQLServer, proxy: ProxyProcess, *options: str) -> str:
    """The real pg_dump's plain output for the proxy's database `app`."""
    done = subprocess.run(
        [f"{pg.bindir}/pg_dump", "-h", proxy.host, "-p", str(proxy.port), "-U", proxy.user,
         *options, "app"],
        capture_output=True, text=True, timeout=120, env=_proxy_env(proxy),
    )
    assert done.returncode == 0, f"pg_dump failed:\n{done.stderr}\nproxy log:\n{proxy.log()}"
    return done.stdout


@pytest.fixture
def fresh_pg(postgresql: PostgreSQLServer) -> Iterator[str]:
    """A new empty database on the real PostgreSQL; its name."""
    name = f"restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgresql.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
        # The proxy reports its objects owned by postgres, as a stock server's are.
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'postgres'").fetchone():
            conn.execute("CREATE ROLE postgres")
    yield name
    with psycopg.connect(postgresql.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name}")


def restore_pg(pg: PostgreSQLServer, database: str, script: str, tmp_path: Path) -> None:
    path = tmp_path / "dump.sql"
    path.write_text(script)
    done = subprocess.run(
        [f"{pg.bindir}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f",
         str(path)],
        capture_output=True, text=True, timeout=120, env={**pg.env(), "PGDATABASE": database},
    )
    assert done.returncode == 0, f"restore failed:\n{done.stderr}\n--- dump:\n{script}"


def _url(pg: PostgreSQLServer, database: str) -> str:
    return pg.url.rsplit("/", 1)[0] + "/" + database


SHAPE = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, character_maximum_length,"
               " numeric_precision, numeric_scale FROM information_schema.columns"
               " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    # A CHECK's text is compared by name only: PostgreSQL spells its expression its own way
    # (balance > '-1000'::integer::numeric).
    "keys": "SELECT c.conrelid::regclass::text, c.contype, c.conname,"
            " CASE WHEN c.contype = 'c' THEN '' ELSE pg_get_constraintdef(c.oid) END"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE n.nspname = 'public' ORDER BY 1, 2, 3",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes"
               " WHERE schemaname = 'public' ORDER BY 1, 2",
    "views": "SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY 1",
    "comments": "SELECT c.relname, d.objsubid, d.description FROM pg_description d"
                " JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass"
                " WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1, 2",
}


def shape(conninfo: str) -> dict[str, list[tuple]]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in SHAPE.items()}


def rows(conninfo: str) -> dict[str, list[tuple]]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        out = {t: conn.execute(f"SELECT * FROM {t} ORDER BY {KEYS[t]}").fetchall()
               for t in TABLES}
        out["big_orders"] = conn.execute(
            "SELECT customer, amount FROM big_orders ORDER BY customer, amount").fetchall()
        return out


def check_shape(restored: dict[str, list[tuple]], proxy: dict[str, list[tuple]]) -> None:
    # A partial index's WHERE is compared by its presence: PostgreSQL spells it its own way.
    def same(shape: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
        return {**shape, "indexes": [(t, i, d.split(" WHERE ")[0] + (" WHERE" if " WHERE " in d
                                                                     else ""))
                                     for t, i, d in shape["indexes"]]}

    assert same(restored) == same(proxy)
    assert ("orders", "orders_recent", "CREATE INDEX orders_recent ON public.orders USING btree"
            " (placed DESC, customer)") in restored["indexes"]
    keys = {(t, kind, d) for t, kind, _, d in restored["keys"]}
    assert ("customers", "p", "PRIMARY KEY (code)") in keys
    assert ("orders", "p", "PRIMARY KEY (customer, line)") in keys
    assert ("orders", "f", "FOREIGN KEY (customer) REFERENCES customers(code) ON DELETE CASCADE"
            ) in keys
    assert ("customers", "u", "UNIQUE (name)") in keys
    checks = {(t, name) for t, kind, name, _ in restored["keys"] if kind == "c"}
    assert checks == {("customers", "customers_balance_check"), ("orders", "orders_line_check")}
    assert any(i == "orders_amount" for _, i, _ in restored["indexes"])
    assert restored["views"] == [("big_orders",)]
    if restored["comments"]:  # MariaDB's table and column comments
        assert restored["comments"] == [("tags", 0, "labels, o'clock"),
                                        ("tags", 2, "what the tag says")]


# ---------------------------------------------------------------- proxy -> PostgreSQL


def test_schema_only_restores(source, postgresql, fresh_pg, tmp_path):
    dump = pg_dump(postgresql, source, "--schema-only")
    assert "CREATE TABLE public.orders" in dump and "CREATE VIEW public.big_orders" in dump
    restore_pg(postgresql, fresh_pg, dump, tmp_path)
    check_shape(shape(_url(postgresql, fresh_pg)), shape(source.dsn()))
    with psycopg.connect(_url(postgresql, fresh_pg)) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        # The defaults came across in PostgreSQL's SQL: a literal, an expression, the clock.
        label, weight, added = conn.execute(
            "INSERT INTO tags (id) VALUES (9) RETURNING label, weight, added").fetchone()
        assert (label, weight) == ("none", 6) and added is not None
        with pytest.raises(psycopg.errors.CheckViolation):  # the CHECK came across too
            conn.execute("INSERT INTO customers (code, name, balance) VALUES ('x', 'X', -5000)")


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_user_types_restore(kind, request, postgresql, fresh_pg, tmp_path):
    """Enums, composite types and schemas made through the proxy dump as PostgreSQL's DDL
    (their array types left to the restore, as pg_dump leaves PostgreSQL's)."""
    url = (f"sqlite:///{tmp_path / 'types.db'}" if kind == "sqlite"
           else request.getfixturevalue("mariadb_url"))
    p = f"ut_{uuid.uuid4().hex[:6]}"
    with run_proxy(url) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE TYPE {p}_mood AS ENUM ('sad', 'ok')")
            conn.execute(f"CREATE SCHEMA {p}_s")
            conn.execute(f"CREATE TYPE {p}_pair AS (x int, y text, m {p}_mood)")
            conn.execute(f"CREATE TYPE {p}_s.{p}_pair AS (z boolean)")
            conn.execute(f"CREATE TABLE {p}_t (id int PRIMARY KEY, m {p}_mood, q {p}_pair)")
        dump = pg_dump(postgresql, proxy, "--schema-only")
    assert f"CREATE TYPE public._{p}_mood" not in dump
    restore_pg(postgresql, fresh_pg, dump, tmp_path)
    with psycopg.connect(_url(postgresql, fresh_pg)) as conn:
        assert conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " JOIN pg_type t ON t.typrelid = a.attrelid WHERE t.typname = %s"
            " AND t.typnamespace = 'public'::regnamespace AND a.attnum > 0 ORDER BY a.attnum",
            [f"{p}_pair"]).fetchall() == [("x", "integer"), ("y", "text"), ("m", f"{p}_mood")]
        assert conn.execute(f"SELECT enum_range(NULL::{p}_mood)::text").fetchone() == (
            "{sad,ok}",)
        assert conn.execute(f"SELECT '(t)'::{p}_s.{p}_pair::text").fetchone() == ("(t)",)
        conn.execute(f"INSERT INTO {p}_t VALUES (1, 'ok', '(1,a,sad)')")


@pytest.mark.parametrize("style", ["--inserts", "--column-inserts"])
def test_inserts_restore_rows(source, postgresql, fresh_pg, tmp_path, style):
    """The data through pg_dump's cursor (DECLARE … FROM ONLY t; FETCH 100)."""
    dump = pg_dump(postgresql, source, style, "--rows-per-insert=2" if style == "--inserts"
                   else "--on-conflict-do-nothing")
    assert "INSERT INTO public.orders" in dump
    restore_pg(postgresql, fresh_pg, dump, tmp_path)
    restored = rows(_url(postgresql, fresh_pg))
    assert restored == rows(source.dsn())
    assert restored["customers"][0] == ("ann", "Ann O'Hara", __import__("datetime").date(
        2020, 1, 31), True, Decimal("12.50"))
    assert [r[0] for r in restored["big_orders"]] == ["ann", "zoe"]
    check_shape(shape(_url(postgresql, fresh_pg)), shape(source.dsn()))


def test_dump_options(source, postgresql):
    """The options that change pg_dump's queries: one table, no owner, serializable."""
    dump = pg_dump(postgresql, source, "--schema-only", "--table=public.tags", "--no-owner",
                   "--no-privileges", "--serializable-deferrable", "--quote-all-identifiers")
    assert 'CREATE TABLE "public"."tags"' in dump
    assert "orders" not in dump and "OWNER TO" not in dump
    assert "DEFAULT 'none'" in dump


def test_plain_dump_restores(source, postgresql, fresh_pg, tmp_path):
    dump = pg_dump(postgresql, source)
    restore_pg(postgresql, fresh_pg, dump, tmp_path)
    assert rows(_url(postgresql, fresh_pg)) == rows(source.dsn())


def test_advertised_version(postgresql, tmp_path):
    """[server] server_version is what clients see; pg_dump refuses a server newer than itself."""
    path = tmp_path / "v.db"
    with run_proxy(f"sqlite:///{path}", config='[server]\nserver_version = "16.4"\n') as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            assert conn.info.server_version == 160004
            assert conn.execute("SELECT version()").fetchone()[0].startswith("PostgreSQL 16.4 ")
            assert conn.execute("SHOW server_version_num").fetchone() == ("160004",)
        done = subprocess.run(
            [f"{postgresql.bindir}/pg_dump", "-h", proxy.host, "-p", str(proxy.port), "-U",
             proxy.user, "--schema-only", "app"],
            capture_output=True, text=True, timeout=60, env=_proxy_env(proxy))
        assert done.returncode != 0 and "server version mismatch" in done.stderr
    # An older server is accepted: pg_dump 15 then sends that version's queries (12 and up
    # read PostgreSQL 15's catalog columns; 11 and older had relhasoids).
    with run_proxy(f"sqlite:///{path}", config='[server]\nserver_version = "12.16"\n') as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
            conn.execute("INSERT INTO t VALUES (1, 'x')")
        dump = pg_dump(postgresql, proxy, "--inserts")
        assert "-- Dumped from database version 12.16" in dump
        assert "INSERT INTO public.t VALUES (1, 'x');" in dump


# ---------------------------------------------------------------- PostgreSQL -> proxy

PG_SCHEMA = """
CREATE TABLE customers (code VARCHAR(10) PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE,
    joined DATE, vip BOOLEAN DEFAULT false,
    balance NUMERIC(10,2) DEFAULT 0 CHECK (balance > -1000));
CREATE TABLE orders (customer VARCHAR(10) NOT NULL REFERENCES customers(code) ON DELETE CASCADE,
    line INT NOT NULL CHECK (line > 0), amount NUMERIC(8,2) NOT NULL, note TEXT,
    placed TIMESTAMP, PRIMARY KEY (customer, line));
CREATE INDEX orders_amount ON orders (amount);
CREATE INDEX orders_recent ON orders (placed DESC, customer);
CREATE TABLE tags (id INT PRIMARY KEY, label TEXT NOT NULL DEFAULT 'none',
    weight INT DEFAULT (2 * 3), added TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE VIEW big_orders AS SELECT customer, amount FROM orders WHERE amount > 100;
"""


@pytest.fixture
def pg_source(postgresql: PostgreSQLServer, fresh_pg: str) -> str:
    """A PostgreSQL database holding the schema and rows above; its URL."""
    url = _url(postgresql, fresh_pg)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
        for table, table_rows in ROWS.items():
            marks = ", ".join(["%s"] * len(table_rows[0]))
            for row in table_rows:
                row = tuple(bool(v) if table == "customers" and i == 3 else v
                            for i, v in enumerate(row))
                conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)
    return url


@pytest.fixture(params=[
    "sqlite",
    "mysql",
])
def empty_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProxyProcess]:
    """The proxy over an empty database of each backend."""
    if request.param == "sqlite":
        with run_proxy(f"sqlite:///{tmp_path / 'target.db'}") as proxy:
            yield proxy
        return
    mariadb: MariaDBServer = request.getfixturevalue("mariadb")
    database = f"target_{uuid.uuid4().hex[:8]}"
    conn = pymysql.connect(host=mariadb.host, port=mariadb.port, user=mariadb.user,
                           password=mariadb.password, autocommit=True)
    conn.cursor().execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    try:
        with run_proxy(f"mysql://{mariadb.user}:{mariadb.password}@{mariadb.host}:"
                       f"{mariadb.port}/{database}") as proxy:
            yield proxy
    finally:
        conn.cursor().execute(f"DROP DATABASE {database}")
        conn.close()


def restore_proxy(pg: PostgreSQLServer, proxy: ProxyProcess, script: str, tmp_path: Path) -> None:
    path = tmp_path / "pg.sql"
    path.write_text(script)
    done = subprocess.run(
        [f"{pg.bindir}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", proxy.host, "-p",
         str(proxy.port), "-U", proxy.user, "-d", "app", "-f", str(path)],
        capture_output=True, text=True, timeout=120, env=_proxy_env(proxy),
    )
    assert done.returncode == 0, f"restore failed:\n{done.stderr}\nproxy log:\n{proxy.log()}"


@pytest.mark.parametrize("rows_as", [
    "--inserts",
    "--no-comments",
])
def test_postgresql_dump_restores_into_proxy(postgresql, pg_source, empty_target, tmp_path,
                                             rows_as):
    """PostgreSQL's own pg_dump (plain, --no-owner --no-privileges), rows as INSERTs or COPY."""
    done = subprocess.run(
        [f"{postgresql.bindir}/pg_dump", "--no-owner", "--no-privileges", rows_as,
         "-d", pg_source],
        capture_output=True, text=True, timeout=120, env=postgresql.env(), check=True,
    )
    restore_proxy(postgresql, empty_target, done.stdout, tmp_path)
    assert rows(empty_target.dsn()) == rows(pg_source)
    check_shape(shape(empty_target.dsn()), shape(pg_source))


def test_custom_format_pg_restore(source, postgresql, fresh_pg, tmp_path):
    """pg_dump -Fc through the proxy, pg_restore into PostgreSQL."""
    archive = tmp_path / "shop.dump"
    pg_dump(postgresql, source, "-Fc", "--inserts", "-f", str(archive))
    listing = subprocess.run([f"{postgresql.bindir}/pg_restore", "-l", str(archive)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert "TABLE DATA public orders" in listing and "FK CONSTRAINT public orders" in listing
    done = subprocess.run(
        [f"{postgresql.bindir}/pg_restore", "--exit-on-error", "--single-transaction",
         "-d", fresh_pg, str(archive)],
        capture_output=True, text=True, timeout=120, env=postgresql.env())
    assert done.returncode == 0, done.stderr
    assert rows(_url(postgresql, fresh_pg)) == rows(source.dsn())
    check_shape(shape(_url(postgresql, fresh_pg)), shape(source.dsn()))


def test_pg_restore_into_proxy(postgresql, pg_source, empty_target, tmp_path):
    """pg_restore of PostgreSQL's custom-format archive, connected to the proxy."""
    archive = tmp_path / "pg.dump"
    subprocess.run(
        [f"{postgresql.bindir}/pg_dump", "-Fc", "--inserts", "-d", pg_source, "-f",
         str(archive)], capture_output=True, text=True, timeout=120, env=postgresql.env(),
        check=True)
    done = subprocess.run(
        [f"{postgresql.bindir}/pg_restore", "--exit-on-error", "--no-owner", "--no-privileges",
         "-h", empty_target.host, "-p", str(empty_target.port), "-U", empty_target.user,
         "-d", "app", str(archive)],
        capture_output=True, text=True, timeout=120, env=_proxy_env(empty_target))
    assert done.returncode == 0, f"{done.stderr}\nproxy log:\n{empty_target.log()}"
    assert rows(empty_target.dsn()) == rows(pg_source)
    check_shape(shape(empty_target.dsn()), shape(pg_source))


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_serial_columns(kind, request, postgresql, fresh_pg, tmp_path):
    """SQLite's INTEGER PRIMARY KEY and MariaDB's AUTO_INCREMENT dump as serial columns whose
    sequence goes on from the last number."""
    table = ("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)" if kind == "sqlite" else
             "CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)")
    mariadb = request.getfixturevalue("mariadb") if kind == "mysql" else None
    statements = [*(SQLITE_SCHEMA if kind == "sqlite" else MYSQL_SCHEMA), table,
                  "INSERT INTO notes (body) VALUES ('a'), ('b'), ('c')"]
    with backend_proxy(kind, statements, tmp_path, mariadb) as proxy:
        with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
            conn.execute("SELECT count(*) FROM pg_class").fetchone()  # the catalog is built
            conn.execute("INSERT INTO notes (body) VALUES ('d')")  # and a number is taken
        restore_pg(postgresql, fresh_pg, pg_dump(postgresql, proxy, "--inserts"), tmp_path)
    with psycopg.connect(_url(postgresql, fresh_pg)) as conn:
        assert conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall() == [
            (1, "a"), (2, "b"), (3, "c"), (4, "d")]
        assert conn.execute("INSERT INTO notes (body) VALUES ('e') RETURNING id").fetchone() == (5,)


def test_pg_dumpall(source, postgresql):
    """pg_dumpall: roles, then each database the proxy lists, through the same queries."""
    done = subprocess.run(
        [f"{postgresql.bindir}/pg_dumpall", "-h", source.host, "-p", str(source.port), "-U",
         source.user, "-l", "app", "--schema-only"],
        capture_output=True, text=True, timeout=120, env=_proxy_env(source))
    assert done.returncode == 0, f"{done.stderr}\nproxy log:\n{source.log()}"
    assert f"CREATE ROLE {source.user};" in done.stdout
    assert "\\connect app" in done.stdout and "CREATE TABLE public.orders" in done.stdout


def test_mysql_names_and_types(mariadb, postgresql, fresh_pg, tmp_path):
    """MySQL-only shapes: index names per table (two FK keys named author_id), MariaDB's JSON
    (a longtext with a json_valid check), bit(n)."""
    statements = [
        "CREATE TABLE author (id INT PRIMARY KEY)",
        "CREATE TABLE book (id INT PRIMARY KEY, author_id INT, meta JSON, flags BIT(8),"
        " title VARCHAR(20), size INT AS (char_length(title)) VIRTUAL,"
        " FOREIGN KEY (author_id) REFERENCES author (id), FULLTEXT KEY ft (title))",
        "CREATE TABLE review (id INT PRIMARY KEY, author_id INT,"
        " FOREIGN KEY (author_id) REFERENCES author (id))",
    ]
    conn = pymysql.connect(host=mariadb.host, port=mariadb.port, user=mariadb.user,
                           password=mariadb.password, autocommit=True)
    database = f"names_{uuid.uuid4().hex[:8]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {database}")
        cur.execute(f"USE {database}")
        for statement in statements:
            cur.execute(statement)
    try:
        with run_proxy(f"mysql://{mariadb.user}:{mariadb.password}@{mariadb.host}:"
                       f"{mariadb.port}/{database}") as proxy:
            restore_pg(postgresql, fresh_pg, pg_dump(postgresql, proxy, "--schema-only"),
                       tmp_path)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE {database}")
        conn.close()
    with psycopg.connect(_url(postgresql, fresh_pg)) as pg:
        assert pg.execute("SELECT tablename, indexname FROM pg_indexes WHERE indexname LIKE"
                          " '%author_id' ORDER BY 1").fetchall() == [
            ("book", "author_id"), ("review", "review_author_id")]
        assert pg.execute("SELECT column_name, data_type, character_maximum_length"
                          " FROM information_schema.columns WHERE table_name = 'book'"
                          " AND column_name IN ('meta', 'flags') ORDER BY 1").fetchall() == [
            ("flags", "bit", 8), ("meta", "json", None)]
        assert pg.execute("SELECT generation_expression FROM information_schema.columns"
                          " WHERE table_name = 'book' AND column_name = 'size'"
                          ).fetchone() == ("length((title)::text)",)
        assert pg.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'ft'"
                          ).fetchone() == (0,)  # FULLTEXT: no btree of that name
        assert pg.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'c'"
                          " AND connamespace = 'public'::regnamespace").fetchone() == (0,)


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_names_that_need_quotes(kind, request, postgresql, fresh_pg, tmp_path):
    """Mixed case, spaces and reserved words as table, column, index and view names."""
    q = (lambda n: f'"{n}"') if kind == "sqlite" else (lambda n: f"`{n}`")
    statements = [
        f"CREATE TABLE {q('User')} ({q('Select')} INT NOT NULL PRIMARY KEY,"
        f" {q('from')} VARCHAR(10) DEFAULT 'x', {q('Mixed Case')} INT)",
        f"CREATE TABLE {q('order')} (id INT PRIMARY KEY, {q('user')} INT,"
        f" FOREIGN KEY ({q('user')}) REFERENCES {q('User')} ({q('Select')}))",
        f"CREATE INDEX {q('Idx Odd')} ON {q('order')} ({q('user')})",
        f"CREATE VIEW {q('V1')} AS SELECT {q('from')}, {q('Mixed Case')} FROM {q('User')}",
        f"INSERT INTO {q('User')} VALUES (1, 'a', 2)",
        f"INSERT INTO {q('order')} VALUES (5, 1)",
    ]
    mariadb = request.getfixturevalue("mariadb") if kind == "mysql" else None
    with backend_proxy(kind, statements, tmp_path, mariadb, fill=False) as proxy:
        restore_pg(postgresql, fresh_pg, pg_dump(postgresql, proxy, "--inserts"), tmp_path)
    with psycopg.connect(_url(postgresql, fresh_pg)) as conn:
        assert conn.execute('SELECT * FROM "V1"').fetchall() == [("a", 2)]
        assert conn.execute('SELECT o."user", u."from" FROM "order" o JOIN "User" u'
                            ' ON u."Select" = o."user"').fetchall() == [(1, "a")]
        assert conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'Idx Odd'"
                            ).fetchone() == (
            'CREATE INDEX "Idx Odd" ON public."order" USING btree ("user")',)


def test_sql_prepare_and_execute(source):
    """pg_dump's PREPARE name(pg_catalog.oid) AS … / EXECUTE name('…'), on the catalog and
    on the backend; errors as PostgreSQL's."""
    with psycopg.connect(source.dsn(), autocommit=True) as conn:
        oid = conn.execute("SELECT oid FROM pg_class WHERE relname = 'orders'").fetchone()[0]
        conn.execute("PREPARE rel(pg_catalog.oid) AS"
                     " SELECT relname, relkind FROM pg_catalog.pg_class WHERE oid = $1")
        assert conn.execute(f"EXECUTE rel('{oid}')").fetchall() == [("orders", "r")]
        conn.execute("PREPARE amount(int) AS SELECT amount FROM orders"
                     " WHERE customer = 'ann' AND line = $1")
        assert conn.execute("EXECUTE amount(2)").fetchall() == [(Decimal("99.99"),)]
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            conn.execute("PREPARE rel AS SELECT 1")
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("EXECUTE amount(1, 2)")
        conn.execute("DEALLOCATE rel")
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            conn.execute(f"EXECUTE rel('{oid}')")
        assert conn.execute("EXECUTE amount(1)").fetchone() == (Decimal("250.00"),)
