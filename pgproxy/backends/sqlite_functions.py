"""PostgreSQL functions SQLite lacks, registered on each backend connection.

The SQLite dialect (dialects/sqlite.py) calls them by these names; they raise
PostgreSQL's errors where SQLite would return NULL. apsw re-raises an
exception from a function as itself, so a PgError reaches the client with
its SQLSTATE.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import json
import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

import apsw

from pgproxy import errors, timezones
from pgproxy.types import CODECS, ranges
from pgproxy.types.intervals import to_interval
from pgproxy.types.numbers import decimal_str, numeric_from_text, to_decimal
from pgproxy.types.strings import bytea_from_text


def nonzero(divisor: Any) -> Any:
    """The divisor of `/` and `%`: PostgreSQL raises 22012 where SQLite gives NULL."""
    if divisor == 0 and divisor is not None and not isinstance(divisor, str | bytes):
        raise errors.DivisionByZero("division by zero")
    return divisor


def _bytes(data: Any) -> bytes:
    """A bytea argument: a blob, or text in bytea's input form (the literal 'x', '\\x01')."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return bytea_from_text(data.encode())
    raise errors.DatatypeMismatch("get_byte() and set_byte() take a bytea")


def _byte_index(data: bytes, n: int) -> int:
    if not 0 <= n < len(data):
        raise errors.from_sqlstate(
            "2202E", f"index {n} out of valid range, 0..{len(data) - 1}"
        )
    return n


def get_byte(data: bytes | None, n: int | None) -> int | None:
    if data is None or n is None:
        return None
    data = _bytes(data)
    return data[_byte_index(data, n)]


def set_byte(data: bytes | None, n: int | None, value: int | None) -> bytes | None:
    if data is None or n is None or value is None:
        return None
    data = _bytes(data)
    i = _byte_index(data, n)
    return data[:i] + bytes((value & 0xFF,)) + data[i + 1 :]


def chr_(code: int | None) -> str | None:
    """chr(n): the character with code point n (SQLite's char() takes the same, but
    PostgreSQL refuses 0 and values outside Unicode)."""
    if code is None:
        return None
    if code == 0:
        raise errors.from_sqlstate("54000", "null character not permitted")
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise errors.from_sqlstate("54000", f"requested character not valid for encoding: {code}")
    return chr(code)


def ascii_(text: str | None) -> int | None:
    """ascii(s): the code point of the first character (0 for an empty string)."""
    if text is None:
        return None
    return ord(str(text)[0]) if str(text) else 0


def timestamp_add(value: str | None, interval: str | None, sign: int) -> str | None:
    """timestamp ± interval with PostgreSQL's rules: months first (a day past the end of
    the month clamps to its last day), then days, then the time."""
    if value is None or interval is None:
        return None
    try:
        stamp = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        raise errors.InvalidDatetimeFormat(
            f'invalid input syntax for type timestamp: "{value}"'
        ) from None
    months, days, usec = to_interval(str(interval))
    months, days, usec = months * sign, days * sign, usec * sign
    year, month = divmod(stamp.month - 1 + months, 12)
    year += stamp.year
    day = min(stamp.day, calendar.monthrange(year, month + 1)[1])
    try:
        stamp = stamp.replace(year=year, month=month + 1, day=day)
        stamp += datetime.timedelta(days=days, microseconds=usec)
    except (ValueError, OverflowError):
        raise errors.from_sqlstate("22008", "timestamp out of range") from None
    text = stamp.isoformat(" ")
    return text


def date_add(value: str | None, amount: Any, sign: int) -> str | None:
    """date + x where the statement does not type x (a column): PostgreSQL's date + integer
    when x is an integer, else date + interval."""
    if value is None or amount is None:
        return None
    if not isinstance(amount, int):
        return timestamp_add(value, amount, sign)
    try:
        day = datetime.date.fromisoformat(str(value)[:10]) + datetime.timedelta(days=sign * amount)
    except ValueError:
        raise errors.InvalidDatetimeFormat(
            f'invalid input syntax for type date: "{value}"'
        ) from None
    except OverflowError:
        raise errors.from_sqlstate("22008", "date out of range") from None
    return day.isoformat()


_USEC_PER_DAY = 86_400_000_000
# Every interval's span is less than 10**22 microseconds either way (int32 months and days,
# int64 microseconds); shifted by it and zero-padded, the text sorts as the number does
# (which can pass SQLite's int64).
_SPAN_SHIFT = 10**22


def interval_value(value: Any) -> str | None:
    """An interval as the span PostgreSQL compares it by (interval_cmp: a month is 30 days,
    a day 24 hours), so '1 day' = '24 hours' and '-1 days +23:59:59' = '-00:00:01'."""
    if value is None:
        return None
    months, days, usec = to_interval(value if isinstance(value, str) else str(value))
    return f"{(months * 30 + days) * _USEC_PER_DAY + usec + _SPAN_SHIFT:023d}"


