"""Range and multirange values: PostgreSQL's text form, canonical form and binary format.

The proxy holds a range as PostgreSQL's canonical output text (`[1,3)`,
`empty`, `["2000-01-01 00:00:00","2000-01-02 00:00:00")`) and a multirange as
`{[1,3),[5,7)}`: the text a backend stores and compares (equal values have one
spelling). Reading a value canonicalises it as rangetypes.c does: discrete
ranges (int4, int8, date) become `[)`, a range with equal bounds that are not
both inclusive is `empty`, an infinite bound is exclusive; a multirange's
ranges are sorted and merged where they overlap or touch (multirangetypes.c).
Bounds are read and written by the subtype's own codecs; timestamptz bounds
are kept in UTC. Binary formats are range_send/range_recv (a flags byte, then
each finite bound as a length and the subtype's binary value) and
multirange_send (a count, then each range as a length and range_send's bytes).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from struct import Struct
from typing import Any, NamedTuple

from pgproxy import pgtypes
from pgproxy.errors import (
    DataException,
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    NullValueNotAllowed,
    NumericValueOutOfRange,
)
from pgproxy.errors import SyntaxError as PgSyntaxError

from .registry import CODECS, any_text, register
from .strings import text_decode

_I = Struct("!i")

# range flags (rangetypes.h)
EMPTY, LB_INC, UB_INC, LB_INF, UB_INF = 0x01, 0x02, 0x04, 0x08, 0x10


class Kind(NamedTuple):
    """A built-in range type: its subtype, multirange, arrays, and the step of a discrete one."""

    name: str
    oid: int
    array_oid: int
    subtype: int
    multi_name: str
    multi_oid: int
    multi_array_oid: int
    discrete: bool


_DISCRETE = frozenset({pgtypes.INT4, pgtypes.INT8, pgtypes.DATE})
KINDS: tuple[Kind, ...] = tuple(
    Kind(name, oid, array, sub, mname, moid, marray, sub in _DISCRETE)
    for name, oid, array, sub, mname, moid, marray in pgtypes.RANGES
)
BY_OID: dict[int, Kind] = {k.oid: k for k in KINDS}
BY_MULTI_OID: dict[int, Kind] = {k.multi_oid: k for k in KINDS}
_INT_MAX = {pgtypes.INT4: 2**31 - 1, pgtypes.INT8: 2**63 - 1}


class Range(NamedTuple):
    """A range read into its subtype's values; lower/upper None when infinite."""

    empty: bool
    lower: Any = None
    upper: Any = None
    lower_inc: bool = False
    upper_inc: bool = False


_EMPTY = Range(True)


# ---------------------------------------------------------------- text parsing


def _bad(text: str, detail: str = "") -> InvalidTextRepresentation:
    return InvalidTextRepresentation(f'malformed range literal: "{text}"', detail=detail or None)


def _bound(s: str, pos: int, stops: str, text: str) -> tuple[str | None, int]:
    """One bound's text from `pos` up to a stop character; None when empty and unquoted."""
    out: list[str] = []
    quoted = False
    in_quotes = False
    n = len(s)
    while pos < n:
        ch = s[pos]
        if not in_quotes and ch in stops:
            break
        if ch == "\\":
            pos += 1
            if pos >= n:
                raise _bad(text, "Unexpected end of input.")
            out.append(s[pos])
        elif ch == '"':
            if in_quotes and pos + 1 < n and s[pos + 1] == '"':
                out.append('"')  # "" inside quotes is one quote
                pos += 1
            else:
                in_quotes = not in_quotes
                quoted = True
        else:
            out.append(ch)
        pos += 1
    if in_quotes or pos >= n:
        raise _bad(text, "Unexpected end of input.")
    if not out and not quoted:
        return None, pos
    return "".join(out), pos


def parse_text(text: str) -> tuple[int, str | None, str | None]:
    """range_parse: (flags, lower text, upper text) of a range literal."""
    s = text.strip()
    if s.lower() == "empty":
        return EMPTY, None, None
    if not s or s[0] not in "[(":
        raise _bad(text, "Missing left parenthesis or bracket.")
    flags = LB_INC if s[0] == "[" else 0
    lower, pos = _bound(s, 1, ",)]", text)
    if s[pos] != ",":
        raise _bad(text, "Too few columns.")
    upper, pos = _bound(s, pos + 1, ",)]", text)
    if s[pos] == ",":
        raise _bad(text, "Too many columns.")
    if s[pos] == "]":
        flags |= UB_INC
    if s[pos + 1 :].strip():
        raise _bad(text, "Junk after right parenthesis or bracket.")
    if lower is None:
        flags = (flags | LB_INF) & ~LB_INC
    if upper is None:
        flags = (flags | UB_INF) & ~UB_INC
    return flags, lower, upper


