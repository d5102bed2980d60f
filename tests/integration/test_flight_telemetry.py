"""Telemetry of Flight SQL statements: the same spans as the wire's, from a proxy and its
Flight endpoint running in this process (spans read in memory)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from pgproxy.backends import from_url
from pgproxy.observers import Watch
from pgproxy.proxy import Proxy
from pgproxy.router import Router
from pgproxy.telemetry import Telemetry

adbc = pytest.importorskip("adbc_driver_flightsql.dbapi")
flight_pkg = pytest.importorskip("pgproxy.flight")

pytestmark = pytest.mark.integration


@pytest.fixture
def traced(tmp_path) -> Iterator[tuple[str, Telemetry]]:
    """A proxy and its Flight endpoint on their own event loop thread."""
    telemetry = Telemetry.from_config({"exporter": "memory"})
    assert telemetry is not None
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict = {}

    async def main() -> None:
        proxy = Proxy(Router({"app": from_url(f"sqlite:///{tmp_path / 'a.db'}")}))
        telemetry.instrument(proxy.pipeline.hooks)
        proxy.watch = Watch.build(None, telemetry)
        endpoint = flight_pkg.FlightEndpoint(proxy, "127.0.0.1", 0, users={},
                                             auth_method=None, allow_remote_trust=False)
        box["uri"] = f"grpc://127.0.0.1:{endpoint.port}"
        box["stop"] = stop = asyncio.Event()
        started.set()
        await stop.wait()
        await endpoint.close()
        proxy.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield box["uri"], telemetry
    loop.call_soon_threadsafe(box["stop"].set)
    thread.join(20)
    assert not thread.is_alive(), "the Flight endpoint did not shut down"


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