def repeat(text: str | None, count: int | None) -> str | None:
    if text is None or count is None:
        return None
    return str(text) * max(int(count), 0)


@functools.lru_cache(maxsize=256)
def _regex(pattern: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise errors.from_sqlstate(
            "2201B", f"invalid regular expression: {exc}"
        ) from None


def pg_regexp(value: Any, pattern: Any) -> bool | None:
    """`value ~ pattern` (dialects/regex.py): a search, as PostgreSQL's, not a full match."""
    if value is None or pattern is None:
        return None
    return _regex(str(pattern), 0).search(str(value)) is not None


def pg_regexp_i(value: Any, pattern: Any) -> bool | None:
    """`value ~* pattern`: the same, ignoring case."""
    if value is None or pattern is None:
        return None
    return _regex(str(pattern), re.IGNORECASE).search(str(value)) is not None


def _json(value: Any) -> Any:
    try:
        return json.loads(value) if isinstance(value, str | bytes) else value
    except ValueError:
        raise errors.from_sqlstate("22P02", "invalid input syntax for type json") from None


def _same(a: Any, b: Any) -> bool:
    """JSON scalar equality: true is not 1, as in jsonb."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _contains(outer: Any, inner: Any, top: bool = False) -> bool:
    if isinstance(outer, dict):
        return isinstance(inner, dict) and all(
            k in outer and _contains(outer[k], v) for k, v in inner.items()
        )
    if isinstance(outer, list):
        if isinstance(inner, list):
            return all(any(_contains(o, i) for o in outer) for i in inner)
        # jsonb: an array contains a primitive value at the top level only
        return top and not isinstance(inner, dict) and any(_same(o, inner) for o in outer)
    return not isinstance(inner, dict | list) and _same(outer, inner)


def pg_json_contains(outer: Any, inner: Any) -> bool | None:
    """`outer @> inner` for jsonb (and arrays, held as JSON arrays: dialects/arrays.py)."""
    if outer is None or inner is None:
        return None
    return _contains(_json(outer), _json(inner), top=True)


def pg_json_has_key(value: Any, key: Any) -> bool | None:
    """`value ? key`: a top-level key, or a string element of a top-level array."""
    if value is None or key is None:
        return None
    found = _json(value)
    if isinstance(found, dict):
        return str(key) in found
    if isinstance(found, list):
        return any(isinstance(e, str) and e == key for e in found)
    return isinstance(found, str) and found == key


_STAMP = re.compile(
    r"\s*(\d{4}-\d\d-\d\d)(?:[ T](\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?))?"
    r"\s*(Z|[+-]\d\d(?::?\d\d)?)?\s*$"
)


def _stamp_text(value: datetime.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")


def pg_at_time_zone(value: Any, zone: Any) -> str | None:
    """`value AT TIME ZONE zone` (dialects/zones.py): a stored timestamptz keeps its offset."""
    if value is None or zone is None:
        return None
    m = _STAMP.match(str(value))
    if m is None:
        raise errors.from_sqlstate(
            "22007", f'invalid input syntax for type timestamp: "{value}"'
        )
    naive = datetime.datetime.fromisoformat(f"{m.group(1)} {m.group(2) or '00:00'}")
    tz = timezones.resolve(str(zone))[1] or datetime.UTC
    offset = m.group(3)
    if offset is None:  # a timestamp: wall-clock time in the zone -> timestamptz
        return _stamp_text(naive.replace(tzinfo=tz).astimezone(datetime.UTC)) + "+00"
    if offset == "Z":
        east = 0
    else:
        digits = offset[1:].replace(":", "")
        east = int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60
        east = -east if offset[0] == "-" else east
    aware = naive.replace(tzinfo=datetime.timezone(datetime.timedelta(seconds=east)))
    return _stamp_text(aware.astimezone(tz).replace(tzinfo=None))


def _range(value: Any, oid: int) -> ranges.Range:
    return ranges.read(ranges.BY_OID[int(oid)], str(value))


def _bound_value(value: Any, oid: int) -> Any:
    """A range bound as SQLite holds its subtype: an integer, or the subtype's text."""
    if value is None or isinstance(value, int):
        return value
    return CODECS[ranges.BY_OID[int(oid)].subtype].text_encode(value).decode()


def range_lower(value: Any, oid: int) -> Any:
    return None if value is None else _bound_value(_range(value, oid).lower, oid)


def range_upper(value: Any, oid: int) -> Any:
    return None if value is None else _bound_value(_range(value, oid).upper, oid)


def range_has(value: Any, element: Any, oid: int) -> Any:
    """range @> element."""
    if value is None or element is None:
        return None
    kind = ranges.BY_OID[int(oid)]
    item = ranges.read(kind, f"[{_quoted(element)},{_quoted(element)}]")
    return int(ranges.contains(_range(value, oid), item))


def _quoted(element: Any) -> str:
    return '"' + str(element).replace("\\", "\\\\").replace('"', '""') + '"'


def range_contains(a: Any, b: Any, oid: int) -> Any:
    if a is None or b is None:
        return None
    return int(ranges.contains(_range(a, oid), _range(b, oid)))


def range_overlaps(a: Any, b: Any, oid: int) -> Any:
    if a is None or b is None:
        return None
    return int(ranges.overlaps(_range(a, oid), _range(b, oid)))


def range_make(oid: int, *args: Any) -> Any:
    """int4range(a, b [, bounds]) / int4multirange(r, …) of values SQLite computed."""
    return ranges.construct(int(oid), [None if a is None else ["t", _sql_text(a)] for a in args],
                            ())


def _sql_text(value: Any) -> str:
    """A value SQLite hands a function, as the text a range's subtype reads."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _range_flag(test: Any) -> Any:
    """isempty(), lower_inc() …: read from the canonical text's shape, whatever the subtype."""

    def flag(value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        return int(test(text, text.lower() == "empty"))

    return flag


def numeric_text(value: Any, precision: int | None, scale: int | None) -> str | None:
    """`x::numeric[(p,s)]::text`: numeric_out of the value as PostgreSQL reads it. SQLite's
    NUMERIC affinity would keep neither the scale of '1.0' nor the digits of '1e1000'."""
    if value is None:
        return None
    if isinstance(value, bytes):
        raise errors.DatatypeMismatch("cannot cast type bytea to numeric")
    d = numeric_from_text(value.encode()) if isinstance(value, str) else to_decimal(value)
    if precision is None or d.is_nan():
        return decimal_str(d)
    scale = scale or 0
    field = f"A field with precision {precision}, scale {scale}"
    if d.is_infinite():
        raise errors.NumericValueOutOfRange(
            "numeric field overflow", detail=f"{field} cannot hold an infinite value."
        )
    try:  # with p digits of precision, a value too big for (p,s) cannot be quantized
        d = d.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP, Context(prec=precision))
    except InvalidOperation:
        d = Decimal("Infinity")
    if d.is_infinite() or (not d.is_zero() and d.adjusted() >= precision - scale):
        raise errors.NumericValueOutOfRange(
            "numeric field overflow",
            detail=f"{field} must round to an absolute value less than 10^{precision - scale}.",
        )
    return decimal_str(d)


_NON_FINITE = {"nan": "NaN", "infinity": "Infinity", "+infinity": "Infinity", "inf": "Infinity",
               "+inf": "Infinity", "-infinity": "-Infinity", "-inf": "-Infinity"}


def float8(value: Any) -> float | str | None:
    """`$n::float8`: the number, or NaN / ±Infinity as the text the proxy binds them as
    (SQLite cannot hold a NaN, and its CAST reads that text as 0)."""
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, str):
        spelled = _NON_FINITE.get(value.strip().lower())
        if spelled is not None:
            return spelled
    try:
        return float(value)
    except (TypeError, ValueError):
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type double precision: "{value}"'
        ) from None


