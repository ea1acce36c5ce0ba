"""Model names checked before anything is posted: a misspelt one would otherwise be charged for, queued
and failed in every task it is in. Each engine's ``models`` endpoint (free) lists the names the server
takes, base names and dated versions alike; a name must be one of them exactly."""

from __future__ import annotations

import httpx

from llm_responses.batch.client import PREFIX, Refused, first_task, get_json
from llm_responses.batch.plan import Job


async def listed_models(client: httpx.AsyncClient, engine: str) -> list[str]:
    """The model names the server takes for ``engine``; ``Refused`` when it will not say."""
    body = await get_json(client, f"{PREFIX}/{engine}/llm_responses/models")
    task = first_task(body)
    if body.get("status_code") != 20000 or task.get("status_code") != 20000:
        code = task.get("status_code", body.get("status_code"))
        raise Refused(f"{engine} models: {code} {task.get('status_message') or body.get('status_message')}")
    listed = task.get("result")
    return [
        m["model_name"]
        for m in (listed if isinstance(listed, list) else [])
        if isinstance(m, dict) and isinstance(m.get("model_name"), str)
    ]


async def unknown_models(client: httpx.AsyncClient, jobs: list[Job]) -> list[str]:
    """One line per engine with a model name its ``models`` listing lacks, naming what it has instead."""
    wanted: dict[str, set[str]] = {}
    for job in jobs:
        wanted.setdefault(job.engine, set()).add(job.model)
    problems = []
    for engine, names in wanted.items():
        listed = await listed_models(client, engine)
        missing = sorted(names - set(listed))
        if missing:
            problems.append(
                f"{engine} has no model {', '.join(repr(m) for m in missing)}; "
                f"available: {', '.join(listed) or 'none'}"
            )
    return problems
