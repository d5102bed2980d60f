"""DataRow encoding for a batch of rows: the proxy's hot path.

`row_encoder` looks at a result's column types and formats once and returns a
function specialised for them (generated source, compiled once per column
shape and cached), so each value costs one inlined fast path, chosen per
column by OID, with the general encoder as fallback when the value's Python
type is not the one the fast path expects. Where the install built `_rows.c`,
the fast paths run in C (a fifth of the generated code's time per row) and any
other value goes through the same Python source, one value at a time
(`_one_source`): the bytes and errors are the generated encoder's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime
from struct import Struct
from struct import error as StructError
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import InvalidParameterValue, NumericValueOutOfRange, ProtocolViolation

from . import arrays, datetimes
from .pgcalendar import ISO, Style
from .registry import BINARY, CODECS, TEXT, Encoder, any_text

RowsEncoder = Callable[[Sequence[Sequence[Any]]], bytes]

_I = Struct("!i")
_IH = Struct("!ih")
_NULL = b"\xff\xff\xff\xff"

# Length prefixes and DataRow headers for the sizes nearly every value and row
# has, so the loop indexes a list instead of calling struct.
_LEN_CACHE = 4096
_LEN = [_I.pack(i) for i in range(_LEN_CACHE)]
_HDR_CACHE = 2048
_HDR: dict[int, list[bytes]] = {}


def _headers(ncols: int) -> list[bytes]:
    table = _HDR.get(ncols)
    if table is None:
        table = _HDR[ncols] = [b"D" + _IH.pack(t, ncols) for t in range(_HDR_CACHE)]
    return table


def _text_oids(*oids: int) -> frozenset[int]:
    return frozenset(oids)


# Columns whose wire bytes are the UTF-8 of a str value, in both formats.
_STR_OIDS = _text_oids(pgtypes.TEXT, pgtypes.VARCHAR, pgtypes.BPCHAR, pgtypes.NAME,
                       pgtypes.UNKNOWN, pgtypes.JSON, pgtypes.XML, 0)
_INT_OIDS = _text_oids(pgtypes.INT2, pgtypes.INT4, pgtypes.INT8, pgtypes.OID)
_BIN_FIXED = {pgtypes.INT2: ("h", int), pgtypes.INT4: ("i", int), pgtypes.INT8: ("q", int),
              pgtypes.FLOAT8: ("d", float)}

# Each kind is a fast path written as source: it sets b{i} (the value's
# bytes), n{i} (their length) and h{i} (the length prefix), or, for the
# fixed-width binary kinds, p{i} (prefix and value in one piece) and n{i}.
_VAR_TAIL = "n{i} = len_(b{i}); h{i} = L[n{i}] if n{i} < {LC} else P(n{i})"
_SNIPPETS: dict[str, str] = {
    "int": """
        if v{i}.__class__ is int:
            b{i} = b'%d' % v{i}; n{i} = len_(b{i}); h{i} = L[n{i}]
        elif v{i} is None:
            b{i} = b''; n{i} = 0; h{i} = NULL
        else:
            b{i} = E{i}(v{i}); """ + _VAR_TAIL,
    "str": """
        if v{i}.__class__ is str:
            b{i} = v{i}.encode(); """ + _VAR_TAIL + """
        elif v{i} is None:
            b{i} = b''; n{i} = 0; h{i} = NULL
        else:
            b{i} = E{i}(v{i}); """ + _VAR_TAIL,
    "float8": """
        if v{i}.__class__ is float and -1e15 < v{i} < 1e15:
            b{i} = repr_(v{i}).removesuffix('.0').encode(); n{i} = len_(b{i}); h{i} = L[n{i}]
        elif v{i} is None:
            b{i} = b''; n{i} = 0; h{i} = NULL
        else:
            b{i} = E{i}(v{i}); """ + _VAR_TAIL,
    # A backend's 'YYYY-MM-DD HH:MM:SS[.ffffff]' text is already PostgreSQL's output
    # (timestamp_out trims the fraction's trailing zeros: a value with some is not).
    "timestamp": """
        if v{i}.__class__ is str and len_(v{i}) == 19 and v{i}[10] == ' ':
            b{i} = v{i}.encode(); n{i} = 19; h{i} = L19
        elif v{i}.__class__ is str and v{i}[19:20] == '.' and v{i}[10:11] == ' ' and \\
                len_(v{i}) < 27 and v{i}[-1] != '0' and v{i}[20:].isdigit():
            b{i} = v{i}.encode(); n{i} = len_(b{i}); h{i} = L[n{i}]
        elif v{i}.__class__ is datetime_ and v{i}.tzinfo is None:
            if v{i}.microsecond:
                b{i} = v{i}.isoformat(' ').rstrip('0').encode(); n{i} = len_(b{i}); h{i} = L[n{i}]
            else:
                b{i} = v{i}.isoformat(' ').encode(); n{i} = 19; h{i} = L19
        elif v{i} is None:
            b{i} = b''; n{i} = 0; h{i} = NULL
        else:
            b{i} = E{i}(v{i}); """ + _VAR_TAIL,
    # A driver's date (MySQL's) in ISO style: date_out's own digits.
    "date": """
        if v{i}.__class__ is date_:
            b{i} = v{i}.isoformat().encode(); n{i} = 10; h{i} = L10
        elif v{i} is None:
            b{i} = b''; n{i} = 0; h{i} = NULL
        else:
            b{i} = E{i}(v{i}); """ + _VAR_TAIL,
    "bool": """
        if v{i} is True:
            b{i} = b't'; n{i} = 1; h{i} = L1
        elif v{i} is False:
            b{i} = b'f'; n{i} = 1; h{i} = L1
        elif v{i} is None:
            b{i} = b''; n{i} = 0; h{i} = NULL
        else:
            b{i} = E{i}(v{i}); """ + _VAR_TAIL,
    "any": """
        if v{i} is None:
            b{i} = b''; n{i} = 0; h{i} = NULL
        else:
            b{i} = E{i}(v{i}); """ + _VAR_TAIL,
    "fixed": """
        if v{i}.__class__ is T{i}:
            p{i} = F{i}(W{i}, v{i}); n{i} = W{i}
        elif v{i} is None:
            p{i} = NULL; n{i} = 0
        else:
            p{i} = L[W{i}] + E{i}(v{i}); n{i} = W{i}""",
}


def _kind(oid: int, fmt: int, style: Style) -> str:
    if oid in _STR_OIDS:
        return "str"
    if fmt == TEXT:
        if oid in _INT_OIDS:
            return "int"
        if oid == pgtypes.FLOAT8:
            return "float8"
        if oid == pgtypes.TIMESTAMP and style.dates == "ISO":
            return "timestamp"
        if oid == pgtypes.DATE and style.dates == "ISO":
            return "date"
        if oid == pgtypes.BOOL:
            return "bool"
    elif oid in _BIN_FIXED:
        return "fixed"
    return "any"


def _source(kinds: tuple[str, ...]) -> str:
    n = len(kinds)
    args = ", ".join(f"E{i}, T{i}, F{i}, W{i}" for i in range(n))
    unpack = ", ".join(f"v{i}" for i in range(n)) + ("," if n == 1 else "")
    lines = [
        f"def make({args}):",
        "    def encode_rows(rows, L=L, P=P, NULL=NULL, HDR=HDR, HP=HP, L1=L1, L19=L19,",
        "                    L10=L10, datetime_=datetime_, date_=date_,",
        "                    len_=len, str_=str, repr_=repr):",
        "        out = []",
        "        ext = out.extend",
        f"        for {unpack} in rows:",
    ]
    pieces = []
    for i, k in enumerate(kinds):
        body = _SNIPPETS[k].format(i=i, LC=_LEN_CACHE)
        lines.extend("    " + ln for ln in body.strip("\n").split("\n"))
        pieces.append(f"p{i}" if k == "fixed" else f"h{i}, b{i}")
    total = " + ".join([str(6 + 4 * n)] + [f"n{i}" for i in range(n)])
    lines += [
        f"            t = {total}",
        f"            ext((HDR[t] if t < {_HDR_CACHE} else HP(t), {', '.join(pieces)}))",
        "        return b''.join(out)",
        "    return encode_rows",
    ]
    return "\n".join(lines) + "\n"


# What the snippets' generated code reads besides its arguments.
_NAMES: dict[str, Any] = {
    "L": _LEN, "P": _I.pack, "NULL": _NULL, "L1": _LEN[1], "L19": _LEN[19], "L10": _LEN[10],
    "datetime_": datetime, "date_": date,
}


def _one_source(kind: str) -> str:
    """One value's bytes (length prefix included) by a kind's fast path and its fallback:
    the compiled encoder's slow path, from the same source as the generated encoder."""
    body = _SNIPPETS[kind].format(i=0, LC=_LEN_CACHE)
    lines = [
        "def make(E0, T0, F0, W0):",
        "    def one(v0, L=L, P=P, NULL=NULL, L1=L1, L19=L19, L10=L10, datetime_=datetime_,",
        "            date_=date_, len_=len, str_=str, repr_=repr):",
        *("    " + ln[4:] for ln in body.strip("\n").split("\n")),
        "        return p0" if kind == "fixed" else "        return h0 + b0",
        "    return one",
    ]
    return "\n".join(lines) + "\n"


