"""Events the proxy reports, and the filters subscribers choose them by."""

from __future__ import annotations

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
_next_id = [1]  # the next id's number: taken a batch at a time (take_ids)


def take_ids(n: int) -> int:
    """The first of `n` consecutive id numbers, all taken (on the loop's thread)."""
    first = _next_id[0]
    _next_id[0] = first + n
    return first


# A faster encoder when it is installed; the output is the same compact JSON. Called
# as orjson.dumps(d, default=str) itself: through a functools.partial holding the
# keyword, each call merged a fresh keyword dict (a third of an event's encoding).
_orjson_dumps: Callable[..., bytes] | None
loads: Callable[[bytes], Any]
try:
    from orjson import dumps as _orjson_dumps
    from orjson import loads
except ImportError:  # pragma: no cover - depends on the environment
    _orjson_dumps = None
    loads = json.loads


def dumps(d: Any) -> bytes:
    """Compact UTF-8 JSON; what JSON has no type for as its str()."""
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(d, default=str)
        except TypeError:  # beyond orjson (a 65-bit integer, a non-str key): the stdlib's way
            pass
    return json.dumps(d, default=str, separators=(",", ":")).encode()


_HEAD = ("id", "type", "time")


class Event:
    """One thing that happened: its fields (id, type, time, then its data) and their JSON.

    The bus itself carries events as their JSON alone (encode): this is their
    face for code that makes one (publish), filters on their data, or reads
    one back from the dead-letter store.
    """

    __slots__ = ("_json", "fields")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self._json: bytes | None = None

    @classmethod
    def new(cls, type: str, data: dict[str, Any]) -> Event:
        return cls({"id": f"{_BOOT}-{take_ids(1)}", "type": type, "time": time.time(), **data})

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
        """The event as compact UTF-8 JSON."""
        j = self._json
        if j is None:
            j = self._json = dumps(self.fields)
        return j

    def to_json(self) -> str:
        return self.json().decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        e = cls(loads(text))
        e._json = text.encode() if isinstance(text, str) else text
        return e

    def __repr__(self) -> str:
        return f"Event({self.id!r}, {self.type!r})"


# What the statement path hands the bus: a record of WIDTH fields `(build, type,
# perf_counter time, ...)`, padded with None, laid end to end in one flat list
# (Observers.raw): no object per event waits there for the collector, so the garbage
# collector, which walks every container that outlives a collection, has none to walk.
# build(id, unix time, the record as a tuple) makes the event's fields off the path. A
# builder may also have `many(columns, their id numbers, offset to Unix time, dicts) ->
# (JSON, dicts)`: the events of several of its records at once, from their fields
# column by column (columns[k]: the k-th field of each record) in C calls
# (pgproxy/observers/columns), and their dicts (each of its own) if `dicts`, else None.
WIDTH = 11
Build = Callable[[str, float, tuple[Any, ...]], dict[str, Any]]

# A batch's events in order: their types, their JSON, and their dicts (None: not asked).
Encoded = tuple[list[str], list[bytes], list[dict[str, Any]] | None]

_PAD = (None,) * WIDTH


def record(item: tuple[Any, ...]) -> tuple[Any, ...]:
    """`item` as a record of WIDTH fields (padded with None), to extend Observers.raw."""
    return item if len(item) == WIDTH else (*item, *_PAD[len(item):])


def with_data(id: str, at: float, item: tuple[Any, ...]) -> dict[str, Any]:
    """The fields of `(with_data, type, time, data)`: an event whose data is at hand."""
    return {"id": id, "type": item[1], "time": at, **item[3]}


def ready(id: str, at: float, item: tuple[Any, ...]) -> dict[str, Any]:
    """The fields of `(ready, type, 0.0, event)`: an Event made already (publish)."""
    return item[3].to_dict()


def encode(raw: list[Any], dicts: bool = False) -> Encoded:
    """Each event's type and JSON (and dict, if `dicts`), of the records the statement
    path laid in `raw`, in order; ids follow it. The records of one builder are made
    together (its `many`)."""
    n = len(raw) // WIDTH
    if not n:
        return [], [], [] if dicts else None
    offset = time.time() - time.perf_counter()  # the path's clock to Unix time, once a batch
    first = take_ids(n)
    columns = [raw[k::WIDTH] for k in range(WIDTH)]  # a C slice each
    builders = columns[0]
    parts: list[Any]
    ds: list[Any] | None
    if builders.count(builders[0]) == n:  # one kind (statements): the usual batch
        parts, ds, lost = _made(builders[0], columns, range(first, first + n), offset, dicts)
    else:
        where: dict[Any, list[int]] = {}
        for i, b in enumerate(builders):
            where.setdefault(b, []).append(i)
        parts = [None] * n
        ds = [None] * n if dicts else None
        lost = False
        for b, positions in where.items():
            got, got_ds, got_lost = _made(b, [[c[i] for i in positions] for c in columns],
                                          [first + i for i in positions], offset, dicts)
            lost = lost or got_lost
            for i, part in zip(positions, got, strict=True):
                parts[i] = part
            if ds is not None:
                for i, d in zip(positions, got_ds, strict=True):  # type: ignore[arg-type]
                    ds[i] = d
    types = columns[1]
    if lost:  # a builder's bug lost these (None): the others go on
        kept = [i for i, p in enumerate(parts) if p is not None]
        types = [types[i] for i in kept]
        parts = [parts[i] for i in kept]
        ds = None if ds is None else [ds[i] for i in kept]
    return types, parts, ds


def _made(
    build: Any, columns: list[list[Any]], ids: Iterable[int], offset: float, dicts: bool
) -> tuple[list[Any], list[Any] | None, bool]:
    """The JSON (and dicts) of the records in `columns`, of one builder: all at once, else
    one by one (None: that one failed), and whether one failed."""
    many = getattr(build, "many", None)
    if many is not None:
        try:
            return (*many(columns, ids, offset, dicts), False)
        except Exception:
            log.exception("observers: could not make %d events at once", len(columns[0]))
    parts: list[bytes | None] = []
    ds: list[dict[str, Any] | None] | None = [] if dicts else None
    lost = False
    for n, item in zip(ids, zip(*columns, strict=True), strict=True):
        try:
            fields = build(f"{_BOOT}-{n}", item[2] + offset, item)
            part = dumps(fields)
        except Exception:  # a bug in one builder loses its event, never the collector
            log.exception("observers: could not make a %s event", item[1])
            fields = part = None
            lost = True
        parts.append(part)
        if ds is not None:
            ds.append(fields)
    return parts, ds, lost


def boot() -> str:
    """This run's id prefix."""
    return _BOOT


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
