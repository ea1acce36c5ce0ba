"""Executing a plan against a server over its public API: task_post (100 a call) for engines that have
it, collected through tasks_ready and task_get; live, a few at a time, for the others (DataForSEO's own
advice: task_post is the durable, resumable path). Every step is written to the output directory first.
Collection trusts nothing tasks_ready lists: only ids this run posted to that engine are fetched, once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from llm_responses.batch.estimate import uses_task_post
from llm_responses.batch.output import OutputDir
from llm_responses.batch.plan import Job
from llm_responses.batch.spend import nanos, settled

PREFIX = "/v3/ai_optimization"
POST_BATCH = 100
PENDING = (40601, 40602)  # task_get: still running / still queued


class Refused(Exception):
    """The server refused the run itself (credentials, a missing engine): nothing more can be done."""


@dataclass
class Progress:
    """Counts, and money in nano-dollars: ``settled`` by finished tasks, ``held`` by posted ones still running."""

    total: int
    done: int = 0
    failed: int = 0
    settled: int = 0
    held: int = 0

    @property
    def spent(self) -> int:
        """What the run has moved out of the balance so far (``batch.spend``)."""
        return self.settled + self.held


class Runner:
    def __init__(
        self,
        client: httpx.AsyncClient,
        out: OutputDir,
        *,
        live_concurrency: int,  # `run --live-concurrency`
        poll_seconds: float = 1.0,
        on_progress: Callable[[Progress], None] = lambda p: None,
    ) -> None:
        self.client = client
        self.out = out
        self.live_concurrency = live_concurrency
        self.poll_seconds = poll_seconds
        self.on_progress = on_progress
        self.charges: dict[str, int] = {}  # job key → what task_post charged (posted jobs only)
        self.progress = Progress(total=0)  # the last run's so far, also when it ended in an exception

    async def run(self, jobs: list[Job], *, wait_seconds: float) -> Progress:
        results = self.out.results()
        posted = self.out.posted()
        self.charges = self.out.charges()
        progress = self.progress = Progress(total=len(jobs))
        for job in jobs:
            if job.key in results:
                self._count(progress, job, results[job.key]["task"])
            elif job.key in posted:
                progress.held += self.charges[job.key]
        self.on_progress(progress)
        await preflight(self.client)
        todo = [j for j in jobs if j.key not in results]
        await self._post([j for j in todo if uses_task_post(j) and j.key not in posted], posted, progress)
        await self._live([j for j in todo if not uses_task_post(j)], progress)
        await self._collect([j for j in todo if j.key in posted], posted, progress, wait_seconds)
        return progress

    async def _post(self, jobs: list[Job], posted: dict[str, str], progress: Progress) -> None:
        by_engine: dict[str, list[Job]] = {}
        for job in jobs:
            by_engine.setdefault(job.engine, []).append(job)
        for engine, engine_jobs in by_engine.items():
            for i in range(0, len(engine_jobs), POST_BATCH):
                chunk = engine_jobs[i : i + POST_BATCH]
                body = await self._post_json(
                    f"{PREFIX}/{engine}/llm_responses/task_post", [j.task for j in chunk]
                )
                tasks = body.get("tasks") or []
                if body.get("status_code") != 20000 or len(tasks) != len(chunk):
                    raise Refused(f"task_post: {body.get('status_code')} {body.get('status_message')}")
                for job, task in zip(chunk, tasks, strict=True):
                    if task.get("status_code") == 20100:
                        charge = nanos(task.get("cost"))
                        self.out.record_posted(job.key, task["id"], charge)
                        posted[job.key] = task["id"]
                        self.charges[job.key] = charge
                        progress.held += charge
                    else:  # refused at once (a field, the funds): that is this job's result
                        self._finish(job, task, progress)
                self.on_progress(progress)

    async def _live(self, jobs: list[Job], progress: Progress) -> None:
        limit = asyncio.Semaphore(self.live_concurrency)

        async def one(job: Job) -> None:
            async with limit:
                body = await self._post_json(f"{PREFIX}/{job.engine}/llm_responses/live", [job.task])
            task = first_task(body)
            if body.get("status_code") != 20000 or not task:
                raise Refused(f"live: {body.get('status_code')} {body.get('status_message')}")
            self._finish(job, task, progress)

        await asyncio.gather(*(one(j) for j in jobs))

    async def _collect(
        self, jobs: list[Job], posted: dict[str, str], progress: Progress, wait_seconds: float
    ) -> None:
        waiting = {posted[j.key]: j for j in jobs}
        deadline = time.monotonic() + wait_seconds
        idle_polls = 0
        while waiting and time.monotonic() < deadline:
            ready: dict[str, Job] = {}
            for engine in sorted({j.engine for j in waiting.values()}):
                ready.update(await self._ready(engine, waiting))
            if not ready:
                idle_polls += 1
                if idle_polls % 5 == 0:  # collected elsewhere, or by an earlier run: ask for each directly
                    ready = dict(list(waiting.items())[:50])
            for task_id, job in ready.items():
                body = await self._get(f"{PREFIX}/{job.engine}/llm_responses/task_get/{task_id}")
                task = first_task(body)
                if task.get("status_code") in PENDING:
                    continue
                self._finish(job, task, progress)
                del waiting[task_id]
            if waiting and not ready:
                await asyncio.sleep(self.poll_seconds)

    async def _ready(self, engine: str, waiting: dict[str, Job]) -> dict[str, Job]:
        """The tasks ``engine``'s tasks_ready lists that this run posted to ``engine`` and still waits for.
        Anything else it lists (another engine's tasks, as a server that lists every engine's on each path
        does; tasks posted by someone else) is left alone."""
        body = await self._get(f"{PREFIX}/{engine}/llm_responses/tasks_ready")
        out: dict[str, Job] = {}
        for task in body.get("tasks") or []:
            listed = task.get("result") if isinstance(task, dict) else None
            for item in listed if isinstance(listed, list) else []:
                if not isinstance(item, dict) or not isinstance(task_id := item.get("id"), str):
                    continue
                job = waiting.get(task_id)
                if job is not None and job.engine == engine and item.get("se", engine) == engine:
                    out[task_id] = job
        return out

    def _finish(self, job: Job, task: dict[str, Any], progress: Progress) -> None:
        self.out.record_result(job, task)
        progress.held -= self.charges.get(job.key, 0)
        self._count(progress, job, task)
        self.on_progress(progress)

    def _count(self, progress: Progress, job: Job, task: dict[str, Any]) -> None:
        progress.done += 1
        progress.failed += task.get("status_code") != 20000
        progress.settled += settled(task, self.charges.get(job.key))

    async def _get(self, path: str) -> dict[str, Any]:
        return await get_json(self.client, path)

    async def _post_json(self, path: str, body: list[dict[str, Any]]) -> dict[str, Any]:
        return _json(await self.client.post(path, json=body))


async def get_json(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    return _json(await client.get(path))


async def preflight(client: httpx.AsyncClient) -> None:
    """The credentials, tried on user_data (free) before anything else."""
    body = await get_json(client, "/v3/appendix/user_data")
    if body.get("status_code") != 20000:
        raise Refused(f"{body.get('status_code')} {body.get('status_message')}")


def first_task(body: dict[str, Any]) -> dict[str, Any]:
    tasks = body.get("tasks")
    first = tasks[0] if isinstance(tasks, list) and tasks else None
    return first if isinstance(first, dict) else {}


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code == 401:
        raise Refused("40100 the server refused the credentials")
    try:
        body = response.json()
    except ValueError:
        raise Refused(f"HTTP {response.status_code}: not a DataForSEO answer") from None
    return body if isinstance(body, dict) else {}
