"""Codecs for date, time, timetz, timestamp, timestamptz (intervals: intervals.py).

Text output follows the session's Style (TimeZone, DateStyle): PostgreSQL's
ISO, SQL, German and Postgres forms. Binary values count from 2000-01-01
(PostgreSQL's epoch) in microseconds, or days for date. Values beyond
Python's calendar (BC, year 10000 and on, infinity) travel as text and are
computed with pgcalendar, never squeezed into datetime.
"""

from __future__ import annotations

import functools
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

from . import pgcalendar as cal
from .intervals import (
    interval_binary,
    interval_from_binary,
    interval_from_text,
    interval_text,
    interval_text_encoder,
    parse_interval,
    sql_standard_from_text,
)
from .pgcalendar import ISO, Style, frac, offset_str
from .registry import PYTYPE_TEXT, Decoder, Encoder, register
from .strings import text_decode

__all__ = ["ISO", "Style", "offset_str", "parse_interval", "text_decoder", "text_encoder"]

_I = Struct("!i")
_Q = Struct("!q")
_QI = Struct("!qi")

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
# PostgreSQL parses date/time input in a buffer of MAXDATELEN (128) characters:
# anything longer is not a value of the type. The limit also keeps the parsers
# here linear in what they are given.
_MAX_DATETIME = 128
# The widest offset timetz takes: under 16 hours (TZDISP_LIMIT).
_TZDISP_LIMIT = 16 * 3600
_INFINITIES = {"infinity": 1, "+infinity": 1, "-infinity": -1}
_INF_TEXT = {1: "infinity", -1: "-infinity"}

# ---------------------------------------------------------------- formatting


def _offset_seconds(off: timedelta) -> int:
    return off.days * 86400 + off.seconds


def time_str(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}{frac(t.microsecond)}"


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


def _day_usec(dt: datetime) -> int:
    return ((dt.hour * 60 + dt.minute) * 60 + dt.second) * _USEC_SEC + dt.microsecond


# ---------------------------------------------------------------- parsing


def _bad(typname: str, s: Any) -> InvalidDatetimeFormat:
    return InvalidDatetimeFormat(f'invalid input syntax for type {typname}: "{s}"')


def parse_date(s: str) -> date:
    if len(s) > _MAX_DATETIME:
        raise _bad("date", s)
    try:
        return date.fromisoformat(s.strip()[:10])
    except ValueError:
        raise _bad("date", s) from None


_MIDNIGHT_END = re.compile(r"24:00(?::00(?:\.0*)?)?")


def parse_time(s: str) -> time:
    if len(s) > _MAX_DATETIME:
        raise _bad("time", s)
    try:
        return time.fromisoformat(s.strip())
    except ValueError:
        raise _bad("time", s) from None


def _time_param(s: str) -> time | str:
    """A time or timetz parameter; PostgreSQL's 24:00:00, which Python's time lacks, stays
    text."""
    if _MIDNIGHT_END.fullmatch(s.strip()):
        return "24:00:00"
    return parse_time(s)


def parse_timestamp(s: str, typname: str = "timestamp") -> datetime:
    if len(s) > _MAX_DATETIME:
        raise _bad(typname, s)
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
        return parse_date(v if isinstance(v, str) else text_decode(v))
    raise _bad("date", v)


def _to_datetime(v: Any, typname: str = "timestamp") -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, str | bytes | bytearray | memoryview):
        return parse_timestamp(v if isinstance(v, str) else text_decode(v), typname)
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
        return parse_time(v if isinstance(v, str) else text_decode(v))
    raise _bad(typname, v)


def _td_usec(td: timedelta) -> int:
    return (td.days * 86400 + td.seconds) * _USEC_SEC + td.microseconds


def _is_text(v: Any) -> bool:
    return isinstance(v, str | bytes | bytearray | memoryview)


def _text_of(v: Any) -> str:
    return v if isinstance(v, str) else text_decode(v)


def _infinity(v: Any) -> int:
    """+1/-1 for a PostgreSQL 'infinity'/'-infinity' string, else 0."""
    if _is_text(v):
        return _INFINITIES.get(_text_of(v).strip().lower(), 0)
    return 0


