"""Codecs for text, varchar, bpchar, name, "char", bytea, uuid, json and jsonb."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import (
    CharacterNotInRepertoire,
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
)

from .registry import PYTYPE_TEXT, any_text, register

_UUID = uuid.UUID

# ---------------------------------------------------------------- text


def text_encode(v: Any) -> bytes:
    """Text columns: the same bytes in text and binary format."""
    if v.__class__ is str:
        return v.encode()
    if isinstance(v, bytes | bytearray | memoryview):
        b = bytes(v)
        try:
            b.decode()
        except UnicodeDecodeError:
            # a blob in a column typed text: its bytea text form, not bytes no client can
            # decode as the UTF-8 the session promised
            return bytea_text(b)
        return b
    return any_text(v)


def text_decode(b: bytes | bytearray | memoryview) -> str:
    """Client text as str: UTF-8 without NUL, else 22021 naming the bytes, as PostgreSQL does.

    Every decoder that reads a text-format value goes through here, so no
    client byte sequence reaches a parser as a UnicodeDecodeError.
    """
    try:
        s = str(b, "utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_utf8(exc.object, exc.start) from None
    if "\0" in s:
        raise invalid_utf8(b, bytes(b).index(0))
    return s


def invalid_utf8(data: bytes | bytearray | memoryview, at: int) -> CharacterNotInRepertoire:
    """PostgreSQL's report_invalid_encoding: the bytes of the one bad character."""
    first = data[at]
    data = bytes(data[at : at + 4])
    # pg_utf_mblen: the length the lead byte announces.
    size = 2 if first & 0xE0 == 0xC0 else 3 if first & 0xF0 == 0xE0 else (
        4 if first & 0xF8 == 0xF0 else 1)
    shown = " ".join(f"0x{c:02x}" for c in data[:size])
    return CharacterNotInRepertoire(f'invalid byte sequence for encoding "UTF8": {shown}')


def char_encode(v: Any) -> bytes:
    """"char" is one byte; PostgreSQL sends its first byte in both formats."""
    if isinstance(v, int) and not isinstance(v, bool):
        return bytes((v & 0xFF,)) if v else b""
    return text_encode(v)[:1]


# ---------------------------------------------------------------- bytea

_HEX_RE = re.compile(r"\\x(?:[0-9a-fA-F]{2})*\Z")
_ESCAPE_RE = re.compile(rb"\\(\\|[0-7]{3})")


def _bytes_of(v: Any) -> bytes:
    if v.__class__ is bytes:
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if isinstance(v, str):
        # A str already in bytea's hex output form is that value; any other
        # str is content (a backend storing text in a blob column).
        if v[:2] == "\\x" and _HEX_RE.match(v):
            return bytes.fromhex(v[2:])
        return v.encode()
    if isinstance(v, _UUID):
        return v.bytes
    raise InvalidTextRepresentation(f"cannot encode {type(v).__name__} as bytea")


def bytea_text(v: Any) -> bytes:
    if v.__class__ is bytes:
        return b"\\x" + v.hex().encode()
    if v.__class__ is str and v[:2] == "\\x" and _HEX_RE.match(v):
        return v.encode()
    return b"\\x" + _bytes_of(v).hex().encode()


def bytea_from_text(b: bytes) -> bytes:
    b = bytes(b)
    if b[:2] == b"\\x":
        try:
            # fromhex skips whitespace between pairs, as PostgreSQL's hex input does.
            return bytes.fromhex(b[2:].decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise InvalidTextRepresentation('invalid hexadecimal data for type bytea') from None
    if b"\\" not in b:
        return b

    def unescape(m: re.Match[bytes]) -> bytes:
        g = m.group(1)
        return b"\\" if g == b"\\" else bytes((int(g, 8) & 0xFF,))

    out = _ESCAPE_RE.sub(unescape, b)
    if b"\\" in _ESCAPE_RE.sub(b"", b):
        raise InvalidTextRepresentation("invalid input syntax for type bytea")
    return out


# ---------------------------------------------------------------- uuid


def _to_uuid(v: Any) -> uuid.UUID:
    if isinstance(v, _UUID):
        return v
    try:
        if isinstance(v, str):
            return _UUID(v)
        if isinstance(v, bytes | bytearray | memoryview):
            b = bytes(v)
            return _UUID(bytes=b) if len(b) == 16 else _UUID(text_decode(b))
    except ValueError:
        pass
    raise InvalidTextRepresentation(f'invalid input syntax for type uuid: "{v}"')


def uuid_text(v: Any) -> bytes:
    if v.__class__ is _UUID:
        return str(v).encode()
    if v.__class__ is str and len(v) == 36 and v.islower():
        return v.encode()
    return str(_to_uuid(v)).encode()


def uuid_binary(v: Any) -> bytes:
    return _to_uuid(v).bytes


def uuid_from_text(b: bytes) -> uuid.UUID:
    return _to_uuid(text_decode(b))


def uuid_from_binary(b: bytes) -> uuid.UUID:
    if len(b) != 16:
        raise InvalidBinaryRepresentation("incorrect binary data format for type uuid")
    return _UUID(bytes=bytes(b))


# ---------------------------------------------------------------- json


def _json_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return float(o)
    if isinstance(o, bytes | bytearray | memoryview):
        return bytes(o).decode(errors="replace")
    return str(o)


_dumps = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode


def json_text(v: Any) -> bytes:
    if v.__class__ is str:
        return v.encode()
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    # json.dumps's default separators (", " and ": ") are jsonb's output style.
    return _dumps(v).encode()


def jsonb_binary(v: Any) -> bytes:
    return b"\x01" + json_text(v)


def jsonb_from_binary(b: bytes) -> str:
    if not b or b[0] != 1:
        raise InvalidBinaryRepresentation("unsupported jsonb version number")
    return text_decode(bytes(b[1:]))


# ---------------------------------------------------------------- registration

for _oid in (pgtypes.TEXT, pgtypes.VARCHAR, pgtypes.BPCHAR, pgtypes.NAME, pgtypes.UNKNOWN,
             pgtypes.XML):
    register(_oid, text_encode, text_encode, text_decode, text_decode)
register(pgtypes.CHAR, char_encode, char_encode, text_decode, text_decode)
register(pgtypes.BYTEA, bytea_text, _bytes_of, bytea_from_text, bytes)
register(pgtypes.UUID, uuid_text, uuid_binary, uuid_from_text, uuid_from_binary)
# JSON parameters stay text: backends store and compare JSON as text.
register(pgtypes.JSON, json_text, json_text, text_decode, text_decode)
register(pgtypes.JSONB, json_text, jsonb_binary, text_decode, jsonb_from_binary)

PYTYPE_TEXT[str] = str.encode
PYTYPE_TEXT[bytes] = bytea_text
PYTYPE_TEXT[bytearray] = bytea_text
PYTYPE_TEXT[memoryview] = bytea_text
PYTYPE_TEXT[_UUID] = uuid_text
PYTYPE_TEXT[dict] = json_text
PYTYPE_TEXT[list] = json_text
