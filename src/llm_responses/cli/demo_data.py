"""The demo project: French theme parks tracked on every engine the embedded model serves, as a tracking
project (``theme-parks``) with a daily schedule, and a history of its past days answered for real, so
``./dev run`` opens on a dashboard with something in it and the LLM Mentions endpoints have days to answer.

The history is one run per past day, each answer a live call posted on that day (its ledger rows and its
finish dated on that day too), oldest day first, one call at a time and only while the server has nothing
else to do: a task the user posts meanwhile is never queued behind it. A day's run is finished (and its
alerts evaluated) as soon as its answers are indexed. It is made once per database, and picks up where it
stopped after a restart; from then on the project's own schedule runs it daily in the idle lane. Only the
embedded model answers it: with vendor keys configured it would spend real money, so it is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from llm_responses.api.routes import ApiContext
from llm_responses.config_tables import BrandConfig
from llm_responses.errors import StatusCode
from llm_responses.store.records import Account
from llm_responses.store.tracking import Project, Run
from llm_responses.tracking.plan import cells
from llm_responses.tracking.schedule import period_name
from llm_responses.tracking.spec import ProjectSpec
from llm_responses.wire.engines import ENGINES

log = logging.getLogger(__name__)

PROJECT = "theme-parks"
DEMO_BRANDS = [
    BrandConfig(name="Disneyland Paris", aliases=("Disneyland",), domains=("disneylandparis.com",),
                category="theme park"),
    BrandConfig(name="Parc Astérix", aliases=("Parc Asterix", "Asterix"), domains=("parcasterix.fr",),
                competitor=True, category="theme park"),
    BrandConfig(name="Futuroscope", domains=("futuroscope.com",), competitor=True, category="theme park"),
    BrandConfig(name="Puy du Fou", domains=("puydufou.com",), competitor=True, category="theme park"),
]  # fmt: skip
DEMO_PROMPTS = [
    ("Which is better for a family weekend, Disneyland Paris or Parc Astérix?", ("comparison",)),
    ("Recommend a theme park in France for teenagers: Futuroscope, Puy du Fou or Disneyland Paris?", ("comparison",)),
    ("Is Puy du Fou worth a visit compared with Parc Astérix?", ("comparison",)),
    ("What are the best amusement parks near Paris?", ("discovery",)),
    ("Plan a two-day trip to Futuroscope with young children.", ("planning",)),
]  # fmt: skip
MARK = "demo_project"
DAY = 86400.0
IDLE_POLL_SECONDS = 0.5


def demo_settings_brands(configured: Sequence[BrandConfig]) -> list[BrandConfig]:
    """The configured brands, else the demo's (French theme parks, as in DataForSEO's example)."""
    return list(configured) or list(DEMO_BRANDS)


def demo_spec(models: Mapping[str, str], *, prompts: Sequence[tuple[str, Sequence[str]]] = DEMO_PROMPTS,
              max_output_tokens: int = 160, web_search: bool = False) -> dict[str, Any]:  # fmt: skip
    """The demo project: ``models`` per engine (the embedded model on every engine, in ``serve --demo``)."""
    return {
        "name": PROJECT,
        "description": "Demo: French theme parks on every engine, answered by the embedded model",
        "prompts": [{"text": text, "tags": list(tags)} for text, tags in prompts],
        "engines": list(models),
        "models": dict(models),
        "web_search": web_search,
        "max_output_tokens": max_output_tokens,
        "brands": [
            {
                "name": b.name,
                "aliases": list(b.aliases),
                "domains": list(b.domains),
                "own": not b.competitor,
                "category": b.category,
            }
            for b in DEMO_BRANDS
        ],  # fmt: skip
        "schedule": {"every": "day", "at": "06:00", "timezone": "UTC"},
        "background": True,
    }


async def seed(
    api: ApiContext,
    *,
    login: str = "demo",
    days: int = 7,
    prompts: Sequence[tuple[str, Sequence[str]]] = DEMO_PROMPTS,
    model: str | Mapping[str, str],
    max_output_tokens: int = 160,
    web_search: bool = False,
) -> int:
    """The demo project with ``days`` of history (made once per database, resumed after a restart); how
    many answers this call stored. ``model``: one model on every engine serving it, or a model per engine."""
    account = await api.store.account_by_login(login)
    wanted = {engine: model for engine in ENGINES} if isinstance(model, str) else dict(model)
    models = {engine: m for engine, m in wanted.items() if api.catalog.resolve(m, engine) is not None}
    if account is None or not models:
        log.info("demo project: skipped (%s is not served here)", model)
        return 0
    project = await api.store.tracking.project(account.id, PROJECT)
    stamp = repr(time.time())
    if project is None:
        if await api.store.meta_get_or_set(MARK, stamp) != stamp:
            log.info("demo project: made for this database already (and deleted since)")
            return 0
        raw = demo_spec(models, prompts=prompts, max_output_tokens=max_output_tokens, web_search=web_search)
        project = (await api.tracking.save(account, raw)).project
    spec = ProjectSpec.from_json(project.spec_json)
    assert spec.schedule is not None, "the demo project is scheduled"
    runs = {r.period: r for r in await api.store.tracking.runs(project.id, limit=100)}
    # the past days' slots: the last one before each of the past days ended (today's midnight, its time zone)
    midnight = datetime.now(ZoneInfo(spec.schedule.timezone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    stored = 0
    for day in range(days, 0, -1):
        slot = spec.schedule.latest(midnight.timestamp() - (day - 1) * DAY - 1)
        run = runs.get(period_name(slot))
        if run is not None and run.status != "posting":
            continue
        if run is None:
            started = await api.store.tracking.start_run(
                project, period=period_name(slot), trigger="demo", scheduled_for=slot.timestamp(), advance=None,
                estimate=0, new=[], now=slot.timestamp(), status="posting",
            )  # fmt: skip
            if started is None:
                continue  # another process is making this day
            run = started.run
        stored += await _answer_day(api, account, project, spec, run)
        log.info("demo project: %s answered (%d answers so far)", slot.date().isoformat(), stored)
    return stored


async def _answer_day(
    api: ApiContext, account: Account, project: Project, spec: ProjectSpec, run: Run
) -> int:
    """Every cell of the day's run not answered yet, each a live call dated on the run's day; then the run
    is finished (once its answers are indexed), on its day too."""
    stored = 0
    done = await api.store.tracking.open_cells(run.id)
    for i, cell in enumerate(cells(spec)):
        if cell.key in done:
            continue
        await _until_idle(api)
        current = await api.store.account_by_id(account.id) or account
        answer = await api.service.live(
            current, cell.engine, cell.task, time.perf_counter(), posted_at=run.scheduled_for + i * 20,
            origin=(project.id, run.id, cell.key),
        )  # fmt: skip
        if answer["status_code"] == StatusCode.OK:
            stored += 1
        else:
            log.info("demo project: %s on %s: %s", cell.model, cell.engine, answer["status_message"])
    finished_at = run.scheduled_for + len(cells(spec)) * 20
    while await api.tracking.finish(run, finished_at) is None:
        if (await api.store.tracking.run(run.id) or run).status != "posting":
            break  # finished elsewhere
        await asyncio.sleep(IDLE_POLL_SECONDS)  # the indexer has this day's answers still to read
    return stored


async def _until_idle(api: ApiContext) -> None:
    """Wait while any other task is due or running: the demo never takes a turn a user's task wants."""
    while True:
        if not await api.store.busy(time.time()):
            return
        await asyncio.sleep(IDLE_POLL_SECONDS)