def _wide(v: Any, typname: str) -> cal.Parsed:
    """Text that datetime cannot hold (BC, year 10000, infinity), read as PostgreSQL does."""
    if not _is_text(v):
        raise _bad(typname, v)
    return cal.parse(_text_of(v), "MDY", typname)


def _date_days(v: Any) -> int:
    """Days since 2000-01-01 of any date value; infinities as PostgreSQL's extremes."""
    if isinstance(v, date):  # a datetime too: its date's ordinal
        return v.toordinal() - _EPOCH_ORD
    if v.__class__ is str and len(v) == 10:
        try:
            return date.fromisoformat(v).toordinal() - _EPOCH_ORD
        except ValueError:
            pass
    p = _wide(v, "date")
    if p.infinite:
        return _DATE_PINF if p.infinite > 0 else _DATE_NINF
    return p.days


def _timestamp_usec(v: Any, typname: str) -> int:
    """Microseconds since 2000-01-01 (in UTC for a timestamptz; a naive one is UTC)."""
    if v.__class__ is not datetime:
        if isinstance(v, date) and not isinstance(v, datetime):
            v = datetime(v.year, v.month, v.day)
        elif isinstance(v, datetime | int | float | Decimal) and not isinstance(v, bool):
            v = _to_datetime(v, typname)
        else:
            dt = None
            if _is_text(v):
                try:
                    dt = _fromisoformat(_text_of(v))
                except ValueError:
                    pass
            if dt is None:
                p = _wide(v, typname)
                if p.infinite:
                    return _TS_PINF if p.infinite > 0 else _TS_NINF
                usec = p.days * _USEC_DAY + p.usec
                if typname == "timestamp":
                    return usec
                if p.offset is not None:
                    return usec - p.offset * _USEC_SEC
                return usec  # a naive timestamptz from a backend is UTC
            v = dt
    if typname == "timestamp":
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)  # timestamp keeps the wall clock, drops the zone
        return (v - _EPOCH) // _ONE_USEC
    if v.tzinfo is None:
        return (v - _EPOCH) // _ONE_USEC
    return (v - _EPOCH_TZ) // _ONE_USEC


# ---------------------------------------------------------------- text encoders


def _date_text_styled(style: Style) -> Encoder:
    def encode(v: Any) -> bytes:
        if isinstance(v, date):
            return cal.date_str(v.year, v.month, v.day, style).encode()
        days = _date_days(v)
        if days in (_DATE_PINF, _DATE_NINF):
            return _INF_TEXT[1 if days > 0 else -1].encode()
        return cal.date_str(*cal.j2date(days + cal.EPOCH_JDATE), style).encode()

    return encode


def date_text(v: Any) -> bytes:
    if v.__class__ is date:
        return v.isoformat().encode()
    if v.__class__ is str and len(v) == 10:
        return v.encode()
    if isinstance(v, date):
        return _to_date(v).isoformat().encode()
    return _date_text_iso(v)


_date_text_iso = _date_text_styled(ISO)


def _wide_timestamp(usec: int, style: Style, tz: tzinfo | None, with_zone: bool) -> bytes:
    if usec in (_TS_PINF, _TS_NINF):
        return _INF_TEXT[1 if usec > 0 else -1].encode()
    zone = None
    if with_zone:
        zone = (0, "UTC") if tz is None else cal.zone_at(usec, tz)
        usec += zone[0] * _USEC_SEC
    y, m, d, day_usec = cal.split_usec(usec)
    return cal.timestamp_str(y, m, d, day_usec, style, zone).encode()


def _timestamp_text_styled(style: Style) -> Encoder:
    def encode(v: Any) -> bytes:
        if isinstance(v, datetime):
            if v.tzinfo is not None:
                v = v.replace(tzinfo=None)
            return cal.timestamp_str(v.year, v.month, v.day, _day_usec(v), style).encode()
        return _wide_timestamp(_timestamp_usec(v, "timestamp"), style, None, False)

    return encode


