"""OpenTelemetry: a span per statement with stage children, and the proxy's metrics.

Off by default, and then nothing here runs: the proxy holds no Telemetry and
no hook is registered. When on, the statement span is the Watch's (a hook on
the statement path) and the stage spans come from a Step registered on the
pipeline's hooks: translate, cache lookup, backend execute.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lru import LRU
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    InMemoryMetricReader,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

import dialects
from pgproxy.backends import registry
from pgproxy.core.hooks import Hooks, Step

_LITERAL = re.compile(
    r"'(?:[^']|'')*'"  # strings
    r"|(?<![\w$])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b"  # numbers, not $1 or t1
)


def mask(sql: str) -> str:
    """The statement with its literals replaced by `?` (db.statement must not leak values)."""
    return _LITERAL.sub("?", sql)


class Telemetry:
    """Tracer and meter for the proxy, and the statement span's life."""

    def __init__(
        self,
        span_exporter: SpanExporter | None,
        metric_reader: MetricReader | None,
        *,
        service_name: str = "pgproxy",
        batch: bool = True,
    ) -> None:
        resource = Resource.create({"service.name": service_name})
        self.tracer_provider = TracerProvider(resource=resource)
        self.span_exporter = span_exporter
        if span_exporter is not None:
            processor = BatchSpanProcessor if batch else SimpleSpanProcessor
            self.tracer_provider.add_span_processor(processor(span_exporter))
        self.metric_reader = metric_reader
        self.meter_provider = MeterProvider(
            resource=resource, metric_readers=[metric_reader] if metric_reader else []
        )
        self.tracer = self.tracer_provider.get_tracer("pgproxy")
        meter = self.meter_provider.get_meter("pgproxy")
        self.duration = meter.create_histogram(
            "db.client.operation.duration", unit="s", description="statement duration to last row"
        )
        self.rows = meter.create_counter("pgproxy.rows", description="rows returned or affected")
        self.cache_hits = meter.create_counter("pgproxy.cache.hits")
        self.cache_misses = meter.create_counter("pgproxy.cache.misses")
        self.sessions = meter.create_up_down_counter("pgproxy.sessions.active")
        self.backend_health = meter.create_up_down_counter(
            "pgproxy.backend.up", description="1 while a backend is up, 0 when down"
        )
        self._masked: LRU = LRU(4096)

    def observe_members(self, members: Callable[[], Iterable[Any]]) -> None:
        """Per route member (routing/groups.Member), read when metrics are collected:
        statements, errors, retries and bans as counters; p50/p99 latency and lag as gauges."""
        meter = self.meter_provider.get_meter("pgproxy")

        def reader(
            value: Callable[[Any], float | None],
        ) -> Callable[[CallbackOptions], list[Observation]]:
            def observe(options: CallbackOptions) -> list[Observation]:
                out = []
                for m in members():
                    v = value(m)
                    if v is not None:
                        out.append(Observation(v, {"backend": m.name, "route": m.route,
                                                   "role": m.role}))
                return out

            return observe

        for attr in ("queries", "errors", "retries", "bans"):
            meter.create_observable_counter(
                f"pgproxy.backend.{attr}",
                callbacks=[reader(lambda m, a=attr: getattr(m, a))])
        for q in (50, 99):
            meter.create_observable_gauge(
                f"pgproxy.backend.latency.p{q}", unit="ms",
                callbacks=[reader(lambda m, q=q: m.percentile(q / 100))])
        meter.create_observable_gauge("pgproxy.backend.lag", unit="s",
                                      callbacks=[reader(lambda m: m.lag)])

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Telemetry | None:
        """[telemetry] exporter = "none" | "console" | "otlp" | "memory"."""
        exporter = str(section.get("exporter", "none")).lower()
        name = str(section.get("service_name", "pgproxy"))
        interval = int(float(section.get("metrics_interval", 60)) * 1000)
        if exporter == "none":
            return None
        if exporter == "console":
            return cls(
                ConsoleSpanExporter(),
                PeriodicExportingMetricReader(ConsoleMetricExporter(), interval),
                service_name=name,
            )
        if exporter == "memory":
            return cls(InMemorySpanExporter(), InMemoryMetricReader(), service_name=name,
                       batch=False)
        if exporter == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                    OTLPMetricExporter,
                )
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError:
                raise ValueError(
                    "[telemetry] exporter = 'otlp' needs opentelemetry-exporter-otlp-proto-http"
                ) from None
            endpoint = section.get("endpoint")
            kw = {"endpoint": endpoint} if endpoint else {}
            return cls(
                OTLPSpanExporter(**kw),
                PeriodicExportingMetricReader(OTLPMetricExporter(), interval),
                service_name=name,
            )
        raise ValueError(f"unknown [telemetry] exporter {exporter!r}: none, console, otlp")

    # ------------------------------------------------------------ statements

    def start(self, session: Any, stmt: dialects.Statement) -> tuple[Any, Any]:
        """The statement's span, made current for the pipeline stages it runs."""
        masked = self._masked.get(stmt.sql)
        if masked is None:
            masked = self._masked[stmt.sql] = mask(stmt.sql)
        backend = session.route.backend
        span = self.tracer.start_span(
            f"{stmt.tag or stmt.kind} {session.route.name}",
            kind=trace.SpanKind.SERVER,
            attributes={
                "db.system": registry.engine(backend.dialect).db_system,
                "db.operation": stmt.tag or str(stmt.kind),
                "db.statement": masked,
                "db.name": session.database,
                "db.user": session.user,
                "pgproxy.route": session.route.name,
                "pgproxy.backend": backend.name,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token

    def detach(self, token: Any) -> None:
        otel_context.detach(token)

    def stream_span(self, span: Any, start_ns: int) -> Any:
        return self.tracer.start_span(
            "stream", context=trace.set_span_in_context(span), start_time=start_ns
        )

    def finish(
        self,
        span: Any,
        session: Any,
        stmt: dialects.Statement,
        seconds: float,
        rows: int,
        hit: bool | None,
        sqlstate: str | None,
    ) -> None:
        attrs = {"db.operation": stmt.tag or str(stmt.kind), "pgproxy.route": session.route.name}
        self.duration.record(seconds, attrs)
        if rows:
            self.rows.add(rows, attrs)
        if hit is True:
            self.cache_hits.add(1, attrs)
        elif hit is False:
            self.cache_misses.add(1, attrs)
        span.set_attribute("db.response.returned_rows", rows)
        if hit is not None:
            span.set_attribute("pgproxy.cache.hit", hit)
        if sqlstate is not None:
            span.set_attribute("db.response.status_code", sqlstate)
            span.set_status(Status(StatusCode.ERROR, sqlstate))
        span.end()

    # ------------------------------------------------------------ stage spans

    def instrument(self, hooks: Hooks) -> None:
        """Child spans for translate, cache lookup and backend execute (a pipeline's hooks)."""
        hooks.add_step(_Spans(self.tracer))

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def now_ns() -> int:
    return time.time_ns()


class _Spans(Step):
    """Each step a child span of the current one (the statement's, made current by the Watch)."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def enter(self, name: str) -> Any:
        manager = self._tracer.start_as_current_span(name)
        manager.__enter__()
        return manager

    def exit(self, token: Any, exc: BaseException | None) -> None:
        if exc is None:
            token.__exit__(None, None, None)
        else:
            token.__exit__(type(exc), exc, exc.__traceback__)
