"""Events the proxy reports, and the filters subscribers choose them by."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Event types.
STATEMENT = "statement"
WRITE = "write"
BACKEND_DOWN = "backend_down"
BACKEND_UP = "backend_up"
FAILOVER = "failover"
CONNECT = "connect"
DISCONNECT = "disconnect"
TYPES = frozenset({STATEMENT, WRITE, BACKEND_DOWN, BACKEND_UP, FAILOVER, CONNECT, DISCONNECT})

# Ids are unique across restarts (a random boot prefix) and ordered within one run,
# so a receiver can de-duplicate a redelivery and spot a gap.
_BOOT = secrets.token_hex(4)
_SEQ = itertools.count(1)


@dataclass(slots=True)
class Event:
    id: str
    type: str
    time: float  # Unix seconds
    data: dict[str, Any]

    @classmethod
    def new(cls, type: str, data: dict[str, Any]) -> Event:
        return cls(f"{_BOOT}-{next(_SEQ)}", type, time.time(), data)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "time": self.time, **self.data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Event:
        d = json.loads(text)
        return cls(d.pop("id"), d.pop("type"), d.pop("time"), d)


@dataclass(frozen=True, slots=True)
class Filter:
    """Empty sets match everything; each non-empty set must match."""

    types: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()
    operations: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Filter:
        def words(key: str) -> frozenset[str]:
            return frozenset(str(v).lower() for v in section.get(key, ()))

        types = words("events")
        unknown = types - TYPES
        if unknown:
            raise ValueError(f"unknown event types {sorted(unknown)}; known: {sorted(TYPES)}")
        return cls(types, words("tables"), words("operations"), frozenset(section.get("users", ())))

    def matches(self, event: Event) -> bool:
        if self.types and event.type not in self.types:
            return False
        data = event.data
        if self.users and data.get("user") not in self.users:
            return False
        if self.operations and str(data.get("operation", "")).lower() not in self.operations:
            return False
        if self.tables:
            tables: Iterable[str] = data.get("tables") or ()
            if not any(t.lower() in self.tables for t in tables):
                return False
        return True
