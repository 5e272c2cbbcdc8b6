"""Prometheus metrics, one registry per app so tests can build many apps."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "radimpress_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "radimpress_request_latency_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "radimpress_batch_size",
            "Reports per generate call (micro-batching)",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.generate_seconds = Histogram(
            "radimpress_generate_seconds",
            "Seconds per generate call",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reports = Counter(
            "radimpress_reports",
            "Reports drafted",
            registry=self.registry,
        )
        self.drafts_by_channel = Counter(
            "radimpress_drafts",
            "Drafts stored, by front door (rest, fhir, hl7)",
            ["channel"],
            registry=self.registry,
        )
        self.model_errors = Counter(
            "radimpress_model_errors",
            "Requests failed by the model",
            registry=self.registry,
        )
        self.deadline_exceeded = Counter(
            "radimpress_deadline_exceeded",
            "Drafts abandoned at the request deadline (their queued work dropped), by front door",
            ["channel"],
            registry=self.registry,
        )
        self.client_gone = Counter(
            "radimpress_client_disconnects",
            "Requests whose client went away before the answer (their work cancelled)",
            registry=self.registry,
        )
        self.model_ready = Gauge(
            "radimpress_model_ready",
            "1 once the model is loaded",
            registry=self.registry,
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.generate_seconds.observe(seconds)
