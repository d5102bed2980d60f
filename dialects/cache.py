"""The translation cache: parse results by statement text, generate results by (text, target).

A statement seen before is never tokenized or parsed again. Translation
errors are cached too, so a client repeating a bad statement costs one
dictionary lookup. Cached Statement objects are shared: treat them as
read-only.
"""

from __future__ import annotations

from typing import Any

from lru import LRU

from dialects import shapes
from dialects.api import Generated, Statement, Target, TranslationError
from dialects.generation import generate
from dialects.parsing import parse

_REFUSED: list[Statement] = []  # a shape that cannot be parameterized
# A text longer than this is translated each time it comes, not kept: a 200 MB
# statement must not stay in memory after it ran, let alone 4,096 of them.
MAX_CACHED_TEXT = 1 << 20


def _keep(table: LRU, key: Any, text: str, hit: Any) -> None:
    if len(text) <= MAX_CACHED_TEXT:
        table[key] = hit


class TranslationCache:
    __slots__ = ("_generated", "_parsed", "_shapes", "_translated")

    def __init__(self, size: int = 4096) -> None:
        self._parsed: LRU = LRU(size)
        self._shapes: LRU = LRU(size)
        self._generated: LRU = LRU(size)
        self._translated: LRU = LRU(size)

    def parse(self, sql: str) -> list[Statement]:
        hit = self._parsed.get(sql)
        if hit is None:
            try:
                hit = parse(sql)
            except TranslationError as e:
                hit = e
            _keep(self._parsed, sql, sql, hit)
        if isinstance(hit, TranslationError):
            raise hit
        return hit

    def parse_shaped(
        self, sql: str, target: Target, declared: int = 0, simple_query: bool = False
    ) -> tuple[list[Statement], tuple[Any, ...]]:
        """parse, sharing one parse among texts that differ only in liftable literals.

        Returns the statements and the literal values to bind after the client's
        own parameters (empty when the exact-text parse was used). A shape's
        Statement.sql is the parameterized text; its nparams / param_types
        describe the client's $n only. `declared`: parameter types the client
        declared (a shape is used only if its $n cover them); `simple_query`:
        no parameters will be bound, so a text with $n is not shaped.
        """
        if target.dialect == "postgres":
            return self.parse(sql), ()  # PostgreSQL types a bound string differently
        shape = shapes.scan(sql)
        if shape is None or shape.nclient < declared or (simple_query and shape.nclient):
            return self.parse(sql), ()
        # Keyed by the client's $n count too: `VALUES (7, 'b')` and `VALUES ($1, 'b')`
        # have one shape text, but the first binds no client parameter and the second one.
        key = (shape.text, shape.nclient)
        hit = self._shapes.get(key)
        if hit is None:
            try:
                hit = shapes.check(parse(shape.text), shape) or _REFUSED
            except TranslationError:
                hit = _REFUSED  # the exact parse reports the client's own text
            _keep(self._shapes, key, shape.text, hit)
        if hit is _REFUSED:
            return self.parse(sql), ()
        return hit, shapes.values(shape, target.dialect)

    def generate(self, statement: Statement, target: Target) -> Generated:
        key = (statement.sql, target)
        hit = self._generated.get(key)
        if hit is None:
            try:
                hit = generate(statement, target)
            except TranslationError as e:
                hit = e
            _keep(self._generated, key, statement.sql, hit)
        if isinstance(hit, TranslationError):
            raise hit
        return hit

    def translate(self, sql: str, target: Target) -> list[tuple[Statement, Generated]]:
        """parse + generate for every statement of the text, with one lookup on a repeat."""
        key = (sql, target)
        hit = self._translated.get(key)
        if hit is None:
            try:
                hit = [(s, self.generate(s, target)) for s in self.parse(sql)]
            except TranslationError as e:
                hit = e
            _keep(self._translated, key, sql, hit)
        if isinstance(hit, TranslationError):
            raise hit
        return hit

    def clear(self) -> None:
        self._parsed.clear()
        self._shapes.clear()
        self._generated.clear()
        self._translated.clear()

    def stats(self) -> dict[str, int]:
        """Entries, hits and misses per table, for the admin console."""
        out: dict[str, int] = {}
        for name in ("parsed", "shapes", "generated", "translated"):
            table = getattr(self, f"_{name}")
            hits, misses = table.get_stats()
            out[f"{name}_entries"] = len(table)
            out[f"{name}_hits"] = hits
            out[f"{name}_misses"] = misses
        return out
