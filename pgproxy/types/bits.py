"""Codecs for bit(n) and bit varying(n): the text of 0s and 1s, and the binary bit count + bytes."""

from __future__ import annotations

from struct import Struct
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import InvalidBinaryRepresentation, InvalidTextRepresentation

from .registry import register
from .strings import text_decode

_LEN = Struct("!i")


def _digits(text: str) -> str:
    for ch in text:
        if ch not in "01":
            raise InvalidTextRepresentation(f'"{ch}" is not a valid binary digit')
    return text


def bits_text(v: Any) -> bytes:
    return (v if isinstance(v, str) else str(v)).encode()


def bits_binary(v: Any) -> bytes:
    """bit_send: the number of bits, then the bits packed high first, the last byte padded."""
    text = _digits(v if isinstance(v, str) else str(v))
    nbytes = (len(text) + 7) // 8
    value = int(text.ljust(nbytes * 8, "0") or "0", 2)
    return _LEN.pack(len(text)) + value.to_bytes(nbytes, "big")


def bits_from_text(b: bytes) -> str:
    return _digits(text_decode(b))


def bits_from_binary(b: bytes) -> str:
    b = bytes(b)
    if len(b) < 4:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    nbits = _LEN.unpack_from(b)[0]
    if nbits < 0 or len(b) - 4 != (nbits + 7) // 8:
        raise InvalidBinaryRepresentation("invalid length in external bit string")
    if not nbits:
        return ""
    return format(int.from_bytes(b[4:], "big"), f"0{len(b[4:]) * 8}b")[:nbits]


for _oid in (pgtypes.BIT, pgtypes.VARBIT):
    register(_oid, bits_text, bits_binary, bits_from_text, bits_from_binary)
