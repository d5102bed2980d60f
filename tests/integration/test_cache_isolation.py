"""The query cache never hands one session's answer to a session that would get another.

Through the proxy process with the cache on, on SQLite and MariaDB, with two
configured users: temporary tables (and a temporary table shadowing a
permanent one), the result-shaping settings, volatile functions and users.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pymysql
import pytest
from psycopg.types.string import TextLoader

from tests.fix_proxy import ProxyProcess, run_proxy

CONFIG = """
[query_cache]
enabled = true
ttl = 300

[admin]
users = ["alice"]
"""
USERS = {"alice": "alice-pw", "bob": "bob-pw"}


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def cached(request, tmp_path_factory) -> Iterator[ProxyProcess]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cache-isolation') / 'app.db'}"
    else:
        url = request.getfixturevalue("mariadb_url")
    with run_proxy(url, config=CONFIG, users=USERS) as proxy:
        yield proxy


def connect(proxy: ProxyProcess, user: str = "alice", **kw) -> psycopg.Connection:
    dsn = f"host={proxy.host} port={proxy.port} dbname=app user={user} password={USERS[user]}"
    return psycopg.connect(dsn, autocommit=True, **kw)


def counters(proxy: ProxyProcess) -> tuple[int, int, int]:
    """(hits, misses, stores) from the admin console."""
    with connect(proxy, dbname="pgproxy") as admin:
        stats = dict(admin.execute("SHOW CACHE").fetchall())
    return int(stats["hits"]), int(stats["misses"]), int(stats["stores"])


def delta(before: tuple[int, int, int], after: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(b - a for a, b in zip(before, after, strict=True))


def test_a_temp_table_is_never_read_from_or_into_the_cache(cached):
    with connect(cached) as a, connect(cached) as b, connect(cached, "bob") as c:
        a.execute("CREATE TEMP TABLE secrets (v text)")
        a.execute("INSERT INTO secrets VALUES ('only for a')")
        before = counters(cached)
        for _ in range(3):
            assert a.execute("SELECT v FROM secrets").fetchall() == [("only for a",)]
        assert delta(before, counters(cached)) == (0, 0, 0)  # the cache never saw them
        # Another session of the same user, and another user: no such table.
        for other in (b, c):
            with pytest.raises(psycopg.errors.UndefinedTable):
                other.execute("SELECT v FROM secrets")
        # The other temporary forms are the session's own as well.
        a.execute("SELECT 'mine' AS v INTO TEMP into_secrets")
        for _ in range(2):
            assert a.execute("SELECT v FROM into_secrets").fetchall() == [("mine",)]
        with pytest.raises(psycopg.errors.UndefinedTable):
            b.execute("SELECT v FROM into_secrets")


def test_a_temp_table_shadowing_a_permanent_one(cached):
    with connect(cached) as a, connect(cached) as b:
        b.execute("DROP TABLE IF EXISTS shadowed")
        b.execute("CREATE TABLE shadowed (v varchar(20))")
        b.execute("INSERT INTO shadowed VALUES ('everyone')")
        q = "SELECT v FROM shadowed"
        assert b.execute(q).fetchall() == [("everyone",)]  # kept
        a.execute("CREATE TEMPORARY TABLE shadowed (v varchar(20))")
        a.execute("INSERT INTO shadowed VALUES ('a alone')")
        before = counters(cached)
        for _ in range(2):
            assert a.execute(q).fetchall() == [("a alone",)]  # never b's kept rows
        assert delta(before, counters(cached))[0] == 0
        before = counters(cached)
        assert b.execute(q).fetchall() == [("everyone",)]  # never a's rows either
        assert b.execute(q).fetchall() == [("everyone",)]
        # a's INSERT dropped the entry by name (a refill, never wrong rows); then it serves b.
        assert delta(before, counters(cached))[:2] == (1, 1)
        a.execute("DROP TABLE shadowed")  # a's temporary one (it shadows)
        with connect(cached) as setup:
            setup.execute("DROP TABLE shadowed")


def test_search_path_and_output_settings_are_in_the_key(cached):
    with connect(cached) as setup:
        setup.execute("DROP TABLE IF EXISTS keyed")
        setup.execute("CREATE TABLE keyed (id int, v varchar(10))")
        setup.execute("INSERT INTO keyed VALUES (1, 'one')")
    q = "SELECT v FROM keyed WHERE id = 1"
    for name, value in [
        ("search_path", "elsewhere, public"),
        ("extra_float_digits", "3"),
        ("DateStyle", "ISO, DMY"),
        ("IntervalStyle", "iso_8601"),
    ]:
        with connect(cached) as a, connect(cached) as b:
            a.execute(q).fetchall()  # the default settings' entry exists
            b.execute(f"SET {name} = {value}")
            before = counters(cached)
            assert b.execute(q).fetchall() == [("one",)]
            assert delta(before, counters(cached))[:2] == (0, 1), name  # a miss, not a's entry
            before = counters(cached)
            assert b.execute(q).fetchall() == [("one",)]
            assert delta(before, counters(cached))[:2] == (1, 0), name  # its own entry
            b.execute(f"RESET {name}")
            before = counters(cached)
            b.execute(q).fetchall()
            assert delta(before, counters(cached))[:2] == (1, 0), name  # back to the shared one


def test_timezone_changes_the_bytes_of_a_kept_result(cached):
    with connect(cached) as setup:
        setup.execute("DROP TABLE IF EXISTS kept_times")
        setup.execute("CREATE TABLE kept_times (id int, at timestamptz)")
        setup.execute("INSERT INTO kept_times VALUES (1, '2024-01-01 12:00:00')")
    q = "SELECT at::timestamptz FROM kept_times WHERE id = 1"  # MariaDB types the column timestamp
    with connect(cached) as utc, connect(cached, options="-c TimeZone=Asia/Kolkata") as india:
        for conn in (utc, india):
            # The text as sent: psycopg would move a timestamptz into the session's zone itself.
            conn.adapters.register_loader("timestamptz", TextLoader)
        for _ in range(2):
            assert utc.execute(q).fetchone() == ("2024-01-01 12:00:00+00",)
            assert india.execute(q).fetchone() == ("2024-01-01 17:30:00+05:30",)
        india.execute("SET TIME ZONE 'UTC'")
        assert india.execute(q).fetchone() == ("2024-01-01 12:00:00+00",)


@pytest.mark.parametrize(
    "sql",
    ["SELECT random() AS r", "SELECT now() AS t", "SELECT current_user AS u",
     "SELECT current_setting('TimeZone') AS z", "SELECT id FROM keyed_volatile FOR UPDATE"],
)
def test_volatile_reads_are_never_cached(cached, sql):
    with connect(cached) as a:
        a.execute("CREATE TABLE IF NOT EXISTS keyed_volatile (id int)")
        before = counters(cached)
        for _ in range(3):
            a.execute(sql).fetchall()
        assert delta(before, counters(cached)) == (0, 0, 0)


def test_random_and_now_answer_anew_each_time(cached):
    with connect(cached) as a, connect(cached) as b:
        randoms = {a.execute("SELECT random()").fetchone()[0] for _ in range(3)}
        randoms.add(b.execute("SELECT random()").fetchone()[0])
        assert len(randoms) == 4
        first = a.execute("SELECT now()").fetchone()[0]
        time.sleep(1.1)  # both backends' now() has at least second resolution
        assert b.execute("SELECT now()").fetchone()[0] > first


def test_users_do_not_share_entries(cached):
    with connect(cached) as setup:
        setup.execute("DROP TABLE IF EXISTS per_user")
        setup.execute("CREATE TABLE per_user (id int)")
        setup.execute("INSERT INTO per_user VALUES (7)")
    q = "SELECT id FROM per_user"
    with connect(cached) as alice, connect(cached) as alice2, connect(cached, "bob") as bob:
        before = counters(cached)
        assert alice.execute(q).fetchall() == [(7,)]
        assert alice2.execute(q).fetchall() == [(7,)]
        assert delta(before, counters(cached))[:2] == (1, 1)  # one user: one entry
        before = counters(cached)
        assert bob.execute(q).fetchall() == [(7,)]
        assert bob.execute(q).fetchall() == [(7,)]
        assert delta(before, counters(cached))[:2] == (1, 1)  # bob's own entry


def test_a_function_that_writes_invalidates_what_it_wrote(request, cached):
    """A stored function the proxy does not know may write any table: calling it drops
    every entry, so the next read sees its write."""
    if "mysql" not in cached.backend_url:
        pytest.skip("SQLite has no stored functions")
    mariadb = request.getfixturevalue("mariadb")
    direct = pymysql.connect(
        host=mariadb.host, port=mariadb.port, user=mariadb.user, password=mariadb.password,
        database=mariadb.database, autocommit=True,
    )
    with direct.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS counted")
        cur.execute("CREATE TABLE counted (id INT PRIMARY KEY, n INT)")
        cur.execute("INSERT INTO counted VALUES (1, 0)")
        cur.execute("DROP FUNCTION IF EXISTS bump")
        cur.execute(
            "CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA "
            "BEGIN UPDATE counted SET n = n + 1 WHERE id = 1; RETURN 1; END"
        )
    direct.close()
    q = "SELECT n FROM counted WHERE id = 1"
    with connect(cached) as a, connect(cached) as b:
        assert a.execute(q).fetchone() == (0,)
        assert a.execute(q).fetchone() == (0,)  # kept
        assert b.execute("SELECT bump()").fetchone() == (1,)
        assert a.execute(q).fetchone() == (1,)  # not the kept 0