_FUNCTIONS = (
    ("pgproxy_range_make", range_make, -1),
    ("pgproxy_range_lower", range_lower, 2),
    ("pgproxy_range_upper", range_upper, 2),
    ("pgproxy_range_has", range_has, 3),
    ("pgproxy_range_contains", range_contains, 3),
    ("pgproxy_range_overlaps", range_overlaps, 3),
    ("pgproxy_range_isempty", _range_flag(lambda t, empty: empty), 1),
    ("pgproxy_range_lower_inc", _range_flag(lambda t, empty: not empty and t[0] == "["), 1),
    ("pgproxy_range_upper_inc", _range_flag(lambda t, empty: not empty and t[-1] == "]"), 1),
    ("pgproxy_range_lower_inf", _range_flag(lambda t, empty: not empty and t[1] == ","), 1),
    ("pgproxy_range_upper_inf", _range_flag(lambda t, empty: not empty and t[-2] == ","), 1),
    ("pgproxy_timestamp_add", timestamp_add, 3),
    ("pgproxy_date_add", date_add, 3),
    ("pgproxy_interval_value", interval_value, 1),
    ("repeat", repeat, 2),
    ("pgproxy_nonzero", nonzero, 1),
    ("pgproxy_numeric_text", numeric_text, 3),
    ("pgproxy_float", float8, 1),
    ("get_byte", get_byte, 2),
    ("set_byte", set_byte, 3),
    ("chr", chr_, 1),
    ("ascii", ascii_, 1),
    ("pg_regexp", pg_regexp, 2),
    ("pg_regexp_i", pg_regexp_i, 2),
    ("pg_json_contains", pg_json_contains, 2),
    ("pg_json_has_key", pg_json_has_key, 2),
    ("pg_at_time_zone", pg_at_time_zone, 2),
)


def register(conn: apsw.Connection) -> None:
    for name, fn, nargs in _FUNCTIONS:
        conn.create_scalar_function(name, fn, nargs, deterministic=True)
