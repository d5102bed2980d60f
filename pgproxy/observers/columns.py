"""A batch of the path's tuples to events' JSON column by column, in C calls, not per event.

The collector's cost per statement event was Python's: a dict built per event,
then encoded. Here a batch of tuples is turned into columns (zip); what a run
of events repeats (the route, user and statement, the tag, ...) is made into
JSON once per distinct value and kept (Pieces); each event's JSON is then its
pieces joined, by C-level maps.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from pgproxy.observers.events import _orjson_dumps, dumps

_MAX = 4096  # kept pieces beyond this start the cache again: tags carry row counts


class Pieces:
    """A cache of what `make(*objects)` makes, by a key of their ids and plain values.
    It holds those objects: an id is never reused while its piece is kept."""

    __slots__ = ("_held", "_made", "_make")

    def __init__(self, make: Callable[..., Any]) -> None:
        self._make = make
        self._made: dict[Hashable, Any] = {}
        self._held: list[Any] = []

    def get(self, keys: list[Hashable], objects: Iterable[tuple[Any, ...]]) -> list[Any]:
        """The pieces of `keys` (made from `objects`, key by key, for the ones not kept)."""
        made = self._made
        got = list(map(made.get, keys))
        if None in got:  # (a piece is never None)
            if len(made) > _MAX:
                made.clear()
                self._held.clear()
            make = self._make
            for i, (key, objs) in enumerate(zip(keys, objects, strict=True)):
                if got[i] is None:
                    piece = made.get(key)
                    if piece is None:
                        piece = made[key] = make(*objs)
                        self._held.append(objs)
                    got[i] = piece
        return got


def numbers(values: Iterable[float]) -> list[bytes]:
    """Each number's JSON (a float's shortest round-trip form), in one encoding of them all."""
    values = list(values)
    if not values:
        return []
    if _orjson_dumps is not None:
        return _orjson_dumps(values)[1:-1].split(b",")
    return [dumps(v) for v in values]
