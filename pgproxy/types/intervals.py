"""The interval codec: PostgreSQL's interval text in each IntervalStyle, and its binary form.

An interval is (months, days, microseconds), as PostgreSQL keeps it. Text
input takes the postgres, postgres_verbose, sql_standard and ISO 8601
forms; text output follows the session's IntervalStyle (EncodeInterval).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from struct import Struct
from typing import Any

from pgproxy.errors import (
    InvalidBinaryRepresentation,
    InvalidDatetimeFormat,
    PgError,
    from_sqlstate,
)

from .pgcalendar import ISO, Style, frac
from .registry import Encoder
from .strings import text_decode

_QII = Struct("!qii")
_USEC_SEC = 1_000_000
_USEC_DAY = 86_400 * _USEC_SEC


def _bad(typname: str, s: Any) -> InvalidDatetimeFormat:
    return InvalidDatetimeFormat(f'invalid input syntax for type {typname}: "{s}"')


# ---------------------------------------------------------------- printing


def _fields(months: int, usec: int) -> tuple[int, int, int, int, int, int]:
    """interval2itm: years and months, then hours, minutes, seconds, fraction, C-truncated."""
    years = int(months / 12)
    mons = months - years * 12
    hours = int(usec / 3_600_000_000)
    rest = usec - hours * 3_600_000_000
    mins = int(rest / 60_000_000)
    rest -= mins * 60_000_000
    secs = int(rest / _USEC_SEC)
    return years, mons, hours, mins, secs, rest - secs * _USEC_SEC


def _seconds(sec: int, fsec: int, fill: bool) -> str:
    whole = f"{abs(sec):02d}" if fill else str(abs(sec))
    return whole + frac(abs(fsec))


def interval_str(months: int, days: int, usec: int, style: str = "postgres") -> str:
    """EncodeInterval: the text of an interval in IntervalStyle `style`."""
    year, mon, hour, mins, sec, fsec = _fields(months, usec)
    mday = days
    if style == "postgres":
        parts: list[str] = []
        is_before, is_zero = False, True
        for value, unit in ((year, "year"), (mon, "mon"), (mday, "day")):
            if value:
                plus = "+" if is_before and value > 0 else ""
                parts.append(f"{plus}{value} {unit}{'' if value == 1 else 's'}")
                is_before, is_zero = value < 0, False
        if is_zero or hour or mins or sec or fsec:
            minus = hour < 0 or mins < 0 or sec < 0 or fsec < 0
            sign = "-" if minus else ("+" if is_before else "")
            parts.append(f"{sign}{abs(hour):02d}:{abs(mins):02d}:{_seconds(sec, fsec, True)}")
        return " ".join(parts)
    if style == "sql_standard":
        fields = (year, mon, mday, hour, mins, sec, fsec)
        neg = any(f < 0 for f in fields)
        pos = any(f > 0 for f in fields)
        has_ym = bool(year or mon)
        has_dt = bool(mday or hour or mins or sec or fsec)
        standard = not (neg and pos) and not (has_ym and has_dt)
        lead = ""
        if neg and standard:
            lead = "-"
            year, mon, mday, hour, mins, sec, fsec = (-f for f in fields)
        if not neg and not pos:
            return "0"
        if not standard:
            ys = "-" if year < 0 or mon < 0 else "+"
            ds = "-" if mday < 0 else "+"
            ss = "-" if hour < 0 or mins < 0 or sec < 0 or fsec < 0 else "+"
            return (f"{lead}{ys}{abs(year)}-{abs(mon)} {ds}{abs(mday)} "
                    f"{ss}{abs(hour)}:{abs(mins):02d}:{_seconds(sec, fsec, True)}")
        if has_ym:
            return f"{lead}{year}-{mon}"
        if mday:
            return f"{lead}{mday} {hour}:{mins:02d}:{_seconds(sec, fsec, True)}"
        return f"{lead}{hour}:{mins:02d}:{_seconds(sec, fsec, True)}"
    if style == "iso_8601":
        if not (year or mon or mday or hour or mins or sec or fsec):
            return "PT0S"
        out = "P" + "".join(f"{v}{u}" for v, u in ((year, "Y"), (mon, "M"), (mday, "D")) if v)
        if hour or mins or sec or fsec:
            out += "T" + "".join(f"{v}{u}" for v, u in ((hour, "H"), (mins, "M")) if v)
        if sec or fsec:
            out += ("-" if sec < 0 or fsec < 0 else "") + _seconds(sec, fsec, False) + "S"
        return out
    # postgres_verbose
    out = "@"
    is_before, is_zero = False, True
    for value, unit in ((year, "year"), (mon, "mon"), (mday, "day"), (hour, "hour"),
                        (mins, "min")):
        if not value:
            continue
        if is_zero:
            is_before = value < 0
            value = abs(value)
        elif is_before:
            value = -value
        out += f" {value} {unit}{'' if value == 1 else 's'}"
        is_zero = False
    if sec or fsec:
        out += " "
        if sec < 0 or (sec == 0 and fsec < 0):
            if is_zero:
                is_before = True
            elif not is_before:
                out += "-"
        elif is_before:
            out += "-"
        out += _seconds(sec, fsec, False) + (" secs" if abs(sec) != 1 or fsec else " sec")
        is_zero = False
    if is_zero:
        out += " 0"
    if is_before:
        out += " ago"
    return out


# ---------------------------------------------------------------- reading

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


# PostgreSQL parses interval input in a buffer of 256 characters: anything longer
# is not an interval (and the parser here stays linear in what it is given).
_MAX_INTERVAL = 256
# interval's fields: int32 months and days, int64 microseconds.
_I32 = 1 << 31
_I64 = 1 << 63


def _interval_overflow(s: str | None = None) -> PgError:
    if s is None:
        return from_sqlstate("22015", "interval out of range")
    return from_sqlstate("22015", f'interval field value out of range: "{s}"')


def parse_interval(s: str) -> tuple[int, int, int]:
    """(months, days, microseconds) from the postgres, verbose, sql_standard or ISO 8601 form.

    Each field must fit PostgreSQL's (int32 months and days, int64 microseconds),
    else 22015.
    """
    if len(s) > _MAX_INTERVAL:
        raise _bad("interval", s)
    try:
        months, days, usec = _parse_interval(s)
    except ValueError:  # a field too long for int(): out of any range
        raise _interval_overflow(s) from None
    if not (-_I32 <= months < _I32 and -_I32 <= days < _I32 and -_I64 <= usec < _I64):
        raise _interval_overflow(s)
    return months, days, usec


def _parse_interval(s: str) -> tuple[int, int, int]:
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


class Interval(timedelta):
    """A client's interval: a timedelta for whoever computes with it, that keeps
    PostgreSQL's separate months, days and microseconds for whoever binds or prints
    it ('-1 days +23:00:00' is not '-01:00:00', and a month is not 30 days)."""

    __slots__ = ("fields",)
    fields: tuple[int, int, int]

    @classmethod
    def of(cls, months: int, days: int, usec: int) -> Interval:
        years, mons = int(months / 12), months - int(months / 12) * 12
        try:
            value = cls(days=days + years * 365 + mons * 30, microseconds=usec)
        except OverflowError:
            raise _interval_overflow() from None
        value.fields = (months, days, usec)
        return value


def to_interval(v: Any) -> tuple[int, int, int]:
    if v.__class__ is Interval:
        return v.fields
    if isinstance(v, timedelta):
        total = _td_usec(v)
        # Days and time carry the same sign, as justify_hours leaves them:
        # -1 hour is '-01:00:00', not timedelta's '-1 days +23:00:00'.
        d, us = divmod(abs(total), _USEC_DAY)
        return (0, -d, -us) if total < 0 else (0, d, us)
    if isinstance(v, str | bytes | bytearray | memoryview):
        return parse_interval(v if isinstance(v, str) else text_decode(v))
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        return to_interval(timedelta(seconds=float(v)))
    raise _bad("interval", v)


# ---------------------------------------------------------------- codec


def interval_text_encoder(style: Style = ISO) -> Encoder:
    """Interval text in the session's IntervalStyle; a backend's str is read and re-printed."""
    name = style.interval

    def encode(v: Any) -> bytes:
        return interval_str(*to_interval(v), name).encode()

    return encode


interval_text = interval_text_encoder()


def interval_binary(v: Any) -> bytes:
    months, days, usec = to_interval(v)
    return _QII.pack(usec, days, months)


def interval_from_text(b: bytes) -> Interval:
    return Interval.of(*parse_interval(text_decode(b)))


_OTHER_SIGN = re.compile(r"\s[+-]")


def sql_standard_from_text(b: bytes) -> Interval:
    """IntervalStyle sql_standard's input rule: a leading '-' applies to every field
    when no other field has a sign of its own ('-1 2:03:04' is -1 day -2:03:04)."""
    text = text_decode(b)
    months, days, usec = parse_interval(text)
    stripped = text.strip()
    if stripped.startswith("-") and not _OTHER_SIGN.search(stripped):
        months, days, usec = (-abs(months), -abs(days), -abs(usec))
    return Interval.of(months, days, usec)


def interval_from_binary(b: bytes) -> Interval:
    if len(b) != 16:
        raise InvalidBinaryRepresentation("incorrect binary data format for type interval")
    usec, days, months = _QII.unpack(b)
    return Interval.of(months, days, usec)
