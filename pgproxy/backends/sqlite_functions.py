"""PostgreSQL functions SQLite lacks, registered on each backend connection.

The SQLite dialect (dialects/sqlite.py) calls them by these names; they raise
PostgreSQL's errors where SQLite would return NULL. apsw re-raises an
exception from a function as itself, so a PgError reaches the client with
its SQLSTATE.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

import apsw

from pgproxy import errors
from pgproxy.wire.codecs.intervals import to_interval
from pgproxy.wire.codecs.strings import bytea_from_text


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


def repeat(text: str | None, count: int | None) -> str | None:
    if text is None or count is None:
        return None
    return str(text) * max(int(count), 0)


_FUNCTIONS = (
    ("pgproxy_timestamp_add", timestamp_add, 3),
    ("repeat", repeat, 2),
    ("pgproxy_nonzero", nonzero, 1),
    ("get_byte", get_byte, 2),
    ("set_byte", set_byte, 3),
    ("chr", chr_, 1),
    ("ascii", ascii_, 1),
)


def register(conn: apsw.Connection) -> None:
    for name, fn, nargs in _FUNCTIONS:
        conn.create_scalar_function(name, fn, nargs, deterministic=True)
