"""Prometheus metrics, one registry per app so tests can build many apps."""

from __future__ import annotations

from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # Bound once: a metric that missed it would land on prometheus_client's global
        # registry, and the second app built in one process would fail on the duplicate.
        counter = partial(Counter, registry=self.registry)
        histogram = partial(Histogram, registry=self.registry)
        self.requests = counter(
            "radimpress_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
        )
        self.latency = histogram(
            "radimpress_request_latency_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
        )
        self.batch_size = histogram(
            "radimpress_batch_size",
            "Reports per generate call (micro-batching)",
            buckets=BATCH_BUCKETS,
        )
        self.generate_seconds = histogram(
            "radimpress_generate_seconds",
            "Seconds per generate call",
            buckets=LATENCY_BUCKETS,
        )
        self.reports = counter(
            "radimpress_reports",
            "Reports drafted",
        )
        self.drafts_by_channel = counter(
            "radimpress_drafts",
            "Drafts stored, by front door (rest, fhir, hl7)",
            ["channel"],
        )
        self.model_errors = counter(
            "radimpress_model_errors",
            "Requests failed by the model",
        )
        self.deadline_exceeded = counter(
            "radimpress_deadline_exceeded",
            "Drafts abandoned at the request deadline (their queued work dropped), by front door",
            ["channel"],
        )
        self.client_gone = counter(
            "radimpress_client_disconnects",
            "Requests whose client went away before the answer (their work cancelled)",
        )
        self.model_ready = Gauge(
            "radimpress_model_ready",
            "1 once the model is loaded",
            registry=self.registry,
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.generate_seconds.observe(seconds)
