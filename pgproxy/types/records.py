"""Codecs for record (2249): a row value, which backends hand over as its text form `(1,"a b")`.

Binary is record_send's: the field count, then per field its type OID, length and bytes
(a NULL field's length -1). A composite type's codec knows its fields' types; an anonymous
record's value carries them when the statement says them (TypedRecord), else each field
goes as text (25).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import (
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    UndefinedColumn,
)

from .registry import CODECS, Codec, register
from .strings import text_decode, text_encode

Row = tuple[Any, ...]
_I32 = struct.Struct("!i")
_FIELD = struct.Struct("!Ii")
_SPACE = " \t\n\r\v\f"


def parse(text: str) -> list[str | None]:
    """A record's text form to its fields (None for NULL), as record_in reads it."""
    s = text.strip(_SPACE)
    if len(s) < 2 or s[0] != "(" or s[-1] != ")":
        raise InvalidTextRepresentation(f'malformed record literal: "{text}"')
    body = s[1:-1]
    fields: list[str | None] = []
    if body == "":
        return fields  # () has no fields (record_in would say one NULL for a 1-column type)
    i, n = 0, len(body)
    while True:
        chunk: list[str] = []
        quoted = False
        while i < n and body[i] != ",":
            c = body[i]
            if c == '"':
                quoted = True
                i += 1
                while i < n:
                    c = body[i]
                    if c == "\\" and i + 1 < n:
                        chunk.append(body[i + 1])
                        i += 2
                    elif c == '"' and i + 1 < n and body[i + 1] == '"':
                        chunk.append('"')
                        i += 2
                    elif c == '"':
                        i += 1
                        break
                    else:
                        chunk.append(c)
                        i += 1
                else:
                    raise InvalidTextRepresentation(f'malformed record literal: "{text}"')
            elif c == "\\" and i + 1 < n:
                chunk.append(body[i + 1])
                i += 2
            else:
                chunk.append(c)
                i += 1
        fields.append("".join(chunk) if chunk or quoted else None)
        if i >= n:
            return fields
        i += 1  # the comma


def _quote(field: str | None) -> str:
    if field is None:
        return ""
    if field == "" or any(c in field for c in '"\\(),' + _SPACE):
        return '"' + field.replace("\\", "\\\\").replace('"', '""') + '"'
    return field


def text(fields: list[str | None]) -> str:
    """Fields (None for NULL) in record_out's text form."""
    return "(" + ",".join(_quote(f) for f in fields) + ")"


def _fields(value: Any) -> list[str | None]:
    if isinstance(value, tuple | list):
        return [None if f is None else text_encode(f).decode() for f in value]
    return parse(value if isinstance(value, str) else text_encode(value).decode())


