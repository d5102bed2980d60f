"""PostgreSQL's calendar, without Python's limits: BC years, year 10000 and on, infinity.

Python's date stops at 9999 and has no year 0; PostgreSQL counts Julian days
from 4714 BC to 5874897 AD. This module does the integer calendar
arithmetic PostgreSQL does (date2j/j2date), reads the date/time text forms
PostgreSQL reads (ISO, SQL, German, Postgres, with DMY/MDY/YMD ordering),
and prints dates and timestamps in each DateStyle, from plain fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple

from pgproxy.errors import DatetimeFieldOverflow, InvalidDatetimeFormat


class Style(NamedTuple):
    """How a session prints dates and times: TimeZone, DateStyle, IntervalStyle."""

    tz: tzinfo | None = None  # None: UTC
    dates: str = "ISO"  # ISO, SQL, Postgres, German
    order: str = "MDY"  # DMY, MDY or YMD: reading ambiguous input, and SQL/Postgres output
    interval: str = "postgres"  # postgres, postgres_verbose, sql_standard, iso_8601
    zone: str = "UTC"  # the TimeZone's name: tzinfo equality ignores abbreviations


ISO = Style()

EPOCH_JDATE = 2451545  # 2000-01-01, PostgreSQL's epoch, as a Julian day
USEC_DAY = 86_400_000_000
# PostgreSQL's ranges: dates 4714-11-24 BC .. 5874897-12-31, timestamps to 294276-12-31.
DATE_MIN_DAYS = -EPOCH_JDATE
DATE_END_DAYS = 2147483494 - EPOCH_JDATE  # date2j(5874898, 1, 1)
TS_END_USEC = (109203528 - EPOCH_JDATE) * USEC_DAY  # date2j(294277, 1, 1)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTH_NUM = {m.lower(): i for i, m in enumerate(MONTHS, 1)}
_MONTH_NUM.update({
    "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7,
    "august": 8, "september": 9, "sept": 9, "october": 10, "november": 11, "december": 12,
})
_WEEKDAYS = frozenset(
    ["sun", "mon", "tue", "tues", "wed", "weds", "thu", "thur", "thurs", "fri", "sat",
     "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
)
_DAYS_IN = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def date2j(y: int, m: int, d: int) -> int:
    """Julian day of a proleptic Gregorian date; year 0 is 1 BC (PostgreSQL's date2j)."""
    if m > 2:
        m += 1
        y += 4800
    else:
        m += 13
        y += 4799
    century = y // 100
    return y * 365 - 32167 + y // 4 - century + century // 4 + 7834 * m // 256 + d


def j2date(jd: int) -> tuple[int, int, int]:
    julian = jd + 32044
    quad = julian // 146097
    extra = (julian - quad * 146097) * 4 + 3
    julian += 60 + quad * 3 + extra // 146097
    quad = julian // 1461
    julian -= quad * 1461
    y = julian * 4 // 1461
    julian = ((julian + 305) % 365 if y != 0 else (julian + 306) % 366) + 123
    y += quad * 4
    quad = julian * 2141 // 65536
    return y - 4800, (quad + 10) % 12 + 1, julian - 7834 * quad // 256


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


# ---------------------------------------------------------------- reading


class Parsed(NamedTuple):
    """A date/time text: days since 2000-01-01, microseconds into the day, offset east."""

    infinite: int  # +1 / -1 for 'infinity' / '-infinity', else 0
    days: int = 0
    usec: int = 0
    offset: int | None = None  # seconds east of UTC, when the text gave a zone
    has_date: bool = True


_INF = {"infinity": 1, "+infinity": 1, "-infinity": -1}
_TOKENS = re.compile(
    r"\s*(?:(?P<date>\d+[-/.]\d+(?:[-/.]\d+)?|\d+[-/.][a-z]+[-/.]\d+|[a-z]+[-/.]\d+[-/.]\d+)"
    r"|(?P<time>\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d*)?)?)"
    r"|(?P<zone>[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)"
    r"|(?P<num>\d+)(?:\.(?P<numfrac>\d*))?"
    r"|(?P<word>[a-z]+)"
    r"|(?P<sep>[,T]))",
    re.I,
)


def _bad(typname: str, text: str) -> InvalidDatetimeFormat:
    return InvalidDatetimeFormat(f'invalid input syntax for type {typname}: "{text}"')


def _zone_seconds(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if len(digits) <= 2:
        h, m, s = int(digits), 0, 0
    else:
        h, m, s = int(digits[:-2] if len(digits) <= 4 else digits[:-4]), 0, 0
        rest = digits[-2:] if len(digits) <= 4 else digits[-4:]
        m = int(rest[:2])
        s = int(rest[2:]) if len(rest) > 2 else 0
    return sign * (h * 3600 + m * 60 + s)


def _order_fields(parts: list[str], order: str, typname: str, text: str) -> tuple[int, int, int]:
    """Year, month, day of a three-part numeric or textual date by DateStyle's order;
    a year of one or two digits is 1970..2069, as PostgreSQL reads it."""
    year, month, day = _ordered(parts, order, typname, text)
    y = int(year)
    if len(year) <= 2:
        y += 2000 if y < 70 else 1900
    return y, month, int(day)


def _ordered(parts: list[str], order: str, typname: str, text: str) -> tuple[str, int, str]:
    """(year's digits, month, day's digits)."""
    month_word = next((i for i, p in enumerate(parts) if p.isalpha()), None)
    if month_word is not None:
        month = _MONTH_NUM.get(parts[month_word].lower())
        if month is None:
            raise _bad(typname, text)
        nums = [p for i, p in enumerate(parts) if i != month_word]
        if len(nums[0]) > 2 or (order == "YMD" and month_word == 1):
            return nums[0], month, nums[1]
        return nums[1], month, nums[0]
    if len(parts[0]) > 2:  # a long first field is a year, whatever the order
        return parts[0], int(parts[1]), parts[2]
    a, b, c = parts
    if order == "DMY":
        return c, int(b), a
    if order == "YMD":
        return a, int(b), c
    return c, int(a), b


def parse(text: str, order: str = "MDY", typname: str = "timestamp") -> Parsed:
    """Any date/time text PostgreSQL prints, and the usual ones it reads."""
    s = text.strip().lower()
    inf = _INF.get(s)
    if inf:
        return Parsed(inf)
    if s == "epoch":
        return Parsed(0, -10957, 0, 0)
    ymd: tuple[int, int, int] | None = None
    usec: int | None = None
    offset: int | None = None
    bc = False
    pm: bool | None = None
    loose: list[str] = []  # numbers and month names not inside a date token
    pos = 0
    while pos < len(s):
        m = _TOKENS.match(s, pos)
        if m is None or m.end() == pos:
            if not s[pos:].strip():
                break
            raise _bad(typname, text)
        pos = m.end()
        if m.group("date"):
            if ymd is not None:
                raise _bad(typname, text)
            parts = re.split(r"[-/.]", m.group("date"))
            if len(parts) == 2:
                raise _bad(typname, text)
            ymd = _order_fields(parts, order, typname, text)
        elif m.group("time"):
            if usec is not None:
                raise _bad(typname, text)
            usec = _time_usec(m.group("time"), typname, text)
        elif m.group("zone"):
            if usec is None and ymd is None and not loose:
                raise _bad(typname, text)
            offset = _zone_seconds(m.group("zone"))
        elif m.group("num") is not None:
            if m.group("numfrac") is not None:
                raise _bad(typname, text)
            loose.append(m.group("num"))
        elif m.group("word"):
            w = m.group("word")
            if w in ("bc", "ad"):
                bc = w == "bc"
            elif w in ("am", "pm"):
                pm = w == "pm"
            elif w in ("z", "utc", "gmt", "zulu", "ut"):
                offset = 0
            elif w in _MONTH_NUM:
                loose.append(w)
            elif w in _WEEKDAYS or w in ("t", "at", "on"):
                pass
            else:
                raise _bad(typname, text)
    if ymd is None and len(loose) == 3:
        ymd = _order_fields(loose, order, typname, text)
    elif loose:
        raise _bad(typname, text)
    if ymd is None:
        if usec is None:
            raise _bad(typname, text)
        return Parsed(0, 0, _ampm(usec, pm, typname, text), offset, has_date=False)
    y, mo, d = ymd
    if bc:
        if y <= 0:
            raise _bad(typname, text)
        y = 1 - y
    elif y == 0:
        raise DatetimeFieldOverflow(f'date/time field value out of range: "{text}"')
    if not 1 <= mo <= 12 or not 1 <= d <= (29 if mo == 2 and _leap(y) else _DAYS_IN[mo - 1]):
        raise DatetimeFieldOverflow(f'date/time field value out of range: "{text}"')
    days = date2j(y, mo, d) - EPOCH_JDATE
    if not DATE_MIN_DAYS <= days < DATE_END_DAYS:
        raise DatetimeFieldOverflow(f'date out of range: "{text}"')
    return Parsed(0, days, _ampm(usec or 0, pm, typname, text), offset)


def _time_usec(t: str, typname: str, text: str) -> int:
    fields = t.split(":")
    h, mi = int(fields[0]), int(fields[1])
    sec = fields[2] if len(fields) > 2 else "0"
    whole, _, frac = sec.partition(".")
    us = int((frac + "000000")[:6]) if frac else 0
    if len(frac) > 6 and frac[6] >= "5":
        us += 1  # PostgreSQL rounds to microseconds
    s = int(whole)
    if h > 24 or mi > 59 or s > 60 or (h == 24 and (mi or s or us)):
        raise DatetimeFieldOverflow(f'date/time field value out of range: "{text}"')
    return ((h * 60 + mi) * 60 + s) * 1_000_000 + us


def _ampm(usec: int, pm: bool | None, typname: str, text: str) -> int:
    if pm is None:
        return usec
    hour = usec // 3_600_000_000
    if hour > 12:
        raise DatetimeFieldOverflow(f'date/time field value out of range: "{text}"')
    if pm and hour < 12:
        usec += 12 * 3_600_000_000
    elif not pm and hour == 12:
        usec -= 12 * 3_600_000_000
    return usec


# ---------------------------------------------------------------- printing


def frac(us: int) -> str:
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


def date_str(y: int, m: int, d: int, style: Style) -> str:
    """EncodeDateOnly: a date in the session's DateStyle."""
    s = _date_part(y if y > 0 else 1 - y, m, d, style)
    return s if y > 0 else s + " BC"


def _date_part(yy: int, m: int, d: int, style: Style) -> str:
    dates = style.dates
    if dates == "ISO":
        s = f"{yy:04d}-{m:02d}-{d:02d}"
    elif dates == "SQL":
        s = f"{d:02d}/{m:02d}/{yy:04d}" if style.order == "DMY" else f"{m:02d}/{d:02d}/{yy:04d}"
    elif dates == "German":
        s = f"{d:02d}.{m:02d}.{yy:04d}"
    else:
        s = f"{d:02d}-{m:02d}-{yy:04d}" if style.order == "DMY" else f"{m:02d}-{d:02d}-{yy:04d}"
    return s


def timestamp_str(
    y: int, mo: int, d: int, usec: int, style: Style, zone: tuple[int, str | None] | None = None
) -> str:
    """EncodeDateTime: a timestamp (zone None) or timestamptz (offset east, abbreviation)."""
    secs, us = divmod(usec, 1_000_000)
    mins, s = divmod(secs, 60)
    h, mi = divmod(mins, 60)
    clock = f"{h:02d}:{mi:02d}:{s:02d}{frac(us)}"
    dates = style.dates
    yy = y if y > 0 else 1 - y
    if dates == "ISO":
        out = f"{yy:04d}-{mo:02d}-{d:02d} {clock}"
        if zone is not None:
            out += offset_str(zone[0])
    elif dates == "Postgres":
        wday = DAYS[(date2j(y, mo, d) + 1) % 7]
        if style.order == "DMY":
            out = f"{wday} {d:02d} {MONTHS[mo - 1]} {clock} {yy:04d}"
        else:
            out = f"{wday} {MONTHS[mo - 1]} {d:02d} {clock} {yy:04d}"
        if zone is not None:
            out += " " + (zone[1] if zone[1] is not None else offset_str(zone[0]))
    else:
        out = _date_part(yy, mo, d, style) + " " + clock
        if zone is not None:
            out += " " + (zone[1] if zone[1] is not None else offset_str(zone[0]))
    return out if y > 0 else out + " BC"


# ---------------------------------------------------------------- instants and zones

_PY_MIN_USEC = (date2j(1, 1, 2) - EPOCH_JDATE) * USEC_DAY
_PY_MAX_USEC = (date2j(9999, 12, 30) - EPOCH_JDATE) * USEC_DAY
_CYCLE_USEC = 146097 * USEC_DAY  # 400 Gregorian years: the calendar (and DST rules) repeat
_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=UTC)


def zone_at(utc_usec: int, tz: tzinfo) -> tuple[int, str | None]:
    """(seconds east, abbreviation) of `tz` at an instant, however far out of Python's range.

    Before year 1 a zone keeps its earliest offset (its LMT, as in PostgreSQL);
    after 9999 its rules repeat every 400 years, as the calendar does.
    """
    if utc_usec < _PY_MIN_USEC:
        utc_usec = _PY_MIN_USEC
    elif utc_usec > _PY_MAX_USEC:
        utc_usec -= ((utc_usec - _PY_MAX_USEC) // _CYCLE_USEC + 1) * _CYCLE_USEC
    local = (_EPOCH_UTC + timedelta(microseconds=utc_usec)).astimezone(tz)
    off = local.utcoffset()
    assert off is not None
    return off.days * 86400 + off.seconds, local.tzname()


def split_usec(usec: int) -> tuple[int, int, int, int]:
    """(year, month, day, microseconds into the day) of microseconds since 2000-01-01."""
    days, rest = divmod(usec, USEC_DAY)
    y, m, d = j2date(days + EPOCH_JDATE)
    return y, m, d, rest
