"""Query forms issue 9 found missing, through the proxy on SQLite and MariaDB, each
compared with real PostgreSQL 15: rows and result column types must match.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess

pytestmark = pytest.mark.integration

SETUP = [
    "DROP TABLE IF EXISTS qf_items",
    "CREATE TABLE qf_items (id integer PRIMARY KEY, n integer, batch integer NOT NULL,"
    " at timestamp, meta json, price numeric(10,2), s text)",
    "INSERT INTO qf_items VALUES (1, 5, 1, '2024-01-01 10:00', '{\"a\": 1}', 12.50, 'abc'),"
    " (2, NULL, 1, '2024-02-01 00:00', NULL, 1487.5, 'XyZ.q'),"
    " (3, 1, 2, NULL, '[1, 2]', NULL, NULL)",
]

QUERIES = [
    # ORDER BY <position> with NULLS FIRST / LAST (MariaDB refused it with 0A000)
    "SELECT id FROM qf_items ORDER BY 1 DESC NULLS FIRST",
    "SELECT n FROM qf_items ORDER BY 1 NULLS FIRST",
    "SELECT n FROM qf_items ORDER BY 1 DESC",
    "SELECT n FROM qf_items ORDER BY 1",
    "SELECT id, n AS m FROM qf_items ORDER BY 2 DESC NULLS LAST, 1",
    "SELECT n AS id FROM qf_items ORDER BY 1 NULLS FIRST",
    # min/max take their column's type (SQLite's aggregates have no declared type)
    "SELECT max(batch), min(at), max(at) FROM qf_items",
    "SELECT max(batch) AS max_batch FROM qf_items WHERE id > 100",
    # sum of a numeric(10,2) column keeps its scale (SQLite adds floats)
    "SELECT sum(price) FROM qf_items",
    "SELECT batch, sum(price) AS total FROM qf_items GROUP BY batch ORDER BY batch",
    # regular expressions and SIMILAR TO (PostgreSQL's own translation of the pattern)
    "SELECT id, s ~ 'b', s ~* 'y', s !~ '^a', s !~* 'Z\\.', s ~ '[0-9]|c$' FROM qf_items"
    " ORDER BY id",
    "SELECT id, s SIMILAR TO '%(b|y)%', s NOT SIMILAR TO 'X_Z.%', s SIMILAR TO 'a[a-c]*'"
    " FROM qf_items ORDER BY id",
    "SELECT id FROM qf_items WHERE s SIMILAR TO 'X#_%' ESCAPE '#' OR s SIMILAR TO '%.q'",
    # json / jsonb operators
    "SELECT id, meta -> 'a', meta ->> 'a', meta -> 1, meta ->> 0, meta #> '{1}', meta #>> '{a}'"
    " FROM qf_items ORDER BY id",
    'SELECT id, meta::jsonb @> \'{"a": 1}\', meta::jsonb <@ \'{"a": 1, "b": 2}\','
    " meta::jsonb @> '[2]', meta::jsonb @> '2', meta::jsonb ? 'a', meta::jsonb ?| ARRAY['z', 'a'],"
    " meta::jsonb ?& ARRAY['a', 'z'] FROM qf_items ORDER BY id",
    "SELECT id FROM qf_items WHERE meta::jsonb @> '{\"a\": 1}' OR meta ->> 1 = '2'",
    # AT TIME ZONE: timestamp -> timestamptz and back (POSIX sign: '+02:00' is UTC-2)
    "SELECT id, at::timestamp AT TIME ZONE 'UTC', at::timestamp AT TIME ZONE '+02:00',"
    " TIMESTAMPTZ '2024-01-01 10:00+00' AT TIME ZONE '-03:30' FROM qf_items ORDER BY id",
    # a json column is json, not text (MariaDB sends it as text)
    "SELECT meta FROM qf_items ORDER BY id",
]


@pytest.fixture(scope="module")
def pg(postgresql_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgresql_url, autocommit=True) as conn:
        for sql in SETUP:
            conn.execute(sql)
        yield conn


@pytest.fixture(scope="module")
def via_proxy(proxy: ProxyProcess) -> Iterator[psycopg.Connection]:
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        for sql in SETUP:
            conn.execute(sql)
        yield conn


def answer(conn: psycopg.Connection, sql: str, prepare: bool) -> tuple:
    cur = conn.execute(sql, prepare=prepare)
    assert cur.description is not None
    return [d.type_code for d in cur.description], cur.fetchall()


# Named zones of a column's values: SQLite reads the zone as PostgreSQL (tz database); a
# MariaDB server without time zone tables refuses them (DIFFERENCES.md).
SQLITE_QUERIES = [
    "SELECT id, at AT TIME ZONE 'Europe/Paris', at AT TIME ZONE 'America/New_York'"
    " FROM qf_items ORDER BY id",
]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "prepared"])
@pytest.mark.parametrize("sql", SQLITE_QUERIES)
def test_sqlite_form_matches_postgresql(sql, prepare, pg, proxy_sqlite):
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as conn:
        for setup in SETUP:
            conn.execute(setup)
        assert answer(conn, sql, prepare) == answer(pg, sql, prepare)


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "prepared"])
@pytest.mark.parametrize("sql", QUERIES)
def test_form_matches_postgresql(sql, prepare, pg, via_proxy):
    assert answer(via_proxy, sql, prepare) == answer(pg, sql, prepare)


DEFAULTS = [
    "INSERT INTO qf_defaults (n, s) VALUES (DEFAULT, 'a'), (DEFAULT, 'b') RETURNING n, s",
    "INSERT INTO qf_defaults (id, n, s) VALUES (DEFAULT, DEFAULT, DEFAULT) RETURNING n, s",
    "INSERT INTO qf_defaults (n, s) VALUES (DEFAULT, %s) RETURNING n, s",
    "SELECT count(*), sum(n) FROM qf_defaults",
]


def test_values_with_default_match_postgresql(pg, via_proxy):
    """DEFAULT in VALUES rows: the column's default, sequences included."""
    found = []
    for conn in (pg, via_proxy):
        conn.execute("DROP TABLE IF EXISTS qf_defaults")
        conn.execute(
            "CREATE TABLE qf_defaults (id serial PRIMARY KEY, n integer DEFAULT 7,"
            " s text DEFAULT 'x')"
        )
        found.append(
            [conn.execute(sql, ("p",) if "%s" in sql else None).fetchall() for sql in DEFAULTS]
        )
    assert found[0] == found[1]


