"""One answer as the mentions index keeps it (``store.records.AnswerIndex``): built from the rendered
DataForSEO result the task stores, so the worker (as a task settles) and the backfill command (from stored
tasks) index an answer the same way.

``location_code`` follows DataForSEO's rule for countries, 2000 + the ISO 3166-1 numeric code (2840 is
the United States, 2250 France); a task posted without a country has none. The tasks carry no language,
so ``language_code`` stays empty until they do.
"""

from __future__ import annotations

from typing import Any

from iso3166 import countries_by_alpha2

from llm_responses.analysis.mentions import Entity, blank_urls, find
from llm_responses.store.records import AnswerIndex, IndexedBrand, IndexedLink, StoredTask, prompt_hash
from llm_responses.wire.domains import domain_of
from llm_responses.wire.result import read_result

MAX_LINKS = 100  # per answer: what a real answer cites is far fewer
MAX_FAN_OUT = 50
__all__ = ["index_answer", "index_stored", "location_code", "prompt_hash"]


def location_code(country: str | None) -> int | None:
    entry = countries_by_alpha2.get((country or "").upper())
    return 2000 + int(entry.numeric) if entry else None


def index_answer(
    *,
    platform: str,
    question: str,
    model_name: str,
    country: str | None,
    result: dict[str, Any],
    entities: list[Entity],
) -> AnswerIndex:
    reading = read_result(result)
    urls = reading.cited_urls
    links: list[IndexedLink] = []
    seen: set[str] = set()
    for a in reading.annotations:
        url = a.get("url")
        if not isinstance(url, str) or not url or url in seen or len(links) >= MAX_LINKS:
            continue
        seen.add(url)
        domain = domain_of(url)
        if domain:
            title = a.get("title")
            links.append(
                IndexedLink("s", domain, url, title if isinstance(title, str) else None, len(links) + 1)
            )
    hits = find(reading.text, urls, entities)
    by_name = {e.name: e for e in entities}
    brands = tuple(
        IndexedBrand(
            brand=h.entity,
            category=by_name[h.entity].category_name,
            competitor=h.competitor,
            position=h.position,
            mentioned=h.mentioned,
            cited=h.cited,
            negated=h.negated,
            first_offset=h.offsets[0][0] if h.offsets else None,
        )
        for h in hits
        if h.mentioned or h.cited
    )
    fan_out = tuple(q for q in result.get("fan_out_queries") or () if isinstance(q, str))[:MAX_FAN_OUT]
    return AnswerIndex(
        platform=platform,
        model_name=str(result.get("model_name") or model_name),
        location_code=location_code(country),
        language_code=None,
        web_search=bool(result.get("web_search")),
        question=question,
        answer=blank_urls(reading.text),
        fan_out=fan_out,
        links=tuple(links),
        brands=brands,
    )


def index_stored(task: StoredTask, entities: list[Entity]) -> AnswerIndex | None:
    """A stored task's index (the indexer's, the backfill's); None for one without a result to read."""
    if task.result is None:
        return None
    return index_answer(
        platform=task.record.se,
        question=task.user_prompt or "",
        model_name=task.model_name or "",
        country=task.country,
        result=task.result,
        entities=entities,
    )
