"""Requests answered at the wire: what both such answers share (cache hits, inline reads).

A request read whole while the connection waits at ReadyForQuery outside a
transaction block may be answered from data_received itself, before any task
wakes (pgproxy/cache/hits.py from the query cache's entry, pgproxy/wire_reads.py
by running the statement inline). Both recognise the same requests — what
libpq (psycopg, pgbench) and asyncpg send for a statement run to its end on the
unnamed portal: [Parse of the unnamed statement] Bind, [Describe portal] Execute,
Sync; or a simple Query — by one compare of the trailing messages; both find a
Bind's prepared statement by the bytes of its name, number statements (by text and
parameter types) and session states (the objects a result depends on, which the
session replaces when they change) the same way, and both leave the request to
the full path whenever the connection is not simply waiting for a command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgproxy.wire import encoding
from pgproxy.wire.protocol import ServerProtocol, State

if TYPE_CHECKING:
    from pgproxy.core.hooks import Hooks

# The longest request answered at the wire: point reads, not bulk parameters.
MAX_REQUEST = 1024
# Session states and statements numbered at most (the ones in use come back renumbered).
NUMBERED = 1024
# What follows the Bind of a statement run to its end on the unnamed portal:
# [Describe portal ""] Execute "" 0, Sync.
DESCRIBE = b"D\x00\x00\x00\x06P\x00"
EXECUTE_SYNC = b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00S\x00\x00\x00\x04"
DESCRIBE_EXECUTE_SYNC = DESCRIBE + EXECUTE_SYNC
# at_wire's answer for a request whose reply is written later, by the connection's
# `deliver` (pgproxy/wire_reads_async.py: a read that waits for its backend).
PENDING: Any = object()
# recognise()'s answer for a simple Query.
QUERY = (-1, 0, 0, False)
_READY = State.READY


def _recognise(data: bytes) -> tuple[int, int, int, bool] | None:
    """What a request read in one piece is: QUERY for one Query message; for [a Parse of
    the unnamed statement,] a Bind of the unnamed portal, [a Describe of it,] an Execute
    with no row limit and a Sync: (where the Bind starts (0: no Parse), where it ends,
    where its statement name ends, whether the portal is described). None: anything
    else, which the full path answers. (_frames.c does the same.)"""
    if len(data) > MAX_REQUEST or len(data) < 5 or data.__class__ is not bytes:
        return None  # shorter than a message's header: the rest is still to come
    kind = data[0]
    end = 1 + int.from_bytes(data[1:5], "big")
    if kind == 81:  # Query
        return QUERY if end == len(data) else None
    at = 0
    if kind == 80:  # Parse of the unnamed statement, then its Bind
        if len(data) < 6 or data[5] or data[end : end + 1] != b"B":
            return None
        at = end
        end = at + 1 + int.from_bytes(data[at + 1 : at + 5], "big")
    elif kind != 66:
        return None
    rest = data[end:]
    if rest == DESCRIBE_EXECUTE_SYNC:
        describe = True
    elif rest == EXECUTE_SYNC:
        describe = False
    else:
        return None
    name_end = data.find(b"\0", at + 6, end)
    if data[at + 5] or name_end < 0:
        return None  # a named portal
    return at, end, name_end, describe


try:  # built from _frames.c when a C compiler was at hand (pyproject.toml)
    from pgproxy.wire._frames import QUERY
    from pgproxy.wire._frames import recognise as recognise
except ImportError:
    recognise = _recognise


def waiting(session: Any, protocol: ServerProtocol, hooks: Hooks) -> bool:
    """Whether the connection simply waits for a command outside a transaction block, so
    that a reply written at the wire is what the full path would write: no statement
    hook needs the full path (steps' timers, a wrapping hook that cannot hear of an
    answer made here), no portal is open, the session has not failed."""
    return not (hooks.full_path or protocol.portals or protocol.state is not _READY
                or session.in_transaction or session.failed or session.lost_transaction)


class Numbers:
    """Numbers for prepared statements (text and parameter types, the same in every
    session) and session states, shared by a worker's sessions; never reused."""

    __slots__ = ("_next", "_statements", "_states")

    def __init__(self) -> None:
        self._states: dict[tuple[Any, ...], int] = {}
        self._statements: dict[tuple[str, tuple[int, ...]], int] = {}
        self._next = 0

    def statement(self, text: str, types: list[int]) -> int:
        """The number of a prepared statement's text and parameter types."""
        token = (text, tuple(types))
        number = self._statements.get(token)
        if number is None:
            if len(self._statements) >= NUMBERED:
                self._statements.clear()
            self._next += 1
            number = self._statements[token] = self._next
        return number

    def state(self, token: tuple[Any, ...]) -> int:
        """The number of a session state."""
        number = self._states.get(token)
        if number is None:
            if len(self._states) >= NUMBERED:
                self._states.clear()  # the states in use come back with new numbers
            self._next += 1
            number = self._states[token] = self._next
        return number


