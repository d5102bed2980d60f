"""Events the proxy reports, and the filters subscribers choose them by."""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("pgproxy.observers")

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

# A faster encoder when it is installed; the output is the same compact JSON. Called
# as orjson.dumps(d, default=str) itself: through a functools.partial holding the
# keyword, each call merged a fresh keyword dict (a third of an event's encoding).
_orjson_dumps: Callable[..., bytes] | None
try:
    from orjson import dumps as _orjson_dumps
except ImportError:  # pragma: no cover - depends on the environment
    _orjson_dumps = None


def _dumps(d: dict[str, Any]) -> bytes:
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(d, default=str)
        except TypeError:  # beyond orjson (a 65-bit integer, a non-str key): the stdlib's way
            pass
    return json.dumps(d, default=str, separators=(",", ":")).encode()


_HEAD = ("id", "type", "time")


class Event:
    """One thing that happened: its fields (id, type, time, then its data) and their JSON.

    The bus makes events off the statement path, in batches, from what the path
    handed it (`made`); an event's JSON is made once (json_of) for all the
    subscribers that send it.
    """

    __slots__ = ("_json", "fields")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self._json: bytes | None = None

    @classmethod
    def new(cls, type: str, data: dict[str, Any]) -> Event:
        return cls({"id": f"{_BOOT}-{next(_SEQ)}", "type": type, "time": time.time(), **data})

    @property
    def id(self) -> str:
        return self.fields["id"]

    @property
    def type(self) -> str:
        return self.fields["type"]

    @property
    def time(self) -> float:
        """Unix seconds."""
        return self.fields["time"]

    @property
    def data(self) -> dict[str, Any]:
        """What happened, without the id, type and time."""
        return {k: v for k, v in self.fields.items() if k not in _HEAD}

    def to_dict(self) -> dict[str, Any]:
        """A fresh dict (a Python subscriber may keep or change it)."""
        return self.fields.copy()

    def json(self) -> bytes:
        """The event as compact UTF-8 JSON, made once for every subscriber."""
        j = self._json
        if j is None:
            j = self._json = _dumps(self.fields)
        return j

    def to_json(self) -> str:
        return self.json().decode()

    @classmethod
    def from_json(cls, text: str) -> Event:
        return cls(json.loads(text))

    def __repr__(self) -> str:
        return f"Event({self.id!r}, {self.type!r})"


# What the statement path hands the bus: a tuple `(build, type, perf_counter time, ...)`;
# build(id, unix time, the tuple) makes the event's fields off the path.
Build = Callable[[str, float, tuple[Any, ...]], dict[str, Any]]


def with_data(id: str, at: float, item: tuple[Any, ...]) -> dict[str, Any]:
    """The fields of `(with_data, type, time, data)`: an event whose data is at hand."""
    return {"id": id, "type": item[1], "time": at, **item[3]}


def made(raw: list[Any]) -> list[Event]:
    """Events of what the statement path handed the bus (tuples, see Build, or ready
    Events), in order; ids follow it."""
    offset = time.time() - time.perf_counter()  # the path's clock to Unix time, once a batch
    seq, boot, new = _SEQ, _BOOT, Event.__new__
    out = []
    for item in raw:
        if type(item) is Event:
            out.append(item)
            continue
        try:
            fields = item[0](f"{boot}-{next(seq)}", item[2] + offset, item)
        except Exception:  # a bug in one builder loses its event, never the collector
            log.exception("observers: could not make a %s event", item[1])
            continue
        e = new(Event)  # Event(fields) without a call of __init__: one per statement
        e.fields = fields
        e._json = None
        out.append(e)
    return out


def json_of(events: list[Event]) -> list[bytes]:
    """The events' JSON (made for the first subscriber that asks, kept for the others)."""
    fast = _orjson_dumps
    out = []
    for e in events:
        j = e._json
        if j is None:
            try:
                j = fast(e.fields, default=str)  # type: ignore[misc]
            except TypeError:  # beyond orjson (or no orjson): _dumps knows the stdlib's way
                j = _dumps(e.fields)
            e._json = j
        out.append(j)
    return out


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
        data = event.fields
        if self.types and data["type"] not in self.types:
            return False
        if not (self.tables or self.operations or self.users):
            return True
        if self.users and data.get("user") not in self.users:
            return False
        if self.operations and str(data.get("operation", "")).lower() not in self.operations:
            return False
        if self.tables:
            tables: Iterable[str] = data.get("tables") or ()
            if not any(t.lower() in self.tables for t in tables):
                return False
        return True
