"""The wire's state machine without sockets: protocol.ServerProtocol, the cancel keys and
the auth policy, fed byte literals and message objects."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pytest

from pgproxy import errors
from pgproxy.wire import messages as m
from pgproxy.wire.keys import CancelKeys
from pgproxy.wire.policy import AuthPolicy, Peer
from pgproxy.wire.protocol import Portal, ServerProtocol, State
from tests.fix_wire import bind, startup


@dataclass
class Stmt:
    param_types: list[int] = field(default_factory=list)
    empty: bool = False


@dataclass
class Result:
    closed: bool = False


def _ready() -> ServerProtocol:
    p = ServerProtocol()
    p.startup(m.parse_startup(startup()[4:]))
    p.authenticated(10_000, 42, b"I")
    p.take()
    return p


def _bind_msg(statement: str = "", portal: str = "", values=()) -> m.Bind:
    body = bind(list(values))[5:]
    msg = m.parse_bind(body)
    msg.statement, msg.portal = statement, portal
    return msg


def test_startup_then_ready_with_key_data():
    p = ServerProtocol()
    assert p.state is State.STARTUP
    params = p.startup(m.parse_startup(startup(user="ann", database="app")[4:]))
    assert params == {"user": "ann", "database": "app"} and p.state is State.AUTH
    p.authenticated(10_001, 7, b"I")
    assert p.state is State.READY
    assert p.take() == [m.backend_key_data(10_001, 7), m.READY_IDLE]
    assert p.take() == [] and p.out_size == 0


def test_startup_database_defaults_to_user_and_newer_minor_is_negotiated():
    body = struct.pack("!i", 3 << 16 | 2) + b"user\0bob\0_pq_.x\0y\0\0"
    p = ServerProtocol()
    assert p.startup(m.parse_startup(body)) == {"user": "bob", "database": "bob"}
    assert p.take() == [m.negotiate_protocol_version(0, ["_pq_.x"])]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (struct.pack("!i", 2 << 16) + b"\0", "0A000"),
        (struct.pack("!i", 3 << 16) + b"database\0x\0\0", "28000"),
    ],
)
def test_startup_refusals(body, code):
    with pytest.raises(errors.PgError) as info:
        ServerProtocol().startup(m.parse_startup(body))
    assert info.value.sqlstate == code


def test_an_extended_error_discards_until_sync():
    p = _ready()
    assert p.receive(b"P") and p.state is State.EXTENDED
    p.failed(b"P", b"<error>")
    assert p.state is State.DISCARD and p.take() == [b"<error>"]
    for mtype in (b"B", b"D", b"E", b"C", b"H", b"Q", b"P"):
        assert not p.receive(mtype)
    assert p.receive(b"S")
    assert p.sync(in_block=False) == [] and p.state is State.READY
    p.ready(b"I")
    assert p.take() == [m.READY_IDLE]


def test_a_simple_query_error_is_answered_by_ready_not_discard():
    p = _ready()
    assert p.receive(b"Q") and p.state is State.READY
    p.failed(b"Q", b"<error>")
    assert p.state is State.READY  # the caller sends ReadyForQuery next
    p.ready(b"E", [b"<status>"])
    assert p.take() == [b"<error>", b"<status>", m.READY[b"E"]]


def test_statements_and_portals():
    p = _ready()
    p.check_parse("s1")
    p.parsed("s1", Stmt([23]))
    with pytest.raises(errors.DuplicatePreparedStatement):
        p.check_parse("s1")
    p.check_parse("")  # the unnamed statement is replaced freely
    with pytest.raises(errors.InvalidSqlStatementName, match='"nope" does not exist'):
        p.statement("nope")
    with pytest.raises(errors.ProtocolViolation) as info:
        p.check_bind(_bind_msg("s1", "", []))
    assert info.value.sqlstate == "08P01"
    prepared = p.check_bind(_bind_msg("s1", "c1", [b"1"]))
    assert p.bound("c1", Portal(prepared, [1], [])) is None
    with pytest.raises(errors.DuplicateCursor):
        p.check_bind(_bind_msg("s1", "c1", [b"1"]))
    assert p.take() == [m.PARSE_COMPLETE, m.BIND_COMPLETE]
    # The unnamed portal is replaced by the next Bind: the old one comes back to close.
    first = Portal(prepared, [1], [], Result())
    p.bound("", first)
    assert p.bound("", Portal(prepared, [2], [])) is first
    with pytest.raises(errors.InvalidCursorName, match='portal "other" does not exist'):
        p.portal("other")
    assert p.close(b"P", "c1").params == [1]
    assert p.close(b"P", "c1") is None  # closing what is not there is no error
    assert p.close(b"S", "s1") is None and "s1" not in p.statements
    assert p.take()[-2:] == [m.CLOSE_COMPLETE, m.CLOSE_COMPLETE]


def test_sync_drops_portals_outside_a_transaction_block_only():
    p = _ready()
    p.bound("a", Portal(Stmt(), [], []))
    assert p.sync(in_block=True) == [] and "a" in p.portals
    assert [x.params for x in p.sync(in_block=False)] == [[]] and not p.portals


def test_a_simple_query_drops_the_unnamed_statement_and_portal():
    p = _ready()
    p.parsed("", Stmt())
    p.parsed("named", Stmt())
    unnamed = Portal(Stmt(), [], [])
    p.bound("", unnamed)
    assert p.simple_query() is unnamed
    assert list(p.statements) == ["named"] and not p.portals


def test_a_portal_describe_waits_for_the_next_message():
    p = _ready()
    p.bound("", Portal(Stmt(), [], []))
    p.describe_pending = ""
    assert p.settle(b"E", "") is None  # its own Execute answers it
    assert p.describe_pending == ""
    assert p.settle(b"E", "other") == ""  # another portal's Execute: described first
    assert p.describe_pending is None
    p.describe_pending = ""
    assert p.settle(b"S") == ""
    p.describe_pending = ""
    p.failed(b"E", b"<error>")
    assert p.describe_pending is None  # nothing is answered after an error


def test_copy_returns_to_the_query_it_is_part_of():
    p = _ready()
    p.receive(b"Q")
    p.copy(inbound=True)
    assert p.state is State.COPY_IN
    p.copy_done()
    assert p.state is State.READY
    p.receive(b"E")
    p.copy(inbound=False)
    assert p.state is State.COPY_OUT
    p.copy_done()
    assert p.state is State.EXTENDED


class Target:
    def __init__(self) -> None:
        self.cancelled = 0

    def cancel(self) -> None:
        self.cancelled += 1


def test_cancel_keys_need_the_right_secret():
    keys = CancelKeys()
    a, b = Target(), Target()
    pid_a, secret_a = keys.register(a)
    pid_b, _ = keys.register(b)
    assert pid_a != pid_b and len(keys) == 2
    keys.cancel(pid_a, secret_a ^ 1)
    keys.cancel(99, secret_a)
    assert a.cancelled == 0 and b.cancelled == 0
    keys.cancel(pid_a, secret_a)
    assert a.cancelled == 1 and b.cancelled == 0
    keys.forget(pid_a, b)  # not its key: kept
    keys.forget(pid_a, a)
    keys.cancel(pid_a, secret_a)
    assert a.cancelled == 1 and len(keys) == 1


def _peer(tls=False, listener=True, client=True) -> Peer:
    return Peer("10.0.0.9:5000", tls, listener, client)


def test_auth_policy_trusts_loopback_only_without_users():
    policy = AuthPolicy()
    assert policy.trusts_everyone()
    assert policy.start("ann", _peer()).first() is None  # trust: nothing to ask
    with pytest.raises(errors.InvalidAuthorizationSpecification):
        policy.start("ann", _peer(listener=False))


def test_auth_policy_asks_a_password_and_requires_tls_from_the_network():
    policy = AuthPolicy({"ann": "secret"}, "password", require_tls=True)
    exchange = policy.start("ann", _peer(client=True))
    assert exchange.first() == struct.pack("!i", 3)  # AuthenticationCleartextPassword
    assert exchange.step(b"secret\0") == (None, None) and exchange.succeeded
    with pytest.raises(errors.InvalidAuthorizationSpecification, match="requires TLS"):
        policy.start("ann", _peer(client=False))
    assert policy.start("ann", _peer(tls=True, client=False)).first() is not None
