"""Events the proxy reports, and the filters subscribers choose them by."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
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
BAN = "ban"
UNBAN = "unban"
TYPES = frozenset({STATEMENT, WRITE, BACKEND_DOWN, BACKEND_UP, FAILOVER, BAN, UNBAN, CONNECT,
                   DISCONNECT})

# Ids are unique across restarts (a random boot prefix) and ordered within one run,
# so a receiver can de-duplicate a redelivery and spot a gap.
_BOOT = secrets.token_hex(4)
_SEQ = itertools.count(1)

try:  # a faster encoder when it is installed; the output is the same compact JSON
    import orjson

    def _dumps(d: dict[str, Any]) -> str:
        try:
            return orjson.dumps(d, default=str).decode()
        except TypeError:  # beyond orjson (a 65-bit integer, a non-str key): the stdlib's way
            return json.dumps(d, default=str, separators=(",", ":"))

except ImportError:  # pragma: no cover - depends on the environment

    def _dumps(d: dict[str, Any]) -> str:
        return json.dumps(d, default=str, separators=(",", ":"))


class Event:
    """One thing that happened, cheap to make on the statement path.

    Its id string, its `data` dict (when made with `lazy`: a builder and its
    arguments) and its JSON are made only when a subscriber's worker first asks,
    once for every subscriber.
    """

    __slots__ = ("_build", "_data", "_id", "_json", "time", "type")

    def __init__(
        self,
        id: str | int,
        type: str,
        at: float,
        data: dict[str, Any] | None = None,
        build: tuple[Callable[..., dict[str, Any]], tuple[Any, ...]] | None = None,
    ) -> None:
        self._id = id
        self.type = type
        self.time = at  # Unix seconds
        self._data = data
        self._build = build
        self._json: str | None = None

    @classmethod
    def new(cls, type: str, data: dict[str, Any]) -> Event:
        return cls(next(_SEQ), type, time.time(), data)

    @classmethod
    def lazy(cls, type: str, build: Callable[..., dict[str, Any]], *args: Any) -> Event:
        """An event whose data is `build(*args)`, called off the statement path."""
        return cls(next(_SEQ), type, time.time(), None, (build, args))

    @property
    def id(self) -> str:
        i = self._id
        if isinstance(i, int):
            i = self._id = f"{_BOOT}-{i}"
        return i

    @property
    def data(self) -> dict[str, Any]:
        d = self._data
        if d is None:
            assert self._build is not None
            fn, args = self._build
            d = self._data = fn(*args)
        return d

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "time": self.time, **self.data}

    def to_json(self) -> str:
        j = self._json
        if j is None:
            j = self._json = _dumps(self.to_dict())
        return j

    @classmethod
    def from_json(cls, text: str) -> Event:
        d = json.loads(text)
        return cls(d.pop("id"), d.pop("type"), d.pop("time"), d)

    def __repr__(self) -> str:
        return f"Event({self.id!r}, {self.type!r})"


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

    @property
    def detailed(self) -> bool:
        """True when it looks inside an event, beyond its type."""
        return bool(self.tables or self.operations or self.users)

    def matches(self, event: Event) -> bool:
        if self.types and event.type not in self.types:
            return False
        if not (self.tables or self.operations or self.users):
            return True
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
