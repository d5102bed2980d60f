"""PostgreSQL value codecs: Python values to wire bytes and back, by type OID.

Sans-I/O: no sockets, no asyncio. One family of types per module (numbers,
strings, datetimes, arrays), one table by OID (registry), and the batch
DataRow encoder the proxy streams results with (rows).

Formats are Bind's codes: 0 text, 1 binary. Encoders take one non-NULL value
(the natural Python type, or a str holding the value's text, as backends may
hand over for any type) and return its bytes; decoders take a parameter's
bytes. A type the table does not know is text by the value's Python type on
the way out, and str (text format) or bytes (binary format) on the way in.
"""

from __future__ import annotations

import datetime as _dt
import uuid as _uuid
from collections.abc import Sequence
from decimal import Decimal as _Decimal
from typing import Any

from pgproxy import pgtypes as _t
from pgproxy.errors import InvalidParameterValue, InvalidTextRepresentation

from . import (  # noqa: F401 - fill the registry
    arrays,
    bits,
    datetimes,
    network,
    numbers,
    ranges,
    records,
    strings,
)
from .pgcalendar import ISO, Style
from .registry import BINARY, CODECS, TEXT, Codec, Decoder, Encoder, any_text
from .rows import RowsEncoder, column_encoder, normalize_formats, row_encoder

arrays.register_all()
arrays.register_arrays(ranges.ARRAYS)

__all__ = [
    "BINARY",
    "CODECS",
    "ISO",
    "TEXT",
    "Codec",
    "Decoder",
    "Encoder",
    "RowsEncoder",
    "Style",
    "any_text",
    "decode",
    "decoder",
    "encode",
    "encoder",
    "normalize_formats",
    "oid_of",
    "register_composite",
    "register_enum",
    "row_encoder",
]


def register_enum(oid: int, array_oid: int, name: str, labels: Sequence[str]) -> None:
    """An enum's codecs, and its array type's: labels are text in both formats (and in the
    client's encoding, as text's binary form is), and a parameter must be one of them."""
    _t.TEXT_OIDS.add(oid)
    text = CODECS[_t.TEXT]
    known = frozenset(labels)

    def checked(decode: Decoder) -> Decoder:
        def label(data: bytes) -> str:
            value = decode(data)
            if value not in known:
                raise InvalidTextRepresentation(f'invalid input value for enum {name}: "{value}"')
            return value

        return label

    CODECS[oid] = text._replace(oid=oid, text_decode=checked(text.text_decode),
                                binary_decode=checked(text.binary_decode))
    arrays.register_array(array_oid, oid)
    _name(oid, array_oid, name)


def _name(oid: int, array_oid: int, name: str) -> None:
    """What a regtype value of the type prints (pg_typeof)."""
    _t.REGTYPE_NAMES[oid] = name
    _t.REGTYPE_NAMES[array_oid] = f"{name}[]"


def register_composite(oid: int, array_oid: int, name: str,
                       fields: Sequence[tuple[str, int]]) -> None:
    """A composite type's codecs (records.typed_codec), and its array type's; its fields'
    (name, type OID) for `($1).field` (records.field_value)."""
    field_oids = [f[1] for f in fields]
    records.FIELDS[oid] = (tuple(f[0] for f in fields), tuple(field_oids))
    CODECS[oid] = records.typed_codec(oid, field_oids)
    arrays.register_array(array_oid, oid)
    _name(oid, array_oid, name)


def encoder(oid: int, fmt: int = TEXT, style: Style | None = None) -> Encoder:
    """The encoder for a column of type `oid` in format `fmt` (chosen once per column).

    `style`: the session's TimeZone, DateStyle and IntervalStyle (date/time types only).
    """
    return column_encoder(oid, fmt, style)


def _bytes(b: bytes) -> bytes:
    return bytes(b)


def _str(b: bytes) -> str:
    return strings.text_decode(b)


def decoder(oid: int, fmt: int = TEXT, style: Style | None = None) -> Decoder:
    """The decoder for a parameter of type `oid` (0 when the client left it unspecified).

    `style`: the session's DateStyle order and TimeZone, which text dates and
    timestamps are read by.
    """
    if fmt not in (TEXT, BINARY):
        raise InvalidParameterValue(f"unsupported format code: {fmt}")
    if style is not None and style is not ISO and fmt == TEXT and style != ISO:
        styled = datetimes.text_decoder(oid, style)
        if styled is not None:
            return styled
    codec = CODECS.get(oid)
    if codec is None:
        # Unknown in binary: the bytes mean nothing we can check, so keep them.
        return _bytes if fmt == BINARY else _str
    return codec.binary_decode if fmt == BINARY else codec.text_decode


def encode(value: Any, oid: int, fmt: int = TEXT, style: Style | None = None) -> bytes | None:
    """One value's wire bytes; None for NULL."""
    if value is None:
        return None
    return column_encoder(oid, fmt, style)(value)


def decode(data: bytes | memoryview | None, oid: int, fmt: int = TEXT) -> Any:
    """One parameter's Python value; None for NULL."""
    if data is None:
        return None
    return decoder(oid, fmt)(data)


_PYTYPE_OID: dict[type, int] = {
    bool: _t.BOOL,
    int: _t.INT8,
    float: _t.FLOAT8,
    _Decimal: _t.NUMERIC,
    str: _t.TEXT,
    bytes: _t.BYTEA,
    bytearray: _t.BYTEA,
    memoryview: _t.BYTEA,
    _dt.date: _t.DATE,
    _dt.time: _t.TIME,
    _dt.timedelta: _t.INTERVAL,
    _uuid.UUID: _t.UUID,
    dict: _t.JSONB,
}


def oid_of(value: Any) -> int:
    """The type OID PostgreSQL would give a Python value; TEXT when nothing fits."""
    if isinstance(value, _dt.datetime):
        return _t.TIMESTAMPTZ if value.tzinfo is not None else _t.TIMESTAMP
    if isinstance(value, _dt.time) and value.tzinfo is not None:
        return _t.TIMETZ
    if isinstance(value, list):
        first = next((x for x in value if x is not None), None)
        info = _t.TYPES.get(oid_of(first)) if first is not None else None
        return info.array_oid if info and info.array_oid else _t.TEXT_ARRAY
    oid = _PYTYPE_OID.get(type(value))
    if oid is None:
        for cls in type(value).__mro__[1:]:
            if cls in _PYTYPE_OID:
                return _PYTYPE_OID[cls]
        return _t.TEXT
    return oid

