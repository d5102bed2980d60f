"""`x AT TIME ZONE z` (PostgreSQL's timezone(z, x)) for backends without it.

A timestamptz gives the wall-clock time in the zone (a timestamp); a timestamp is read
as wall-clock time in the zone and gives a timestamptz. SQLite calls pg_at_time_zone(),
which pgproxy registers: it tells the two apart by the stored text (a timestamptz keeps
its offset) and reads the zone as PostgreSQL does (names, POSIX specs, offsets).
MariaDB has CONVERT_TZ, whose named zones need time zone tables a server may lack (it
answers NULL): the operand's type must be fixed by the statement's text and the zone be
UTC or a numeric offset there; otherwise 0A000.
"""

from __future__ import annotations

import re
import typing as t

from sqlglot import exp

from dialects.api import TranslationError
from dialects.exprtypes import pg_type

D = exp.DType
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d\d))?")
_UTC = {"utc", "gmt", "z", "zulu", "etc/utc", "universal"}


def sqlite_sql(self: t.Any, expression: exp.AtTimeZone) -> str:
    return self.func("PG_AT_TIME_ZONE", expression.this, expression.args.get("zone"))


def _mysql_offset(zone: exp.Expr | None) -> str:
    """The zone as a MariaDB offset: UTC, or a POSIX-signed one ('+02:00' is UTC-2)."""
    if isinstance(zone, exp.Literal) and zone.is_string:
        text = zone.this.strip()
        if text.lower() in _UTC:
            return "+00:00"
        m = _OFFSET.fullmatch(text)
        if m:
            sign = "-" if m.group(1) == "+" else "+"  # POSIX: positive is west
            return f"{sign}{int(m.group(2)):02d}:{m.group(3) or '00'}"
    raise TranslationError(
        "AT TIME ZONE takes UTC or a numeric offset on MariaDB (named zones need the"
        " server's time zone tables)",
        "0A000",
    )


def mysql_sql(self: t.Any, expression: exp.AtTimeZone) -> str:
    kind = pg_type(expression.this)
    offset = _mysql_offset(expression.args.get("zone"))
    value = self.sql(expression, "this")
    if kind == D.TIMESTAMPTZ:  # shown in the session's UTC: to the zone's wall clock
        return f"CONVERT_TZ({value}, '+00:00', '{offset}')"
    if kind in (D.TIMESTAMP, D.DATETIME):
        return f"CONVERT_TZ({value}, '{offset}', '+00:00')"
    raise TranslationError(
        "AT TIME ZONE on MariaDB needs an operand typed in the statement"
        " (a cast: x::timestamptz or x::timestamp)",
        "0A000",
    )
