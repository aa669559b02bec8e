"""Prometheus metrics: request counts and latencies, and a few gauges read at scrape time."""

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis.outbox import outbox_health


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("fibersync_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("fibersync_http_request_seconds", "HTTP request latency",
                                 ["route"], registry=self.registry)
        self.addresses = Gauge("fibersync_addresses", "Addresses by retired flag",
                               ["retired"], registry=self.registry)
        self.sync_runs = Gauge("fibersync_sync_runs", "Sync runs by state", ["state"],
                               registry=self.registry)
        # Read from the outbox table at scrape time: workers run in other processes.
        self.outbox = Gauge("fibersync_outbox_events", "Outbox events by state", ["state"],
                            registry=self.registry)
        self.outbox_oldest = Gauge("fibersync_outbox_oldest_pending_seconds",
                                   "Age of the oldest undelivered event",
                                   registry=self.registry)
        self.isp_orders = Gauge("fibersync_isp_orders",
                                "ISP orders by outcome and refusal code (data quality)",
                                ["outcome", "refusal"], registry=self.registry)
        self.outbox_lag = Gauge("fibersync_outbox_delivery_lag_seconds",
                                "Created-to-delivered time over the last 5 minutes",
                                ["quantile"], registry=self.registry)

    def refresh(self, engine: Engine) -> None:
        with engine.connect() as conn:
            for retired, count in conn.execute(
                    text("SELECT retired, count(*) FROM addresses GROUP BY retired")):
                self.addresses.labels(str(retired).lower()).set(count)
            for state, count in conn.execute(
                    text("SELECT state, count(*) FROM sync_runs GROUP BY state")):
                self.sync_runs.labels(state).set(count)
            health = outbox_health(conn)
            for outcome, refusal, count in conn.execute(text(
                    "SELECT outcome, coalesce(refusal, ''), count(*) FROM isp_orders "
                    "GROUP BY 1, 2")):
                self.isp_orders.labels(outcome, refusal).set(count)
        for state in ("pending", "leased", "parked", "delivered"):
            self.outbox.labels(state).set(getattr(health, state))
        self.outbox_oldest.set(health.oldest_pending_seconds)
        for quantile, value in (("0.5", health.lag_p50_seconds),
                                ("0.95", health.lag_p95_seconds),
                                ("0.99", health.lag_p99_seconds)):
            self.outbox_lag.labels(quantile).set(value if value is not None else float("nan"))


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    @staticmethod
    def _route(scope: Scope) -> str:
        # The router records the matched route in the scope; label by its template, not the
        # raw path, so ids do not explode the label set.
        route = scope.get("route")
        return str(getattr(route, "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = self._route(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
