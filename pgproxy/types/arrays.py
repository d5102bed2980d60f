"""Codecs for arrays of the common element types, and int2vector/oidvector.

Catalog queries return arrays (pg_index.indkey, pg_proc.proargtypes,
pg_class.relacl …), so every element type a catalog column uses is here.
A value is a list (nested lists for more dimensions), or a str: the
PostgreSQL array literal '{a,b}' a backend may hold, or a JSON array.
"""

from __future__ import annotations

import json
import re
from struct import Struct
from struct import error as StructError
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import (
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    ProgramLimitExceeded,
)

from .registry import CODECS, Codec, Decoder, Encoder, register
from .strings import text_decode

_I = Struct("!i")
_II = Struct("!ii")
_III = Struct("!iii")
_NULL = b"\xff\xff\xff\xff"
# PostgreSQL's MAXDIM and MaxArraySize: what any array value may have.
MAX_DIMS = 6
MAX_ITEMS = (1 << 30) // 8 - 1
_RAGGED = "Multidimensional arrays must have sub-arrays with matching dimensions."

# array_out quotes an element that is empty, spells NULL, or holds a
# delimiter, quote, backslash, brace or white space.
_NEEDS_QUOTE = re.compile(rb'[{}",\\ \t\n\r\v\f]')


# array_in skips only the C locale's white space: "\x1c" is an element, not a blank.
_SPACE = " \t\n\r\v\f"

def quote_element(e: bytes) -> bytes:
    if not e or _NEEDS_QUOTE.search(e) or (len(e) == 4 and e.upper() == b"NULL"):
        return b'"' + e.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return e


# ---------------------------------------------------------------- literal parsing


def parse_literal(s: str) -> list[Any]:
    """A PostgreSQL array literal as nested lists of element strings (None for NULL)."""
    t = s.strip(_SPACE)
    if t.startswith("["):
        # Dimension decoration ('[0:1]={1,2}'): the bounds do not survive into a list.
        eq = t.find("=")
        if eq < 0:
            raise InvalidTextRepresentation(f'malformed array literal: "{s}"')
        t = t[eq + 1 :].lstrip(_SPACE)
    if not t.startswith("{"):
        raise InvalidTextRepresentation(f'malformed array literal: "{s}"')
    try:
        out, pos = _parse(t, 0, 1)
    except IndexError:
        raise InvalidTextRepresentation(f'malformed array literal: "{s}"') from None
    if t[pos:].strip(_SPACE):
        raise InvalidTextRepresentation(f'malformed array literal: "{s}"')
    if not _rectangular(out):
        raise InvalidTextRepresentation(f'malformed array literal: "{s}"', detail=_RAGGED)
    return out


def _parse(s: str, pos: int, level: int) -> tuple[list[Any], int]:
    if level > MAX_DIMS:  # checked as the braces open: the depth never reaches the stack
        raise ProgramLimitExceeded(
            f"number of array dimensions ({level}) exceeds the maximum allowed ({MAX_DIMS})"
        )
    out: list[Any] = []
    pos += 1
    n = len(s)
    while True:
        while s[pos] in _SPACE:
            pos += 1
        c = s[pos]
        if c == "}" and not out:
            return out, pos + 1
        if c == "{":
            sub, pos = _parse(s, pos, level + 1)
            out.append(sub)
        elif c == '"':
            buf = []
            pos += 1
            while s[pos] != '"':
                if s[pos] == "\\":
                    pos += 1
                buf.append(s[pos])
                pos += 1
            pos += 1
            out.append("".join(buf))
        else:
            buf = []
            while pos < n and s[pos] not in ",}":
                if s[pos] == "\\":
                    pos += 1
                buf.append(s[pos])
                pos += 1
            word = "".join(buf).strip(_SPACE)
            out.append(None if word.upper() == "NULL" else word)
        while s[pos] in _SPACE:
            pos += 1
        if s[pos] == ",":
            pos += 1
        elif s[pos] == "}":
            return out, pos + 1
        else:
            raise IndexError(pos)


def _rectangular(items: list[Any]) -> bool:
    """Whether every level holds either only sub-arrays of one length or only elements."""
    level = [items]
    while level:
        nested = [isinstance(x, list) for node in level for x in node]
        if not any(nested):
            return True
        if not all(nested) or len({len(node) for node in level}) > 1:
            return False
        level = [x for node in level for x in node]
        if len({len(node) for node in level}) > 1:
            return False
    return True


def _as_list(v: Any) -> list[Any] | tuple[Any, ...]:
    if isinstance(v, list | tuple):
        return v
    if isinstance(v, str | bytes | bytearray | memoryview):
        s = v if isinstance(v, str) else text_decode(v)
        if s.lstrip(_SPACE).startswith("["):
            try:
                j = json.loads(s)
            except ValueError:
                j = None
            if isinstance(j, list):
                return j
        return parse_literal(s)
    raise InvalidTextRepresentation(f"cannot encode {type(v).__name__} as an array")


