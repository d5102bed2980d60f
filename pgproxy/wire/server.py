"""The listener: accepts connections, keeps the cancel-key registry, checks passwords."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import logging
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
    ) -> None:
        self.core = core
        # Built once: it derives SCRAM keys from plain passwords at start-up, so a
        # login costs the same whether or not the user exists.
        self.users = UserStore(dict(users or {}))
        self.auth_method = auth_method
        self.allow_remote_trust = allow_remote_trust
        self.ssl_context = ssl_context
        # SCRAM-SHA-256-PLUS binds to our certificate (tls-server-end-point).
        self._end_point = None
        if ssl_context is not None and tls_cert:
            with open(tls_cert) as f:
                self._end_point = auth.tls_server_end_point(ssl.PEM_cert_to_DER_cert(f.read()))
        self._pids = itertools.count(10_000)
        self._live: dict[int, tuple[WireConnection, int]] = {}
        self._servers: list[asyncio.base_events.Server] = []

    async def listen(self, host: str, port: int) -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: WireConnection(self), host, port, reuse_address=True, backlog=1024
        )
        self._servers.append(server)
        return [s.getsockname()[:2] for s in server.sockets]

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for conn, _ in list(self._live.values()):
            if conn.transport is not None:
                conn.transport.close()
        for server in self._servers:
            await server.wait_closed()

    # ------------------------------------------------------------ cancel keys

    def register(self, conn: WireConnection) -> tuple[int, int]:
        pid, secret = next(self._pids), new_secret()
        self._live[pid] = (conn, secret)
        return pid, secret

    def forget(self, conn: WireConnection) -> None:
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


def _is_loopback(transport: asyncio.BaseTransport | None) -> bool:
    if transport is None:
        return False
    sock = transport.get_extra_info("sockname")
    if not isinstance(sock, tuple):
        return True  # a Unix socket is local
    try:
        return ipaddress.ip_address(sock[0]).is_loopback
    except ValueError:
        return False



def _is_tls(transport: asyncio.BaseTransport | None) -> bool:
    return transport is not None and transport.get_extra_info("ssl_object") is not None
