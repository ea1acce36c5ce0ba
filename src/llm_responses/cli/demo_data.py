"""The demo dataset: prompts x engines x past days answered for real (the embedded model on a fresh
machine, or whatever providers are configured), so ``./dev run`` opens on a dashboard with something in it
and the LLM Mentions endpoints have history to answer from.

Each answer is a live call posted as if on a past day (``posted_at``), oldest day first, one at a time in
the background of ``serve --demo``: the first days show within a minute and the rest fill in while the
server is used. It runs once per database (a ``meta`` row says it did) and stops with the server. Only the
embedded model answers it: with vendor keys configured it would spend real money, so it is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from llm_responses.api.routes import ApiContext
from llm_responses.config_tables import BrandConfig
from llm_responses.errors import StatusCode
from llm_responses.wire.engines import ENGINES

log = logging.getLogger(__name__)

DEMO_BRANDS = [
    BrandConfig(name="Disneyland Paris", aliases=("Disneyland",), domains=("disneylandparis.com",),
                category="theme park"),
    BrandConfig(name="Parc Astérix", aliases=("Parc Asterix", "Asterix"), domains=("parcasterix.fr",),
                competitor=True, category="theme park"),
    BrandConfig(name="Futuroscope", domains=("futuroscope.com",), competitor=True, category="theme park"),
    BrandConfig(name="Puy du Fou", domains=("puydufou.com",), competitor=True, category="theme park"),
]  # fmt: skip
DEMO_PROMPTS = [
    "Which is better for a family weekend, Disneyland Paris or Parc Astérix?",
    "Recommend a theme park in France for teenagers: Futuroscope, Puy du Fou or Disneyland Paris?",
    "Is Puy du Fou worth a visit compared with Parc Astérix?",
    "What are the best amusement parks near Paris?",
    "Plan a two-day trip to Futuroscope with young children.",
]
MARK = "demo_dataset"
DAY = 86400.0


def demo_settings_brands(configured: Sequence[BrandConfig]) -> list[BrandConfig]:
    """The configured brands, else the demo's (French theme parks, as in DataForSEO's example)."""
    return list(configured) or list(DEMO_BRANDS)


async def seed(
    api: ApiContext,
    *,
    login: str = "demo",
    days: int = 7,
    prompts: Sequence[str] = DEMO_PROMPTS,
    model: str,
    max_output_tokens: int = 160,
) -> int:
    """Answer every prompt with ``model`` on every engine that serves it, for each of the past ``days``
    (once per database); how many answers were stored."""
    account = await api.store.account_by_login(login)
    engines = [se for se in ENGINES if api.catalog.resolve(model, se) is not None]
    if account is None or not engines:
        log.info("demo dataset: skipped (%s is not served here)", model)
        return 0
    stamp = repr(time.time())
    if await api.store.meta_get_or_set(MARK, stamp) != stamp:
        log.info("demo dataset: already made for this database")
        return 0
    log.info(
        "demo dataset: %d prompts x %d engines x %d days, in the background", len(prompts), len(engines), days
    )
    stored = 0
    now = time.time()
    for day in range(days, 0, -1):
        for i, prompt in enumerate(prompts):
            for se in engines:
                task = {"user_prompt": prompt, "model_name": model, "max_output_tokens": max_output_tokens,
                        "tag": "demo"}  # fmt: skip
                account = await api.store.account_by_login(login) or account
                answer = await api.service.live(
                    account, se, task, time.perf_counter(), posted_at=now - day * DAY + i * 60
                )
                if answer["status_code"] == StatusCode.OK:
                    stored += 1
                else:
                    log.info("demo dataset: %s on %s: %s", model, se, answer["status_message"])
        log.info("demo dataset: %d of %d days answered (%d answers)", days - day + 1, days, stored)
    return stored