class SessionState:
    """A session's state as last numbered: route, target (branch, AS OF, database), the
    RESULT_SETTINGS values (Settings.result_key, rebuilt on any SET) and the temporary
    tables, with the user where results are per user. `number` is -1 for a
    client_encoding the wire converts, which nothing at the wire answers."""

    __slots__ = ("_numbers", "_per_user", "_seen", "_session", "number")

    def __init__(self, numbers: Numbers, session: Any, per_user: bool) -> None:
        self._numbers = numbers
        self._session = session
        self._per_user = per_user
        self._seen: tuple[Any, ...] = ()
        self.number = -1
        self.renumber()

    def same(self) -> bool:
        """The session's state is the one last numbered: the session replaces each of
        these objects when it changes (one identity test each). The target and the
        result key as last made (`target_now`, `result_key_now`: None once they changed,
        which renumber makes anew)."""
        session = self._session
        seen = self._seen
        return seen[0] is session.route and seen[1] is session.target_now \
            and seen[2] is session.settings.result_key_now and seen[3] is session.temp_names

    def renumber(self) -> int:
        """Number the session's state as it is now (-1: a converted client_encoding)."""
        session = self._session
        route, target = session.route, session.target()
        result_key, temp = session.settings.result_key(), session.temp_names
        self._seen = (route, target, result_key, temp)
        if encoding.lookup(session.settings.get("client_encoding")) is not None:
            self.number = -1
        else:
            user = session.user if self._per_user else None
            self.number = self._numbers.state((route.name, target, result_key, temp, user))
        return self.number

    def now(self) -> int:
        """The number of the session's state as it is now."""
        return self.number if self.same() else self.renumber()


class Statements:
    """A connection's prepared statements as a Bind names them: the bytes of the name
    -> (name, prepared statement, its number)."""

    __slots__ = ("_names", "_numbers")

    def __init__(self, numbers: Numbers) -> None:
        self._numbers = numbers
        self._names: dict[bytes, tuple[str, Any, int]] = {}

    def named(self, name: bytes, protocol: ServerProtocol) -> tuple[str, Any, int] | None:
        """The name, prepared statement and number of the statement a Bind names (None:
        the full path says why there is none)."""
        known = self._names.get(name)
        if known is not None and protocol.statements.get(known[0]) is known[1]:
            return known
        try:
            text = name.decode()
        except UnicodeDecodeError:
            return None
        prepared = protocol.statements.get(text)
        if prepared is None:
            return None
        if len(self._names) >= 256:
            self._names.clear()  # a client that names a statement per request
        number = self._numbers.statement(prepared.text, prepared.param_types)
        known = self._names[name] = (text, prepared, number)
        return known


class UnnamedParse:
    """The Parse of the unnamed statement that drivers resend before each Bind (libpq's
    unnamed extended queries, pgbench -M extended): a repeat answered at the wire skips
    it when it is byte for byte the Parse the full path last made that statement of,
    with `clock` (what outdates the statement: the schema's version, or the cache's
    invalidation clock) unchanged since. A Parse not known is left to the full path, and
    the statement it makes is kept when the Bind after it comes (`made`)."""

    __slots__ = ("_kept", "parsed")

    def __init__(self) -> None:
        self._kept: tuple[bytes, Any, int] | None = None  # (Parse, its statement, clock)
        self.parsed: bytes | None = None  # a Parse left to the full path just now

    def known(self, data: bytes, at: int, protocol: ServerProtocol, clock: int) -> bool:
        """Whether the Parse in data[:at] is the one kept, its statement still the
        connection's unnamed statement (False: the full path parses it, and `made`
        keeps what it makes)."""
        kept = self._kept
        if kept is None or data[:at] != kept[0] or kept[2] != clock \
                or protocol.statements.get("") is not kept[1]:
            self.parsed = data[:at]
            return False
        return True

    def forget(self) -> None:
        """A new request: no Parse of the last one waits for its statement."""
        self.parsed = None

    def made(self, mtype: bytes, protocol: ServerProtocol, clock: int) -> Any:
        """The connection reads a message itself: when it is the Bind after a Parse
        left to the full path, the unnamed statement that Parse made (kept with
        `clock`), else None."""
        parsed = self.parsed
        if parsed is None:
            return None
        self.parsed = None
        prepared = protocol.statements.get("")
        if mtype != b"B" or protocol.state is not State.EXTENDED or prepared is None:
            return None
        self._kept = (parsed, prepared, clock)
        return prepared
