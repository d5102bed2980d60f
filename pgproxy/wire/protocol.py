"""The server side of protocol 3.0 as a state machine, sans I/O.

Frontend messages go in (already framed by messages.FrameReader), backend
frames come out in `out`; what a message asks of the core (parse, bind, run,
describe) the asyncio connection (connection.py) does, and tells this object
the outcome. It owns the connection's state — startup, authentication, ready,
in an extended query, discarding until Sync, COPY in or out — and the named
statements and portals, with the errors PostgreSQL gives for their misuse.
Nothing here awaits, so it is tested with byte literals (tests/unit/test_wire_protocol.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pgproxy import errors
from pgproxy.wire import messages as m


class State(Enum):
    STARTUP = "startup"
    AUTH = "authentication"
    READY = "ready"
    EXTENDED = "in extended query"
    DISCARD = "discarding until Sync"
    COPY_IN = "copy in"
    COPY_OUT = "copy out"
    CLOSED = "closed"


# The states read on every message, bound once (naming an enum member is a class lookup).
_READY, _EXTENDED_STATE, _DISCARD = State.READY, State.EXTENDED, State.DISCARD
# Messages of the extended query protocol: from ready they open an extended query.
_EXTENDED = frozenset({b"P", b"B", b"D", b"E", b"C", b"H"})


@dataclass(slots=True)
class Portal:
    prepared: Any
    params: list[Any]
    formats: list[int]
    result: Any = None
    closed: bool = False  # its result was run to completion and closed (Execute's)


class ServerProtocol:
    """One connection's protocol state, its statements and portals, and its output."""

    __slots__ = (
        "_before_copy", "describe_pending", "out", "out_size", "portals", "state", "statements"
    )

    def __init__(self) -> None:
        self.state = State.STARTUP
        self.statements: dict[str, Any] = {}  # Parse's statements by name ('' unnamed)
        self.portals: dict[str, Portal] = {}
        # A portal's Describe, answered when the next message comes: from the result if
        # that is the portal's Execute, else from a description that runs nothing.
        self.describe_pending: str | None = None
        self.out: list[bytes] = []
        self.out_size = 0
        self._before_copy = State.READY

    # ------------------------------------------------------------ output

    def write(self, data: bytes) -> None:
        self.out.append(data)
        self.out_size += len(data)

    def take(self) -> list[bytes]:
        """The frames written since the last take, to send."""
        out = self.out
        self.out = []
        self.out_size = 0
        return out

    # ------------------------------------------------------------ startup

    def startup(self, startup: m.Startup) -> dict[str, str]:
        """A StartupMessage's session parameters (protocol 3.x; a user named), answering
        a newer minor version or `_pq_.` options with NegotiateProtocolVersion."""
        major, minor = startup.code >> 16, startup.code & 0xFFFF
        if major != 3:
            raise errors.FeatureNotSupported(
                f"unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0",
                sqlstate="0A000",
            )
        options = [k for k in startup.params if k.startswith("_pq_.")]
        if minor > 0 or options:
            self.write(m.negotiate_protocol_version(0, options))
        params = {k: v for k, v in startup.params.items() if not k.startswith("_pq_.")}
        user = params.get("user")
        if not user:
            raise errors.InvalidAuthorizationSpecification(
                "no PostgreSQL user name specified in startup packet"
            )
        params.setdefault("database", user)
        self.state = State.AUTH
        return params

    def authenticated(self, pid: int, secret: int, status: bytes) -> None:
        """The login is done (AuthenticationOk and ParameterStatus written): the
        session's cancel key, and the first ReadyForQuery."""
        self.write(m.backend_key_data(pid, secret))
        self.write(m.READY[status])
        self.state = State.READY

    # ------------------------------------------------------------ messages

    def receive(self, mtype: bytes) -> bool:
        """Whether to handle this message now: while discarding until Sync only Sync is."""
        state = self.state
        if state is _DISCARD:
            return mtype == b"S"
        if state is _READY and mtype in _EXTENDED:
            self.state = _EXTENDED_STATE
        return True

    def failed(self, mtype: bytes, error: bytes) -> None:
        """A message failed with the ErrorResponse `error`. A simple Query is answered
        by ReadyForQuery next (the caller's `ready`); an extended query discards
        everything up to its Sync, as PostgreSQL does."""
        self.describe_pending = None  # the messages up to Sync go unanswered now
        self.write(error)
        if mtype != b"Q":
            self.state = State.DISCARD

    def ready(self, status: bytes, before: Sequence[bytes] = ()) -> None:
        """ReadyForQuery with transaction `status`, after `before` (ParameterStatus,
        NotificationResponse frames)."""
        for frame in before:
            self.write(frame)
        self.write(m.READY[status])
        self.state = _READY

    def sync(self, in_block: bool) -> list[Portal]:
        """A Sync: the extended query ends; outside a transaction block its portals
        go too (returned, for their results to be closed). ReadyForQuery follows."""
        self.describe_pending = None
        self.state = _READY
        if in_block or not self.portals:
            return []
        dropped = list(self.portals.values())
        self.portals.clear()
        return dropped

    def copy(self, inbound: bool) -> None:
        """A COPY starts (CopyInResponse / CopyOutResponse sent)."""
        if self.state is not State.COPY_IN and self.state is not State.COPY_OUT:
            self._before_copy = self.state
        self.state = State.COPY_IN if inbound else State.COPY_OUT

    def copy_done(self) -> None:
        """The COPY ended, well or not: back to the query it is part of."""
        if self.state is State.COPY_IN or self.state is State.COPY_OUT:
            self.state = self._before_copy

    # ------------------------------------------------------------ statements and portals

    def simple_query(self) -> Portal | None:
        """A simple Query drops the unnamed statement and portal, as PostgreSQL does."""
        self.statements.pop("", None)
        return self.portals.pop("", None)

    def check_parse(self, name: str) -> None:
        if name and name in self.statements:
            raise errors.DuplicatePreparedStatement(f'prepared statement "{name}" already exists')

    def parsed(self, name: str, prepared: Any) -> None:
        self.statements[name] = prepared
        self.write(m.PARSE_COMPLETE)

    def statement(self, name: str) -> Any:
        try:
            return self.statements[name]
        except KeyError:
            what = f'prepared statement "{name}"' if name else "unnamed prepared statement"
            raise errors.InvalidSqlStatementName(f"{what} does not exist") from None

    def portal(self, name: str) -> Portal:
        try:
            return self.portals[name]
        except KeyError:
            what = f'portal "{name}"' if name else "unnamed portal"
            raise errors.InvalidCursorName(f"{what} does not exist") from None

    def check_bind(self, msg: m.Bind) -> Any:
        """The statement a Bind names, once its parameter count and portal name pass."""
        prepared = self.statements.get(msg.statement)
        if prepared is None:
            prepared = self.statement(msg.statement)  # raises 26000
        if len(msg.params) != len(prepared.param_types):
            raise errors.ProtocolViolation(
                f"bind message supplies {len(msg.params)} parameters, but prepared statement "
                f'"{msg.statement}" requires {len(prepared.param_types)}',
                sqlstate="08P01",
            )
        if msg.portal and msg.portal in self.portals:
            raise errors.DuplicateCursor(f'portal "{msg.portal}" already exists')
        return prepared

    def bound(self, name: str, portal: Portal) -> Portal | None:
        """Keep the new portal; the unnamed one it replaces is returned to be closed."""
        old = self.portals.pop(name, None)
        self.portals[name] = portal
        self.write(m.BIND_COMPLETE)
        return old

    def close(self, kind: bytes, name: str) -> Portal | None:
        """Close a statement or portal (none of that name is no error); a closed portal
        is returned for its result to be closed."""
        portal = None
        if kind == b"S":
            self.statements.pop(name, None)
        else:
            portal = self.portals.pop(name, None)
        self.write(m.CLOSE_COMPLETE)
        return portal

    def drop_portal(self, name: str) -> Portal | None:
        return self.portals.pop(name, None)

    def settle(self, mtype: bytes, execute_name: str | None = None) -> str | None:
        """The pending Describe's portal, when `mtype` (an Execute of `execute_name`) does
        not answer it itself; the caller describes it without running it."""
        name = self.describe_pending
        if name is None or (mtype == b"E" and execute_name == name):
            return None
        self.describe_pending = None
        return name