# ---------------------------------------------------------------- encoders


def _text_encoder(elem: Encoder, nested: bool) -> Encoder:
    def enc_list(items: Any) -> bytes:
        parts = []
        for x in items:
            if x is None:
                parts.append(b"NULL")
            elif nested and isinstance(x, list | tuple):
                parts.append(enc_list(x))
            else:
                parts.append(quote_element(elem(x)))
        return b"{" + b",".join(parts) + b"}"

    def encode(v: Any) -> bytes:
        if v.__class__ is str and v[:1] == "{":
            return v.encode()  # already PostgreSQL's array literal
        return enc_list(_as_list(v))

    return encode


def text_encoder(elem: Encoder) -> Encoder:
    """An array's text encoder around an element encoder (a session's date/time style)."""
    return _text_encoder(elem, True)


def _shape(v: Any, nested: bool) -> tuple[list[int], list[Any]]:
    """Dimensions and row-major elements of a rectangular nested list."""
    dims: list[int] = []
    x = v
    while isinstance(x, list | tuple):
        dims.append(len(x))
        if not x or not nested:
            break
        x = x[0]
    if dims == [0]:
        return [], []
    flat: list[Any] = []

    def walk(node: Any, depth: int) -> None:
        if len(node) != dims[depth]:
            raise InvalidTextRepresentation(
                "multidimensional arrays must have sub-arrays with matching dimensions")
        if depth + 1 == len(dims):
            for y in node:
                if nested and isinstance(y, list | tuple):
                    raise InvalidTextRepresentation(
                        "multidimensional arrays must have sub-arrays with matching dimensions")
                flat.append(y)
        else:
            for y in node:
                if not isinstance(y, list | tuple):
                    raise InvalidTextRepresentation(
                        "multidimensional arrays must have sub-arrays with matching dimensions")
                walk(y, depth + 1)

    walk(v, 0)
    return dims, flat


def _binary_encoder(elem: Encoder, elem_oid: int, nested: bool, lbound: int = 1) -> Encoder:
    def encode(v: Any) -> bytes:
        dims, flat = _shape(_as_list(v), nested)
        parts = [b""]
        has_null = 0
        for x in flat:
            if x is None:
                has_null = 1
                parts.append(_NULL)
            else:
                b = elem(x)
                parts.append(_I.pack(len(b)))
                parts.append(b)
        parts[0] = _III.pack(len(dims), has_null, elem_oid) + b"".join(
            [_II.pack(d, lbound) for d in dims])
        return b"".join(parts)

    return encode


def _vector_text(elem: Encoder) -> Encoder:
    # int2vector and oidvector print as space-separated numbers, no braces.
    def encode(v: Any) -> bytes:
        if v.__class__ is str:
            return v.encode()
        return b" ".join([elem(x) for x in _as_list(v)])

    return encode


# ---------------------------------------------------------------- decoders


def _text_decoder(elem: Decoder) -> Decoder:
    def conv(node: list[Any]) -> list[Any]:
        return [
            None if x is None else conv(x) if isinstance(x, list) else elem(x.encode())
            for x in node
        ]

    def decode(b: bytes) -> list[Any]:
        return conv(parse_literal(text_decode(b)))

    return decode


def _vector_from_text(elem: Decoder) -> Decoder:
    def decode(b: bytes) -> list[Any]:
        return [elem(w) for w in bytes(b).split()]

    return decode


def _binary_decoder(elem: Decoder) -> Decoder:
    def decode(b: bytes) -> list[Any]:
        mv = memoryview(b)
        size = len(mv)
        try:
            ndim, flags, _oid = _III.unpack_from(mv, 0)
            if ndim == 0:
                return []
            if ndim < 0:
                raise InvalidBinaryRepresentation(f"invalid number of dimensions: {ndim}")
            if ndim > MAX_DIMS:
                raise ProgramLimitExceeded(
                    f"number of array dimensions ({ndim}) exceeds the maximum allowed "
                    f"({MAX_DIMS})"
                )
            if flags not in (0, 1):
                raise InvalidBinaryRepresentation("invalid array flags")
            dims = [_II.unpack_from(mv, 12 + 8 * i)[0] for i in range(ndim)]
        except StructError:
            raise InvalidBinaryRepresentation("insufficient data left in message") from None
        pos = 12 + 8 * ndim
        total = 1
        for d in dims:
            # ArrayGetNItems: a negative or overflowing size is past the maximum.
            total *= d
            if d < 0 or total > MAX_ITEMS:
                raise ProgramLimitExceeded(
                    f"array size exceeds the maximum allowed ({MAX_ITEMS})"
                )
        if total == 0:
            return []  # any zero dimension: the empty array, as array_recv returns
        if 4 * total > size - pos:  # each element has at least its length word
            raise InvalidBinaryRepresentation("insufficient data left in message")
        flat: list[Any] = []
        for _ in range(total):
            if pos + 4 > size:
                raise InvalidBinaryRepresentation("insufficient data left in message")
            n = _I.unpack_from(mv, pos)[0]
            pos += 4
            if n == -1:
                flat.append(None)
                continue
            if n < 0 or pos + n > size:
                raise InvalidBinaryRepresentation("insufficient data left in message")
            flat.append(elem(bytes(mv[pos : pos + n])))
            pos += n
        if pos != size:
            raise InvalidBinaryRepresentation("incorrect binary data format in array")
        for d in reversed(dims[1:]):
            flat = [flat[i : i + d] for i in range(0, len(flat), d)]
        return flat

    return decode


