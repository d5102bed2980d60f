"""The listener: accepts connections within the limit and hands each the core, the auth
policy and the cancel-key registry; the connection runs its own login."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pgproxy.wire import auth
from pgproxy.wire import messages as m
from pgproxy.wire.connection import Limits, WireConnection
from pgproxy.wire.keys import CancelKeys
from pgproxy.wire.peers import Peers
from pgproxy.wire.policy import AuthPolicy, loopback_address

if TYPE_CHECKING:
    from pgproxy.wire.interface import Core

log = logging.getLogger("pgproxy.wire")


class WireServer:
    """Owns the listening sockets, the auth policy, and every live connection's cancel key."""

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
        worker: int = 0,
    ) -> None:
        if require_tls and ssl_context is None:
            raise ValueError("require_tls needs tls_cert and tls_key: no client could connect")
        self.core = core
        # SCRAM-SHA-256-PLUS binds to our certificate (tls-server-end-point).
        end_point = None
        if ssl_context is not None and tls_cert:
            with open(tls_cert) as f:
                end_point = auth.tls_server_end_point(ssl.PEM_cert_to_DER_cert(f.read()))
        self.policy = AuthPolicy(
            users, auth_method, allow_remote_trust=allow_remote_trust, require_tls=require_tls,
            end_point=end_point,
        )
        self.keys = CancelKeys(worker=worker)
        self.limits = Limits(ssl_context, authentication_timeout)
        self.max_client_conn = max_client_conn
        # Every open connection, authenticated or not: what max_client_conn counts.
        self._accepted: set[WireConnection] = set()
        self._servers: list[asyncio.base_events.Server] = []

    async def listen(
        self, host: str, port: int, reuse_port: bool = False
    ) -> list[tuple[str, int]]:
        """Bind host:port (with SO_REUSEPORT: beside the other workers). Refuses (ValueError)
        to open trust authentication to the network."""
        loop = asyncio.get_running_loop()
        if self.policy.trusts_everyone() and not self.policy.allow_remote_trust:
            remote = await _non_loopback(loop, host, port)
            if remote:
                why = "auth = trust" if self.policy.users else "no [users] are configured"
                raise ValueError(
                    f"listen address {host}:{port} is not loopback ({remote}) and {why}, so "
                    "trust authentication would let anyone in: configure [users], listen on "
                    "127.0.0.1, or set [server] allow_remote_trust = true"
                )
        server = await loop.create_server(
            self._connection, host, port, reuse_address=True, reuse_port=reuse_port or None,
            backlog=1024,
        )
        self._servers.append(server)
        return [s.getsockname()[:2] for s in server.sockets]

    def _connection(self) -> WireConnection:
        """A new connection, counted; one past max_client_conn is refused with 53300 after
        its startup packet, as PostgreSQL answers (a cancel request is still served)."""
        conn = WireConnection(
            self.core, self.policy, self.keys, self.limits,
            admitted=len(self._accepted) < self.max_client_conn,
            on_close=self._accepted.discard,
        )
        self._accepted.add(conn)
        return conn

    def join(self, peers: Peers) -> None:
        """Take CancelRequests forwarded by the other workers; forward theirs to them."""

        def forwarded(payload: bytes) -> None:
            pid, secret = struct.unpack("!ii", payload)
            self.keys.cancel(pid, secret, forwarded=True)

        peers.handlers[m.CANCEL_REQUEST] = forwarded
        self.keys.forward = peers.forward_cancel

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self._accepted):
            if conn.session is not None:
                conn.terminate()  # FATAL 57P01, as PostgreSQL's fast shutdown tells its clients
            elif conn.transport is not None:
                conn.transport.close()
        for server in self._servers:
            await server.wait_closed()

    def live_connections(self) -> int:
        return len(self.keys)


async def _non_loopback(loop: asyncio.AbstractEventLoop, host: str, port: int) -> str | None:
    """The first address `host` binds to that is not loopback, or None."""
    infos = await loop.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    for *_, sockaddr in infos:
        if not loopback_address(sockaddr):
            return str(sockaddr[0])
    return None
