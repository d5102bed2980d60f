"""Codecs for bool, int2/int4/int8, oid, float4/float8 and numeric."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from struct import Struct
from struct import error as StructError
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import (
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)

from .registry import PYTYPE_TEXT, register
from .strings import text_decode

_H = Struct("!h")
_I = Struct("!i")
_Q = Struct("!q")
_U = Struct("!I")
_F = Struct("!f")
_D = Struct("!d")
_NUMHDR = Struct("!hhHH")

# ---------------------------------------------------------------- bool

_TRUE = frozenset({"t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"})
_FALSE = frozenset({"f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"})


def parse_bool(s: str) -> bool:
    """PostgreSQL's boolin: the words and unique prefixes it accepts."""
    w = s.strip().lower()
    if w in _TRUE:
        return True
    if w in _FALSE:
        return False
    raise InvalidTextRepresentation(f'invalid input syntax for type boolean: "{s}"')


def _truth(v: Any) -> bool:
    if v is True or v is False:
        return v
    if isinstance(v, str):
        return parse_bool(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return parse_bool(text_decode(v))
    # MySQL and SQLite keep booleans as integers.
    return bool(v)


def bool_text(v: Any) -> bytes:
    return b"t" if _truth(v) else b"f"


def bool_binary(v: Any) -> bytes:
    return b"\x01" if _truth(v) else b"\x00"


def bool_from_text(b: bytes) -> bool:
    return parse_bool(text_decode(b))


def bool_from_binary(b: bytes) -> bool:
    if len(b) != 1:
        raise InvalidBinaryRepresentation("incorrect binary data format for type boolean")
    return b[0] != 0


# ---------------------------------------------------------------- integers

_INT_NAMES = {pgtypes.INT2: "smallint", pgtypes.INT4: "integer", pgtypes.INT8: "bigint",
              pgtypes.OID: "oid"}


def to_int(v: Any, typname: str = "bigint") -> int:
    """An int from any value a backend may hand for an integer column."""
    if v.__class__ is int:
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, str | bytes | bytearray | memoryview):
        # bytes that are not text (a blob in an integer-typed column) are not a number
        s = v if isinstance(v, str) else bytes(v).decode("utf-8", "backslashreplace")
        try:
            return int(s)
        except ValueError:
            pass
        try:
            # SQLite can hold '3.0' in an INTEGER column; PostgreSQL would
            # have rounded it on the way in.
            v = Decimal(s.strip())
        except InvalidOperation:
            raise InvalidTextRepresentation(
                f'invalid input syntax for type {typname}: "{s}"'
            ) from None
    if isinstance(v, Decimal):
        # adjusted() first: int() of 1e999999999 would build a billion-digit integer.
        if not v.is_finite() or v.adjusted() > 20:
            raise NumericValueOutOfRange(f"{typname} out of range")
        return int(v.to_integral_value(ROUND_HALF_UP))
    if isinstance(v, float):
        if not math.isfinite(v):
            raise NumericValueOutOfRange(f"{typname} out of range")
        return round(v)
    raise InvalidTextRepresentation(f"cannot encode {type(v).__name__} as {typname}")


def int_text(v: Any) -> bytes:
    if v.__class__ is int:
        return b"%d" % v
    if v.__class__ is str and v.isascii() and v.isdigit():
        return v.encode()
    return b"%d" % to_int(v)


def _int_binary(st: Struct, oid: int) -> Any:
    pack = st.pack
    name = _INT_NAMES[oid]

    def encode(v: Any) -> bytes:
        try:
            return pack(v if v.__class__ is int else to_int(v, name))
        except StructError:
            raise NumericValueOutOfRange(f"{name} out of range") from None

    return encode


def _int_from_text(oid: int, lo: int, hi: int) -> Any:
    name = _INT_NAMES[oid]

    def decode(b: bytes) -> int:
        s = text_decode(b)
        try:
            n = int(s)
        except ValueError:
            raise InvalidTextRepresentation(
                f'invalid input syntax for type {name}: "{s}"'
            ) from None
        if not lo <= n <= hi:
            raise NumericValueOutOfRange(f'value "{s}" is out of range for type {name}')
        return n

    return decode


def _int_from_binary(st: Struct, oid: int) -> Any:
    unpack = st.unpack
    size = st.size
    name = _INT_NAMES[oid]

    def decode(b: bytes) -> int:
        if len(b) != size:
            raise InvalidBinaryRepresentation(f"incorrect binary data format for type {name}")
        return unpack(b)[0]

    return decode


