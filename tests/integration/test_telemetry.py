"""OpenTelemetry spans and metrics from a proxy running in this process, read in memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import psycopg
import pytest

from pgproxy.cache import CacheOptions, QueryCache
from pgproxy.proxy import Proxy
from pgproxy.telemetry import Telemetry
from pgproxy.wire.server import WireServer
from tests.fix_traced import traced_proxy


@pytest.fixture
def traced(tmp_path) -> Iterator[tuple[str, Telemetry]]:
    """A proxy on its own event loop thread, wired as `pgproxy serve` wires it."""

    async def serve(proxy: Proxy) -> tuple[str, Callable[[], Awaitable[None]]]:
        proxy.pipeline.cache = QueryCache(CacheOptions(enabled=True))
        server = WireServer(proxy)
        port = (await server.listen("127.0.0.1", 0))[0][1]
        return f"host=127.0.0.1 port={port} user=t dbname=app", server.close

    with traced_proxy("default", str(tmp_path / "a.db"), serve) as traced:
        yield traced


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
