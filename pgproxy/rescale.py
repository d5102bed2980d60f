"""Numeric results given the scale the backend lost: SQLite adds numeric(p,s) values as
floats, where PostgreSQL's sum keeps the column's scale (1500.00, not 1500)."""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from pgproxy import pgtypes
from pgproxy.backends.base import Column, Cursor

Row = tuple[Any, ...]


def retyped(columns: Sequence[Column], scales: Sequence[int | None]) -> list[Column]:
    """Columns with a scale to keep typed numeric (typmod -1, as PostgreSQL's sum)."""
    out = list(columns)
    for i, scale in enumerate(scales[: len(out)]):
        if scale is not None and out[i].type_oid != pgtypes.NUMERIC:
            out[i] = replace(out[i], type_oid=pgtypes.NUMERIC, type_size=-1, type_mod=-1)
    return out


def row_scaler(
    columns: Sequence[Column], scales: Sequence[int | None]
) -> Callable[[Row], Row] | None:
    """A row converter quantizing the columns the backend did not return as numeric."""
    quanta = [
        (i, decimal.Decimal(1).scaleb(-scale))
        for i, scale in enumerate(scales[: len(columns)])
        if scale is not None and columns[i].type_oid != pgtypes.NUMERIC
    ]
    if not quanta:
        return None

    def convert(row: Row) -> Row:
        values = list(row)
        for i, quantum in quanta:
            v = values[i]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                d = decimal.Decimal(repr(v)) if isinstance(v, float) else decimal.Decimal(v)
                if d.is_finite():
                    values[i] = d.quantize(quantum)
        return tuple(values)

    return convert


class ScaledCursor:
    """A backend cursor whose rows pass through a converter on their way out."""

    __slots__ = ("_convert", "_cursor", "columns")

    def __init__(self, cursor: Cursor, columns: list[Column], convert: Callable[[Row], Row]):
        self._cursor = cursor
        self._convert = convert
        self.columns = columns

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetch(self, size: int) -> list[Row]:
        return list(map(self._convert, self._cursor.fetch(size)))

    def close(self) -> None:
        self._cursor.close()