# ---------------------------------------------------------------- floats


def _shortest(digits: str, decpt: int, fixed_max: int) -> str:
    """Ryu-style shortest output laid out as PostgreSQL's d2s/f2s do.

    `digits` are the significant digits without trailing zeros and `decpt`
    the position of the decimal point relative to them. PostgreSQL prints
    fixed notation for -3 <= decpt <= fixed_max (15 for float8, 6 for float4)
    and exponent notation otherwise; Python's repr switches at 16, so the two
    differ for 1e15 <= |x| < 1e16 and in how integral values end.
    """
    n = len(digits)
    if -3 <= decpt <= fixed_max:
        if decpt <= 0:
            return "0." + "0" * -decpt + digits
        if decpt >= n:
            return digits + "0" * (decpt - n)
        return digits[:decpt] + "." + digits[decpt:]
    exp = decpt - 1
    mant = digits[0] + ("." + digits[1:] if n > 1 else "")
    return f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _special(v: float) -> str | None:
    if v != v:
        return "NaN"
    if v == math.inf:
        return "Infinity"
    if v == -math.inf:
        return "-Infinity"
    return None


def _digits_of(r: str) -> tuple[str, int]:
    """Significant digits and decimal-point position of a repr/%e string."""
    if "e" in r:
        m, e = r.split("e")
        exp = int(e)
    else:
        m, exp = r, 0
    if "." in m:
        ip, fp = m.split(".")
    else:
        ip, fp = m, ""
    digits = (ip + fp).lstrip("0")
    decpt = len(ip) + exp - (len(ip + fp) - len((ip + fp).lstrip("0")))
    digits = digits.rstrip("0")
    if not digits:
        return "0", 1
    return digits, decpt


def float8_str(v: float) -> str:
    if -1e15 < v < 1e15:
        r = repr(v)
        return r[:-2] if r[-2:] == ".0" else r
    s = _special(v)
    if s is not None:
        return s
    digits, decpt = _digits_of(repr(abs(v)))
    return ("-" if v < 0 else "") + _shortest(digits, decpt, 15)


def float4_str(v: float) -> str:
    try:
        f = _F.unpack(_F.pack(v))[0]
    except OverflowError:
        raise NumericValueOutOfRange(f'value "{v}" is out of range for type real') from None
    s = _special(f)
    if s is not None:
        return s
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    a = abs(f)
    # The shortest decimal that reads back as the same single-precision value.
    # Like PostgreSQL's Ryu, refuse a decimal lying exactly halfway between two
    # floats, which only round-half-even would read back as this one.
    for prec in range(1, 10):
        r = f"{a:.{prec - 1}e}"
        d = float(r)
        try:
            if _F.unpack(_F.pack(d))[0] != a:
                continue
        except OverflowError:  # rounded up past the largest float4
            continue
        if d == a or prec == 9:
            break
        bits = _U.unpack(_F.pack(a))[0]
        other = _F.unpack(_U.pack(bits + 1 if d > a else bits - 1))[0]
        if d - a != other - d:
            break
    digits, decpt = _digits_of(r)
    return ("-" if f < 0 else "") + _shortest(digits, decpt, 6)


def to_float(v: Any, typname: str = "double precision") -> float:
    if v.__class__ is float:
        return v
    if isinstance(v, str | bytes | bytearray | memoryview):
        s = v if isinstance(v, str) else text_decode(v)
        try:
            return float(s)
        except ValueError:
            raise InvalidTextRepresentation(
                f'invalid input syntax for type {typname}: "{s}"'
            ) from None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise InvalidTextRepresentation(f"cannot encode {type(v).__name__} as {typname}") from None


def float8_text(v: Any) -> bytes:
    if v.__class__ is float:
        return float8_str(v).encode()
    if v.__class__ is str:
        return v.encode()
    return float8_str(to_float(v)).encode()


def float4_text(v: Any) -> bytes:
    if v.__class__ is str:
        return v.encode()
    return float4_str(to_float(v, "real")).encode()


def float8_binary(v: Any) -> bytes:
    return _D.pack(v if v.__class__ is float else to_float(v))


def float4_binary(v: Any) -> bytes:
    try:
        return _F.pack(to_float(v, "real"))
    except OverflowError:
        raise NumericValueOutOfRange(f'value "{v}" is out of range for type real') from None


def _float_from_text(typname: str) -> Any:
    def decode(b: bytes) -> float:
        return to_float(text_decode(b), typname)

    return decode


