"""LISTEN / NOTIFY / pg_notify() answered by the proxy: channels shared by one database's sessions.

No backend but PostgreSQL has asynchronous notifications, so the proxy keeps
the channels itself, per database name a client connects to: a NOTIFY reaches
every session of the same database listening on the channel, the sender's
too. As in PostgreSQL, a NOTIFY inside a transaction block is delivered when
the block commits and dropped if it rolls back, identical notifications of
one transaction are sent once, and the wire sends them when the receiving
session is idle or about to report ReadyForQuery. With several worker
processes, each worker's hub also hands what it publishes to the others
(`forward`), which deliver it to their own listeners (`deliver`).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import dialects
from pgproxy import errors
from pgproxy.results import RowsResult

TAGS = frozenset({"LISTEN", "UNLISTEN", "NOTIFY"})
# PostgreSQL's limits: a channel is an identifier (NAMEDATALEN - 1 bytes), a
# payload shorter than 8000 bytes.
_MAX_CHANNEL = 63
_MAX_PAYLOAD = 7999
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)'
_LISTEN = re.compile(rf"\s*(UN)?LISTEN\s+(\*|{_IDENT})\s*;?\s*$", re.I | re.S)
_NOTIFY = re.compile(rf"\s*NOTIFY\s+({_IDENT})\s*(?:,\s*('(?:[^']|'')*'))?\s*;?\s*$", re.S | re.I)

Notification = tuple[int, str, str]  # sender's pid, channel, payload
FRAME = 1  # the code of a worker-to-worker frame of notifications (wire/peers.py)


class Inbox:
    """One session's side: the channels it listens on, what awaits delivery, what it sent."""

    __slots__ = ("channels", "pending", "received", "wake")

    def __init__(self) -> None:
        self.channels: set[str] = set()
        self.received: deque[Notification] = deque()
        self.pending: list[Notification] = []  # sent inside the open transaction block
        self.wake: Callable[[], None] | None = None  # the wire's: "something to send"


class Hub:
    """The channels of every database, shared by the proxy's sessions."""

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, str], set[Inbox]] = {}
        # With --workers: (frame code, payload) to every other worker.
        self.forward: Callable[[int, bytes], None] | None = None

    def listen(self, database: str, inbox: Inbox, channel: str) -> None:
        inbox.channels.add(channel)
        self._listeners.setdefault((database, channel), set()).add(inbox)

    def unlisten(self, database: str, inbox: Inbox, channel: str | None) -> None:
        """Stop listening on `channel`, or on every channel (None: UNLISTEN *)."""
        names = list(inbox.channels) if channel is None else [channel]
        for name in names:
            inbox.channels.discard(name)
            listeners = self._listeners.get((database, name))
            if listeners is not None:
                listeners.discard(inbox)
                if not listeners:
                    del self._listeners[(database, name)]

    def publish(self, database: str, notifications: Sequence[Notification]) -> None:
        notes = list(dict.fromkeys(notifications))  # duplicates of one transaction: once
        self.deliver(database, notes)
        if self.forward is not None:
            self.forward(FRAME, json.dumps([database, notes]).encode())

    def delivered(self, frame: bytes) -> None:
        """Another worker's notifications, for this worker's listeners."""
        database, notes = json.loads(frame)
        self.deliver(database, [(int(pid), str(ch), str(p)) for pid, ch, p in notes])

    def deliver(self, database: str, notifications: Sequence[Notification]) -> None:
        woken: dict[Inbox, None] = {}
        for note in notifications:
            for inbox in self._listeners.get((database, note[1]), ()):
                inbox.received.append(note)
                woken[inbox] = None
        for inbox in woken:  # once each: a transaction's notifications go in one write
            if inbox.wake is not None:
                inbox.wake()


class Listener(Protocol):
    """What LISTEN and NOTIFY read of the statement's session (a StatementContext)."""

    @property
    def pid(self) -> int: ...
    @property
    def database(self) -> str: ...
    @property
    def in_transaction(self) -> bool: ...
    @property
    def inbox(self) -> Inbox: ...
    @property
    def notifications(self) -> Hub: ...


def run(session: Listener, stmt: dialects.Statement) -> RowsResult:
    """LISTEN, UNLISTEN or NOTIFY, parsed from the statement's own text."""
    hub, inbox = session.notifications, session.inbox
    if stmt.tag == "NOTIFY":
        found = _NOTIFY.match(stmt.sql)
        if found is None:
            raise errors.SyntaxError(f"syntax error in NOTIFY: {stmt.sql.strip()[:80]}")
        payload = _string(found.group(2)) if found.group(2) else ""
        notify(session, _identifier(found.group(1)), payload)
        return RowsResult("NOTIFY")
    found = _LISTEN.match(stmt.sql)
    if found is None:
        raise errors.SyntaxError(f"syntax error in {stmt.tag}: {stmt.sql.strip()[:80]}")
    target = found.group(2)
    if found.group(1):
        hub.unlisten(session.database, inbox, None if target == "*" else _identifier(target))
        return RowsResult("UNLISTEN")
    hub.listen(session.database, inbox, _identifier(target))
    return RowsResult("LISTEN")


def notify(session: Listener, channel: str, payload: str) -> None:
    """Send now, or at COMMIT when inside a transaction block."""
    if not channel:
        raise errors.InvalidParameterValue("channel name cannot be empty")
    if len(channel.encode()) > _MAX_CHANNEL:
        raise errors.InvalidParameterValue("channel name too long")
    if len(payload.encode()) > _MAX_PAYLOAD:
        raise errors.InvalidParameterValue("payload string too long")
    note = (session.pid, channel, payload)
    if session.in_transaction:
        session.inbox.pending.append(note)
    else:
        session.notifications.publish(session.database, [note])


def end_transaction(hub: Hub, database: str, inbox: Inbox, commit: bool) -> None:
    """A transaction block ended: its notifications go out, or are dropped."""
    pending, inbox.pending = inbox.pending, []
    if commit and pending:
        hub.publish(database, pending)


def _identifier(text: str) -> str:
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _string(text: str) -> str:
    return text[1:-1].replace("''", "'")