def text_out(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return text(_fields(value)).encode()


class TypedRecord(str):
    """A record's text form that knows its fields' types (from the statement), for binary."""

    field_oids: tuple[int, ...] = ()


def typed_rows(records: Sequence[tuple[int, tuple[int, ...]]]) -> Callable[[Row], Row]:
    """A row converter giving the record columns (position, field OIDs) their field types."""

    def convert(row: Row) -> Row:
        values = list(row)
        for i, oids in records:
            if i < len(values) and isinstance(values[i], str):
                values[i] = TypedRecord(values[i])
                values[i].field_oids = oids
        return tuple(values)

    return convert


def _field_bytes(field: str, field_oid: int) -> bytes:
    codec = CODECS.get(field_oid)
    return codec.binary_encode(codec.text_decode(field.encode())) if codec else field.encode()


def _one_null(fields: list[str | None], count: int) -> list[str | None]:
    """`()` is one NULL field to a record of one field (and no field to one of none)."""
    return [None] if not fields and count == 1 else fields


def binary_out(value: Any) -> bytes:
    oids = getattr(value, "field_oids", ())
    fields = _one_null(_fields(value), len(oids))
    if len(oids) != len(fields):
        oids = (pgtypes.TEXT,) * len(fields)  # types not known: each field as its text
    out = [_I32.pack(len(fields))]
    for f, oid in zip(fields, oids, strict=True):
        if f is None:
            out.append(_FIELD.pack(oid, -1))
        else:
            data = _field_bytes(f, oid)
            out.append(_FIELD.pack(oid, len(data)) + data)
    return b"".join(out)


def _binary_fields(data: bytes) -> list[tuple[int, bytes | None]]:
    """record_recv's layout: each field's type OID and bytes (None for NULL)."""
    fields: list[tuple[int, bytes | None]] = []
    try:
        (count,) = _I32.unpack_from(data, 0)
        pos = 4
        for _ in range(count):
            field_oid, length = _FIELD.unpack_from(data, pos)
            pos += 8
            if length < 0:
                fields.append((field_oid, None))
                continue
            if pos + length > len(data):
                raise struct.error
            fields.append((field_oid, bytes(data[pos : pos + length])))
            pos += length
    except struct.error:
        raise InvalidBinaryRepresentation("insufficient data left in message") from None
    return fields


def binary_in(data: bytes) -> str:
    """A binary record parameter as its text form (each field's bytes read as text)."""
    return text([None if raw is None else text_decode(raw) for _, raw in _binary_fields(data)])


# composite type OID -> its fields' names and type OIDs (register_composite fills it)
FIELDS: dict[int, tuple[tuple[str, ...], tuple[int, ...]]] = {}


def field_value(type_oid: int, value: Any, name: str) -> Any:
    """Field `name` of a composite value (its text form), as its type's Python value."""
    known = FIELDS.get(type_oid)
    if known is None:
        raise InvalidTextRepresentation("a field can only be taken from a composite type's value")
    names, oids = known
    if name not in names:
        raise UndefinedColumn(f'column "{name}" not found in data type '
                              f"{pgtypes.REGTYPE_NAMES.get(type_oid, type_oid)}")
    i = names.index(name)
    fields = _one_null(_fields(value), len(oids))
    if i >= len(fields) or fields[i] is None:
        return None
    codec = CODECS.get(oids[i])
    return codec.text_decode(fields[i].encode()) if codec else fields[i]


def typed_codec(oid: int, field_oids: list[int]) -> Codec:
    """A composite type's codec: its binary form carries each field in its own type's binary
    form (read from the field's text), and a binary parameter becomes the text form."""

    def binary_typed(value: Any) -> bytes:
        fields = _one_null(_fields(value), len(field_oids))
        if len(fields) != len(field_oids):
            raise InvalidTextRepresentation(f'malformed record literal: "{text(fields)}"')
        out = [_I32.pack(len(fields))]
        for f, field_oid in zip(fields, field_oids, strict=True):
            if f is None:
                out.append(_FIELD.pack(field_oid, -1))
                continue
            data = _field_bytes(f, field_oid)
            out.append(_FIELD.pack(field_oid, len(data)) + data)
        return b"".join(out)

    def from_binary(data: bytes) -> str:
        fields: list[str | None] = []
        for field_oid, raw in _binary_fields(data):
            codec = CODECS.get(field_oid) if raw is not None else None
            fields.append(None if raw is None else
                          codec.text_encode(codec.binary_decode(raw)).decode() if codec
                          else text_decode(raw))
        return text(fields)

    def from_text(data: bytes) -> str:
        """A text parameter, checked as record_in checks it: the field count, and each
        field read by its own type (22P02 and friends for a value that is not one)."""
        value = text_decode(data)
        fields = parse(value)
        if len(fields) != len(field_oids) and not (fields == [] and len(field_oids) == 1):
            raise InvalidTextRepresentation(
                f'malformed record literal: "{value}"',
                detail="Too few columns." if len(fields) < len(field_oids) else
                "Too many columns.")
        for f, field_oid in zip(fields, field_oids, strict=False):
            codec = CODECS.get(field_oid)
            if f is not None and codec is not None:
                codec.text_decode(f.encode())
        return value

    return Codec(oid, text_out, binary_typed, from_text, from_binary)


register(pgtypes.RECORD, text_out, binary_out, text_decode, binary_in)
