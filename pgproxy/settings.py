"""Session parameters the proxy answers itself: defaults, SET, RESET, SHOW.

Drivers set these at connect (extra_float_digits, DateStyle, TimeZone,
client_encoding, search_path …) and expect PostgreSQL's answers. Parameters
marked `report` are sent as ParameterStatus when they change, as PostgreSQL
does (the GUC_REPORT flag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo

from pgproxy import errors, timezones
from pgproxy.types import ISO, Style
from pgproxy.wire import encoding

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
    "idle_session_timeout": Param("0"),
    "transaction_isolation": Param("read committed"),
    "default_transaction_isolation": Param("read committed"),
    "transaction_read_only": Param("off"),
    "transaction_deferrable": Param("off"),
    "default_transaction_deferrable": Param("off"),
    "escape_string_warning": Param("on"),
    "backslash_quote": Param("safe_encoding"),
    "array_nulls": Param("on"),
    "timezone_abbreviations": Param("Default"),
    "log_timezone": Param("UTC"),
    "max_prepared_transactions": Param("0", read_only=True),
    "max_locks_per_transaction": Param("64", read_only=True),
    "max_stack_depth": Param("2MB"),
    "shared_buffers": Param("128MB", read_only=True),
    "password_encryption": Param("scram-sha-256"),
    "default_text_search_config": Param("pg_catalog.english"),
    "track_commit_timestamp": Param("off", read_only=True),
    "data_checksums": Param("off", read_only=True),
    "wal_level": Param("replica", read_only=True),
    "ssl": Param("off", read_only=True),
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

# Settings that can change a query's answer or the bytes of its rows (the TimeZone
# of timestamptz, the DateStyle a literal is read in, the search_path that picks a
# table …): the query cache keys every result on their values. Some are fixed or not
# yet honoured by the proxy; they are keyed all the same, so honouring one later
# cannot serve a result made under another.
RESULT_SETTINGS = (
    "timezone", "datestyle", "intervalstyle", "extra_float_digits", "bytea_output",
    "client_encoding", "standard_conforming_strings", "search_path", "lc_monetary",
    "lc_numeric", "lc_time", "row_security", "array_nulls", "timezone_abbreviations",
)

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
_TIMEOUTS = frozenset({"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
                       "idle_session_timeout"})
_BOOLS = frozenset({
    "escape_string_warning", "standard_conforming_strings", "default_transaction_read_only",
    "transaction_read_only", "transaction_deferrable", "default_transaction_deferrable",
    "array_nulls", "jit", "row_security", "enable_seqscan", "geqo",
})
_TRUE = ("on", "true", "yes", "1", "t", "y", "tr", "tru", "ye")
_FALSE = ("off", "false", "no", "0", "f", "n", "of", "fa", "fal", "fals")
_STYLES = {"ISO": "ISO", "SQL": "SQL", "POSTGRES": "Postgres", "GERMAN": "German"}
_ORDERS = {"MDY": "MDY", "DMY": "DMY", "YMD": "YMD", "US": "MDY", "NONEURO": "MDY",
           "NONEUROPEAN": "MDY", "EURO": "DMY", "EUROPEAN": "DMY"}
_INTERVAL_STYLES = ("postgres", "postgres_verbose", "sql_standard", "iso_8601")


_STYLED = frozenset({"timezone", "datestyle", "intervalstyle"})
_PER_TRANSACTION = frozenset({"transaction_isolation", "transaction_read_only",
                              "transaction_deferrable"})


def canonical(name: str) -> str:
    name = name.strip().lower()
    return ALIASES.get(name) or name


def display_name(name: str) -> str:
    return DISPLAY.get(name, name)


def parse_duration_ms(value: str, name: str = "statement_timeout") -> int:
    """statement_timeout and friends: '0', '500', '5s', '100ms', '1min' -> milliseconds."""
    match = _DURATION.match(value)
    if not match:
        raise errors.InvalidParameterValue(
            f'invalid value for parameter "{name}": "{value}"',
            hint='Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".',
        )
    return int(float(match.group(1)) * _UNITS_MS[(match.group(2) or "ms").lower()])


def truthy(value: object) -> bool:
    """A boolean argument as PostgreSQL reads one ('on', 't', 'yes' …); NULL is false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    return str(value).strip().lower() in _TRUE


