"""OpenTelemetry spans and metrics from a proxy running in this process, read in memory."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import psycopg
import pytest

from pgproxy.backends import from_url
from pgproxy.cache import CacheOptions, QueryCache
from pgproxy.observers import Watch
from pgproxy.proxy import Proxy
from pgproxy.router import Router
from pgproxy.telemetry import Telemetry
from pgproxy.wire.server import WireServer


@pytest.fixture
def traced(tmp_path) -> Iterator[tuple[str, Telemetry]]:
    """A proxy on its own event loop thread, wired as `pgproxy serve` wires it."""
    telemetry = Telemetry.from_config({"exporter": "memory"})
    assert telemetry is not None
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict = {}

    async def main() -> None:
        proxy = Proxy(Router({"default": from_url(f"sqlite:///{tmp_path / 'a.db'}")}))
        proxy.pipeline.cache = QueryCache(CacheOptions(enabled=True))
        telemetry.instrument(proxy.pipeline.hooks)
        proxy.watch = Watch.build(None, telemetry)
        server = WireServer(proxy)
        box["port"] = (await server.listen("127.0.0.1", 0))[0][1]
        box["stop"] = stop = asyncio.Event()
        started.set()
        await stop.wait()
        await server.close()
        proxy.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield f"host=127.0.0.1 port={box['port']} user=t dbname=app", telemetry
    loop.call_soon_threadsafe(box["stop"].set)
    thread.join(10)


def test_a_span_per_statement_with_stage_children_and_masked_literals(traced):
    dsn, telemetry = traced
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE tel (id INT, name TEXT)")
        conn.execute("INSERT INTO tel VALUES (1, 'secret')")
        for _ in range(2):
            conn.execute("SELECT name FROM tel WHERE id = 1 AND name <> 'hidden'").fetchall()
    spans = telemetry.span_exporter.get_finished_spans()
    selects = [s for s in spans if s.attributes.get("db.operation") == "SELECT"]
    assert len(selects) == 2
    first, second = selects
    assert first.attributes["db.system"] == "sqlite"
    # Literals are masked (as ?, or as $n where the dialect layer lifted them to parameters).
    statement = first.attributes["db.statement"]
    assert statement.startswith("SELECT name FROM tel WHERE id = ")
    assert "1" not in statement.replace("$1", "") and "hidden" not in statement
    assert (first.attributes["pgproxy.cache.hit"], second.attributes["pgproxy.cache.hit"]) == (
        False, True)
    children = {s.name for s in spans if s.parent and s.parent.span_id == first.context.span_id}
    assert {"translate", "cache lookup", "backend execute", "stream"} <= children
    hit_children = {s.name for s in spans if s.parent and s.parent.span_id
                    == second.context.span_id}
    assert "backend execute" not in hit_children
    insert = next(s for s in spans if s.attributes.get("db.operation") == "INSERT")
    assert "secret" not in insert.attributes["db.statement"]

    metrics = telemetry.metric_reader.get_metrics_data()
    names = {m.name: m for rm in metrics.resource_metrics for sm in rm.scope_metrics
             for m in sm.metrics}
    assert {"db.client.operation.duration", "pgproxy.cache.hits", "pgproxy.cache.misses",
            "pgproxy.sessions.active", "pgproxy.rows"} <= set(names)
    hits = names["pgproxy.cache.hits"].data.data_points
    assert sum(p.value for p in hits) == 1
    # Per route member, from routing/groups: statements run on the backend, their latency.
    queries = names["pgproxy.backend.queries"].data.data_points
    assert [(p.attributes["backend"], p.attributes["role"]) for p in queries] == \
        [("default", "primary")]
    assert queries[0].value >= 2
    assert names["pgproxy.backend.latency.p99"].data.data_points[0].value > 0


def test_errors_mark_the_span(traced):
    dsn, telemetry = traced
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM nowhere")
    span = telemetry.span_exporter.get_finished_spans()[-1]
    assert span.attributes["db.response.status_code"] == "42P01"
    assert span.status.status_code.name == "ERROR"