try:  # built from _rows.c when a C compiler was at hand (pyproject.toml)
    from pgproxy.types._rows import encode as _compiled
except ImportError:  # pragma: no cover - depends on the install
    _compiled = None

# The compiled encoder's code for each kind (a fixed binary width: by its type).
_CODES = {"int": "i", "str": "s", "float8": "f", "timestamp": "t", "date": "d", "bool": "b",
          "any": "a"}
_FIXED_CODES = {pgtypes.INT2: "h", pgtypes.INT4: "l", pgtypes.INT8: "q", pgtypes.FLOAT8: "D"}
_ONES: dict[str, Callable[..., Callable[[Any], bytes]]] = {}


def _one(kind: str) -> Callable[..., Callable[[Any], bytes]]:
    make = _ONES.get(kind)
    if make is None:
        ns: dict[str, Any] = dict(_NAMES)
        exec(compile(_one_source(kind), f"<row_value {kind}>", "exec"), ns)
        make = _ONES[kind] = ns["make"]
    return make


_FACTORIES: dict[tuple[str, ...], Callable[..., RowsEncoder]] = {}
_EMPTY_ROW = b"D" + _IH.pack(6, 0)
_MAX_FACTORIES = 512


def _factory(kinds: tuple[str, ...]) -> Callable[..., RowsEncoder]:
    make = _FACTORIES.get(kinds)
    if make is None:
        n = len(kinds)
        hdr = _headers(n)
        ns: dict[str, Any] = {
            **_NAMES, "HDR": hdr, "HP": lambda t, n=n: b"D" + _IH.pack(t, n),
        }
        exec(compile(_source(kinds), f"<row_encoder {''.join(k[0] for k in kinds)}>", "exec"), ns)
        make = ns["make"]
        if len(_FACTORIES) >= _MAX_FACTORIES:
            _FACTORIES.clear()
        _FACTORIES[kinds] = make
    return make


