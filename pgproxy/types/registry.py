"""The codec table: for each type OID, its text and binary encoders and decoders.

Family modules (numbers, strings, datetimes, arrays) fill it at import. An
encoder takes one non-NULL Python value and returns the value's wire bytes; a
decoder takes a parameter's wire bytes and returns a Python value. NULL never
reaches either: the caller handles it (length -1 on the wire).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes], Any]

TEXT = 0
BINARY = 1


class Codec(NamedTuple):
    oid: int
    text_encode: Encoder
    binary_encode: Encoder
    text_decode: Decoder
    binary_decode: Decoder


CODECS: dict[int, Codec] = {}

# The text form of a value whose column type says nothing useful (OID 0,
# unknown, or a text column holding an int): chosen by the value's Python type.
PYTYPE_TEXT: dict[type, Encoder] = {}


def register(oid: int, te: Encoder, be: Encoder, td: Decoder, bd: Decoder) -> Codec:
    codec = CODECS[oid] = Codec(oid, te, be, td, bd)
    return codec


def any_text(value: Any) -> bytes:
    """The PostgreSQL text form of `value`, by its Python type."""
    enc = PYTYPE_TEXT.get(value.__class__)
    if enc is None:
        for cls in type(value).__mro__[1:]:
            enc = PYTYPE_TEXT.get(cls)
            if enc is not None:
                break
        else:
            return str(value).encode()
    return enc(value)
