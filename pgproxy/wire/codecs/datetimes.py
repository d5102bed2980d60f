"""Codecs for date, time, timetz, timestamp, timestamptz and interval.

Text output follows PostgreSQL with DateStyle 'ISO, MDY', IntervalStyle
'postgres' and TimeZone 'UTC': the ParameterStatus values the proxy reports.
Binary values count from 2000-01-01 (PostgreSQL's epoch) in microseconds, or
days for date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from struct import Struct
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import (
    DatetimeFieldOverflow,
    InvalidBinaryRepresentation,
    InvalidDatetimeFormat,
)

from .registry import PYTYPE_TEXT, Encoder, register

_I = Struct("!i")
_Q = Struct("!q")
_QI = Struct("!qi")
_QII = Struct("!qii")

_EPOCH_ORD = date(2000, 1, 1).toordinal()
_EPOCH = datetime(2000, 1, 1)
_EPOCH_TZ = datetime(2000, 1, 1, tzinfo=UTC)
_USEC_SEC = 1_000_000
_USEC_DAY = 86_400 * _USEC_SEC
_UTC = UTC
_ONE_USEC = timedelta(microseconds=1)
_fromisoformat = datetime.fromisoformat

# PostgreSQL's infinities in binary form: the extremes of the field.
_DATE_PINF = 0x7FFFFFFF
_DATE_NINF = -0x80000000
_TS_PINF = 0x7FFFFFFFFFFFFFFF
_TS_NINF = -0x8000000000000000
_INFINITIES = {"infinity": 1, "+infinity": 1, "-infinity": -1}

# ---------------------------------------------------------------- formatting


def _frac(us: int) -> str:
    # PostgreSQL prints only the fraction's significant digits.
    return f".{us:06d}".rstrip("0") if us else ""


def offset_str(seconds: int) -> str:
    """A UTC offset as PostgreSQL prints it: +00, -03, +05:30, +05:30:15."""
    sign = "-" if seconds < 0 else "+"
    m, s = divmod(abs(seconds), 60)
    h, m = divmod(m, 60)
    if s:
        return f"{sign}{h:02d}:{m:02d}:{s:02d}"
    if m:
        return f"{sign}{h:02d}:{m:02d}"
    return f"{sign}{h:02d}"


def _offset_seconds(off: timedelta) -> int:
    return off.days * 86400 + off.seconds


def time_str(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}{_frac(t.microsecond)}"


def timestamp_str(dt: datetime) -> str:
    # isoformat is C and always gives a four-digit year; the zone, if any,
    # follows the 19 or 26 characters of date and time.
    s = dt.isoformat(" ")
    if dt.microsecond:
        return s[:26].rstrip("0")
    return s[:19]


def timestamptz_str(dt: datetime) -> str:
    off = dt.utcoffset()
    if off is None:
        return timestamp_str(dt) + "+00"
    return timestamp_str(dt) + offset_str(_offset_seconds(off))


def interval_str(months: int, days: int, usec: int) -> str:
    """EncodeInterval for IntervalStyle 'postgres' (PostgreSQL's default)."""
    parts: list[str] = []
    is_before = False
    years, mons = int(months / 12), months - int(months / 12) * 12  # C truncation
    for value, unit in ((years, "year"), (mons, "mon"), (days, "day")):
        if value:
            plus = "+" if is_before and value > 0 else ""
            parts.append(f"{plus}{value} {unit}{'' if value == 1 else 's'}")
            is_before = value < 0
    if not parts or usec:
        neg = usec < 0
        a = -usec if neg else usec
        secs, us = divmod(a, _USEC_SEC)
        mins, s = divmod(secs, 60)
        h, m = divmod(mins, 60)
        sign = "-" if neg else ("+" if is_before else "")
        parts.append(f"{sign}{h:02d}:{m:02d}:{s:02d}{_frac(us)}")
    return " ".join(parts)


# ---------------------------------------------------------------- parsing


def _bad(typname: str, s: Any) -> InvalidDatetimeFormat:
    return InvalidDatetimeFormat(f'invalid input syntax for type {typname}: "{s}"')


def parse_date(s: str) -> date:
    try:
        return date.fromisoformat(s.strip()[:10])
    except ValueError:
        raise _bad("date", s) from None


def parse_time(s: str) -> time:
    try:
        return time.fromisoformat(s.strip())
    except ValueError:
        raise _bad("time", s) from None


def parse_timestamp(s: str, typname: str = "timestamp") -> datetime:
    t = s.strip()
    try:
        return datetime.fromisoformat(t)
    except ValueError:
        pass
    # PostgreSQL also writes a space before the zone ('... 10:00:00 +02').
    m = re.fullmatch(r"(.*?)\s*([+-]\d\d(?::?\d\d){0,2}|Z|UTC)", t)
    if m:
        zone = m.group(2)
        try:
            return datetime.fromisoformat(m.group(1) + ("+00:00" if zone in ("Z", "UTC") else zone))
        except ValueError:
            pass
    raise _bad(typname, s)


def _to_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str | bytes | bytearray | memoryview):
        return parse_date(v if isinstance(v, str) else bytes(v).decode())
    raise _bad("date", v)


