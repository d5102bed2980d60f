"""The health checker's state machine (pgproxy/health.py) on real SQLite backends.

A database file opened read-only that does not exist yet is a backend that is down
(08006) until the file appears; a file another connection holds an exclusive lock on
makes the ping's connect wait for its busy timeout, as a hung server would.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import apsw
import pytest

from pgproxy.backends.sqlite import SQLiteBackend
from pgproxy.health import HealthChecker, HealthOptions


class Events:
    """What on_change reported, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool, str]] = []

    def __call__(self, name: str, up: bool, detail: str) -> None:
        self.seen.append((name, up, detail))


def checker(backend: SQLiteBackend, events: Events, timeout: float = 5.0) -> HealthChecker:
    return HealthChecker(lambda: {"db": backend}, HealthOptions(timeout=timeout), events)


def read_only(path: Path) -> SQLiteBackend:
    return SQLiteBackend(f"sqlite:///{path}?mode=ro")


def test_first_check_up_is_no_event(tmp_path: Path) -> None:
    backend, events = SQLiteBackend(f"sqlite:///{tmp_path / 'a.db'}"), Events()
    health = checker(backend, events)

    async def run() -> None:
        assert health.state("db") == "unknown"
        await health.check("db")
        await health.check("db")
        await health.stop()

    asyncio.run(run())
    st = health.states["db"]
    assert (health.state("db"), health.detail("db"), st.checks, st.failures) == ("up", "", 2, 0)
    assert events.seen == []
    backend.close()


def test_down_then_up_again_each_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    backend, events = read_only(path), Events()
    health = checker(backend, events)

    async def run() -> None:
        await health.check("db")
        await health.check("db")  # still down: no second event
        assert health.state("db") == "down"
        assert health.detail("db").startswith("08006: ")
        assert health.states["db"].failures == 2
        apsw.Connection(str(path)).close()  # the file appears: the backend can open it
        await health.check("db")
        await health.check("db")
        await health.stop()

    asyncio.run(run())
    assert health.state("db") == "up" and health.detail("db") == ""
    assert [(name, up) for name, up, _ in events.seen] == [("db", False), ("db", True)]
    assert events.seen[0][2].startswith("08006: ")
    backend.close()


def test_broken_kept_connection_is_replaced_without_going_down(tmp_path: Path) -> None:
    backend, events = SQLiteBackend(f"sqlite:///{tmp_path / 'a.db'}"), Events()
    health = checker(backend, events)

    async def run() -> None:
        await health.check("db")
        kept = health.states["db"].conn
        kept.close()  # a restart the server is already back from
        await health.check("db")
        assert health.states["db"].conn is not kept
        await health.stop()

    asyncio.run(run())
    assert health.state("db") == "up" and health.states["db"].failures == 0
    assert events.seen == []
    backend.close()


def test_hung_ping_times_out_and_is_not_stacked(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = apsw.Connection(str(path))
    holder.execute("CREATE TABLE t (x)")
    backend = SQLiteBackend(f"sqlite:///{path}?journal_mode=delete&busy_timeout=3000")
    events = Events()
    health = checker(backend, events, timeout=0.2)

    async def run() -> None:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO t VALUES (1)")
        started = time.monotonic()
        await health.check("db")
        assert time.monotonic() - started < 2.5  # the timeout, not the busy wait, ended it
        st = health.states["db"]
        assert health.state("db") == "down" and st.busy
        assert health.detail("db") == "no answer to a ping within 0.2 s"
        await health.check("db")  # the first ping is still out: no second one
        assert st.checks == 1
        holder.execute("ROLLBACK")
        deadline = time.monotonic() + 5
        while st.busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await health.check("db")
        await health.stop()

    asyncio.run(run())
    assert health.state("db") == "up"
    assert [up for _, up, _ in events.seen] == [False, True]
    holder.close()
    backend.close()


def test_check_soon_runs_one_check_for_many_asks(tmp_path: Path) -> None:
    backend, events = read_only(tmp_path / "missing.db"), Events()
    health = checker(backend, events)
    other = SQLiteBackend(f"sqlite:///{tmp_path / 'other.db'}")

    async def run() -> None:
        for _ in range(5):
            health.check_soon(backend)
        health.check_soon(other)  # not a backend the checker knows: nothing
        while health._rechecks:
            await asyncio.sleep(0.01)
        await health.stop()

    asyncio.run(run())
    assert health.states["db"].checks == 1 and not health.states["db"].soon
    assert list(health.states) == ["db"]
    assert [up for _, up, _ in events.seen] == [False]
    backend.close()
    other.close()


def test_a_failing_report_does_not_stop_the_checks(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    backend = read_only(path)
    calls: list[bool] = []

    def on_change(name: str, up: bool, detail: str) -> None:
        calls.append(up)
        raise RuntimeError("webhook down")

    health = HealthChecker(lambda: {"db": backend}, HealthOptions(), on_change)

    async def run() -> None:
        await health.check("db")
        apsw.Connection(str(path)).close()
        await health.check("db")
        await health.stop()

    asyncio.run(run())
    assert calls == [False, True] and health.state("db") == "up"
    backend.close()


def test_unknown_backend_names() -> None:
    health = HealthChecker(dict, HealthOptions())

    async def run() -> None:
        await health.check("nobody")
        await health.stop()

    asyncio.run(run())
    assert (health.state("nobody"), health.detail("nobody"), health.states) == ("unknown", "", {})


def test_options_from_section() -> None:
    opts = HealthOptions.from_section({"enabled": 0, "interval": 1, "timeout": "2.5"})
    assert (opts.enabled, opts.interval, opts.timeout) == (False, 1.0, 2.5)
    with pytest.raises(ValueError, match="unknown"):
        HealthOptions.from_section({"intervall": 1})
    with pytest.raises(ValueError, match="positive"):
        HealthOptions.from_section({"timeout": 0})