def _duration_text(ms: int) -> str:
    """A millisecond GUC as SHOW prints it: in the largest unit that divides it ('5s')."""
    if ms == 0:
        return "0"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _datestyle(value: str, current: str) -> str:
    """check_datestyle: a style and/or an order; what is not given stays as it was."""
    style, order = (p.strip() for p in current.split(","))
    styles = orders = 0
    for raw in (p.strip() for p in value.split(",")):
        word = raw.upper()
        if word in _STYLES:
            if styles and _STYLES[word] != style:
                raise _conflict(value)
            style, styles = _STYLES[word], styles + 1
            if word == "GERMAN" and not orders:
                order = "DMY"  # German also means DMY unless an order says otherwise
        elif word in _ORDERS:
            if orders and _ORDERS[word] != order:
                raise _conflict(value)
            order, orders = _ORDERS[word], orders + 1
        elif word == "DEFAULT":
            default_style, default_order = PARAMS["datestyle"].default.split(", ")
            if not styles:
                style = default_style
            if not orders:
                order = default_order
        else:
            raise errors.InvalidParameterValue(
                f'invalid value for parameter "DateStyle": "{value}"',
                detail=f'Unrecognized key word: "{raw}".',
            )
    return f"{style}, {order}"


def _conflict(value: str) -> errors.PgError:
    return errors.InvalidParameterValue(
        f'invalid value for parameter "DateStyle": "{value}"',
        detail='Conflicting "datestyle" specifications.',
    )