def _to_datetime(v: Any, typname: str = "timestamp") -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, str | bytes | bytearray | memoryview):
        return parse_timestamp(v if isinstance(v, str) else bytes(v).decode(), typname)
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        # Unix epoch seconds, as some backends store timestamps.
        return datetime.fromtimestamp(float(v), _UTC).replace(tzinfo=None)
    raise _bad(typname, v)


def _to_time(v: Any, typname: str = "time") -> time:
    if isinstance(v, time):
        return v
    if isinstance(v, datetime):
        return v.timetz()
    if isinstance(v, timedelta):
        # pymysql hands MySQL TIME values over as timedelta.
        us = _td_usec(v) % _USEC_DAY
        secs, us = divmod(us, _USEC_SEC)
        return time(secs // 3600, secs // 60 % 60, secs % 60, us)
    if isinstance(v, str | bytes | bytearray | memoryview):
        return parse_time(v if isinstance(v, str) else bytes(v).decode())
    raise _bad(typname, v)


_UNITS: dict[str, tuple[int, int, int]] = {}  # unit -> (months, days, usec) for 1 of it
for _names, _val in (
    (("microsecond", "microseconds", "us", "usec", "usecs", "microsecon"), (0, 0, 1)),
    (("millisecond", "milliseconds", "ms", "msec", "msecs", "millisecon"), (0, 0, 1000)),
    (("second", "seconds", "s", "sec", "secs"), (0, 0, _USEC_SEC)),
    (("minute", "minutes", "m", "min", "mins"), (0, 0, 60 * _USEC_SEC)),
    (("hour", "hours", "h", "hr", "hrs"), (0, 0, 3600 * _USEC_SEC)),
    (("day", "days", "d"), (0, 1, 0)),
    (("week", "weeks", "w"), (0, 7, 0)),
    (("month", "months", "mon", "mons"), (1, 0, 0)),
    (("year", "years", "y", "yr", "yrs"), (12, 0, 0)),
    (("decade", "decades"), (120, 0, 0)),
    (("century", "centuries"), (1200, 0, 0)),
    (("millennium", "millennia", "millenniums"), (12000, 0, 0)),
):
    for _n in _names:
        _UNITS[_n] = _val

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<time>[+-]?\d+:\d+(?::\d+(?:\.\d*)?)?)"
    r"|(?P<ym>[+-]?\d+-\d+)"
    r"|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))\s*(?P<unit>[a-z]+)?"
    r"|(?P<ago>ago)|(?P<at>@))",
)
_ISO_RE = re.compile(
    r"(?P<neg>-)?P(?:(?P<Y>[-\d.]+)Y)?(?:(?P<M>[-\d.]+)M)?(?:(?P<W>[-\d.]+)W)?(?:(?P<D>[-\d.]+)D)?"
    r"(?:T(?:(?P<H>[-\d.]+)H)?(?:(?P<MI>[-\d.]+)M)?(?:(?P<S>[-\d.]+)S)?)?",
)


