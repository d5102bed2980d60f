"""Read load through the proxy: psycopg reader threads that count every answer and failure.

Used by the failover tests and benchmarks/bench_failover.py. Each thread runs one
read statement in a loop on its own autocommit session; a failure is recorded
with its time and SQLSTATE and the thread carries on (reconnecting if its session
is gone), so a scenario's failed reads are counted, not just the first. Answers
are counted by value: with a marker table that answers differently on each
member, the counts say where the reads went.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Failure:
    at: float  # time.monotonic()
    sqlstate: str
    message: str


@dataclass
class ReadLoad:
    """`threads` sessions running `query` until stop(); a context manager."""

    dsn: str
    query: str
    params: tuple[Any, ...] = ()
    threads: int = 4
    # (time.monotonic() when answered, seconds it took, first column of the answer)
    answers: list[tuple[float, float, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> ReadLoad:
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, name=f"reader-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self) -> None:
        import psycopg

        conn: psycopg.Connection | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
                row = conn.execute(self.query, self.params).fetchone()
            except psycopg.Error as exc:
                self.failures.append(
                    Failure(time.monotonic(), exc.sqlstate or type(exc).__name__, str(exc))
                )
                if conn is not None and conn.broken:
                    conn.close()
                time.sleep(0.01)  # a down route must not become a busy loop
                continue
            now = time.monotonic()
            self.answers.append((now, now - started, row[0] if row else None))
        if conn is not None:
            conn.close()

    # --- reading the counts -----------------------------------------------

    def count(self, since: float = 0.0, until: float = float("inf")) -> Counter[Any]:
        """Answers by value between two time.monotonic() instants."""
        return Counter(value for at, _took, value in list(self.answers) if since <= at < until)

    def rate(self, since: float, until: float) -> float:
        """Answered reads per second between two instants."""
        return sum(self.count(since, until).values()) / max(until - since, 1e-9)

    def failed(self, since: float = 0.0, until: float = float("inf")) -> list[Failure]:
        return [f for f in list(self.failures) if since <= f.at < until]

    def slowest(self, since: float, until: float) -> float:
        """The longest a read answered in the window took (a stall while a member died)."""
        return max((took for at, took, _v in list(self.answers) if since <= at < until), default=0)

    def wait_for(self, value: Any, since: float, timeout: float) -> float | None:
        """Seconds from `since` to the first answer `value` after it, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for at, _took, answered in list(self.answers):
                if at >= since and answered == value:
                    return at - since
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


@contextlib.contextmanager
def peak_sampled(probe: Callable[[], int], every: float) -> Iterator[list[int]]:
    """[peak] of probe() over the block: read at its start, then every `every` seconds
    from a thread (a sample that fails under load is skipped, not a figure)."""
    peak = [probe()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            with contextlib.suppress(Exception):
                peak[0] = max(peak[0], probe())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()
