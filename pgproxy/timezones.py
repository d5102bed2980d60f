"""TimeZone values as PostgreSQL reads them: zone names, numeric offsets, POSIX specs.

PostgreSQL's check_timezone takes, in this order: `INTERVAL '…'` (SQL's sign,
hours east), a bare number of hours (SQL's sign: '-5' is five hours west),
then a zone name from the tz database (case-insensitive) or else a POSIX
spec, where the sign is POSIX's: 'UTC+2' and '+02:00' are two hours *west*
of Greenwich, '<+03>-3' three hours east. SHOW prints the canonical name:
the database's spelling ('Europe/Rome'), the spec upper-cased ('UTC+2'), or
for an offset the spec PostgreSQL builds for it ('<-05>+05').
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zoneinfo
from datetime import timedelta, timezone, tzinfo

from pgproxy import errors

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# std name, then its offset, then optionally a DST name, its offset and rules.
_ABBR = r"(?:<[A-Za-z0-9:+-]*>|[A-Za-z]*)"
_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}(?::\d{1,2})?)?"
_POSIX = re.compile(
    rf"(?P<std>{_ABBR})(?P<stdoff>{_OFFSET})"
    rf"(?:(?P<dst>{_ABBR})(?P<dstoff>{_OFFSET})?(?P<rules>,.*)?)?"
)
# What PostgreSQL's tzcode assumes when a POSIX spec names DST without rules.
_DEFAULT_RULES = ",M3.2.0,M11.1.0"
_MAX_OFFSET = 24 * 3600 - 1  # Python's timezone must stay under a day


def _invalid(value: str, detail: str | None = None) -> errors.PgError:
    return errors.InvalidParameterValue(
        f'invalid value for parameter "TimeZone": "{value}"', detail=detail
    )


@functools.lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Lower-cased name -> the tz database's spelling (PostgreSQL matches names caselessly)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _offset_spec(seconds_east: int) -> str:
    """pg_tzset_offset's POSIX spec for a fixed offset: '<+02>-02', '<-05:30>+05:30'."""
    a = abs(seconds_east)
    text = f"{a // 3600:02d}"
    if a % 3600:
        text += f":{a % 3600 // 60:02d}"
        if a % 60:
            text += f":{a % 60:02d}"
    if seconds_east < 0:
        return f"<-{text}>+{text}"
    return f"<+{text}>-{text}"


def _seconds(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")]
    parts += [0] * (3 - len(parts))
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _fixed(seconds_east: int, abbrev: str, value: str) -> tzinfo:
    if abs(seconds_east) > _MAX_OFFSET:
        raise _invalid(value, "UTC timezone offset is out of range.")
    return timezone(timedelta(seconds=seconds_east), abbrev)


def _tzif(posix: str) -> bytes:
    """A TZif v2 file with no transitions: its footer (a POSIX spec) rules all times."""
    block = (
        b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 0, 1, 4)
        + struct.pack(">lbB", 0, 0, 0) + b"UTC\0"
    )
    return block + block + b"\n" + posix.encode() + b"\n"


def _posix(value: str) -> tuple[str, tzinfo] | None:
    spec = value.upper()
    m = _POSIX.fullmatch(spec)
    if m is None:
        return None
    std = m.group("std")
    if std.startswith("<"):
        std = std[1:-1]
    west = _seconds(m.group("stdoff"))
    if west > 167 * 3600 or west < -167 * 3600:
        return None
    if not m.group("dst"):
        return spec, _fixed(-west, std, value)
    rules = m.group("rules") or _DEFAULT_RULES
    quoted = "".join((
        _quoted(m.group("std")), m.group("stdoff"), _quoted(m.group("dst")),
        m.group("dstoff") or "",
    ))
    try:
        zone = zoneinfo.ZoneInfo.from_file(io.BytesIO(_tzif(quoted + rules)), key=spec)
    except ValueError:
        return None
    return spec, zone


def _quoted(abbrev: str) -> str:
    return abbrev if abbrev.startswith("<") else f"<{abbrev}>"


def _interval_seconds(value: str) -> int:
    """SET TIME ZONE INTERVAL '-08:00' HOUR TO MINUTE (the parser's comma-joined words)."""
    from pgproxy.types.datetimes import parse_interval  # the interval reader

    words = [w.strip() for w in value.split(",")]
    text = words[1].strip("'") if len(words) > 1 else ""
    try:
        months, days, usec = parse_interval(text)
    except errors.PgError:
        raise _invalid(value) from None
    if months:
        raise _invalid(value, "Cannot specify months in time zone interval.")
    if days:
        raise _invalid(value, "Cannot specify days in time zone interval.")
    qualifier = " ".join(words[2:]).lower()
    if qualifier.endswith("hour"):
        usec -= usec % 3_600_000_000 if usec >= 0 else -(-usec % 3_600_000_000)
    elif qualifier.endswith("minute"):
        usec -= usec % 60_000_000 if usec >= 0 else -(-usec % 60_000_000)
    return int(usec / 1_000_000)


def _offset_zone(east: int, value: str) -> tuple[str, tzinfo]:
    spec = _offset_spec(east)
    return spec, _fixed(east, spec[1 : spec.index(">")], value)


@functools.lru_cache(maxsize=256)
def resolve(value: str) -> tuple[str, tzinfo | None]:
    """(canonical name, tzinfo) for a TimeZone setting; the tzinfo is None for UTC."""
    text = value.strip()
    if text.lower().startswith("interval"):
        return _offset_zone(_interval_seconds(text), value)
    if _NUMBER.fullmatch(text):
        try:
            return _offset_zone(round(float(text) * 3600), value)
        except (ValueError, OverflowError):
            raise _invalid(value) from None
    name = _zone_names().get(text.lower())
    if name is not None and text.upper() != "GMT":
        if name == "UTC":
            return "UTC", None
        return name, zoneinfo.ZoneInfo(name)
    if text.upper() == "GMT":
        return "GMT", timezone(timedelta(0), "GMT")
    found = _posix(text) if text and text[0] != ":" else None
    if found is None:
        raise _invalid(value)
    return found
