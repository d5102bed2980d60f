"""The query cache through the proxy process: hits, invalidation across sessions, transactions."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess, run_proxy

CONFIG = """
[query_cache]
enabled = true
ttl = 300
max_result_bytes = 4096
"""


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def cached_proxy(request, tmp_path_factory) -> Iterator[ProxyProcess]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cache') / 'app.db'}"
    else:
        url = request.getfixturevalue("mariadb_url")
    with run_proxy(url, config=CONFIG) as proxy:
        yield proxy


def stats(proxy: ProxyProcess) -> dict[str, str]:
    with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        return dict(admin.execute("SHOW CACHE").fetchall())


def connect(proxy: ProxyProcess, **kw) -> psycopg.Connection:
    return psycopg.connect(proxy.dsn(), autocommit=kw.pop("autocommit", True), **kw)


def test_repeated_read_is_a_hit_and_a_write_elsewhere_invalidates(cached_proxy):
    with connect(cached_proxy) as a, connect(cached_proxy) as b:
        a.execute("DROP TABLE IF EXISTS cache_items")
        a.execute("CREATE TABLE cache_items (id INT PRIMARY KEY, name VARCHAR(20))")
        a.execute("INSERT INTO cache_items VALUES (1, 'one'), (2, 'two')")
        q = "SELECT id, name FROM cache_items WHERE id = %s"
        before = stats(cached_proxy)
        assert a.execute(q, (1,)).fetchall() == [(1, "one")]
        assert a.execute(q, (1,)).fetchall() == [(1, "one")]
        assert b.execute(q, (1,)).fetchall() == [(1, "one")]  # another session, same entry
        after = stats(cached_proxy)
        assert int(after["hits"]) - int(before["hits"]) == 2
        assert int(after["misses"]) - int(before["misses"]) == 1
        # b's UPDATE completes only after the entry is gone: a's next read is fresh.
        b.execute("UPDATE cache_items SET name = 'uno' WHERE id = 1")
        assert a.execute(q, (1,)).fetchall() == [(1, "uno")]
        assert int(stats(cached_proxy)["invalidations"]) > int(after["invalidations"])
        # Different parameters and result formats are different entries.
        assert a.execute(q, (2,)).fetchall() == [(2, "two")]
        assert a.cursor(binary=True).execute(q, (2,)).fetchall() == [(2, "two")]


def test_statements_differing_only_in_literals_are_different_entries(cached_proxy):
    with connect(cached_proxy) as a:
        a.execute("DROP TABLE IF EXISTS cache_lit")
        a.execute("CREATE TABLE cache_lit (id INT, name VARCHAR(10))")
        a.execute("INSERT INTO cache_lit VALUES (1, 'one'), (2, 'two')")
        for _ in range(2):
            assert a.execute("SELECT name FROM cache_lit WHERE id = 1").fetchall() == [("one",)]
            assert a.execute("SELECT name FROM cache_lit WHERE id = 2").fetchall() == [("two",)]


def test_ddl_invalidates_and_errors_are_not_cached(cached_proxy):
    with connect(cached_proxy) as a:
        a.execute("DROP TABLE IF EXISTS cache_ddl")
        a.execute("CREATE TABLE cache_ddl (id INT)")
        a.execute("INSERT INTO cache_ddl VALUES (1)")
        assert a.execute("SELECT count(*) FROM cache_ddl").fetchone()[0] == 1
        a.execute("DROP TABLE cache_ddl")
        with pytest.raises(psycopg.errors.UndefinedTable):
            a.execute("SELECT count(*) FROM cache_ddl")


def test_a_transaction_that_wrote_reads_its_own_rows_and_commit_invalidates(cached_proxy):
    with connect(cached_proxy) as setup:
        setup.execute("DROP TABLE IF EXISTS cache_tx")
        setup.execute("CREATE TABLE cache_tx (id INT PRIMARY KEY, v INT)")
        setup.execute("INSERT INTO cache_tx VALUES (1, 10)")
    q = "SELECT v FROM cache_tx WHERE id = 1"
    with connect(cached_proxy, autocommit=False) as writer, connect(cached_proxy) as reader:
        assert reader.execute(q).fetchone() == (10,)
        writer.execute("UPDATE cache_tx SET v = 20 WHERE id = 1")
        assert writer.execute(q).fetchone() == (20,)  # its own write, never a cached 10
        assert reader.execute(q).fetchone() == (10,)  # not committed yet
        writer.commit()
        assert reader.execute(q).fetchone() == (20,)


def test_large_results_stream_but_are_not_kept(cached_proxy):
    with connect(cached_proxy) as a:
        a.execute("DROP TABLE IF EXISTS cache_big")
        a.execute("CREATE TABLE cache_big (id INT, pad VARCHAR(200))")
        with a.cursor() as cur:
            cur.executemany("INSERT INTO cache_big VALUES (%s, %s)",
                            [(i, "x" * 100) for i in range(200)])
        before = int(stats(cached_proxy)["too_large"])
        for _ in range(2):
            assert len(a.execute("SELECT id, pad FROM cache_big").fetchall()) == 200
        assert int(stats(cached_proxy)["too_large"]) == before + 2


def test_pattern_invalidation_from_the_console(cached_proxy):
    with connect(cached_proxy) as a:
        a.execute("DROP TABLE IF EXISTS cache_pat")
        a.execute("CREATE TABLE cache_pat (id INT)")
        a.execute("SELECT * FROM cache_pat").fetchall()
        with psycopg.connect(cached_proxy.dsn("pgproxy"), autocommit=True) as admin:
            assert admin.execute("CACHE INVALIDATE 'cache_p*'").fetchone()[0] >= 1
            assert admin.execute("CACHE INVALIDATE 'cache_p*'").fetchone()[0] == 0