# ---------------------------------------------------------------- registration

_ARRAYS = (
    (pgtypes.BOOL_ARRAY, pgtypes.BOOL),
    (pgtypes.BYTEA_ARRAY, pgtypes.BYTEA),
    (pgtypes.CHAR_ARRAY, pgtypes.CHAR),
    (pgtypes.NAME_ARRAY, pgtypes.NAME),
    (pgtypes.INT2_ARRAY, pgtypes.INT2),
    (pgtypes.INT4_ARRAY, pgtypes.INT4),
    (pgtypes.INT8_ARRAY, pgtypes.INT8),
    (pgtypes.TEXT_ARRAY, pgtypes.TEXT),
    (pgtypes.VARCHAR_ARRAY, pgtypes.VARCHAR),
    (1014, pgtypes.BPCHAR),
    (pgtypes.OID_ARRAY, pgtypes.OID),
    (pgtypes.FLOAT4_ARRAY, pgtypes.FLOAT4),
    (pgtypes.FLOAT8_ARRAY, pgtypes.FLOAT8),
    (pgtypes.NUMERIC_ARRAY, pgtypes.NUMERIC),
    (pgtypes.DATE_ARRAY, pgtypes.DATE),
    (pgtypes.TIME_ARRAY, pgtypes.TIME),
    (pgtypes.TIMESTAMP_ARRAY, pgtypes.TIMESTAMP),
    (pgtypes.TIMESTAMPTZ_ARRAY, pgtypes.TIMESTAMPTZ),
    (pgtypes.INTERVAL_ARRAY, pgtypes.INTERVAL),
    (pgtypes.UUID_ARRAY, pgtypes.UUID),
    (pgtypes.JSON_ARRAY, pgtypes.JSON),
    (pgtypes.JSONB_ARRAY, pgtypes.JSONB),
    (1270, pgtypes.TIMETZ),
    (1561, pgtypes.BIT),
    (1563, pgtypes.VARBIT),
    (1041, pgtypes.INET),
    (651, pgtypes.CIDR),
    (2210, pgtypes.REGCLASS),
    (2211, pgtypes.REGTYPE),
    (1008, pgtypes.REGPROC),
)

# Element type of each array type registered here.
ELEMENT_OID: dict[int, int] = {}


def register_array(array_oid: int, elem_oid: int) -> Codec:
    e = CODECS[elem_oid]
    # A list inside a json[] is one JSON value, not another dimension.
    nested = elem_oid not in (pgtypes.JSON, pgtypes.JSONB)
    ELEMENT_OID[array_oid] = elem_oid
    return register(
        array_oid,
        _text_encoder(e.text_encode, nested),
        _binary_encoder(e.binary_encode, elem_oid, nested),
        _text_decoder(e.text_decode),
        _binary_decoder(e.binary_decode),
    )


def _register_vector(oid: int, elem_oid: int) -> None:
    e = CODECS[elem_oid]
    ELEMENT_OID[oid] = elem_oid
    # Vectors are zero-based one-dimensional arrays on the wire.
    register(oid, _vector_text(e.text_encode), _binary_encoder(e.binary_encode, elem_oid, False, 0),
             _vector_from_text(e.text_decode), _binary_decoder(e.binary_decode))


def register_all() -> None:
    register_arrays(_ARRAYS)
    _register_vector(pgtypes.INT2VECTOR, pgtypes.INT2)
    _register_vector(pgtypes.OIDVECTOR, pgtypes.OID)



def register_arrays(pairs: tuple[tuple[int, int], ...]) -> None:
    """Array codecs for (array OID, element OID) pairs whose element codecs are registered."""
    for array_oid, elem_oid in pairs:
        register_array(array_oid, elem_oid)