def _compiling(
    python: RowsEncoder, type_oids: Sequence[int], formats: list[int], kinds: tuple[str, ...],
    args: list[Any],
) -> RowsEncoder:
    """The compiled encoder (_rows.c) for these columns: each value by its kind's fast path
    in C, else by the same Python the generated encoder runs; a batch it does not take
    (rows not in a list or tuple, a row not a tuple or list of the columns' count) by
    the generated encoder `python`."""
    codes = "".join(
        _FIXED_CODES[oid] if k == "fixed"
        else "T" if k == "any" and oid == pgtypes.TIMESTAMP and f == BINARY
        else _CODES[k]
        for oid, f, k in zip(type_oids, formats, kinds, strict=True)).encode()
    slow = tuple(_one(k)(*args[4 * i : 4 * i + 4]) for i, k in enumerate(kinds))
    compiled = _compiled

    def encode_rows(rows: Sequence[Sequence[Any]]) -> bytes:
        out = compiled(rows, codes, slow)
        return python(rows) if out is None else out

    return encode_rows


def normalize_formats(formats: Sequence[int], ncols: int) -> list[int]:
    """Bind's result-format codes for each column: none means all text, one applies to all."""
    if not formats:
        return [TEXT] * ncols
    if len(formats) == 1:
        return [formats[0]] * ncols
    if len(formats) != ncols:
        raise ProtocolViolation(
            f"bind message has {len(formats)} result formats but query has {ncols} columns")
    return list(formats)


