"""A result's RowDescription: its bytes built once per (columns, formats), and kept on
the statement with the row encoder for the next run of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pgproxy.wire import batches
from pgproxy.wire import messages as m

_DESCRIPTIONS: dict[tuple[tuple[Any, ...], tuple[int, ...]], bytes] = {}


def row_description(columns: Sequence[Any], formats: Sequence[int]) -> bytes:
    """RowDescription bytes, built once per (columns, formats) seen."""
    fields = tuple(
        (c.name, c.table_oid, c.column_number, c.type_oid, c.type_size, c.type_mod)
        for c in columns
    )
    key = (fields, tuple(formats))
    data = _DESCRIPTIONS.get(key)
    if data is None:
        if len(_DESCRIPTIONS) > 4096:  # bound the table; the shapes in use come back
            _DESCRIPTIONS.clear()
        data = _DESCRIPTIONS[key] = m.row_description(fields, formats)
    return data


def shape(prepared: Any, result: Any, formats: Sequence[int]) -> tuple[bytes, Any]:
    """A result's RowDescription and row encoder, kept on its statement: the next run
    with the same columns, result formats and Style (a repeated Bind/Execute) reuses
    them, compared in one tuple comparison (the columns are mostly the same objects)."""
    return shape_of(prepared, tuple(result.columns), result.style, formats)


def shape_of(
    prepared: Any, columns: tuple[Any, ...], style: Any, formats: Sequence[int]
) -> tuple[bytes, Any]:
    """shape() of a result's columns and Style (wire_reads.py has no result object)."""
    memo = prepared.frontend
    if memo is not None and memo[2] is style and memo[1] == formats and memo[0] == columns:
        return memo[3], memo[4]
    description = row_description(columns, m.formats_for(formats, len(columns)))
    encode = batches.encoder_for(columns, formats, style)
    prepared.frontend = (columns, list(formats), style, description, encode)
    return description, encode


def result_description(result: Any, formats: list[int]) -> bytes:
    """A result's RowDescription: its own encoded bytes when it keeps them (optional
    `row_description(formats) -> bytes | None`), else encoded from its columns."""
    keep = getattr(result, "row_description", None)
    data = keep(formats) if keep is not None else None
    return data if data is not None else row_description(result.columns, formats)
