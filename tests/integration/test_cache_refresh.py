"""Refresh-ahead and stale-while-revalidate through the proxy process, on SQLite.

A write made behind the proxy's back (straight into the SQLite file) is what
only the TTL bounds; these tests show a hot entry refreshed before it expires,
and an expired one served once while its refresh runs.
"""

from __future__ import annotations

import time

import apsw
import psycopg
from psycopg.types.string import TextLoader

from tests.fix_proxy import ProxyProcess, run_proxy

Q = "SELECT id, name FROM refresh_items WHERE id = %s"


def stats(proxy: ProxyProcess) -> dict[str, int]:
    with psycopg.connect(proxy.dsn("pgproxy"), autocommit=True) as admin:
        rows = admin.execute("SHOW CACHE").fetchall()
    return {k: int(float(v)) for k, v in rows if v.replace(".", "", 1).isdigit()}


def behind_the_back(path: str, name: str) -> None:
    conn = apsw.Connection(path)
    conn.execute("UPDATE refresh_items SET name = ? WHERE id = 1", (name,))
    conn.close()


def wait_for(proxy: ProxyProcess, key: str, value: int, timeout: float = 5.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        got = stats(proxy)
        if got[key] >= value or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def setup(proxy: ProxyProcess) -> psycopg.Connection:
    conn = psycopg.connect(proxy.dsn(), autocommit=True)
    conn.execute("CREATE TABLE refresh_items (id INT PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO refresh_items VALUES (1, 'old')")
    return conn


def test_hot_entry_is_refreshed_once_before_it_expires(tmp_path):
    path = str(tmp_path / "app.db")
    config = "[query_cache]\nenabled = true\nttl = 3\nrefresh_ahead = 0.5\n"
    with run_proxy(f"sqlite:///{path}", config=config) as proxy, setup(proxy) as conn:
        filled = time.monotonic()
        assert conn.execute(Q, (1,)).fetchall() == [(1, "old")]  # miss: filled
        behind_the_back(path, "new")
        assert conn.execute(Q, (1,)).fetchall() == [(1, "old")]  # hit, not yet in the window
        assert stats(proxy)["refreshes"] == 0
        time.sleep(max(0.0, filled + 1.7 - time.monotonic()))  # the last half of the TTL
        # Hot: five hits in the window start one refresh between them; the first is served
        # the entry as it was, later ones the old or (once the refresh landed) the new row.
        seen = [conn.execute(Q, (1,)).fetchall()[0][1] for _ in range(5)]
        assert seen[0] == "old" and set(seen) <= {"old", "new"}
        after = wait_for(proxy, "refreshes", 1)
        assert after["refreshes"] == 1 and after["refresh_failures"] == 0
        assert time.monotonic() < filled + 3, "the machine was too slow for this test's TTL"
        # The entry was replaced before it expired: the next read is a hit with the new row.
        assert conn.execute(Q, (1,)).fetchall() == [(1, "new")]
        final = stats(proxy)
        assert final["misses"] == 1 and final["hits"] == 7 and final["refreshes"] == 1


def test_expired_entry_is_served_stale_while_one_refresh_runs(tmp_path):
    path = str(tmp_path / "app.db")
    config = ("[query_cache]\nenabled = true\nttl = 1\nrefresh_ahead = 0\n"
              "stale_while_revalidate = 60\n")
    with run_proxy(f"sqlite:///{path}", config=config) as proxy, setup(proxy) as conn:
        assert conn.execute(Q, (1,)).fetchall() == [(1, "old")]
        behind_the_back(path, "new")
        time.sleep(1.2)  # past the TTL, within the grace
        assert conn.execute(Q, (1,)).fetchall() == [(1, "old")]  # stale, and a refresh starts
        after = wait_for(proxy, "refreshes", 1)
        assert after["stale_hits"] == 1 and after["refreshes"] == 1
        assert conn.execute(Q, (1,)).fetchall() == [(1, "new")]
        final = stats(proxy)
        assert final["misses"] == 1 and final["hits"] == 2


def test_without_stale_while_revalidate_an_expired_entry_is_a_miss(tmp_path):
    path = str(tmp_path / "app.db")
    config = "[query_cache]\nenabled = true\nttl = 0.5\nrefresh_ahead = 0\n"
    with run_proxy(f"sqlite:///{path}", config=config) as proxy, setup(proxy) as conn:
        assert conn.execute(Q, (1,)).fetchall() == [(1, "old")]
        behind_the_back(path, "new")
        time.sleep(0.7)
        assert conn.execute(Q, (1,)).fetchall() == [(1, "new")]
        got = stats(proxy)
        assert got["misses"] == 2 and got["stale_hits"] == 0 and got["refreshes"] == 0


def test_a_refresh_runs_under_the_settings_of_its_key(tmp_path):
    """A TimeZone entry refreshed in the background still holds that zone's bytes."""
    path = str(tmp_path / "app.db")
    config = ("[query_cache]\nenabled = true\nttl = 1\nrefresh_ahead = 0\n"
              "stale_while_revalidate = 60\n")
    q = "SELECT at FROM refresh_times WHERE id = 1"
    with run_proxy(f"sqlite:///{path}", config=config) as proxy, psycopg.connect(
        proxy.dsn(), options="-c TimeZone=Asia/Kolkata", autocommit=True
    ) as conn:
        # The text as sent: psycopg would move a timestamptz into the session's zone itself.
        conn.adapters.register_loader("timestamptz", TextLoader)
        conn.execute("CREATE TABLE refresh_times (id INT PRIMARY KEY, at timestamptz)")
        conn.execute("INSERT INTO refresh_times VALUES (1, '2024-01-01 12:00:00+00')")
        assert conn.execute(q).fetchone() == ("2024-01-01 17:30:00+05:30",)
        db = apsw.Connection(path)
        db.execute("UPDATE refresh_times SET at = '2024-06-01 12:00:00+00' WHERE id = 1")
        db.close()
        time.sleep(1.2)
        assert conn.execute(q).fetchone() == ("2024-01-01 17:30:00+05:30",)  # stale; refreshing
        assert wait_for(proxy, "refreshes", 1)["refreshes"] == 1
        assert conn.execute(q).fetchone() == ("2024-06-01 17:30:00+05:30",)
        assert stats(proxy)["misses"] == 1
