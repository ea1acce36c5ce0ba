"""Executing a plan against a server over its public API: task_post (100 a call) for engines that have
it, collected through tasks_ready and task_get; live, a few at a time, for the others (DataForSEO's own
advice: task_post is the durable, resumable path). Every step is written to the output directory first.
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

PREFIX = "/v3/ai_optimization"
POST_BATCH = 100
PENDING = (40601, 40602)  # task_get: still running / still queued


class Refused(Exception):
    """The server refused the run itself (credentials, a missing engine): nothing more can be done."""


@dataclass
class Progress:
    total: int
    done: int = 0
    failed: int = 0
    cost: float = 0.0


class Runner:
    def __init__(
        self,
        client: httpx.AsyncClient,
        out: OutputDir,
        *,
        live_concurrency: int = 4,
        poll_seconds: float = 1.0,
        on_progress: Callable[[Progress], None] = lambda p: None,
    ) -> None:
        self.client = client
        self.out = out
        self.live_concurrency = live_concurrency
        self.poll_seconds = poll_seconds
        self.on_progress = on_progress

    async def preflight(self) -> None:
        body = await self._get("/v3/appendix/user_data")
        if body.get("status_code") != 20000:
            raise Refused(f"{body.get('status_code')} {body.get('status_message')}")

    async def run(self, jobs: list[Job], *, wait_seconds: float) -> Progress:
        results = self.out.results()
        progress = Progress(total=len(jobs))
        for job in jobs:
            if job.key in results:
                self._count(progress, results[job.key]["task"])
        self.on_progress(progress)
        todo = [j for j in jobs if j.key not in results]
        posted = self.out.posted()
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
                        self.out.record_posted(job.key, task["id"])
                        posted[job.key] = task["id"]
                    else:  # refused at once (a field, the funds): that is this job's result
                        self._finish(job, task, progress)

    async def _live(self, jobs: list[Job], progress: Progress) -> None:
        limit = asyncio.Semaphore(self.live_concurrency)

        async def one(job: Job) -> None:
            async with limit:
                body = await self._post_json(f"{PREFIX}/{job.engine}/llm_responses/live", [job.task])
            tasks = body.get("tasks") or []
            if body.get("status_code") != 20000 or not tasks:
                raise Refused(f"live: {body.get('status_code')} {body.get('status_message')}")
            self._finish(job, tasks[0], progress)

        await asyncio.gather(*(one(j) for j in jobs))

    async def _collect(
        self, jobs: list[Job], posted: dict[str, str], progress: Progress, wait_seconds: float
    ) -> None:
        waiting = {posted[j.key]: j for j in jobs}
        deadline = time.monotonic() + wait_seconds
        idle_polls = 0
        while waiting and time.monotonic() < deadline:
            ready: list[str] = []
            for engine in sorted({j.engine for j in waiting.values()}):
                body = await self._get(f"{PREFIX}/{engine}/llm_responses/tasks_ready")
                for task in body.get("tasks") or []:
                    ready += [r["id"] for r in task.get("result") or [] if r.get("id") in waiting]
            if not ready:
                idle_polls += 1
                if idle_polls % 5 == 0:  # collected elsewhere, or by an earlier run: ask for each directly
                    ready = list(waiting)[:50]
            for task_id in ready:
                job = waiting[task_id]
                body = await self._get(f"{PREFIX}/{job.engine}/llm_responses/task_get/{task_id}")
                task = (body.get("tasks") or [{}])[0]
                if task.get("status_code") in PENDING:
                    continue
                self._finish(job, task, progress)
                del waiting[task_id]
            if waiting and not ready:
                await asyncio.sleep(self.poll_seconds)

    def _finish(self, job: Job, task: dict[str, Any], progress: Progress) -> None:
        self.out.record_result(job, task)
        self._count(progress, task)
        self.on_progress(progress)

    @staticmethod
    def _count(progress: Progress, task: dict[str, Any]) -> None:
        progress.done += 1
        progress.failed += task.get("status_code") != 20000
        progress.cost += float(task.get("cost") or 0)

    async def _get(self, path: str) -> dict[str, Any]:
        return _json(await self.client.get(path))

    async def _post_json(self, path: str, body: list[dict[str, Any]]) -> dict[str, Any]:
        return _json(await self.client.post(path, json=body))


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code == 401:
        raise Refused("40100 the server refused the credentials")
    try:
        body = response.json()
    except ValueError:
        raise Refused(f"HTTP {response.status_code}: not a DataForSEO answer") from None
    return body if isinstance(body, dict) else {}
