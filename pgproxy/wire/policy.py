"""Who may log in, and how: the auth method per user and listener, required TLS, and
the SCRAM channel binding a TLS connection offers."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from pgproxy import errors
from pgproxy.users import UserStore
from pgproxy.wire import auth


@dataclass(frozen=True, slots=True)
class Peer:
    """What the policy needs to know of a connection's transport."""

    address: str  # for messages: 'host:port'
    tls: bool
    loopback_listener: bool  # came in on a loopback listen address (or a Unix socket)
    loopback_client: bool  # the client itself is on this machine

    @classmethod
    def of(cls, transport: object, address: str) -> Peer:
        extra = transport.get_extra_info  # type: ignore[attr-defined]
        return cls(
            address,
            extra("ssl_object") is not None,
            loopback_address(extra("sockname")),
            loopback_address(extra("peername")),
        )


class AuthPolicy:
    """The listener's authentication settings; `start` begins one login's exchange."""

    __slots__ = ("allow_remote_trust", "end_point", "method", "require_tls", "users")

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        method: str | None = None,
        *,
        allow_remote_trust: bool = False,
        require_tls: bool = False,
        end_point: bytes | None = None,
    ) -> None:
        # Built once: it derives SCRAM keys from plain passwords at start-up, so a
        # login costs the same whether or not the user exists.
        self.users = UserStore(dict(users or {}))
        self.method = method
        self.allow_remote_trust = allow_remote_trust
        self.require_tls = require_tls
        self.end_point = end_point  # tls-server-end-point of our certificate, for -PLUS

    def start(self, user: str, peer: Peer) -> auth.Exchange:
        """The exchange to run for `user` from `peer` (28000 when refused outright)."""
        if self.require_tls and not peer.tls and not peer.loopback_client:
            # pg_hba's hostssl: a client from the network must encrypt.
            raise errors.InvalidAuthorizationSpecification(
                f'connection without TLS refused for user "{user}" from {peer.address}: '
                "this server requires TLS for clients not on loopback (require_tls)",
                hint="Connect with sslmode=require.",
            )
        return auth.start(
            user,
            self.users,
            method=self.method,
            loopback=peer.loopback_listener,
            allow_remote_trust=self.allow_remote_trust,
            channel_binding=self.end_point if peer.tls else None,
        )

    def trusts_everyone(self) -> bool:
        return not self.users or self.method == auth.AuthMethod.TRUST


def loopback_address(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket is local
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return False
