"""The translation cache: parse results by statement text, generate results by (text, target).

A statement seen before is never tokenized or parsed again. Translation
errors are cached too, so a client repeating a bad statement costs one
dictionary lookup. Cached Statement objects are shared: treat them as
read-only.
"""

from __future__ import annotations

from lru import LRU

from dialects.api import Generated, Statement, Target, TranslationError
from dialects.generation import generate
from dialects.parsing import parse


class TranslationCache:
    __slots__ = ("_generated", "_parsed", "_translated")

    def __init__(self, size: int = 4096) -> None:
        self._parsed: LRU = LRU(size)
        self._generated: LRU = LRU(size)
        self._translated: LRU = LRU(size)

    def parse(self, sql: str) -> list[Statement]:
        hit = self._parsed.get(sql)
        if hit is None:
            try:
                hit = parse(sql)
            except TranslationError as e:
                hit = e
            self._parsed[sql] = hit
        if isinstance(hit, TranslationError):
            raise hit
        return hit

    def generate(self, statement: Statement, target: Target) -> Generated:
        key = (statement.sql, target)
        hit = self._generated.get(key)
        if hit is None:
            try:
                hit = generate(statement, target)
            except TranslationError as e:
                hit = e
            self._generated[key] = hit
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
            self._translated[key] = hit
        if isinstance(hit, TranslationError):
            raise hit
        return hit

    def clear(self) -> None:
        self._parsed.clear()
        self._generated.clear()
        self._translated.clear()

    def stats(self) -> dict[str, int]:
        """Entries, hits and misses per table, for the admin console."""
        out: dict[str, int] = {}
        for name in ("parsed", "generated", "translated"):
            table = getattr(self, f"_{name}")
            hits, misses = table.get_stats()
            out[f"{name}_entries"] = len(table)
            out[f"{name}_hits"] = hits
            out[f"{name}_misses"] = misses
        return out
