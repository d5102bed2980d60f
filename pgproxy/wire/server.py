"""The listener: accepts connections within the limit, keeps the cancel-key registry,
checks passwords."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import logging
import socket
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pgproxy import errors
from pgproxy.users import UserStore
from pgproxy.wire import auth
from pgproxy.wire.connection import WireConnection, new_secret

if TYPE_CHECKING:
    from pgproxy.wire.interface import Core

log = logging.getLogger("pgproxy.wire")


class WireServer:
    """Owns the listening sockets and every live connection's cancel key."""

    def __init__(
        self,
        core: Core,
        *,
        users: Mapping[str, str] | None = None,
        auth_method: str | None = None,
        allow_remote_trust: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        tls_cert: str | None = None,
        require_tls: bool = False,
        authentication_timeout: float = 60.0,
        max_client_conn: int = 1000,
    ) -> None:
        if require_tls and ssl_context is None:
            raise ValueError("require_tls needs tls_cert and tls_key: no client could connect")
        self.core = core
        # Built once: it derives SCRAM keys from plain passwords at start-up, so a
        # login costs the same whether or not the user exists.
        self.users = UserStore(dict(users or {}))
        self.auth_method = auth_method
        self.allow_remote_trust = allow_remote_trust
        self.require_tls = require_tls
        self.authentication_timeout = authentication_timeout
        self.max_client_conn = max_client_conn
        self.ssl_context = ssl_context
        # SCRAM-SHA-256-PLUS binds to our certificate (tls-server-end-point).
        self._end_point = None
        if ssl_context is not None and tls_cert:
            with open(tls_cert) as f:
                self._end_point = auth.tls_server_end_point(ssl.PEM_cert_to_DER_cert(f.read()))
        self._pids = itertools.count(10_000)
        self._live: dict[int, tuple[WireConnection, int]] = {}
        # Every open connection, authenticated or not: what max_client_conn counts.
        self._accepted: set[WireConnection] = set()
        self._servers: list[asyncio.base_events.Server] = []

    async def listen(self, host: str, port: int) -> list[tuple[str, int]]:
        """Bind host:port. Refuses (ValueError) to open trust authentication to the network."""
        loop = asyncio.get_running_loop()
        if self._trusts_everyone() and not self.allow_remote_trust:
            remote = await _non_loopback(loop, host, port)
            if remote:
                why = "auth = trust" if self.users else "no [users] are configured"
                raise ValueError(
                    f"listen address {host}:{port} is not loopback ({remote}) and {why}, so "
                    "trust authentication would let anyone in: configure [users], listen on "
                    "127.0.0.1, or set [server] allow_remote_trust = true"
                )
        server = await loop.create_server(
            lambda: WireConnection(self), host, port, reuse_address=True, backlog=1024
        )
        self._servers.append(server)
        return [s.getsockname()[:2] for s in server.sockets]

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self._accepted):
            if conn.transport is not None:
                conn.transport.close()
        for server in self._servers:
            await server.wait_closed()

    # ------------------------------------------------------------ connections

    def accept(self, conn: WireConnection) -> bool:
        """Count a new connection; False when it is past max_client_conn (53300 after its
        startup packet, as PostgreSQL answers; a cancel request is still served)."""
        self._accepted.add(conn)
        return len(self._accepted) <= self.max_client_conn

    # ------------------------------------------------------------ cancel keys

    def register(self, conn: WireConnection) -> tuple[int, int]:
        pid, secret = next(self._pids), new_secret()
        self._live[pid] = (conn, secret)
        return pid, secret

    def forget(self, conn: WireConnection) -> None:
        self._accepted.discard(conn)
        entry = self._live.get(conn.pid)
        if entry is not None and entry[0] is conn:
            del self._live[conn.pid]

    def cancel(self, pid: int, secret: int) -> None:
        entry = self._live.get(pid)
        # Compare in constant time: the secret is what stops one client cancelling another's work.
        if entry is None or not hmac.compare_digest(entry[1].to_bytes(4), secret.to_bytes(4)):
            log.debug("cancel request for unknown backend %d ignored", pid)
            return
        entry[0].cancel()

    def live_connections(self) -> int:
        return len(self._live)

    # ------------------------------------------------------------ authentication

    async def authenticate(self, conn: WireConnection, user: str) -> None:
        loopback = _is_loopback(conn.transport)
        if self.require_tls and not _is_tls(conn.transport) and not _peer_is_loopback(
            conn.transport
        ):
            # pg_hba's hostssl: a client from the network must encrypt.
            raise errors.InvalidAuthorizationSpecification(
                f'connection without TLS refused for user "{user}" from {conn.peer}: '
                "this server requires TLS for clients not on loopback (require_tls)",
                hint="Connect with sslmode=require.",
            )
        exchange = auth.start(
            user,
            self.users,
            method=self.auth_method,
            loopback=loopback,
            allow_remote_trust=self.allow_remote_trust,
            channel_binding=self._end_point if _is_tls(conn.transport) else None,
        )
        request = exchange.first()
        while request is not None:
            reply = await conn.password(request)
            request, final = exchange.step(reply)
            if final is not None:
                conn.send_authentication(final)
                break
        if not exchange.succeeded:
            raise errors.InvalidPassword(f'password authentication failed for user "{user}"')


    def _trusts_everyone(self) -> bool:
        return not self.users or self.auth_method == auth.AuthMethod.TRUST


def _is_loopback(transport: asyncio.BaseTransport | None) -> bool:
    """Whether the connection came in on a loopback listener address."""
    return transport is not None and _loopback_address(transport.get_extra_info("sockname"))


def _peer_is_loopback(transport: asyncio.BaseTransport | None) -> bool:
    """Whether the client itself is on this machine's loopback."""
    return transport is not None and _loopback_address(transport.get_extra_info("peername"))


def _loopback_address(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket is local
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return False


async def _non_loopback(loop: asyncio.AbstractEventLoop, host: str, port: int) -> str | None:
    """The first address `host` binds to that is not loopback, or None."""
    infos = await loop.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    for *_, sockaddr in infos:
        if not _loopback_address(sockaddr):
            return str(sockaddr[0])
    return None


def _is_tls(transport: asyncio.BaseTransport | None) -> bool:
    return transport is not None and transport.get_extra_info("ssl_object") is not None
