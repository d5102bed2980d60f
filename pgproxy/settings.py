"""Session parameters the proxy answers itself: defaults, SET, RESET, SHOW.

Drivers set these at connect (extra_float_digits, DateStyle, TimeZone,
client_encoding, search_path …) and expect PostgreSQL's answers. Parameters
marked `report` are sent as ParameterStatus when they change, as PostgreSQL
does (the GUC_REPORT flag).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import tzinfo

from pgproxy import errors

# The version advertised to clients ([server] server_version). pg_dump refuses a server
# newer than itself, so the default is the major version Debian's pg_dump has.
DEFAULT_SERVER_VERSION = "15.18"
SERVER_VERSION = DEFAULT_SERVER_VERSION
SERVER_VERSION_NUM = "150018"
VERSION_STRING = ""


@dataclass(frozen=True, slots=True)
class Param:
    default: str
    report: bool = False
    read_only: bool = False
    description: str = ""


PARAMS: dict[str, Param] = {
    "server_version": Param(SERVER_VERSION, report=True, read_only=True),
    "server_version_num": Param(SERVER_VERSION_NUM, read_only=True),
    "server_encoding": Param("UTF8", report=True, read_only=True),
    "client_encoding": Param("UTF8", report=True),
    "datestyle": Param("ISO, MDY", report=True),
    "intervalstyle": Param("postgres", report=True),
    "timezone": Param("UTC", report=True),
    "integer_datetimes": Param("on", report=True, read_only=True),
    "standard_conforming_strings": Param("on", report=True),
    "application_name": Param("", report=True),
    "is_superuser": Param("on", report=True, read_only=True),
    "session_authorization": Param("", report=True, read_only=True),
    "default_transaction_read_only": Param("off", report=True),
    "in_hot_standby": Param("off", report=True, read_only=True),
    "scram_iterations": Param("4096", report=True),
    "extra_float_digits": Param("1"),
    "search_path": Param('"$user", public'),
    "statement_timeout": Param("0"),
    "lock_timeout": Param("0"),
    "idle_in_transaction_session_timeout": Param("0"),
    "transaction_isolation": Param("read committed"),
    "default_transaction_isolation": Param("read committed"),
    "transaction_read_only": Param("off"),
    "transaction_deferrable": Param("off"),
    "max_identifier_length": Param("63", read_only=True),
    "max_index_keys": Param("32", read_only=True),
    "block_size": Param("8192", read_only=True),
    "lc_collate": Param("C.UTF-8", read_only=True),
    "lc_ctype": Param("C.UTF-8", read_only=True),
    "lc_messages": Param("C.UTF-8"),
    "lc_monetary": Param("C.UTF-8"),
    "lc_numeric": Param("C.UTF-8"),
    "lc_time": Param("C.UTF-8"),
    "bytea_output": Param("hex"),
    "xmloption": Param("content"),
    "client_min_messages": Param("notice"),
    "synchronous_commit": Param("on"),
    "work_mem": Param("4MB"),
    "jit": Param("off"),
    "row_security": Param("on"),
    "enable_seqscan": Param("on"),
    "geqo": Param("on"),
    "max_connections": Param("100", read_only=True),
    # What pg_dump sets up and what its plain-format output sets before restoring.
    "synchronize_seqscans": Param("on"),
    "quote_all_identifiers": Param("off"),
    "check_function_bodies": Param("on"),
    "default_tablespace": Param(""),
    "default_table_access_method": Param("heap"),
    "session_replication_role": Param("origin"),
    "restrict_nonsystem_relation_kind": Param(""),
    "default_with_oids": Param("off"),  # older dumps turn it off; tables have no OIDs
    "server_version_full": Param("", read_only=True),
    "pgproxy.branch": Param("", description="Dolt branch every statement reads and writes"),
    "pgproxy.as_of": Param("", description="commit, branch, tag or timestamp reads are as of"),
}


def set_server_version(version: str) -> None:
    """Advertise `version` ('15.18', '16.4', '14'): server_version, its _num and version()."""
    global SERVER_VERSION, SERVER_VERSION_NUM, VERSION_STRING
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", version.strip())
    if match is None or int(match.group(1)) < 10:
        raise ValueError(f"[server] server_version must look like '15.18', not {version!r}")
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    SERVER_VERSION = f"{major}.{minor}"
    SERVER_VERSION_NUM = str(major * 10000 + minor)
    VERSION_STRING = (
        f"PostgreSQL {SERVER_VERSION} (pgproxy) on x86_64-pc-linux-gnu, compiled by gcc, 64-bit"
    )
    PARAMS["server_version"] = Param(SERVER_VERSION, report=True, read_only=True)
    PARAMS["server_version_num"] = Param(SERVER_VERSION_NUM, read_only=True)
    PARAMS["server_version_full"] = Param(VERSION_STRING, read_only=True)


set_server_version(DEFAULT_SERVER_VERSION)

# Names as PostgreSQL spells them in SHOW ALL / ParameterStatus.
DISPLAY = {
    "datestyle": "DateStyle",
    "intervalstyle": "IntervalStyle",
    "timezone": "TimeZone",
}
ALIASES = {"time zone": "timezone", "names": "client_encoding"}

_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$", re.I)


def canonical(name: str) -> str:
    name = name.strip().lower()
    return ALIASES.get(name) or name


def display_name(name: str) -> str:
    return DISPLAY.get(name, name)


def parse_duration_ms(value: str) -> int:
    """statement_timeout and friends: '0', '500', '5s', '100ms', '1min' -> milliseconds."""
    match = _DURATION.match(value)
    if not match:
        raise errors.InvalidParameterValue(
            f'invalid value for parameter "statement_timeout": "{value}"',
            hint='Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".',
        )
    return int(float(match.group(1)) * _UNITS_MS[(match.group(2) or "ms").lower()])


_ENCODINGS = {"utf8", "utf-8", "unicode"}


def normalize(name: str, value: str) -> str:
    """Validate a SET value and give it PostgreSQL's canonical spelling."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1]
    if name == "client_encoding":
        if value.lower() not in _ENCODINGS:
            raise errors.FeatureNotSupported(
                f'client_encoding "{value}" is not supported: pgproxy speaks UTF8 only'
            )
        return "UTF8"
    if name == "datestyle":
        parts = [p.strip().upper() for p in value.split(",") if p.strip()]
        style = next((p for p in parts if p in ("ISO", "SQL", "POSTGRES", "GERMAN")), "ISO")
        order = next((p for p in parts if p in ("MDY", "DMY", "YMD", "US", "EURO")), "MDY")
        order = {"US": "MDY", "EURO": "DMY"}.get(order, order)
        if style != "ISO":
            raise errors.FeatureNotSupported(f'DateStyle "{value}" is not supported; use ISO')
        return f"{style.title() if style != 'ISO' else 'ISO'}, {order}"
    if name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"):
        return str(parse_duration_ms(value))
    if name == "timezone":
        if value.upper() in ("UTC", "GMT", "Z", "ZULU", "ETC/UTC", "UCT", "UNIVERSAL"):
            return "UTC"
        zone(value)  # refuse a name the zone database does not have
        return value
    if name == "extra_float_digits":
        try:
            digits = int(value)
        except ValueError:
            raise errors.InvalidParameterValue(
                f'invalid value for parameter "extra_float_digits": "{value}"'
            ) from None
        if not -15 <= digits <= 3:
            raise errors.InvalidParameterValue(
                f"{digits} is outside the valid range for parameter "
                '"extra_float_digits" (-15 .. 3)'
            )
        return str(digits)
    return value