_timestamp_text_iso = _timestamp_text_styled(ISO)


def timestamp_text(v: Any) -> bytes:
    if v.__class__ is str:
        # Already timestamp_out's ISO text (as the proxy stores it): sent as it is.
        n = len(v)
        if v[10:11] == " " and (n == 19 or (
                20 < n < 27 and v[19] == "." and v[-1] != "0" and v[20:].isdigit())):
            return v.encode()
        if _infinity(v):
            return v.strip().lower().encode()
        try:
            dt = parse_timestamp(v)
        except InvalidDatetimeFormat:
            return _timestamp_text_iso(v)
        return timestamp_str(dt).encode()
    if v.__class__ is datetime:
        return timestamp_str(v).encode()
    return _timestamp_text_iso(v)


def _in_zone(dt: datetime, tz: tzinfo) -> datetime:
    # A naive value from a backend is UTC: backends keep timestamptz in UTC
    # (MySQL sessions run at +00:00, SQLite's CURRENT_TIMESTAMP is UTC).
    if dt.tzinfo is None:
        return dt.replace(tzinfo=_UTC).astimezone(tz)
    return dt.astimezone(tz)


def timestamptz_text_encoder(style: Style = ISO) -> Encoder:
    """timestamptz text as PostgreSQL prints it for a session of this Style.

    PostgreSQL prints every timestamptz in the session zone, so an aware
    value is converted (its offset tells the instant), and so is a naive one,
    which a backend holds in UTC.
    """
    tz = style.tz
    utc = tz is None or tz is _UTC
    iso = style.dates == "ISO"

    def fmt(dt: datetime) -> bytes:
        if utc and iso:
            if dt.tzinfo is None:
                return (timestamp_str(dt) + "+00").encode()
            off = dt.utcoffset()
            if not off:
                return (timestamp_str(dt) + "+00").encode()
            try:
                return (timestamp_str(dt - off) + "+00").encode()
            except OverflowError:
                return wide(dt)
        try:
            local = _in_zone(dt, tz or _UTC)
        except OverflowError:
            return wide(dt)
        if iso:
            return timestamptz_str(local).encode()
        off = local.utcoffset()
        zone = (_offset_seconds(off) if off else 0, local.tzname() if tz else "UTC")
        return cal.timestamp_str(
            local.year, local.month, local.day, _day_usec(local), style, zone
        ).encode()

    def wide(v: Any) -> bytes:
        return _wide_timestamp(_timestamp_usec(v, "timestamptz"), style, tz, True)

    def encode(v: Any) -> bytes:
        if v.__class__ is datetime:
            return fmt(v)
        if v.__class__ is str:
            if utc and iso and len(v) == 19 and v[10] == " ":
                return v.encode() + b"+00"
            try:
                dt = parse_timestamp(v, "timestamp with time zone")
            except InvalidDatetimeFormat:
                return wide(v)
            return fmt(dt)
        if isinstance(v, datetime):
            return fmt(v)
        if _is_text(v):
            return wide(v)
        return fmt(_to_datetime(v, "timestamp with time zone"))

    return encode