class _Acc:
    """Interval fields accumulated the way PostgreSQL cascades fractions down."""

    __slots__ = ("days", "months", "usec")

    def __init__(self) -> None:
        self.months = self.days = self.usec = 0

    def add(self, num: Decimal, unit: tuple[int, int, int]) -> None:
        mo, d, us = unit
        if mo:
            total = num * mo
            whole = int(total)
            self.months += whole
            num, d = (total - whole) * 30, 1  # a month's fraction becomes days
        if d:
            total = num * d
            whole = int(total)
            self.days += whole
            num, us = (total - whole) * 24, 3600 * _USEC_SEC  # a day's fraction becomes time
        self.usec += int((num * us).to_integral_value())

    def add_time(self, text: str) -> None:
        neg = text[0] == "-"
        fields = text.lstrip("+-").split(":")
        h, m = int(fields[0]), int(fields[1])
        s = Decimal(fields[2]) if len(fields) > 2 and fields[2] else Decimal(0)
        us = (h * 3600 + m * 60) * _USEC_SEC + int((s * _USEC_SEC).to_integral_value())
        self.usec += -us if neg else us


def parse_interval(s: str) -> tuple[int, int, int]:
    """(months, days, microseconds) from the postgres, verbose, sql_standard or ISO 8601 form."""
    t = s.strip().lower()
    acc = _Acc()
    if t.startswith(("p", "-p")):
        m = _ISO_RE.fullmatch(t.upper())
        if not m:
            raise _bad("interval", s)
        try:
            for key, unit in (("Y", "year"), ("M", "month"), ("W", "week"), ("D", "day"),
                              ("H", "hour"), ("MI", "minute"), ("S", "second")):
                if m.group(key):
                    acc.add(Decimal(m.group(key)), _UNITS[unit])
        except ArithmeticError:
            raise _bad("interval", s) from None
        if m.group("neg"):
            return -acc.months, -acc.days, -acc.usec
        return acc.months, acc.days, acc.usec
    pos, ago, seen = 0, False, False
    while pos < len(t):
        m = _TOKEN_RE.match(t, pos)
        if not m or m.end() == pos:
            if t[pos:].strip() == "":
                break
            raise _bad("interval", s)
        pos = m.end()
        if m.group("time"):
            acc.add_time(m.group("time"))
        elif m.group("ym"):
            ys, _, ms = m.group("ym").lstrip("+-").partition("-")
            months = int(ys) * 12 + int(ms)
            acc.months += -months if m.group("ym")[0] == "-" else months
        elif m.group("num") is not None:
            unit = m.group("unit")
            num = Decimal(m.group("num"))
            if unit is None:
                # A bare number is seconds, or days before a time field (sql_standard).
                rest = t[pos:].lstrip()
                unit = "day" if rest[:1].isdigit() or (rest[:1] in "+-" and rest) else "second"
            if unit not in _UNITS:
                raise _bad("interval", s)
            acc.add(num, _UNITS[unit])
        elif m.group("ago"):
            ago = True
        seen = seen or not m.group("at")
    if not seen:
        raise _bad("interval", s)
    if ago:
        return -acc.months, -acc.days, -acc.usec
    return acc.months, acc.days, acc.usec


def _td_usec(td: timedelta) -> int:
    return (td.days * 86400 + td.seconds) * _USEC_SEC + td.microseconds