# ---------------------------------------------------------------- canonical form


def _key(v: Any) -> tuple[int, Any]:
    """A sort key for a bound value: 'infinity' / '-infinity' (dates, timestamps) outside."""
    if v.__class__ is str:
        return (-1, 0) if v.startswith("-") else (1, 0)
    return (0, v)


def _step(kind: Kind, v: Any) -> Any:
    """The next value of a discrete subtype (int4, int8, date)."""
    if kind.subtype == pgtypes.DATE:
        try:
            return v + _dt.timedelta(days=1)
        except OverflowError:
            raise DataException("date out of range") from None
    if v + 1 > _INT_MAX[kind.subtype]:
        raise NumericValueOutOfRange(
            "integer out of range" if kind.subtype == pgtypes.INT4 else "bigint out of range"
        )
    return v + 1


def make(kind: Kind, lower: Any, upper: Any, lower_inc: bool, upper_inc: bool) -> Range:
    """make_range: check the bounds' order, canonicalise a discrete range, detect empty."""
    if lower is None:
        lower_inc = False
    if upper is None:
        upper_inc = False
    if lower is not None and upper is not None:
        lk, uk = _key(lower), _key(upper)
        if lk > uk:
            raise DataException("range lower bound must be less than or equal to range upper bound")
        if lk == uk and not (lower_inc and upper_inc):
            return _EMPTY
    if kind.discrete:  # date_canonical leaves 'infinity' as written
        if lower is not None and not lower_inc and not isinstance(lower, str):
            lower, lower_inc = _step(kind, lower), True
        if upper is not None and upper_inc and not isinstance(upper, str):
            upper, upper_inc = _step(kind, upper), False
        if lower is not None and upper is not None and _key(lower) == _key(upper):
            return _EMPTY
    return Range(False, lower, upper, lower_inc, upper_inc)


def read(kind: Kind, text: str) -> Range:
    """A range literal of this kind, read and canonicalised."""
    flags, lo, up = parse_text(text)
    if flags & EMPTY:
        return _EMPTY
    decode = CODECS[kind.subtype].text_decode
    lower = None if lo is None else decode(lo.strip().encode())
    upper = None if up is None else decode(up.strip().encode())
    return make(kind, lower, upper, bool(flags & LB_INC), bool(flags & UB_INC))


_NEEDS_QUOTE = re.compile(r'[",\\()\[\]\s]')


def _quote(s: str) -> str:
    if not s or _NEEDS_QUOTE.search(s):
        return '"' + s.replace("\\", "\\\\").replace('"', '""') + '"'
    return s


def text_of(kind: Kind, r: Range) -> str:
    """range_out: the canonical text of a range."""
    if r.empty:
        return "empty"
    encode = CODECS[kind.subtype].text_encode
    lower = "" if r.lower is None else _quote(encode(r.lower).decode())
    upper = "" if r.upper is None else _quote(encode(r.upper).decode())
    return f"{'[' if r.lower_inc else '('}{lower},{upper}{']' if r.upper_inc else ')'}"


def canonical(kind: Kind, text: str) -> str:
    """A range literal in its canonical text (the form the proxy stores and compares)."""
    return text_of(kind, read(kind, text))


# ---------------------------------------------------------------- multiranges


def _split_multi(text: str) -> list[str]:
    """multirange_in: the range literals inside '{…}'."""
    s = text.strip()
    if len(s) < 2 or s[0] != "{" or s[-1] != "}":
        raise InvalidTextRepresentation(
            f'malformed multirange literal: "{text}"', detail="Missing left brace."
        )
    body, out, pos = s[1:-1], [], 0
    n = len(body)
    while True:
        while pos < n and body[pos].isspace():
            pos += 1
        if pos >= n:
            if out:  # '{[1,2),}'
                raise InvalidTextRepresentation(f'malformed multirange literal: "{text}"')
            return out
        start = pos
        if body[pos : pos + 5].lower() == "empty":
            pos += 5
        else:
            in_quotes = False
            while pos < n:
                ch = body[pos]
                pos += 1
                if ch == "\\":
                    pos += 1
                elif ch == '"':
                    in_quotes = not in_quotes
                elif not in_quotes and ch in ")]":
                    break
        out.append(body[start:pos])
        while pos < n and body[pos].isspace():
            pos += 1
        if pos >= n:
            return out
        if body[pos] != ",":
            raise InvalidTextRepresentation(
                f'malformed multirange literal: "{text}"',
                detail="Expected comma or end of multirange.",
            )
        pos += 1