def float8_from_binary(b: bytes) -> float:
    if len(b) != 8:
        raise InvalidBinaryRepresentation("incorrect binary data format for type double precision")
    return _D.unpack(b)[0]


def float4_from_binary(b: bytes) -> float:
    if len(b) != 4:
        raise InvalidBinaryRepresentation("incorrect binary data format for type real")
    return _F.unpack(b)[0]


# ---------------------------------------------------------------- numeric

_NUMERIC_POS = 0x0000
_NUMERIC_NEG = 0x4000
_NUMERIC_NAN = 0xC000
_NUMERIC_PINF = 0xD000
_NUMERIC_NINF = 0xF000
# numeric's limits: 131,072 digits before the point, 16,383 after, and an
# exponent of at most 1,000 either way in input (NUMERIC_MAX_PRECISION).
_NUMERIC_MAX_WEIGHT = 131_072
_NUMERIC_MAX_SCALE = 16_383
_NUMERIC_MAX_EXPONENT = 1000


def to_decimal(v: Any) -> Decimal:
    if v.__class__ is Decimal:
        return v
    if isinstance(v, bool):
        return Decimal(int(v))
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        # repr is the shortest decimal that reads back as v, which is what
        # PostgreSQL's float8 -> numeric cast gives too.
        return Decimal(repr(v))
    if isinstance(v, Decimal):
        return v
    s = v if isinstance(v, str) else text_decode(v)
    try:
        d = Decimal(s.strip())
    except (InvalidOperation, TypeError):
        raise InvalidTextRepresentation(f'invalid input syntax for type numeric: "{s}"') from None
    if d.is_snan():
        raise InvalidTextRepresentation(f'invalid input syntax for type numeric: "{s}"')
    return d


def decimal_str(d: Decimal) -> str:
    """PostgreSQL's numeric_out: no exponent, scale kept, no negative zero."""
    if not d.is_finite():
        if d.is_nan():
            return "NaN"
        return "-Infinity" if d.is_signed() else "Infinity"
    if not -_NUMERIC_MAX_SCALE <= d.adjusted() < _NUMERIC_MAX_WEIGHT:
        # Written out, 1e999999999 would be a billion characters.
        raise NumericValueOutOfRange("value overflows numeric format")
    s = format(d, "f")
    if s[0] == "-" and d.is_zero():
        return s[1:]
    return s


def numeric_text(v: Any) -> bytes:
    if v.__class__ is str:
        return v.encode()
    if v.__class__ is int:
        return b"%d" % v
    return decimal_str(to_decimal(v)).encode()


def numeric_binary(v: Any) -> bytes:
    d = to_decimal(v)
    if not d.is_finite():
        if d.is_nan():
            sign = _NUMERIC_NAN
        else:
            sign = _NUMERIC_NINF if d.is_signed() else _NUMERIC_PINF
        return _NUMHDR.pack(0, 0, sign, 0)
    s = decimal_str(d)
    sign = _NUMERIC_POS
    if s[0] == "-":
        sign = _NUMERIC_NEG
        s = s[1:]
    ip, _, fp = s.partition(".")
    dscale = len(fp)
    ip = ip.lstrip("0")
    # Align both sides of the point on base-10000 digit boundaries.
    ip = "0" * (-len(ip) % 4) + ip
    fp = fp + "0" * (-len(fp) % 4)
    allds = ip + fp
    groups = [int(allds[i : i + 4]) for i in range(0, len(allds), 4)]
    weight = len(ip) // 4 - 1
    # Leading and trailing zero digits are not stored.
    lead = 0
    while lead < len(groups) and groups[lead] == 0:
        lead += 1
    if lead == len(groups):
        return _NUMHDR.pack(0, 0, sign if sign != _NUMERIC_NEG else 0, dscale)
    end = len(groups)
    while groups[end - 1] == 0:
        end -= 1
    groups = groups[lead:end]
    weight -= lead
    if len(groups) > 0x7FFF or not -0x8000 <= weight <= 0x7FFF:
        raise NumericValueOutOfRange("value overflows numeric format")
    n = len(groups)
    return _NUMHDR.pack(n, weight, sign, dscale) + Struct(f"!{n}H").pack(*groups)