@functools.lru_cache(maxsize=64)
def zone(name: str) -> tzinfo | None:
    """The tzinfo for a TimeZone setting; None for UTC, which needs no conversion."""
    if name == "UTC":
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise errors.InvalidParameterValue(
            f'invalid value for parameter "TimeZone": "{name}"'
        ) from None


class Settings:
    """One session's parameters; SET LOCAL values revert when the transaction ends."""

    __slots__ = ("_changed", "_local", "_values")

    def __init__(self, startup: dict[str, str]) -> None:
        self._values: dict[str, str] = {}
        self._local: dict[str, str | None] = {}
        self._changed: list[str] = []
        for name, value in startup.items():
            self.set(name, value, startup=True)
        self._changed.clear()

    def get(self, name: str) -> str:
        name = canonical(name)
        if name in self._values:
            return self._values[name]
        param = PARAMS.get(name)
        if param is not None:
            return param.default
        raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')

    def set(
        self, name: str, value: str | None, *, local: bool = False, startup: bool = False
    ) -> None:
        name = canonical(name)
        param = PARAMS.get(name)
        if param is None and "." not in name:
            if startup:
                return  # unknown startup options are ignored, as PostgreSQL ignores GUCs it lacks
            raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
        if name == "session_authorization" and not startup:
            # SET SESSION AUTHORIZATION (pg_dump --use-set-session-authorization): only to
            # the session's own user, or back to it (RESET, DEFAULT).
            wanted = self.get(name) if value is None or value.upper() == "DEFAULT" else \
                normalize(name, value)
            if wanted != self.get(name):
                raise errors.InsufficientPrivilege(
                    "permission denied to set session authorization")
            return
        if param is not None and param.read_only and not startup:
            raise errors.CantChangeRuntimeParam(f'parameter "{name}" cannot be changed')
        if value is None:
            new = param.default if param is not None else ""
        else:
            new = normalize(name, value)
        if local:
            self._local.setdefault(name, self._values.get(name))
        old = self.get(name) if (param is not None or name in self._values) else None
        self._values[name] = new
        if param is not None and param.report and old != new and name not in self._changed:
            self._changed.append(name)

    def reset_all(self) -> None:
        for name in list(self._values):
            param = PARAMS.get(name)
            if param is None or not param.read_only:
                self.set(name, None)

    def end_transaction(self) -> None:
        """SET LOCAL lasts until the end of the transaction."""
        for name, old in self._local.items():
            if old is None:
                self.set(name, None)
            else:
                self.set(name, old)
        self._local.clear()

    def changed(self) -> list[tuple[str, str]]:
        out = [(display_name(n), self.get(n)) for n in self._changed]
        self._changed.clear()
        return out

    def reported(self) -> dict[str, str]:
        return {display_name(n): self.get(n) for n, p in PARAMS.items() if p.report}

    def all(self) -> list[tuple[str, str, str]]:
        names = sorted(set(PARAMS) | set(self._values))
        return [
            (display_name(n), self.get(n), PARAMS[n].description if n in PARAMS else "")
            for n in names
        ]

    def tz(self) -> tzinfo | None:
        """The session's TimeZone for timestamptz output; None for UTC."""
        return zone(self._values.get("timezone", "UTC"))

    def statement_timeout_ms(self) -> int:
        return int(self._values.get("statement_timeout", "0"))