MIXED = [
    ("INSERT INTO qf_mixed (n, s) VALUES (1, DEFAULT), (DEFAULT, 'b'), (DEFAULT, 'c'),"
     " (DEFAULT, DEFAULT), (DEFAULT, DEFAULT), (%s, %s) RETURNING id, n, s", (4, "d")),
    ("INSERT INTO qf_mixed (id, n) VALUES (DEFAULT, %s), (100, DEFAULT)", (5,)),
    ("SELECT id, n, s FROM qf_mixed ORDER BY id", None),
]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "prepared"])
def test_default_in_some_rows_only_matches_postgresql(prepare, pg, via_proxy):
    """A column mixing values and DEFAULT (SQLite runs the rows that agree together, in
    order): each row gets the column's default, sequences included; RETURNING keeps the
    rows' order and the tag counts them all."""
    found = []
    for conn in (pg, via_proxy):
        conn.execute("DROP TABLE IF EXISTS qf_mixed")
        conn.execute("CREATE TABLE qf_mixed (id serial PRIMARY KEY, n integer DEFAULT 7,"
                     " s text DEFAULT 'x')")
        answers = []
        for sql, params in MIXED:
            cur = conn.execute(sql, params, prepare=prepare)
            answers.append((cur.statusmessage, cur.fetchall() if cur.description else None))
        found.append(answers)
    assert found[1] == found[0]


