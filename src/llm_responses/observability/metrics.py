"""The Prometheus instruments, and the only calls the hot paths make on them.

Every label is bounded by construction: paths are route templates (``/v3/ai_optimization/{se}/...``, never
a task id), vendors are the configured providers' names, models are catalog names, outcomes and kinds are
enums of ours. Each call site observes a histogram child found in a dict (``labels()`` costs more than the
observation), and a request counts in one histogram (its ``_count`` is the request count), not in a
counter beside it.

With ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client keeps every value in a file per process in that
directory and ``/metrics`` sums them (``scrape``): the gauges here say how (``livesum``: the processes
alive now). Gauges that would cost a write per request (live slots, tasks in flight) are sampled by
``Sampler`` every few seconds instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from llm_responses.core import LlmResult

SAMPLE_SECONDS = 5.0
UNMATCHED = "(unmatched)"  # a request no route took (404): one label value, whatever the path

_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_ADDED_BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
_UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)
_WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30)
_DELIVERY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def multiprocess() -> bool:
    """prometheus-client's own switch, read by it at import: values in files shared by processes."""
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # no "_created" series (a gauge per counter and histogram child that Prometheus does not use);
        # prometheus-client's switch is process-wide, and this process's instruments are all ours
        disable_created_metrics()
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.http = Histogram(
            "llm_responses_http_request_duration_seconds",
            "HTTP requests by route template, method and HTTP status, with their latency",
            ["path", "method", "status"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.added = Histogram(
            "llm_responses_added_latency_seconds",
            "Latency of requests that called an upstream, less the time spent in upstream calls: ours",
            ["path"],
            buckets=_ADDED_BUCKETS,
            registry=r,
        )
        self.upstream = Histogram(
            "llm_responses_upstream_duration_seconds",
            "Upstream model calls by vendor, catalog model and outcome (ok, incomplete, or the error kind)",
            ["vendor", "model", "outcome"],
            buckets=_UPSTREAM_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "llm_responses_tokens",
            "Tokens upstreams reported, by vendor, catalog model and type "
            "(input, output, reasoning and cached_input are parts of input or output)",
            ["vendor", "model", "type"],
            registry=r,
        )
        self.spend = Counter(
            "llm_responses_spend_usd",
            "USD the answers cost at the model's prices (money_spent), by vendor and catalog model",
            ["vendor", "model"],
            registry=r,
        )
        self.deliveries = Histogram(
            "llm_responses_webhook_delivery_duration_seconds",
            "Webhook delivery attempts by kind and outcome (delivered, retry, failed, dropped)",
            ["kind", "outcome"],
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self.waits = Histogram(
            "llm_responses_db_wait_seconds",
            "Time a database call waited for a connection (PostgreSQL pools) or a lane's thread (SQLite)",
            ["pool"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        gauge: dict[str, Any] = {"registry": r, "multiprocess_mode": "livesum"}
        self.live_slots = Gauge("llm_responses_live_slots_in_use", "Live calls in flight", **gauge)
        self.tasks_in_flight = Gauge(
            "llm_responses_worker_tasks_in_flight", "Queued tasks a worker is running", **gauge
        )
        self.deliveries_in_flight = Gauge(
            "llm_responses_webhook_deliveries_in_flight", "Webhook deliveries being sent", **gauge
        )
        self._http: dict[tuple[str, str, int], Histogram] = {}
        self._added: dict[str, Histogram] = {}
        self._upstream: dict[tuple[str, str, str], Histogram] = {}
        self._usage: dict[tuple[str, str], tuple[Counter, ...]] = {}
        self._deliveries: dict[tuple[str, str], Histogram] = {}

    # -- the hot paths ---------------------------------------------------------------------------

    def request(self, path: str, method: str, status: int, seconds: float, upstream: float) -> None:
        """One HTTP request; ``upstream``: the seconds of it spent in upstream calls (0: none made)."""
        key = (path, method, status)
        child = self._http.get(key)
        if child is None:
            child = self._http[key] = self.http.labels(path, method, str(status))
        child.observe(seconds)
        if upstream:
            added = self._added.get(path)
            if added is None:
                added = self._added[path] = self.added.labels(path)
            added.observe(max(seconds - upstream, 0.0))

    def upstream_call(self, vendor: str, model: str, outcome: str, seconds: float) -> None:
        key = (vendor, model, outcome)
        child = self._upstream.get(key)
        if child is None:
            child = self._upstream[key] = self.upstream.labels(vendor, model, outcome)
        child.observe(seconds)

    def usage(self, vendor: str, model: str, result: LlmResult, spent_nanos: int) -> None:
        """What an answered call used: its tokens and what it cost."""
        key = (vendor, model)
        counters = self._usage.get(key)
        if counters is None:
            counters = self._usage[key] = (
                self.tokens.labels(vendor, model, "input"),
                self.tokens.labels(vendor, model, "output"),
                self.tokens.labels(vendor, model, "reasoning"),
                self.tokens.labels(vendor, model, "cached_input"),
                self.spend.labels(vendor, model),
            )
        input_, output, reasoning, cached, spend = counters
        input_.inc(result.input_tokens)
        output.inc(result.output_tokens)
        if result.reasoning_tokens:
            reasoning.inc(result.reasoning_tokens)
        if result.cached_input_tokens:
            cached.inc(result.cached_input_tokens)
        if spent_nanos:
            spend.inc(spent_nanos / 1e9)

    def delivery(self, kind: str, outcome: str, seconds: float) -> None:
        key = (kind, outcome)
        child = self._deliveries.get(key)
        if child is None:
            child = self._deliveries[key] = self.deliveries.labels(kind, outcome)
        child.observe(seconds)

    def db_wait(self, pool: str) -> Callable[[float], None]:
        """The observation a database driver calls with each wait of ``pool`` (thread-safe)."""
        return self.waits.labels(pool).observe


class Sampler:
    """Gauges read from the parts every few seconds: a value per request would cost more than it tells."""

    def __init__(self) -> None:
        self._readings: list[tuple[Gauge, Callable[[], float]]] = []

    def add(self, gauge: Gauge, read: Callable[[], float]) -> None:
        self._readings.append((gauge, read))

    def sample(self) -> None:
        for gauge, read in self._readings:
            gauge.set(read())

    async def run(self, stop: asyncio.Event, interval: float = SAMPLE_SECONDS) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
        self.sample()