def to_interval(v: Any) -> tuple[int, int, int]:
    if isinstance(v, timedelta):
        total = _td_usec(v)
        # Days and time carry the same sign, as justify_hours leaves them:
        # -1 hour is '-01:00:00', not timedelta's '-1 days +23:00:00'.
        d, us = divmod(abs(total), _USEC_DAY)
        return (0, -d, -us) if total < 0 else (0, d, us)
    if isinstance(v, str | bytes | bytearray | memoryview):
        return parse_interval(v if isinstance(v, str) else bytes(v).decode())
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        return to_interval(timedelta(seconds=float(v)))
    raise _bad("interval", v)


# ---------------------------------------------------------------- encoders


def _is_text(v: Any) -> bool:
    return isinstance(v, str | bytes | bytearray | memoryview)


def _text_of(v: Any) -> str:
    return v if isinstance(v, str) else bytes(v).decode()


def _infinity(v: Any) -> int:
    """+1/-1 for a PostgreSQL 'infinity'/'-infinity' string, else 0."""
    if _is_text(v):
        return _INFINITIES.get(_text_of(v).strip().lower(), 0)
    return 0


def date_text(v: Any) -> bytes:
    if v.__class__ is date:
        return v.isoformat().encode()
    if v.__class__ is str and len(v) == 10:
        return v.encode()
    if _infinity(v):
        return _text_of(v).strip().lower().encode()
    return _to_date(v).isoformat().encode()


def date_binary(v: Any) -> bytes:
    inf = _infinity(v)
    if inf:
        return _I.pack(_DATE_PINF if inf > 0 else _DATE_NINF)
    return _I.pack(_to_date(v).toordinal() - _EPOCH_ORD)


def time_text(v: Any) -> bytes:
    if v.__class__ is str:
        return v.encode()
    return time_str(_to_time(v)).encode()


