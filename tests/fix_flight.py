"""The proxy with its Arrow Flight SQL endpoint, as a throwaway process, and clients of it."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_servers import free_port

adbc = pytest.importorskip("adbc_driver_flightsql.dbapi", reason="pip install '.[test]'")
flight = pytest.importorskip("pyarrow.flight", reason="pip install '.[test]'")


@dataclass
class FlightProxy:
    proxy: ProxyProcess
    flight_port: int
    scheme: str = "grpc"
    user: str | None = None
    password: str | None = None
    root_cert: bytes | None = None

    @property
    def uri(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.flight_port}"

    def connect(self, database: str | None = "app", *, user: str | None = None,
                password: str | None = None, **options: str) -> Any:
        """An ADBC Flight SQL DB-API connection (autocommit), the route by `database`."""
        kwargs: dict[str, str] = dict(options)
        user = user if user is not None else self.user
        password = password if password is not None else self.password
        if user is not None:
            kwargs["username"] = user
            kwargs["password"] = password or ""
        if database is not None:
            kwargs["adbc.flight.sql.rpc.call_header.database"] = database
        if self.root_cert is not None:
            kwargs["adbc.flight.sql.client_option.tls_root_certs"] = self.root_cert.decode()
        return adbc.connect(self.uri, db_kwargs=kwargs, autocommit=True)

    def client(self) -> Any:
        """A pyarrow.flight client (no Flight SQL layer): for the raw commands."""
        if self.root_cert is not None:
            return flight.FlightClient(self.uri, tls_root_certs=self.root_cert)
        return flight.FlightClient(self.uri)


@contextlib.contextmanager
def run_flight_proxy(backend_url: str, *, config: str = "", users: dict[str, str] | None = None,
                     tls: tuple[Any, Any] | None = None, extra_args: tuple[str, ...] = ()
                     ) -> Iterator[FlightProxy]:
    port = free_port()
    if tls is not None:
        config = f'[server]\ntls_cert = "{tls[0]}"\ntls_key = "{tls[1]}"\n' + config
    with run_proxy(backend_url, config=config or None, users=users,
                   extra_args=("--flight", f"127.0.0.1:{port}", *extra_args)) as proxy:
        wait_port(proxy, port)
        fp = FlightProxy(proxy, port, "grpc+tls" if tls else "grpc")
        if users:
            fp.user, fp.password = next(iter(users.items()))
        if tls is not None:
            with open(tls[0], "rb") as f:
                fp.root_cert = f.read()
        yield fp


def wait_port(proxy: ProxyProcess, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proxy.alive():
            raise RuntimeError(f"pgproxy exited:\n{proxy.log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the Flight endpoint did not listen within {timeout}s:\n{proxy.log()}")