def _lower_key(r: Range) -> tuple[Any, ...]:
    return (0,) if r.lower is None else (1, _key(r.lower), 0 if r.lower_inc else 1)


def merge(ranges: list[Range]) -> list[Range]:
    """multirange_canonicalize: sorted by lower bound, overlapping or touching ranges merged."""
    items = sorted((r for r in ranges if not r.empty), key=_lower_key)
    out: list[Range] = []
    for r in items:
        if out:
            last = out[-1]
            touches = last.upper is None or r.lower is None
            if not touches:
                lk, uk = _key(r.lower), _key(last.upper)
                touches = uk > lk or (uk == lk and (last.upper_inc or r.lower_inc))
            if touches:
                if last.upper is not None and (
                    r.upper is None
                    or _key(r.upper) > _key(last.upper)
                    or (_key(r.upper) == _key(last.upper) and r.upper_inc)
                ):
                    last = last._replace(upper=r.upper, upper_inc=r.upper_inc)
                out[-1] = last
                continue
        out.append(r)
    return out


def _lower_bound(r: Range) -> tuple[Any, ...]:
    """A lower bound's place on the line: -infinity first; an exclusive one just after v."""
    return (0,) if r.lower is None else (1, _key(r.lower), 0 if r.lower_inc else 1)


def _upper_bound(r: Range) -> tuple[Any, ...]:
    """An upper bound's place: +infinity last; an exclusive one just before v."""
    return (2,) if r.upper is None else (1, _key(r.upper), 0 if r.upper_inc else -1)


def contains(a: Range, b: Range) -> bool:
    """range_contains: a @> b (the empty range is in every range)."""
    if b.empty:
        return True
    if a.empty:
        return False
    return _lower_bound(a) <= _lower_bound(b) and _upper_bound(b) <= _upper_bound(a)


def overlaps(a: Range, b: Range) -> bool:
    """range_overlaps: a && b."""
    if a.empty or b.empty:
        return False
    return _lower_bound(a) <= _upper_bound(b) and _lower_bound(b) <= _upper_bound(a)


def read_multi(kind: Kind, text: str) -> list[Range]:
    return merge([read(kind, part) for part in _split_multi(text)])


def multi_text_of(kind: Kind, ranges: list[Range]) -> str:
    return "{" + ",".join(text_of(kind, r) for r in ranges) + "}"


def canonical_multi(kind: Kind, text: str) -> str:
    return multi_text_of(kind, read_multi(kind, text))


# ---------------------------------------------------------------- values the proxy binds

_FLAGS = {"[]": (True, True), "[)": (True, False), "(]": (False, True), "()": (False, False)}


def constant(oid: int, text: str) -> str:
    """'…'::int4range or '…'::int4multirange: the canonical text."""
    return CODECS[oid].text_decode(text.encode())


