"""Telemetry of Flight SQL statements: the same spans as the wire's, from a proxy and its
Flight endpoint running in this process (spans read in memory)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import adbc_driver_flightsql.dbapi as adbc
import pytest

import pgproxy.flight as flight_pkg
from pgproxy.proxy import Proxy
from pgproxy.telemetry import Telemetry
from tests.fix_traced import traced_proxy

pytestmark = pytest.mark.integration


@pytest.fixture
def traced(tmp_path) -> Iterator[tuple[str, Telemetry]]:
    """A proxy and its Flight endpoint on their own event loop thread."""

    async def serve(proxy: Proxy) -> tuple[str, Callable[[], Awaitable[None]]]:
        endpoint = flight_pkg.FlightEndpoint(proxy, "127.0.0.1", 0, users={},
                                             auth_method=None, allow_remote_trust=False)
        return f"grpc://127.0.0.1:{endpoint.port}", endpoint.close

    with traced_proxy("app", str(tmp_path / "a.db"), serve) as traced:
        yield traced


def test_flight_statements_are_spans_like_the_wires(traced):
    uri, telemetry = traced
    with adbc.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE tel (id integer, name text)")
        cur.execute("INSERT INTO tel VALUES (1, 'secret')")
        cur.execute("SELECT name FROM tel WHERE id = 1")
        assert cur.fetchall() == [("secret",)]
        with pytest.raises(Exception, match="42P01"):
            cur.execute("SELECT * FROM nowhere")
    spans = telemetry.span_exporter.get_finished_spans()
    select = next(s for s in spans if s.attributes.get("db.operation") == "SELECT"
                  and "tel" in s.attributes.get("db.statement", ""))
    assert select.attributes["db.system"] == "sqlite"
    children = {s.name for s in spans if s.parent and s.parent.span_id == select.context.span_id}
    assert {"translate", "backend execute"} <= children
    insert = next(s for s in spans if s.attributes.get("db.operation") == "INSERT")
    assert "secret" not in insert.attributes["db.statement"]
    failed = [s for s in spans if s.attributes.get("db.response.status_code") == "42P01"]
    assert failed and failed[-1].status.status_code.name == "ERROR"
