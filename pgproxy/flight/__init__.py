"""The Arrow Flight SQL frontend (optional extra `pgproxy[flight]`): the same core, Arrow
batches out. `FlightEndpoint` runs the Flight server in its own threads beside the
proxy's asyncio loop, which every statement is handed to (pgproxy/flight/server.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("pgproxy.flight")

INSTALL_HINT = (
    "the Arrow Flight SQL endpoint needs the flight extra: pip install 'pgproxy[flight]' "
    "(pyarrow and protobuf)"
)


def missing() -> str | None:
    """Why the endpoint cannot start here (the extra is not installed), or None."""
    for module in ("pyarrow.flight", "google.protobuf"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:  # a broken install, or a parent package that fails to import
            found = False
        if not found:
            return INSTALL_HINT
    return None


class FlightEndpoint:
    """The Flight SQL server on `host:port`, serving `proxy` whose loop is the running one."""

    def __init__(
        self,
        proxy: Any,
        host: str,
        port: int,
        *,
        users: dict[str, str],
        auth_method: str | None,
        allow_remote_trust: bool,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        reason = missing()
        if reason is not None:
            raise ImportError(reason)
        import pyarrow as pa

        from pgproxy.flight.auth import Authenticator
        from pgproxy.flight.server import FlightSqlServer
        from pgproxy.wire.policy import loopback_address

        tls = (
            [(Path(tls_cert).read_bytes(), Path(tls_key or tls_cert).read_bytes())]
            if tls_cert
            else None
        )
        scheme = "grpc+tls" if tls else "grpc+tcp"
        where = f"[{host}]" if ":" in host else host
        authenticator = Authenticator(
            users,
            auth_method,
            loopback_listener=loopback_address((host, port)),
            allow_remote_trust=allow_remote_trust,
        )
        default = next(iter(proxy.router.backends), "default")
        try:
            self.server = FlightSqlServer(f"{scheme}://{where}:{port}", proxy,
                                          asyncio.get_running_loop(), authenticator, default,
                                          tls)
        except pa.ArrowException as exc:  # the port is taken, the address is not ours …
            raise OSError(f"cannot start the Flight SQL endpoint on {host}:{port}: {exc}") \
                from None
        self.host = host
        self.port: int = self.server.port
        self.tls = tls is not None
        self._thread = threading.Thread(target=self.server.serve, name="flight", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        # In a thread: shutdown waits for calls in flight, which wait on this loop.
        server = self.server
        await asyncio.to_thread(server.shutdown)
        await asyncio.to_thread(server.shutdown_sessions)
        await asyncio.to_thread(self._thread.join, 5)