def _subvalue(kind: Kind, value: Any) -> Any:
    """A constructor's bound as the subtype's value (a parameter decoded as any type)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else any_text(value).decode()
    return CODECS[kind.subtype].text_decode(text.strip().encode())


def construct(oid: int, args: list[Any], params: Sequence[Any]) -> str:
    """int4range(lower, upper [, bounds]) or int4multirange(range, …) of arguments that are
    texts (["t", text]), parameters (["p", index]) or NULL (None)."""

    def value(arg: Any) -> Any:
        if arg is None:
            return None
        if arg[0] == "t":
            return arg[1]
        if arg[0] == "c":  # a nested constructor
            return construct(arg[1], arg[2], params)
        return params[arg[1]] if arg[1] < len(params) else None

    values = [value(a) for a in args]
    multi = BY_MULTI_OID.get(oid)
    if multi is not None:
        if any(v is None for v in values):
            raise NullValueNotAllowed("multirange values cannot contain null members")
        return multi_text_of(multi, merge([_value(multi, v) for v in values]))
    kind = BY_OID[oid]
    bounds = values[2] if len(values) > 2 else "[)"
    if bounds is None:
        raise NullValueNotAllowed("range constructor flags argument must not be null")
    flags = _FLAGS.get(str(bounds))
    if flags is None:
        raise PgSyntaxError(
            "invalid range bound flags", hint='Valid values are "[]", "[)", "(]", and "()".'
        )
    lower, upper = _subvalue(kind, values[0]), _subvalue(kind, values[1])
    return text_of(kind, make(kind, lower, upper, *flags))


# ---------------------------------------------------------------- binary


def range_binary(kind: Kind, r: Range) -> bytes:
    """range_send."""
    if r.empty:
        return bytes((EMPTY,))
    flags = (LB_INC if r.lower_inc else 0) | (UB_INC if r.upper_inc else 0)
    parts = [b""]
    encode = CODECS[kind.subtype].binary_encode
    for value, inf in ((r.lower, LB_INF), (r.upper, UB_INF)):
        if value is None:
            flags |= inf
        else:
            data = encode(value)
            parts.append(_I.pack(len(data)) + data)
    parts[0] = bytes((flags,))
    return b"".join(parts)


def range_from_binary(kind: Kind, b: bytes) -> Range:
    """range_recv."""
    data = bytes(b)
    if not data:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    flags = data[0]
    if flags & EMPTY:
        return _EMPTY
    decode = CODECS[kind.subtype].binary_decode
    pos = 1
    bounds: list[Any] = []
    for inf in (LB_INF, UB_INF):
        if flags & inf:
            bounds.append(None)
            continue
        if pos + 4 > len(data):
            raise InvalidBinaryRepresentation("insufficient data left in message")
        (n,) = _I.unpack_from(data, pos)
        if n < 0 or pos + 4 + n > len(data):
            raise InvalidBinaryRepresentation("insufficient data left in message")
        bounds.append(decode(data[pos + 4 : pos + 4 + n]))
        pos += 4 + n
    if pos != len(data):
        raise InvalidBinaryRepresentation("incorrect binary data format")
    return make(kind, bounds[0], bounds[1], bool(flags & LB_INC), bool(flags & UB_INC))


def _text(v: Any) -> str:
    """What a backend holds as a range's text (a blob shown as bytea's text, for the error)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        return "\\x" + bytes(v).hex()
    return str(v)


def _value(kind: Kind, v: Any) -> Range:
    """A range value as the proxy holds it (canonical text) or already read."""
    return v if isinstance(v, Range) else read(kind, _text(v))


def _multi_value(kind: Kind, v: Any) -> list[Range]:
    if isinstance(v, list):
        return merge([_value(kind, r) for r in v])
    return read_multi(kind, _text(v))


# ---------------------------------------------------------------- registration


def _register(kind: Kind) -> None:
    def text_encode(v: Any) -> bytes:
        # the backend keeps the canonical text, unless a literal reached a column uncast
        return text_of(kind, _value(kind, v)).encode()

    def binary_encode(v: Any) -> bytes:
        return range_binary(kind, _value(kind, v))

    def text_decode_(b: bytes) -> str:
        return canonical(kind, text_decode(b))

    def binary_decode(b: bytes) -> str:
        return text_of(kind, range_from_binary(kind, b))

    register(kind.oid, text_encode, binary_encode, text_decode_, binary_decode)

    def multi_text_encode(v: Any) -> bytes:
        return multi_text_of(kind, _multi_value(kind, v)).encode()

    def multi_binary_encode(v: Any) -> bytes:
        ranges = [range_binary(kind, r) for r in _multi_value(kind, v)]
        return _I.pack(len(ranges)) + b"".join(_I.pack(len(r)) + r for r in ranges)

    def multi_text_decode(b: bytes) -> str:
        return canonical_multi(kind, text_decode(b))

    def multi_binary_decode(b: bytes) -> str:
        data = bytes(b)
        if len(data) < 4:
            raise InvalidBinaryRepresentation("insufficient data left in message")
        (count,) = _I.unpack_from(data, 0)
        pos, ranges = 4, []
        for _ in range(count):
            if pos + 4 > len(data):
                raise InvalidBinaryRepresentation("insufficient data left in message")
            (n,) = _I.unpack_from(data, pos)
            if n < 0 or pos + 4 + n > len(data):
                raise InvalidBinaryRepresentation("insufficient data left in message")
            ranges.append(range_from_binary(kind, data[pos + 4 : pos + 4 + n]))
            pos += 4 + n
        if pos != len(data):
            raise InvalidBinaryRepresentation("incorrect binary data format")
        return multi_text_of(kind, merge(ranges))

    register(
        kind.multi_oid,
        multi_text_encode,
        multi_binary_encode,
        multi_text_decode,
        multi_binary_decode,
    )


for _kind in KINDS:
    _register(_kind)

# array OID -> element OID, for arrays.register_all()
ARRAYS = tuple((k.array_oid, k.oid) for k in KINDS) + tuple(
    (k.multi_array_oid, k.multi_oid) for k in KINDS
)