def column_encoder(oid: int, fmt: int, style: Style | None = None) -> Encoder:
    """The value encoder for one column; unknown types go as text, by Python type.

    `style` is the session's TimeZone, DateStyle and IntervalStyle when they
    are not the defaults: date/time values are printed in them.
    """
    if fmt not in (TEXT, BINARY):
        raise InvalidParameterValue(f"unsupported format code: {fmt}")
    if style is not None and style is not ISO and fmt == TEXT and style != ISO:
        styled = _styled(oid, style)
        if styled is not None:
            return styled
    codec = CODECS.get(oid)
    if codec is None:
        return any_text
    return codec.binary_encode if fmt == BINARY else codec.text_encode


@functools.lru_cache(maxsize=128)
def _styled(oid: int, style: Style) -> Encoder | None:
    """A date/time type's (or an array of one's) text encoder for a session style."""
    elem_oid = arrays.ELEMENT_OID.get(oid)
    if elem_oid is None:
        return datetimes.text_encoder(oid, style)
    elem = datetimes.text_encoder(elem_oid, style)
    return None if elem is None else arrays.text_encoder(elem)


def row_encoder(
    type_oids: Sequence[int], formats: Sequence[int], *, style: Style | None = None
) -> RowsEncoder:
    """A function from a batch of rows to the bytes of their DataRow messages.

    Call once per result (per RowDescription); then call the returned
    function for each batch. Rows are sequences of Python values in column
    order, None for NULL. Values of the wrong Python type for a column are
    converted (a str for any type, an int for a bool, …); values that cannot
    be raise a PgError with the matching SQLSTATE. `formats` are Bind's
    result-format codes (none: all text; one: all columns). `style`: see
    `column_encoder`.
    """
    if not type_oids:  # `SELECT` of no columns: a DataRow of no fields per row
        return lambda rows: _EMPTY_ROW * len(rows)
    fmts = normalize_formats(formats, len(type_oids))
    st = style or ISO
    kinds = tuple(_kind(oid, f, st) for oid, f in zip(type_oids, fmts, strict=True))
    args: list[Any] = []
    for oid, f, k in zip(type_oids, fmts, kinds, strict=True):
        enc = column_encoder(oid, f, style)
        if k == "fixed":
            code, pytype = _BIN_FIXED[oid]
            st = Struct("!i" + code)
            args += [enc, pytype, st.pack, st.size - 4]
        else:
            args += [enc, None, None, None]
    fn = _factory(kinds)(*args)
    if _compiled is not None:
        fn = _compiling(fn, type_oids, fmts, kinds, args)
    if not any(k == "fixed" for k in kinds):
        return fn

    def encode_rows(rows: Sequence[Sequence[Any]]) -> bytes:
        try:
            return fn(rows)
        except StructError:
            raise NumericValueOutOfRange("integer out of range for its column type") from None

    return encode_rows
