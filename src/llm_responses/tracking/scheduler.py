"""The tracker's loop, in every worker: start the runs that are due, finish the runs whose answers are
all in (and indexed), evaluate their alerts, send the day's digests.

No cron daemon and no leader: each step is a claim through the database (a period's run is unique per
project, a run finishes once, an alert is recorded once), so any number of workers may run this loop and a
restarted one simply carries on. A period missed while nothing ran is run once, on the first tick after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from llm_responses.config_views import TrackingConfig
from llm_responses.store.records import TaskStatus
from llm_responses.store.tracking import Alert, Project, Run
from llm_responses.tracking.alerts import Snapshot, evaluate
from llm_responses.tracking.service import BASELINE_DAYS, TrackingService
from llm_responses.tracking.spec import ProjectSpec
from llm_responses.waiting import first_of

log = logging.getLogger(__name__)

MIN_TICK_SECONDS = 1.0
PENDING = (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, TaskStatus.BATCHED.value)


class MetricsReader(Protocol):
    """Brand metrics rows (``analysis``'s shape) of a project's answers: one run's, or a span of days'."""

    async def of_run(
        self, account_id: int, project_id: int, run_id: int, by: tuple[str, ...]
    ) -> list[dict[str, Any]]: ...

    async def of_days(
        self, account_id: int, project_id: int, date_from: str, date_to: str, by: tuple[str, ...]
    ) -> list[dict[str, Any]]: ...


class NoMetrics:
    """Until the analytics path is wired: no rows (alerts about runs still work)."""

    async def of_run(
        self, account_id: int, project_id: int, run_id: int, by: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        return []

    async def of_days(
        self, account_id: int, project_id: int, date_from: str, date_to: str, by: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        return []


class Scheduler:
    def __init__(
        self,
        *,
        service: TrackingService,
        metrics: MetricsReader,
        config: TrackingConfig,
        digests: Callable[[float], Awaitable[int]] | None = None,
    ) -> None:
        self.service = service
        self.store = service.store
        self.metrics = metrics
        self.config = config
        self.digests = digests
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """A task settled: a run may be complete."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.tick(time.time())
            except Exception:
                log.exception("the tracking loop failed; trying again after the poll interval")
            # settlements wake it (a run may be complete), but a tick is a few reads: once a second at most
            gap = min(MIN_TICK_SECONDS, self.config.poll_seconds)
            await first_of(stop, within=gap)
            await first_of(self._wake, stop, within=max(self.config.poll_seconds - gap, 0.0))

    async def tick(self, now: float) -> None:
        for project in await self.store.tracking.due_projects(now):
            try:
                started = await self.service.run_scheduled(project, now)
            except Exception:
                log.exception("project %s: starting its run failed", project.name)
                continue
            if started is not None:
                posted = sum(started.accepted)
                log.info("project %s: run %d (%s) posted %d tasks", project.name, started.run.id,
                         started.run.period, posted)  # fmt: skip
        for run in await self.store.tracking.open_runs():
            try:
                await self.finish(run, time.time())
            except Exception:
                log.exception("run %d: finishing it failed", run.id)
        if self.digests is not None:
            await self.digests(now)

    async def finish(self, run: Run, now: float) -> list[Alert] | None:
        """End the run once its tasks are settled and its answers indexed, then evaluate its alerts;
        None while it is still going (or another worker ended it)."""
        progress = await self.store.tracking.run_progress(run.id)
        if any(progress.get(s, (0, 0))[0] for s in PENDING):
            return None
        if await self.store.tracking.unindexed(run.id):
            return None
        done = progress.get(TaskStatus.DONE.value, (0, 0))[0]
        failed = sum(n for s, (n, _) in progress.items() if s not in (TaskStatus.DONE.value, *PENDING))
        cost = sum(c for _, c in progress.values())
        status = "done" if done and not failed else "partial" if done else "failed"
        error = f"{failed} of {done + failed} tasks failed" if failed else None
        if not await self.store.tracking.finish_run(run.id, status, cost, now, error):
            return None
        project = await self.store.tracking.project_by_id(run.project_id)
        if project is None:
            return []
        return await self.alerts(project, run, status, error)

    async def alerts(self, project: Project, run: Run, status: str, problem: str | None) -> list[Alert]:
        """The project's rules over the run against the previous run (or the 7-day average)."""
        spec = ProjectSpec.from_json(project.spec_json)
        account, pid = project.account_id, project.id
        current = Snapshot.of(
            await self.metrics.of_run(account, pid, run.id, ()),
            await self.metrics.of_run(account, pid, run.id, ("prompt",)),
        )
        earlier = await self.store.tracking.earlier_runs(run, run.started_at - BASELINE_DAYS * 86400)
        previous = baseline = None
        if earlier:
            before = earlier[0]
            previous = Snapshot.of(
                await self.metrics.of_run(account, pid, before.id, ()),
                await self.metrics.of_run(account, pid, before.id, ("prompt",)),
            )
            baseline = previous
            if spec.alerts.against == "7_day_average":
                day = datetime.fromtimestamp(run.started_at, UTC).date()
                window = await self.metrics.of_days(
                    account, pid, (day - timedelta(days=BASELINE_DAYS)).isoformat(),
                    (day - timedelta(days=1)).isoformat(), (),
                )  # fmt: skip
                baseline = Snapshot.of(window) if window else previous
        domains = await self.store.tracking.new_domains(run.id) if earlier else []
        own = spec.own_brand.name if spec.own_brand else None
        found = evaluate(
            spec.alerts, run_id=run.id, own=own, current=current, baseline=baseline, previous=previous,
            new_domains=domains, status=status, problem=problem and f"run {run.id}: {problem}",
        )  # fmt: skip
        return await self.service.record(project, spec, run.id, found) if found else []