def timestamptz_binary(v: Any) -> bytes:
    """timestamptz binary: microseconds since 2000-01-01 UTC, whatever the session zone;
    a backend's naive value is UTC."""
    if v.__class__ is str and len(v) == 19:
        try:
            return _Q.pack((_fromisoformat(v) - _EPOCH) // _ONE_USEC)
        except ValueError:
            pass
    elif v.__class__ is datetime:
        return _Q.pack((v - (_EPOCH if v.tzinfo is None else _EPOCH_TZ)) // _ONE_USEC)
    return _Q.pack(_timestamp_usec(v, "timestamptz"))


timestamptz_text = timestamptz_text_encoder()


@functools.lru_cache(maxsize=64)
def text_encoder(oid: int, style: Style) -> Encoder | None:
    """The text encoder of a date/time type for a session Style; None if the style is moot."""
    if oid == pgtypes.TIMESTAMPTZ:
        return timestamptz_text_encoder(style)
    if oid == pgtypes.INTERVAL:
        return interval_text_encoder(style) if style.interval != "postgres" else None
    if style.dates == "ISO":
        return None
    if oid == pgtypes.DATE:
        return _date_text_styled(style)
    if oid == pgtypes.TIMESTAMP:
        return _timestamp_text_styled(style)
    return None


# ---------------------------------------------------------------- other encoders


def date_binary(v: Any) -> bytes:
    return _I.pack(_date_days(v))


def time_text(v: Any) -> bytes:
    if v.__class__ is str:
        return v.encode()
    return time_str(_to_time(v)).encode()


def _time_usec(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _USEC_SEC + t.microsecond


def time_binary(v: Any) -> bytes:
    if v.__class__ is str and _MIDNIGHT_END.fullmatch(v.strip()):
        return _Q.pack(_USEC_DAY)
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


def timestamp_binary(v: Any) -> bytes:
    if v.__class__ is str:
        try:
            v = _fromisoformat(v)
        except ValueError:
            return _Q.pack(_timestamp_usec(v, "timestamp"))
    if v.__class__ is datetime:  # the common case, inline
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)  # timestamp keeps the wall clock, drops the zone
        return _Q.pack((v - _EPOCH) // _ONE_USEC)
    return _Q.pack(_timestamp_usec(v, "timestamp"))


# ---------------------------------------------------------------- decoders
#
# A parameter beyond Python's calendar, or infinite, is bound as PostgreSQL's
# ISO text ('10000-01-01', '0044-03-15 BC', 'infinity'): a backend that keeps
# text keeps it exactly, and one that cannot hold it refuses it.


def _need(b: bytes, n: int, typname: str) -> None:
    if len(b) != n:
        raise InvalidBinaryRepresentation(f"incorrect binary data format for type {typname}")


def _date_of_days(days: int) -> date | str:
    if days == _DATE_PINF:
        return "infinity"
    if days == _DATE_NINF:
        return "-infinity"
    try:
        return date.fromordinal(days + _EPOCH_ORD)
    except (ValueError, OverflowError):
        if not cal.DATE_MIN_DAYS <= days < cal.DATE_END_DAYS:
            raise DatetimeFieldOverflow("date out of range") from None
        return cal.date_str(*cal.j2date(days + cal.EPOCH_JDATE), ISO)


_RELATIVE = {"now": None, "today": 0, "tomorrow": 1, "yesterday": -1}


def _relative(s: str, tz: tzinfo | None) -> datetime | None:
    """'now', 'today', 'tomorrow', 'yesterday': read when the statement runs, in the zone."""
    word = s.strip().lower()
    if word not in _RELATIVE:
        return None
    now = datetime.now(tz or _UTC)
    days = _RELATIVE[word]
    if days is None:
        return now
    midnight = datetime(now.year, now.month, now.day) + timedelta(days=days)
    return midnight.replace(tzinfo=tz or _UTC)


def _date_decoder(order: str, tz: tzinfo | None = None) -> Decoder:
    def decode(b: bytes) -> date | str:
        s = text_decode(b)
        try:
            return date.fromisoformat(s)
        except ValueError:
            pass
        rel = _relative(s, tz)
        if rel is not None:
            return rel.date()
        p = cal.parse(s, order, "date")
        if p.infinite:
            return _INF_TEXT[p.infinite]
        return _date_of_days(p.days)

    return decode


date_from_text = _date_decoder("MDY")


def date_from_binary(b: bytes) -> date | str:
    _need(b, 4, "date")
    return _date_of_days(_I.unpack(b)[0])


def time_from_text(b: bytes) -> time | str:
    """A time parameter: an offset is ignored, as time_in ignores it ('13:45:56+00' is
    13:45:56, as pgjdbc's setTime sends it)."""
    t = _time_param(text_decode(b))
    return t.replace(tzinfo=None) if isinstance(t, time) else t


def timetz_from_text(b: bytes) -> time | str:
    return _time_param(text_decode(b))


def _timetz_decoder(tz: tzinfo | None) -> Decoder:
    def decode(b: bytes) -> time:
        t = parse_time(text_decode(b))
        if t.tzinfo is None and tz is not None:
            # Without an offset, the session zone's offset today, as PostgreSQL takes it.
            return t.replace(tzinfo=timezone(datetime.now(tz).utcoffset() or timedelta(0)))
        return t

    return decode


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
    if not -_TZDISP_LIMIT < west < _TZDISP_LIMIT:
        raise InvalidBinaryRepresentation("time zone displacement out of range")
    return _time_of_usec(us).replace(tzinfo=timezone(timedelta(seconds=-west)))


def _from_usec(us: int, aware: bool) -> datetime | str:
    if us == _TS_PINF:
        return "infinity"
    if us == _TS_NINF:
        return "-infinity"
    try:
        return (_EPOCH_TZ if aware else _EPOCH) + timedelta(microseconds=us)
    except OverflowError:
        if not -cal.EPOCH_JDATE * _USEC_DAY <= us < cal.TS_END_USEC:
            raise DatetimeFieldOverflow("timestamp out of range") from None
        y, m, d, day_usec = cal.split_usec(us)
        return cal.timestamp_str(y, m, d, day_usec, ISO, (0, None) if aware else None)


def _timestamp_decoder(order: str, tz: tzinfo | None, aware: bool) -> Decoder:
    typname = "timestamp with time zone" if aware else "timestamp"

    def decode(b: bytes) -> datetime | str:
        s = text_decode(b)
        try:
            dt = _fromisoformat(s.strip())
        except ValueError:
            rel = _relative(s, tz)
            if rel is not None:
                return rel.astimezone(_UTC) if aware else rel.replace(tzinfo=None)
            p = cal.parse(s, order, typname)
            if p.infinite:
                return _INF_TEXT[p.infinite]
            usec = p.days * _USEC_DAY + p.usec
            if aware:
                if p.offset is not None:
                    usec -= p.offset * _USEC_SEC
                elif tz is not None:  # a value without a zone is in the session's TimeZone
                    usec -= cal.zone_at(usec, tz)[0] * _USEC_SEC
            return _from_usec(usec, aware)
        if not aware:
            return dt.replace(tzinfo=None)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=tz or _UTC)
        # In UTC, so a backend that keeps text keeps one spelling of each instant.
        try:
            return dt.astimezone(_UTC)
        except OverflowError:  # 9999-12-31 23:00-06 is in year 10000 in UTC
            return _from_usec((dt - _EPOCH_TZ) // _ONE_USEC, True)

    return decode


timestamp_from_text = _timestamp_decoder("MDY", None, False)
timestamptz_from_text = _timestamp_decoder("MDY", None, True)


def timestamp_from_binary(b: bytes) -> datetime | str:
    _need(b, 8, "timestamp")
    return _from_usec(_Q.unpack(b)[0], False)


def timestamptz_from_binary(b: bytes) -> datetime | str:
    _need(b, 8, "timestamp with time zone")
    return _from_usec(_Q.unpack(b)[0], True)


@functools.lru_cache(maxsize=64)
def text_decoder(oid: int, style: Style) -> Decoder | None:
    """A text parameter decoder that reads by the session's DateStyle order and TimeZone."""
    if oid == pgtypes.DATE:
        return _date_decoder(style.order, style.tz)
    if oid == pgtypes.TIMESTAMP:
        return _timestamp_decoder(style.order, None, False)
    if oid == pgtypes.TIMESTAMPTZ:
        return _timestamp_decoder(style.order, style.tz, True)
    if oid == pgtypes.TIMETZ:
        return _timetz_decoder(style.tz)
    if oid == pgtypes.INTERVAL and style.interval == "sql_standard":
        return sql_standard_from_text
    return None


# ---------------------------------------------------------------- registration

register(pgtypes.DATE, date_text, date_binary, date_from_text, date_from_binary)
register(pgtypes.TIME, time_text, time_binary, time_from_text, time_from_binary)
register(pgtypes.TIMETZ, timetz_text, timetz_binary, timetz_from_text, timetz_from_binary)
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