def numeric_from_text(b: bytes) -> Decimal:
    """numeric_in: what PostgreSQL stores, else 22P02 or 22003 as it reports them."""
    s = text_decode(b)
    d = to_decimal(s)
    if d.is_finite():
        e = s.find("e") if "e" in s else s.find("E")
        if e >= 0:
            digits = s[e + 1 :].strip()
            if len(digits) > 10 or abs(int(digits)) > _NUMERIC_MAX_EXPONENT:
                raise NumericValueOutOfRange("value overflows numeric format")
        if d.adjusted() >= _NUMERIC_MAX_WEIGHT or -d.as_tuple().exponent > _NUMERIC_MAX_SCALE:
            raise NumericValueOutOfRange("value overflows numeric format")
    return d


def numeric_from_binary(b: bytes) -> Decimal:
    b = bytes(b)
    if len(b) < 8:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    n, weight, sign, dscale = _NUMHDR.unpack_from(b)
    if sign == _NUMERIC_NAN:
        return Decimal("NaN")
    if sign == _NUMERIC_PINF:
        return Decimal("Infinity")
    if sign == _NUMERIC_NINF:
        return Decimal("-Infinity")
    if sign not in (_NUMERIC_POS, _NUMERIC_NEG) or len(b) != 8 + 2 * n:
        raise InvalidBinaryRepresentation("invalid numeric sign or length in binary data")
    if dscale > _NUMERIC_MAX_SCALE:
        raise InvalidBinaryRepresentation("invalid scale in external \"numeric\" value")
    groups = Struct(f"!{n}H").unpack_from(b, 8)
    if any(g > 9999 for g in groups):
        raise InvalidBinaryRepresentation("invalid digit in external numeric value")
    s = "".join([f"{g:04d}" for g in groups])
    point = 4 * (weight + 1)
    if point <= 0:
        ip, fp = "0", "0" * -point + s
    elif point >= len(s):
        ip, fp = s + "0" * (point - len(s)), ""
    else:
        ip, fp = s[:point], s[point:]
    fp = (fp + "0" * dscale)[:dscale]
    text = (ip.lstrip("0") or "0") + ("." + fp if dscale else "")
    return Decimal("-" + text if sign == _NUMERIC_NEG else text)


# ---------------------------------------------------------------- registration

register(pgtypes.BOOL, bool_text, bool_binary, bool_from_text, bool_from_binary)
for _oid, _st, _lo, _hi in (
    (pgtypes.INT2, _H, -(2**15), 2**15 - 1),
    (pgtypes.INT4, _I, -(2**31), 2**31 - 1),
    (pgtypes.INT8, _Q, -(2**63), 2**63 - 1),
    (pgtypes.OID, _U, 0, 2**32 - 1),
):
    register(_oid, int_text, _int_binary(_st, _oid), _int_from_text(_oid, _lo, _hi),
             _int_from_binary(_st, _oid))
for _oid in (pgtypes.REGPROC, pgtypes.REGCLASS):
    # reg* types travel as their oid in binary; in text PostgreSQL prints a
    # name, which a backend hands over as str.
    register(_oid, int_text, _int_binary(_U, pgtypes.OID),
             text_decode, _int_from_binary(_U, pgtypes.OID))


def regtype_text(v: Any) -> bytes:
    """A regtype is its type's OID (pg_typeof() answers one); its text is the type's name."""
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        name = pgtypes.REGTYPE_NAMES.get(v)
        return name.encode() if name is not None else b"%d" % v
    return int_text(v) if not isinstance(v, str) else v.encode()


_oid_binary = _int_binary(_U, pgtypes.OID)


def regtype_binary(v: Any) -> bytes:
    if isinstance(v, str) and not v.isdigit():
        oid = pgtypes.BY_NAME.get(v)
        if oid is None:
            raise InvalidTextRepresentation(f'type "{v}" does not exist')
        v = oid
    return _oid_binary(v)


register(pgtypes.REGTYPE, regtype_text, regtype_binary, text_decode,
         _int_from_binary(_U, pgtypes.OID))
register(pgtypes.FLOAT4, float4_text, float4_binary, _float_from_text("real"), float4_from_binary)
register(pgtypes.FLOAT8, float8_text, float8_binary, _float_from_text("double precision"),
         float8_from_binary)
register(pgtypes.NUMERIC, numeric_text, numeric_binary, numeric_from_text, numeric_from_binary)

PYTYPE_TEXT[bool] = lambda v: b"true" if v else b"false"
PYTYPE_TEXT[int] = int_text
PYTYPE_TEXT[float] = float8_text
PYTYPE_TEXT[Decimal] = numeric_text
