"""The dead-letter store: events a subscriber could not take, kept on disk until replayed."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

from pgproxy.observers.events import Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at REAL NOT NULL
)
"""


class DeadLetterStore:
    """A SQLite file (":memory:" when none is configured); safe to call from any thread."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # WAL without fsync per insert: it survives a process crash or restart,
        # which is what it is for, at a few microseconds per event.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def add(
        self, subscriber: str, events: Iterable[Event | bytes | dict[str, Any]], error: str,
        attempts: int,
    ) -> int:
        """Keep `events` (Events, or as the bus carries them: their JSON or their dicts)."""
        now = time.time()
        rows = []
        for e in events:
            if isinstance(e, dict):
                e = Event(e)
            elif not isinstance(e, Event):
                e = Event.from_json(e)
            rows.append((subscriber, e.id, e.type, e.to_json(), error[:500], attempts, now))
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO dead_letters (subscriber, event_id, event_type, event, error, "
                "attempts, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        return len(rows)

    def count(self, subscriber: str | None = None) -> int:
        with self._lock:
            if subscriber is None:
                return self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
            return self._db.execute(
                "SELECT count(*) FROM dead_letters WHERE subscriber = ?", (subscriber,)
            ).fetchone()[0]

    def rows(self, subscriber: str | None = None, limit: int = 1000) -> list[tuple[Any, ...]]:
        sql = (
            "SELECT id, subscriber, event_id, event_type, attempts, error, failed_at "
            "FROM dead_letters"
        )
        args: tuple[Any, ...] = ()
        if subscriber is not None:
            sql += " WHERE subscriber = ?"
            args = (subscriber,)
        with self._lock:
            found = self._db.execute(sql + f" ORDER BY id LIMIT {int(limit)}", args).fetchall()
        return [
            (*r[:6], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r[6]))) for r in found
        ]

    def take(self, subscribers: Iterable[str]) -> list[tuple[str, Event]]:
        """Remove and return the dead letters of `subscribers`, oldest first."""
        names = list(subscribers)
        if not names:
            return []
        marks = ",".join("?" * len(names))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            found = self._db.execute(
                f"SELECT id, subscriber, event FROM dead_letters WHERE subscriber IN ({marks}) "
                "ORDER BY id",
                names,
            ).fetchall()
            self._db.execute(f"DELETE FROM dead_letters WHERE subscriber IN ({marks})", names)
            self._db.execute("COMMIT")
        return [(sub, Event.from_json(text)) for _, sub, text in found]

    def close(self) -> None:
        with self._lock:
            self._db.close()