def normalize(name: str, value: str, current: str = "") -> str:
    """Validate a SET value and give it PostgreSQL's canonical spelling."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1]
    if name == "client_encoding":
        return encoding.canonical(value)
    if name == "datestyle":
        return _datestyle(value, current or PARAMS["datestyle"].default)
    if name == "intervalstyle":
        if value.lower() not in _INTERVAL_STYLES:
            raise errors.InvalidParameterValue(
                f'invalid value for parameter "intervalstyle": "{value}"',
                hint=f"Available values: {', '.join(_INTERVAL_STYLES)}.",
            )
        return value.lower()
    if name in _TIMEOUTS:
        return _duration_text(parse_duration_ms(value, name))
    if name == "timezone":
        return timezones.resolve(value)[0]
    if name in _BOOLS:
        word = value.lower()
        if word in _TRUE or word in _FALSE:
            return "on" if word in _TRUE else "off"
        raise errors.InvalidParameterValue(
            f'parameter "{name}" requires a Boolean value'
        )
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


class Settings:
    """One session's parameters; SET LOCAL values revert when the transaction ends."""

    __slots__ = (
        "_before_tx", "_changed", "_local", "_reset", "_values", "result_key_now", "style_now",
        "version",
    )

    def __init__(self, startup: dict[str, str]) -> None:
        self._values: dict[str, str] = {}
        self._local: dict[str, str | None] = {}
        self._before_tx: dict[str, str | None] = {}  # values before this transaction's SETs
        self._reset: dict[str, str] = {}  # what RESET returns to: the startup packet's values
        self._changed: list[str] = []
        self.result_key_now: tuple[str | None, ...] | None = None
        # style() once computed (None: a value it reads changed since): the statement
        # path reads this first, with no call.
        self.style_now: Style | None = ISO
        # Changes with every value's change: what is read once per change (a session's
        # branch, the wire's client_encoding) is read again only when it differs.
        self.version = 0
        for name, value in startup.items():
            self.set(name, value, startup=True)
        self._changed.clear()

    def get(self, name: str) -> str:
        name = canonical(name)
        if name in self._values:
            return self._values[name]
        if name in _PER_TRANSACTION:  # a transaction starts with the session's defaults
            return self.get("default_" + name)
        param = PARAMS.get(name)
        if param is not None:
            return param.default
        raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')

    def value(self, name: str) -> str:
        """get() of a name already canonical (lower case, no alias): the statement path's,
        one lookup when it is set."""
        value = self._values.get(name)
        if value is not None:
            return value
        param = PARAMS.get(name)
        if param is not None and name not in _PER_TRANSACTION:
            return param.default
        return self.get(name)

    def set(
        self, name: str, value: str | None, *, local: bool = False, startup: bool = False,
        in_transaction: bool = False,
    ) -> None:
        """SET (local: SET LOCAL). Inside a transaction the value before it is kept: a
        ROLLBACK restores it, as PostgreSQL undoes a rolled-back SET."""
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
        new: str | None
        if value is None:  # RESET: back to the startup packet's value, else the default
            new = self._reset.get(name) if param is not None else ""
        else:
            new = normalize(name, value, self._values.get(name, ""))
            if startup:
                self._reset[name] = new
        if local:
            self._local.setdefault(name, self._values.get(name))
        if in_transaction or local:
            self._before_tx.setdefault(name, self._values.get(name))
        self._assign(name, new)

    def _assign(self, name: str, new: str | None) -> None:
        """The one place a value changes (None: back to never set, the default)."""
        param = PARAMS.get(name)
        old = self.get(name) if (param is not None or name in self._values) else None
        if new is None:
            self._values.pop(name, None)
            new = self.get(name) if param is not None else None
        else:
            self._values[name] = new
        self.result_key_now = None
        self.version += 1
        if name in _STYLED:
            self.style_now = None
        if param is not None and param.report and old != new and name not in self._changed:
            self._changed.append(name)

    def copy(self) -> Settings:
        """A copy that changes apart (what a worker thread reads, off the event loop)."""
        other = Settings.__new__(Settings)
        other._values, other._local = dict(self._values), dict(self._local)
        other._before_tx, other._reset = dict(self._before_tx), dict(self._reset)
        other._changed, other.style_now = [], self.style_now
        other.result_key_now = self.result_key_now
        other.version = self.version
        return other

    def reset_all(self) -> None:
        for name in list(self._values):
            param = PARAMS.get(name)
            if param is None or not param.read_only:
                self.set(name, None)

    def end_transaction(self, commit: bool = True) -> None:
        """COMMIT keeps SETs and undoes SET LOCALs; ROLLBACK undoes both."""
        undo = self._before_tx if not commit else {
            name: old for name, old in self._local.items()
        }
        for name, old in undo.items():
            self._assign(name, old)
        self._local.clear()
        self._before_tx.clear()

    def changed(self) -> list[tuple[str, str]]:
        if not self._changed:
            return []  # after most statements
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

    def result_key(self) -> tuple[str | None, ...]:
        """The values of RESULT_SETTINGS, built once per change: a query cache key part.

        None for a name this build does not know (it always has its default).
        """
        key = self.result_key_now
        if key is None:
            values = self._values
            key = self.result_key_now = tuple(
                values.get(n, PARAMS[n].default) if n in PARAMS else None
                for n in RESULT_SETTINGS
            )
        return key

    def style(self) -> Style:
        """TimeZone, DateStyle and IntervalStyle, as the codecs print with them."""
        style = self.style_now
        if style is None:
            zone, tz = timezones.resolve(self.get("timezone"))
            dates, order = (p.strip() for p in self.get("datestyle").split(","))
            style = Style(tz, dates, order, self.get("intervalstyle"), zone)
            if style == ISO:
                style = ISO  # the one default object: cheap identity checks downstream
            self.style_now = style
        return style

    def tz(self) -> tzinfo | None:
        """The session's TimeZone for timestamptz output; None for UTC."""
        return self.style().tz

    def statement_timeout_ms(self) -> int:
        return self.timeout_ms("statement_timeout")

    def timeout_ms(self, name: str) -> int:
        """A timeout setting in milliseconds (0: none)."""
        value = self._values.get(name)
        return parse_duration_ms(value) if value else 0