def _time_usec(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _USEC_SEC + t.microsecond


def time_binary(v: Any) -> bytes:
    return _Q.pack(_time_usec(_to_time(v)))


def _timetz_offset(t: time) -> int:
    off = t.utcoffset()
    return 0 if off is None else _offset_seconds(off)


def timetz_text(v: Any) -> bytes:
    if v.__class__ is str:
        t = parse_time(v)
    else:
        t = _to_time(v, "time with time zone")
    return (time_str(t) + offset_str(_timetz_offset(t))).encode()


def timetz_binary(v: Any) -> bytes:
    t = _to_time(v, "time with time zone")
    # PostgreSQL stores the zone as seconds west of Greenwich.
    return _QI.pack(_time_usec(t), -_timetz_offset(t))


def timestamp_text(v: Any) -> bytes:
    if v.__class__ is str:
        if len(v) == 19 and v[10] == " ":
            return v.encode()
        if _infinity(v):
            return v.strip().lower().encode()
        try:
            dt = parse_timestamp(v)
        except InvalidDatetimeFormat:
            return v.encode()  # the backend's text is the best we have
        return timestamp_str(dt).encode()
    if v.__class__ is datetime:
        return timestamp_str(v).encode()
    if _infinity(v):
        return _text_of(v).strip().lower().encode()
    return timestamp_str(_to_datetime(v)).encode()


def timestamp_binary(v: Any) -> bytes:
    if v.__class__ is str:
        try:
            v = _fromisoformat(v)
        except ValueError:
            inf = _infinity(v)
            if inf:
                return _Q.pack(_TS_PINF if inf > 0 else _TS_NINF)
            v = _to_datetime(v)
    elif v.__class__ is not datetime:
        inf = _infinity(v)
        if inf:
            return _Q.pack(_TS_PINF if inf > 0 else _TS_NINF)
        v = _to_datetime(v)
    if v.tzinfo is not None:
        v = v.replace(tzinfo=None)  # timestamp keeps the wall clock, drops the zone
    return _Q.pack((v - _EPOCH) // _ONE_USEC)


def _in_zone(dt: datetime, tz: tzinfo) -> datetime:
    # A naive value from a backend is UTC: backends keep timestamptz in UTC
    # (MySQL sessions run at +00:00, SQLite's CURRENT_TIMESTAMP is UTC).
    if dt.tzinfo is None:
        return dt.replace(tzinfo=_UTC).astimezone(tz)
    return dt.astimezone(tz)


def timestamptz_text_encoder(tz: tzinfo = _UTC) -> Encoder:
    """timestamptz text as PostgreSQL prints it for a session whose TimeZone is `tz`.

    PostgreSQL prints every timestamptz in the session zone, so an aware
    value is converted (its offset tells the instant), and so is a naive one,
    which a backend holds in UTC.
    """
    utc = tz is _UTC

    def fmt(dt: datetime) -> bytes:
        if utc:
            if dt.tzinfo is None:
                return (timestamp_str(dt) + "+00").encode()
            off = dt.utcoffset()
            if not off:
                return (timestamp_str(dt) + "+00").encode()
            return (timestamp_str(dt - off) + "+00").encode()
        return timestamptz_str(_in_zone(dt, tz)).encode()

    def encode(v: Any) -> bytes:
        if v.__class__ is datetime:
            return fmt(v)
        if v.__class__ is str:
            if utc and len(v) == 19 and v[10] == " ":
                return v.encode() + b"+00"
            if _infinity(v):
                return v.strip().lower().encode()
            try:
                dt = parse_timestamp(v, "timestamp with time zone")
            except InvalidDatetimeFormat:
                return v.encode()  # the backend's text is the best we have
            return fmt(dt)
        if _infinity(v):
            return _text_of(v).strip().lower().encode()
        return fmt(_to_datetime(v, "timestamp with time zone"))

    return encode


def timestamptz_binary_encoder(tz: tzinfo = _UTC) -> Encoder:
    """timestamptz binary: microseconds since 2000-01-01 UTC; naive values are UTC."""
    utc = tz is _UTC

    def encode(v: Any) -> bytes:
        if utc and v.__class__ is str and len(v) == 19:
            try:
                return _Q.pack((_fromisoformat(v) - _EPOCH) // _ONE_USEC)
            except ValueError:
                pass
        if v.__class__ is not datetime:
            inf = _infinity(v)
            if inf:
                return _Q.pack(_TS_PINF if inf > 0 else _TS_NINF)
            v = _to_datetime(v, "timestamp with time zone")
        if v.tzinfo is None:  # a backend's naive timestamptz is UTC, whatever the session zone
            return _Q.pack((v - _EPOCH) // _ONE_USEC)
        return _Q.pack((v - _EPOCH_TZ) // _ONE_USEC)

    return encode


timestamptz_text = timestamptz_text_encoder()
timestamptz_binary = timestamptz_binary_encoder()


def interval_text(v: Any) -> bytes:
    # A str is re-spelled too: a backend holds whatever text a client wrote ('1 sec').
    return interval_str(*to_interval(v)).encode()


def interval_binary(v: Any) -> bytes:
    months, days, usec = to_interval(v)
    return _QII.pack(usec, days, months)


# ---------------------------------------------------------------- decoders


def _need(b: bytes, n: int, typname: str) -> None:
    if len(b) != n:
        raise InvalidBinaryRepresentation(f"incorrect binary data format for type {typname}")


def date_from_text(b: bytes) -> date:
    s = bytes(b).decode()
    inf = _infinity(s)
    if inf:
        return date.max if inf > 0 else date.min
    return parse_date(s)


def date_from_binary(b: bytes) -> date:
    _need(b, 4, "date")
    n = _I.unpack(b)[0]
    if n == _DATE_PINF:
        return date.max
    if n == _DATE_NINF:
        return date.min
    try:
        return date.fromordinal(n + _EPOCH_ORD)
    except (ValueError, OverflowError):
        raise DatetimeFieldOverflow("date out of range for Python") from None


def time_from_text(b: bytes) -> time:
    return parse_time(bytes(b).decode())


def _time_of_usec(us: int) -> time:
    if not 0 <= us < _USEC_DAY:
        # 24:00:00 is valid in PostgreSQL but not in Python.
        if us == _USEC_DAY:
            return time.max
        raise DatetimeFieldOverflow("time out of range")
    secs, us = divmod(us, _USEC_SEC)
    return time(secs // 3600, secs // 60 % 60, secs % 60, us)


def time_from_binary(b: bytes) -> time:
    _need(b, 8, "time")
    return _time_of_usec(_Q.unpack(b)[0])


def timetz_from_binary(b: bytes) -> time:
    _need(b, 12, "time with time zone")
    us, west = _QI.unpack(b)
    return _time_of_usec(us).replace(tzinfo=timezone(timedelta(seconds=-west)))


def timestamp_from_text(b: bytes) -> datetime:
    s = bytes(b).decode()
    inf = _infinity(s)
    if inf:
        return datetime.max if inf > 0 else datetime.min
    return parse_timestamp(s).replace(tzinfo=None)


def timestamptz_from_text(b: bytes) -> datetime:
    s = bytes(b).decode()
    inf = _infinity(s)
    if inf:
        return (datetime.max if inf > 0 else datetime.min).replace(tzinfo=_UTC)
    dt = parse_timestamp(s, "timestamp with time zone")
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=_UTC)


def _from_usec(us: int, base: datetime) -> datetime:
    if us == _TS_PINF:
        return datetime.max.replace(tzinfo=base.tzinfo)
    if us == _TS_NINF:
        return datetime.min.replace(tzinfo=base.tzinfo)
    try:
        return base + timedelta(microseconds=us)
    except OverflowError:
        raise DatetimeFieldOverflow("timestamp out of range for Python") from None


def timestamp_from_binary(b: bytes) -> datetime:
    _need(b, 8, "timestamp")
    return _from_usec(_Q.unpack(b)[0], _EPOCH)


def timestamptz_from_binary(b: bytes) -> datetime:
    _need(b, 8, "timestamp with time zone")
    return _from_usec(_Q.unpack(b)[0], _EPOCH_TZ)


def _interval_td(months: int, days: int, usec: int) -> timedelta:
    # timedelta has no months: a year is 365 days and a month 30, as psycopg reads them.
    years, mons = int(months / 12), months - int(months / 12) * 12
    return timedelta(days=days + years * 365 + mons * 30, microseconds=usec)


def interval_from_text(b: bytes) -> timedelta:
    return _interval_td(*parse_interval(bytes(b).decode()))


def interval_from_binary(b: bytes) -> timedelta:
    _need(b, 16, "interval")
    usec, days, months = _QII.unpack(b)
    return _interval_td(months, days, usec)


# ---------------------------------------------------------------- registration

register(pgtypes.DATE, date_text, date_binary, date_from_text, date_from_binary)
register(pgtypes.TIME, time_text, time_binary, time_from_text, time_from_binary)
register(pgtypes.TIMETZ, timetz_text, timetz_binary, time_from_text, timetz_from_binary)
register(pgtypes.TIMESTAMP, timestamp_text, timestamp_binary, timestamp_from_text,
         timestamp_from_binary)
register(pgtypes.TIMESTAMPTZ, timestamptz_text, timestamptz_binary, timestamptz_from_text,
         timestamptz_from_binary)
register(pgtypes.INTERVAL, interval_text, interval_binary, interval_from_text,
         interval_from_binary)

PYTYPE_TEXT[date] = date_text
PYTYPE_TEXT[time] = lambda t: (timetz_text if t.tzinfo is not None else time_text)(t)
PYTYPE_TEXT[datetime] = lambda dt: (timestamptz_text if dt.tzinfo is not None
                                    else timestamp_text)(dt)
PYTYPE_TEXT[timedelta] = interval_text
