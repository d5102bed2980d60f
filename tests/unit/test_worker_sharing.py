"""What worker processes share, without sockets: the cache's invalidation log, cancel keys
with the worker id, advisory record locks between processes, the workers setting."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pgproxy import config
from pgproxy.advisory_shared import FileLocks
from pgproxy.cache import CacheStore, Entry
from pgproxy.cache import shared as shared_log
from pgproxy.wire.keys import WORKER_SHIFT, CancelKeys, worker_of


def _entry(tables: tuple[str, ...]) -> Entry:
    return Entry([], [(b"x", 1)], 1, "SELECT 1", 1, frozenset(tables), None)


def _stores(tmp_path: Path, n: int = 2) -> list[CacheStore]:
    shared_log.create(str(tmp_path), n)
    stores = []
    for worker in range(n):
        store = CacheStore()
        store.shared = shared_log.SharedLog(str(tmp_path), worker)
        stores.append(store)
    return stores


def test_a_write_on_one_worker_drops_what_another_cached(tmp_path: Path) -> None:
    a, b = _stores(tmp_path)
    b.put("orders", _entry(("orders",)))
    b.put("users", _entry(("users",)))
    assert a.invalidate_tables(["orders"]) == 0  # a had nothing of its own
    assert b.shared is not None and b.shared.pending()
    assert b.get("orders") is None and b.get("users") is not None
    assert b.stats.invalidations == 1
    assert not b.shared.pending()  # read once


def test_a_fill_that_started_before_another_workers_write_is_refused(tmp_path: Path) -> None:
    a, b = _stores(tmp_path)
    since = b.clock
    a.invalidate_tables(["t"])
    assert not b.fresh_since(["t"], since)
    assert b.fresh_since(["u"], since)
    assert b.fresh_since(["t"], b.clock)


def test_invalidate_all_and_patterns_reach_every_worker(tmp_path: Path) -> None:
    a, b, c = _stores(tmp_path, 3)
    for store in (b, c):
        store.put("o", _entry(("orders",)))
        store.put("u", _entry(("users",)))
    a.invalidate_pattern("ord*")  # a holds no table matching: the others drop everything
    assert b.get("o") is None and b.get("u") is None
    c.put("u", _entry(("users",)))
    a.invalidate_pattern("users")
    assert c.get("u") is None
    b.put("u", _entry(("users",)))
    a.invalidate_all()
    assert b.get("u") is None


def test_a_worker_a_whole_ring_behind_drops_everything(tmp_path: Path) -> None:
    a, b = _stores(tmp_path)
    b.put("keep?", _entry(("users",)))
    for i in range(shared_log.RING + 1):
        a.invalidate_tables([f"t{i}"])
    assert b.get("keep?") is None
    assert a.shared is not None
    a.shared.publish([shared_log.code("x")])
    assert b.shared is not None and b.shared.changes() == {shared_log.code("x")}


def test_one_process_stores_do_not_share(tmp_path: Path) -> None:
    store = CacheStore()
    store.put("k", _entry(("t",)))
    assert store.invalidate_tables(["t"]) == 1


def test_cancel_keys_carry_the_worker_and_forward_the_others() -> None:
    keys = CancelKeys(worker=3)
    cancelled: list[str] = []

    class Target:
        def cancel(self) -> None:
            cancelled.append("mine")

    pid, secret = keys.register(Target())
    assert worker_of(pid) == 3 and 0 < pid < 2**31
    forwarded: list[tuple[int, int, int]] = []
    keys.forward = lambda *request: forwarded.append(request)
    other = 1 << WORKER_SHIFT | 77
    keys.cancel(other, 5)
    assert forwarded == [(1, other, 5)]
    keys.cancel(other, 5, forwarded=True)  # never sent back and forth
    assert len(forwarded) == 1
    keys.cancel(pid, secret ^ 1)
    keys.cancel(pid, -5)  # any int32 a client sends is only a wrong secret
    assert cancelled == []
    keys.cancel(pid, secret)
    assert cancelled == ["mine"]


def test_one_process_keeps_its_pids() -> None:
    keys = CancelKeys()
    pid, _ = keys.register(object())  # type: ignore[arg-type]
    assert pid == 10_000 and worker_of(pid) == 0


_HOLDER = """
import sys, time
from pgproxy.advisory_shared import FileLocks
locks = FileLocks(sys.argv[1])
assert locks.hold("db", (7,), exclusive=sys.argv[2] == "x")
print("held", flush=True)
sys.stdin.readline()
"""


def _holder(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_record_locks_exclude_another_process(tmp_path: Path) -> None:
    locks = FileLocks(str(tmp_path))
    other = _holder(tmp_path, "x")
    try:
        assert not locks.hold("db", (7,), exclusive=False)
        assert locks.hold("db", (8,), exclusive=True)  # another key is free
        assert locks.hold("other db", (7,), exclusive=True)  # so is another backend's
    finally:
        other.communicate("\n")
    deadline = time.monotonic() + 5
    while not locks.hold("db", (7,), exclusive=True):  # the holder's exit let go
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_shared_record_locks_coexist_and_step_down(tmp_path: Path) -> None:
    locks = FileLocks(str(tmp_path))
    assert locks.hold("db", (7,), exclusive=True)
    locks.settle("db", (7,), exclusive=False)  # now shared: another process may share it
    other = _holder(tmp_path, "s")
    try:
        assert not locks.hold("db", (7,), exclusive=True)
    finally:
        other.communicate("\n")
    locks.settle("db", (7,), exclusive=None)


def test_workers_setting(tmp_path: Path) -> None:
    assert config.load(None, env={}).workers == config.default_workers()
    assert config.load(None, env={"PGPROXY_WORKERS": "3"}).workers == 3
    assert config.load(None, env={}, workers="auto").workers == config.default_workers()
    path = tmp_path / "pgproxy.toml"
    path.write_text("[server]\nworkers = 2\nthreads = 8\n")
    cfg = config.load(str(path), env={})
    assert (cfg.workers, cfg.threads, cfg.warnings) == (2, 8, [])
    # Its old meaning, threads per backend, for a count no machine's cores reach.
    path.write_text("[server]\nworkers = 4096\n")
    cfg = config.load(str(path), env={})
    assert cfg.threads == 4096 and cfg.workers == config.default_workers()
    assert "rename it to threads" in cfg.warnings[0]
    for bad in ("0", "65", "many"):
        with pytest.raises(ValueError):
            config.load(None, env={"PGPROXY_WORKERS": bad})
