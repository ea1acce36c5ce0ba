"""The worker: claims queued tasks under a lease, runs them concurrently, settles each exactly once.

It wakes at once when this process accepts tasks (``notify``) and otherwise polls, so tasks posted by
another process are found too. A heartbeat keeps the leases of running tasks fresh; if the process dies,
the leases run out and ``recover_expired_leases`` (maintenance) puts the tasks back in the queue. Another
heartbeat, in the database's ``meta`` table, tells every API process that a worker is alive (readiness,
``llm_responses_workers_alive``); it is removed when the worker stops.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable

import orjson

from llm_responses.config_views import WorkerConfig
from llm_responses.errors import StatusCode
from llm_responses.observability import context
from llm_responses.store import Store
from llm_responses.store.records import ClaimedTask, Outcome
from llm_responses.tasks.runner import Runner
from llm_responses.tasks.settler import Settler
from llm_responses.waiting import first_of
from llm_responses.wire.request import TaskRequest

log = logging.getLogger(__name__)

CLAIM_GATHER_SECONDS = 0.01
FORGET_HEARTBEATS_AFTER = 3600.0  # a worker silent this long was killed: its heartbeat key is dropped


class Worker:
    def __init__(
        self,
        *,
        store: Store,
        runner: Runner,
        owner: str,
        config: WorkerConfig,
        on_finished: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.owner = owner
        self.config = config
        self.on_finished = on_finished  # e.g. wake the webhook dispatcher
        self.settler = Settler(store)
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._attempts: dict[str, int] = {}
        self._idle: set[str] = set()  # the idle-lane task in flight (at most one)

    def notify(self) -> None:
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def announce(self) -> None:
        """Record this worker's heartbeat now (before it serves: readiness must not wait a beat)."""
        now = time.time()
        await self.store.worker_heartbeat(self.owner, now, now - FORGET_HEARTBEATS_AFTER)

    async def run(self, stop: asyncio.Event, *, shutdown_grace: float) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        alive = asyncio.create_task(self._alive(stop))
        try:
            while not stop.is_set():
                claimed = await self._claim()
                if not claimed:
                    await self._sleep(stop)
        finally:
            heartbeat.cancel()
            alive.cancel()
            try:  # no longer claiming: readiness should know at once, not when the heartbeat goes stale
                await self.store.worker_stopped(self.owner)
            except Exception:
                log.exception("removing the worker heartbeat failed")
            await self._drain(shutdown_grace)

    async def _claim(self) -> int:
        free = self.config.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        if free < self.config.concurrency // 8:
            # a busy worker frees slots one by one; claiming each alone costs a transaction per task
            # (measured: capped a worker at ~400 tasks/s with 1,000 in flight). Let a few more free up first.
            await asyncio.sleep(CLAIM_GATHER_SECONDS)
            free = self.config.concurrency - len(self._in_flight)
        self._wake.clear()
        now = time.time()
        try:
            tasks = await self.store.claim_tasks(self.owner, free, now + self.config.lease_seconds, now)
        except Exception:
            log.exception("claiming tasks failed; retrying after the poll interval")
            return 0
        if len(tasks) < free and not self._idle:
            # nothing else due: one task of the idle lane (a background project's), never more, so a task
            # posted meanwhile finds this worker's other slots (and the upstream's) free
            try:
                idle = await self.store.claim_idle_tasks(self.owner, 1, now + self.config.lease_seconds, now)
            except Exception:
                log.exception("claiming an idle-lane task failed")
                idle = []
            self._idle.update(t.id for t in idle)
            tasks = [*tasks, *idle]
        for claimed in tasks:
            job = asyncio.create_task(self._execute(claimed), name=f"task-{claimed.id}")
            self._in_flight[claimed.id] = job
            self._attempts[claimed.id] = claimed.attempt
            job.add_done_callback(functools.partial(self._finished, claimed.id))
        return len(tasks)

    def _finished(self, task_id: str, _job: asyncio.Task[None]) -> None:
        self._done(task_id)

    def _done(self, task_id: str) -> None:
        self._idle.discard(task_id)
        self._in_flight.pop(task_id, None)
        self._attempts.pop(task_id, None)
        self._wake.set()  # a slot is free: look for more work

    async def _sleep(self, stop: asyncio.Event) -> None:
        await first_of(self._wake, stop, within=self.config.poll_seconds)

    async def _execute(self, claimed: ClaimedTask) -> None:
        context.task_id.set(claimed.id)  # this task's own context: its log lines carry the id
        request: TaskRequest | None = None
        try:
            request = TaskRequest.from_json(orjson.loads(claimed.request_json))
            attempt = await self.runner.run(claimed.id, request)
            outcome, retryable = attempt.outcome, attempt.retryable
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug of ours: keep the task, retry it, and say so in the log
            log.exception("task %s: unexpected error", claimed.id)
            outcome = Outcome(
                success=False,
                status_code=StatusCode.INTERNAL_ERROR,
                status_message=StatusCode.INTERNAL_ERROR.message,
                error_detail=self.runner.redact(f"{type(exc).__name__}: {exc}"),
            )
            retryable = True
        now = time.time()
        if not outcome.success and retryable and claimed.attempt < self.config.max_attempts:
            delay = self.config.retry_delay_seconds * 2 ** (claimed.attempt - 1)
            await self.store.retry_later(claimed.id, claimed.attempt, now + delay, outcome.error_detail or "")
            return
        if await self.settler.finish(claimed.id, claimed.attempt, outcome, now):
            # only a task with a webhook has a delivery to wake the dispatcher for: waking it after every
            # task cost a delivery claim (a transaction) per settled batch, for nothing
            if request is None or request.postback_url or request.pingback_url:
                self.on_finished()
        else:
            log.warning("task %s attempt %d was taken over before it finished", claimed.id, claimed.attempt)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        interval = max(self.config.lease_seconds / 3, 0.05)
        while not stop.is_set():
            await asyncio.sleep(interval)
            try:
                await self.store.extend_leases(
                    self.owner, list(self._in_flight), time.time() + self.config.lease_seconds
                )
            except Exception:
                log.exception("lease heartbeat failed")

    async def _alive(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.announce()
            except Exception:
                log.exception("worker heartbeat failed")
            await first_of(stop, within=self.config.heartbeat_seconds)

    async def _drain(self, grace: float) -> None:
        """On shutdown: let running tasks finish for ``grace`` seconds, then hand the rest back."""
        jobs = dict(self._in_flight)
        attempts = dict(self._attempts)
        if not jobs:
            return
        _, pending = await asyncio.wait(jobs.values(), timeout=grace)
        for job in pending:
            job.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        now = time.time()
        for task_id, job in jobs.items():
            if job in pending:
                await self.store.retry_later(task_id, attempts[task_id], now, "released at shutdown")
        if pending:
            log.info("shutdown: %d unfinished tasks went back to the queue", len(pending))
