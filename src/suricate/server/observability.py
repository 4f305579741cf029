"""What operators watch: request ids, JSON logs, Prometheus metrics, readiness.

- Every HTTP request gets an id (its ``X-Request-ID`` if sane, else a new one), echoed in the
  response and attached to every log record written while it is handled.
- ``SURICATE_LOG_FORMAT=json`` writes one JSON object per log line (python-json-logger).
- ``GET /metrics`` serves Prometheus' text format: request counts and latencies, plus figures
  read at scrape time (runs by status, open kernels, processors' throughput, lag and counters,
  dead letters): aggregates with no tenant, user, stream or processor name, unless
  ``SURICATE_METRICS_TOKEN`` protects the page, which then labels them per tenant.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from suricate.server.platform import Platform

access = logging.getLogger("suricate.access")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIdFilter(logging.Filter):
    """Attach the current request's id (or None) to every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str, fmt: str) -> None:
    """Set up the root logger: plain text for terminals, or one JSON object per line."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's access log goes through the same handler (with the request id).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class Metrics:
    """The frontend's Prometheus registry: request metrics plus the platform's figures.

    ``per_tenant`` (only when ``SURICATE_METRICS_TOKEN`` protects /metrics) labels the figures
    with tenant, processor and stream names; otherwise they are aggregates with no names at all.
    """

    def __init__(self, platform: Platform | None = None, per_tenant: bool = False) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "suricate_http_requests",
            "HTTP requests handled, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "suricate_http_request_duration_seconds",
            "Time to the response's headers, by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        if platform is not None:
            self.registry.register(PlatformCollector(platform, per_tenant))


class PlatformCollector(Collector):
    """Figures read when Prometheus scrapes, so they are never stale."""

    def __init__(self, platform: Platform, per_tenant: bool = False) -> None:
        self.platform = platform
        self.per_tenant = per_tenant

    def _family(self, name: str, help_: str, labels: list[str], counter: bool = False) -> Any:
        labels = (["tenant"] if self.per_tenant else []) + labels
        kind = CounterMetricFamily if counter else GaugeMetricFamily
        return kind(name, help_, labels=labels)

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from suricate.store.tables import DeadLetter, Run, Tenant

        with self.platform.db.session() as s:
            runs = s.execute(
                select(Tenant.name, Run.status, func.count())
                .select_from(Run)
                .join(Tenant, Tenant.id == Run.tenant_id)
                .group_by(Tenant.name, Run.status)
            ).all()
            dead = s.execute(
                select(Tenant.name, func.count())
                .select_from(DeadLetter)
                .join(Tenant, Tenant.id == DeadLetter.tenant_id)
                .where(DeadLetter.status == "dead")
                .group_by(Tenant.name)
            ).all()
        yield self._summed(
            "suricate_runs",
            "Runs by status (all time).",
            ["status"],
            [(tenant, (status,), count) for tenant, status, count in runs],
        )
        yield self._summed(
            "suricate_dead_letters",
            "Dead letters waiting for a replay.",
            [],
            [(tenant, (), count) for tenant, count in dead],
        )
        compute = self.platform.compute
        open_ = compute.sessions.open_by_tenant() if compute is not None else {}
        yield self._summed(
            "suricate_kernels_open",
            "Interactive sessions (kernels) open.",
            [],
            [(tenant, (), count) for tenant, count in open_.items()],
        )
        yield from self._processors()

    def _summed(
        self,
        name: str,
        help_: str,
        labels: list[str],
        rows: list[tuple[str, tuple[str, ...], float]],
        counter: bool = False,
    ) -> Metric:
        family = self._family(name, help_, labels, counter)
        totals: dict[tuple[str, ...], float] = {}
        for tenant, values, value in rows:
            key = ((tenant,) if self.per_tenant else ()) + values
            totals[key] = totals.get(key, 0) + value
        if not labels and not self.per_tenant and not totals:
            totals[()] = 0
        for key, value in totals.items():
            family.add_metric(list(key), value)
        return family

    def _processors(self) -> Iterator[Metric]:
        compute = self.platform.compute
        infos = compute.processors.live_infos() if compute is not None else []
        if not self.per_tenant:
            # No names: how many run, and the sums of their figures.
            yield self._summed(
                "suricate_processors_running",
                "Processors running.",
                [],
                [(t, (), 1 if i.status == "running" else 0) for t, i in infos],
            )
            yield self._summed(
                "suricate_processor_throughput",
                "Messages per second, lately (all processors).",
                [],
                [(t, (), i.throughput) for t, i in infos],
            )
            yield self._summed(
                "suricate_processor_lag",
                "Messages waiting (all processors).",
                [],
                [(t, (), i.lag) for t, i in infos if i.lag is not None],
            )
            for name, help_ in _COUNTERS:
                yield self._summed(
                    f"suricate_processor_{name}",
                    help_ + " (all processors)",
                    [],
                    [(t, (), getattr(i, name)) for t, i in infos],
                    counter=True,
                )
            return
        labels = ["tenant", "processor", "stream"]
        status = GaugeMetricFamily(
            "suricate_processor_up", "1 if the processor is running.", labels=labels
        )
        rate = GaugeMetricFamily(
            "suricate_processor_throughput", "Messages per second, lately.", labels=labels
        )
        lag = GaugeMetricFamily(
            "suricate_processor_lag", "Messages waiting (queue depth or replay due).", labels=labels
        )
        counters = {
            name: CounterMetricFamily(f"suricate_processor_{name}", help_, labels=labels)
            for name, help_ in _COUNTERS
        }
        for tenant, info in infos:
            values = [tenant, info.id, info.stream]
            status.add_metric(values, 1 if info.status == "running" else 0)
            rate.add_metric(values, info.throughput)
            if info.lag is not None:
                lag.add_metric(values, info.lag)
            for name, family in counters.items():
                family.add_metric(values, getattr(info, name))
        yield status
        yield rate
        yield lag
        yield from counters.values()


_COUNTERS = [
    ("received", "Messages received."),
    ("processed", "Messages processed."),
    ("failed", "Handler failures (before retries)."),
    ("dead_lettered", "Messages dead-lettered."),
    ("redelivered", "Messages the broker delivered again."),
]


class RequestContext:
    """Give each request an id and count it; pure ASGI, so streaming responses pass through."""

    def __init__(self, app: ASGIApp, metrics: Metrics, api_prefix: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = sent if _SANE_ID.fullmatch(sent) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                route = _route(scope, self.api_prefix)
                self.metrics.latency.labels(scope["method"], route).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = _route(scope, self.api_prefix)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            access.info(
                "%s %s %d %.1f ms",
                scope["method"],
                scope["path"],
                status,
                elapsed_ms,
                extra={"status": status, "route": route, "duration_ms": elapsed_ms},
            )
            request_id.reset(token)


def _route(scope: Scope, api_prefix: str) -> str:
    """The route's template (``/api/v1/objects/{name}``), never the raw path (unbounded labels)."""
    path = getattr(scope.get("route"), "path", None)
    if not isinstance(path, str):
        return "unmatched"
    # FastAPI hands over the router's own route, whose path lacks the prefix it was included at.
    if api_prefix and scope["path"].startswith(api_prefix) and not path.startswith(api_prefix):
        return api_prefix + path
    return path