def test_default_in_some_rows_is_one_statement(pg, via_proxy):
    """The rows go in together or not at all, inside a transaction block or outside."""
    conn = via_proxy
    conn.execute("DROP TABLE IF EXISTS qf_mixed")
    conn.execute("CREATE TABLE qf_mixed (id integer PRIMARY KEY, n integer DEFAULT 7)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO qf_mixed (id, n) VALUES (1, DEFAULT), (2, 3), (1, 4)")
    assert conn.execute("SELECT count(*) FROM qf_mixed").fetchone() == (0,)
    with conn.transaction():
        conn.execute("INSERT INTO qf_mixed VALUES (9, 9)")
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute("INSERT INTO qf_mixed (id, n) VALUES (1, DEFAULT), (9, 3)")
    assert conn.execute("SELECT id, n FROM qf_mixed").fetchall() == [(9, 9)]


def _utc(value):
    """An instant as naive UTC: MariaDB keeps timestamptz as DATETIME in UTC (DIFFERENCES.md)."""
    return value.astimezone(datetime.UTC).replace(tzinfo=None) if value.tzinfo else value


def test_timestamptz_literals_with_a_zero_offset(pg, via_proxy):
    """'… 10:00+00' and '…+00:00' literals in a timestamptz column (MariaDB refused them)."""
    found = []
    for conn in (pg, via_proxy):
        conn.execute("DROP TABLE IF EXISTS qf_stamps")
        conn.execute("CREATE TABLE qf_stamps (id integer, at timestamptz, note text)")
        conn.execute(
            "INSERT INTO qf_stamps VALUES (1, '2024-01-01 10:00+00',"
            " '2024-01-01 10:00+00'), (2, '2024-01-01 10:00:00.5+00:00', 'x'),"
            " (3, '2024-06-01 10:00Z', 'y')"
        )
        conn.execute("UPDATE qf_stamps SET at = '2024-06-02 11:00:00-00' WHERE id = 3")
        rows = conn.execute("SELECT id, at, note FROM qf_stamps ORDER BY id").fetchall()
        found.append([(i, _utc(at), note) for i, at, note in rows])
    assert found[0] == found[1]


OFFSETS = [
    "INSERT INTO qf_offsets VALUES (1, '2024-06-01 12:00+02', '2024-06-01 12:00+02',"
    " '2024-06-01 12:00+02'), (2, '2024-06-01 12:00:00.25-05:30', '2024-06-01 08:00:00-08',"
    " 'x'), (3, '2024-06-01 10:00', '2024-06-01 08:00Z', 'y')",
    "UPDATE qf_offsets SET at = '2024-06-02 01:00+09', wall = '2024-06-02 01:00+09'"
    " WHERE id = 3 OR at = '2024-06-01 06:00:00+00'",
    "DELETE FROM qf_offsets WHERE at = '2024-06-01 17:30:00.25+00' AND wall = '2024-06-01 08:00'",
]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "prepared"])
def test_timestamptz_literals_with_an_offset(prepare, pg, via_proxy):
    """'…12:00+02' is the instant in a timestamptz column and 12:00 in a timestamp column,
    in VALUES, SET and WHERE, as PostgreSQL reads it (MariaDB refused it or kept 12:00:02)."""
    found = []
    for conn in (pg, via_proxy):
        conn.execute("DROP TABLE IF EXISTS qf_offsets")
        conn.execute("CREATE TABLE qf_offsets (id integer, at timestamptz, wall timestamp,"
                     " note text)")
        conn.execute("SET TimeZone = 'Europe/Berlin'")
        statuses = [conn.execute(sql, prepare=prepare).statusmessage for sql in OFFSETS]
        conn.execute("RESET TimeZone")
        rows = conn.execute("SELECT id, at, wall, note FROM qf_offsets ORDER BY id",
                            prepare=prepare).fetchall()
        found.append((statuses, [(i, _utc(at), wall, note) for i, at, wall, note in rows]))
    assert found[1] == found[0]
    assert found[0][0] == ["INSERT 0 3", "UPDATE 1", "DELETE 1"]
