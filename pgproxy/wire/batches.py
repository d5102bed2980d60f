"""Row batches to DataRow frames: one encoder per (column types, formats, Style), cached."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pgproxy.types import Style, row_encoder
from pgproxy.wire.messages import formats_for

RowEncoder = Callable[[list[tuple[Any, ...]]], bytes]

_ENCODERS: dict[tuple[Any, ...], RowEncoder] = {}


def encoder_for(
    columns: Sequence[Any] | None, formats: Sequence[int], style: Style | None = None
) -> RowEncoder | None:
    """The batch encoder for these column types, formats and date/time Style, built once
    each: a result's batches are encoded by one call, its per-column encoders bound."""
    if columns is None:
        return None
    key = (tuple(c.type_oid for c in columns), tuple(formats), style)
    encoder = _ENCODERS.get(key)
    if encoder is None:
        if len(_ENCODERS) > 4096:  # bound the table; the combinations in use come back
            _ENCODERS.clear()
        encoder = _ENCODERS[key] = row_encoder(
            key[0], formats_for(formats, len(columns)), style=style
        )
    return encoder


def frames_of(batch: Any, encode: RowEncoder | None) -> bytes:
    """A batch's DataRow frames: encoded here once, kept on the batch (a cache recording
    the result stores what was sent)."""
    data = batch.frames
    if data is None:
        rows = batch.rows
        data = batch.frames = encode(rows) if rows and encode is not None else b""
    return data
