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

from llm_responses.config_views import TrackingConfig
from llm_responses.tracking.service import TrackingService
from llm_responses.waiting import first_of
from llm_responses.webhooks.digests import Digests

log = logging.getLogger(__name__)

DIGEST_EVERY_SECONDS = 60.0  # a digest is due once a day, a few minutes after the project's midnight


class Scheduler:
    def __init__(
        self,
        *,
        service: TrackingService,
        config: TrackingConfig,
        digests: Digests | None = None,
    ) -> None:
        self.service = service
        self.store = service.store
        self.config = config
        self.digests = digests
        self._digests_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick(time.time())
            except Exception:
                log.exception("the tracking loop failed; trying again after the poll interval")
            await first_of(stop, within=self.config.poll_seconds)

    async def tick(self, now: float) -> None:
        for project in await self.store.tracking.due_projects(now):
            try:
                started = await self.service.run_scheduled(project, now)
            except Exception:
                log.exception("project %s: starting its run failed", project.name)
                continue
            if started is not None:
                posted = sum(started.accepted)
                if posted:
                    self.service.tasks.on_tasks_created()  # this process's worker: at once
                log.info("project %s: run %d (%s) posted %d tasks", project.name, started.run.id,
                         started.run.period, posted)  # fmt: skip
        for run in await self.store.tracking.open_runs():
            try:
                await self.service.finish(run, time.time())
            except Exception:
                log.exception("run %d: finishing it failed", run.id)
        if self.digests is not None and now - self._digests_at >= DIGEST_EVERY_SECONDS:
            self._digests_at = now
            await self.digests.send_due(await self.service.digest_targets(), now)
