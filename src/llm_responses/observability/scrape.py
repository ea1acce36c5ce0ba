"""``/metrics``'s body: this process's instruments (or every process's, in multiprocess mode) and what the
database knows at scrape time.

Why both: a counter lives where it is counted, and an API process cannot see what a worker process counted
unless they share ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode: each process writes
its values to a file there, and the scraped process sums the files). The queue and the workers are the
database's: every process would report the same numbers, so they are read from it when scraped instead,
correct however many processes and machines there are. That read is bounded (``queue_stats`` reads at
most ``QUEUE_READ_LIMIT`` rows per status, within ``READ_TIMEOUT``) and shared by scrapes within
``CACHE_SECONDS``; when it fails, ``llm_responses_database_scrape_ok`` says so and the rest is served.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from llm_responses import __version__
from llm_responses.observability.metrics import Metrics, multiprocess
from llm_responses.store import Store
from llm_responses.store.records import TaskStatus
from llm_responses.wire.engines import ENGINES

log = logging.getLogger(__name__)

QUEUE_STATUSES = (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, TaskStatus.BATCHED.value)
QUEUE_READ_LIMIT = 100_000  # rows per status a scrape reads at most; a longer backlog shows as this many
CACHE_SECONDS = 1.0  # scrapes within this share one database read (several scrapers, one load)
READ_TIMEOUT = 5.0


@dataclass
class Snapshot:
    at: float = 0.0
    ok: bool = False
    queue: list[tuple[str, str, int, float]] = field(default_factory=list)
    workers: int = 0
    batches: int = 0  # vendor batches submitted (or being submitted) and not yet collected
    index_backlog: int = 0  # answers settled and not yet in the mentions index
    index_lag: float = 0.0  # the oldest of them's wait, seconds


class DatabaseCollector:
    """The gauges read from the database, from the last ``Snapshot`` (a collector's ``collect`` is sync)."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        tasks = GaugeMetricFamily(
            "llm_responses_queue_tasks",
            f"Tasks queued, running or in a vendor batch, by engine and status (at most {QUEUE_READ_LIMIT} counted)",
            labels=["engine", "status"],
        )
        age = GaugeMetricFamily(
            "llm_responses_queue_oldest_age_seconds",
            "Age of the oldest task queued, running or in a vendor batch, by engine and status (0: none)",
            labels=["engine", "status"],
        )
        found = {(engine, status): (count, oldest) for engine, status, count, oldest in s.queue}
        for engine in ENGINES:
            for status in QUEUE_STATUSES:
                count, oldest = found.get((engine, status), (0, s.at))
                tasks.add_metric([engine, status], count)
                age.add_metric([engine, status], max(s.at - oldest, 0.0))
        yield tasks
        yield age
        yield GaugeMetricFamily(
            "llm_responses_workers_alive", "Workers whose heartbeat is fresh (any process)", value=s.workers
        )
        yield GaugeMetricFamily(
            "llm_responses_batches_in_flight",
            "Vendor batches submitted (or being submitted) and not yet collected (TASK_POST_BATCH)",
            value=s.batches,
        )
        yield GaugeMetricFamily(
            "llm_responses_mentions_index_backlog",
            "Answers settled and waiting for the worker's indexer (the mentions index's outbox)",
            value=s.index_backlog,
        )
        yield GaugeMetricFamily(
            "llm_responses_mentions_index_lag_seconds",
            "How long the oldest answer waiting for the mentions index has waited (0: none)",
            value=s.index_lag,
        )
        yield GaugeMetricFamily(
            "llm_responses_database_scrape_ok",
            "1 when the queue and workers above were read from the database at this scrape's time",
            value=1 if s.ok else 0,
        )
        info = GaugeMetricFamily("llm_responses_build_info", "This server's version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info


class Scrape:
    def __init__(self, store: Store, metrics: Metrics, *, heartbeat_window: float) -> None:
        self.store = store
        self.heartbeat_window = heartbeat_window
        self.database = DatabaseCollector()
        if multiprocess():
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry)  # every process's files, this one's included
        else:
            self.registry = metrics.registry
        self.registry.register(self.database)
        self._refreshing: asyncio.Task[None] | None = None

    async def body(self) -> bytes:
        """The exposition, in Prometheus's text format."""
        await self._fresh()
        return await asyncio.to_thread(generate_latest, self.registry)

    async def _fresh(self) -> None:
        if time.time() - self.database.snapshot.at < CACHE_SECONDS:
            return
        if self._refreshing is None or self._refreshing.done():  # concurrent scrapes share one read
            self._refreshing = asyncio.create_task(self._read())
        await asyncio.shield(self._refreshing)

    async def _read(self) -> None:
        now = time.time()
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                queue = await self.store.queue_stats(QUEUE_STATUSES, QUEUE_READ_LIMIT)
                beats = await self.store.worker_heartbeats()
                batches = await self.store.count_batches("submitted") + await self.store.count_batches(
                    "submitting"
                )
                backlog, lag = await self.store.index_backlog()
        except Exception as exc:  # noqa: BLE001 - a scrape answers with what it has
            log.warning("metrics: reading the queue failed: %s", type(exc).__name__)
            self.database.snapshot = Snapshot(at=now, ok=False)
            return
        workers = sum(1 for at in beats.values() if at >= now - self.heartbeat_window)
        self.database.snapshot = Snapshot(
            at=now,
            ok=True,
            queue=queue,
            workers=workers,
            batches=batches,
            index_backlog=backlog,
            index_lag=lag,
        )
