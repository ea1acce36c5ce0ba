"""LLM Mentions ``result`` objects, shaped as dataforseo-client 2.1.10's models read them
(``..._live_result_info.py``, ``llm_mentions_aggregated_metrics_info.py``), and the time buckets of the
historical and timeseries endpoints.

``ai_search_volume`` is ``null`` throughout: it is DataForSEO's estimate of how often people ask a
question, which a self-hosted store of the user's own prompts does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from iso3166 import countries_by_numeric

from llm_responses.wire.domains import domain_of
from llm_responses.wire.envelope import format_datetime
from llm_responses.wire.mentions_request import EARLIEST, ITEM_KEYS, ROW_FIELD_TYPES
from llm_responses.wire.result import read_result

DIMENSIONS = (
    "location", "language", "platform", "sources_domain", "search_results_domain", "brand_entities_title",
    "brand_entities_category",
)  # fmt: skip
MAX_PERIODS = 5000  # days from 2025-08-01 to beyond 2038: every requested range fits


def metrics(mentions: int) -> dict[str, Any]:
    return {"mentions": mentions, "ai_search_volume": None}


def breakdown(mentions: int, by: dict[str, list[tuple[str | None, int]]]) -> dict[str, Any]:
    """The grouped metrics of one set of answers: each dimension's top keys, then the total."""
    out: dict[str, Any] = {
        dim: [{"key": key, **metrics(n)} for key, n in by.get(dim, [])] for dim in DIMENSIONS
    }
    out["total"] = metrics(mentions)
    return out


def aggregated_result(mentions: int, by: dict[str, list[tuple[str | None, int]]]) -> dict[str, Any]:
    """target_metrics: the one target set's breakdown in ``aggregated_metrics``; ``items`` is null."""
    return {
        "total_count": 1,
        "offset": 0,
        "items_count": 0,
        "aggregated_metrics": breakdown(mentions, by),
        "items": None,
    }


def ranked_result(
    key_field: str, total_count: int, offset: int, items: Sequence[tuple[str, int, dict[str, Any]]]
) -> dict[str, Any]:
    """multi_target_metrics and top_mentioned_*: one item per key with its breakdown."""
    return {
        "total_count": total_count,
        "offset": offset,
        "items_count": len(items),
        "aggregated_metrics": None,
        "items": [{key_field: key, **breakdown(n, by)} for key, n, by in items],
    }


def lite_result(
    key_field: str | None,
    total_count: int,
    offset: int,
    rows: Sequence[tuple[str, int | None, str | None, str, int]],
) -> dict[str, Any]:
    """The ``_lite`` endpoints: one flat row per key, location, language and platform."""
    items = [
        {**({key_field: key} if key_field else {}), "location": location, "language": language,
         "platform": platform, "metrics": metrics(n)}
        for key, location, language, platform, n in rows
    ]  # fmt: skip
    return {
        "total_count": total_count,
        "offset": offset,
        "items_count": len(items),
        "aggregated_metrics": None,
        "items": items,
    }


def search_item(
    *,
    platform: str,
    model_name: str,
    location_code: int | None,
    language_code: str | None,
    question: str,
    asked_at: float,
    web_search: bool,
    result: dict[str, Any] | None,
    fan_out: str,
    brands: Iterable[tuple[int | None, str, str]],
) -> dict[str, Any]:
    """One stored answer as search_mentions lists it: the answer's text (as the engine wrote it, links
    and all) and what it cited."""
    reading = read_result(result)
    sources: list[dict[str, Any]] = []
    seen: set[str] = set()
    for a in reading.annotations:
        url = a.get("url")
        if isinstance(url, str) and url and url not in seen:
            seen.add(url)
            title = a.get("title") if isinstance(a.get("title"), str) else None
            sources.append(
                {
                    "title": title,
                    "domain": domain_of(url),
                    "url": url,
                    "snippet": None,
                    "source_name": None,
                    "thumbnail": None,
                    "markdown": None,
                    "rank": len(sources) + 1,
                    "publication_date": None,
                }  # fmt: skip
            )
    when = format_datetime(asked_at)
    return {
        "platform": platform,
        "model_name": model_name,
        "location_code": location_code,
        "language_code": language_code,
        "question": question,
        "answer": reading.text,
        "sources": sources,
        "search_results": None,  # what the engine retrieved but did not cite: ours do not say
        "ai_search_volume": None,
        "monthly_searches": None,
        "first_response_at": when,
        "last_response_at": when,
        "brand_entities": [
            {"rank": rank, "title": title, "category": category} for rank, title, category in brands
        ],
        "fan_out_queries": [q for q in fan_out.split("\n") if q],
        "is_web_search_based": web_search,
    }


def period_of(day: str, group_range: str) -> str:
    """The first day of the period (day, ISO week from Monday, month, year) that ``day`` falls in."""
    d = date.fromisoformat(day)
    if group_range == "week":
        d -= timedelta(days=d.weekday())
    elif group_range == "month":
        d = d.replace(day=1)
    elif group_range == "year":
        d = d.replace(month=1, day=1)
    return d.isoformat()


def periods(date_from: str, date_to: str, group_range: str) -> list[str]:
    """Every period's first day from ``date_from``'s period to ``date_to``'s, in order."""
    out: list[str] = []
    d = date.fromisoformat(period_of(date_from, group_range))
    end = date.fromisoformat(date_to)
    while d <= end and len(out) < MAX_PERIODS:
        out.append(d.isoformat())
        d = _next(d, group_range)
    return out


def previous_period(first: str, group_range: str) -> str:
    d = date.fromisoformat(first)
    if group_range == "day":
        return (d - timedelta(days=1)).isoformat()
    if group_range == "week":
        return (d - timedelta(days=7)).isoformat()
    if group_range == "month":
        return (d - timedelta(days=1)).replace(day=1).isoformat()
    return d.replace(year=d.year - 1).isoformat()


def _next(d: date, group_range: str) -> date:
    if group_range == "day":
        return d + timedelta(days=1)
    if group_range == "week":
        return d + timedelta(days=7)
    if group_range == "month":
        return (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return d.replace(year=d.year + 1)


def historical_result(
    counts: Sequence[tuple[str, int]], date_from: str | None, date_to: str
) -> dict[str, Any]:
    """Month by month from ``date_from`` (else the first month with data) to ``date_to``; empty months 0."""
    by_month: dict[str, int] = {}
    for day, n in counts:
        month = period_of(day, "month")
        by_month[month] = by_month.get(month, 0) + n
    start = date_from or (min(by_month) if by_month else period_of(date_to, "month"))
    items = [
        {"year": int(m[:4]), "month": int(m[5:7]), "metrics": metrics(by_month.get(m, 0))}
        for m in periods(max(start, EARLIEST), date_to, "month")
    ]
    return {"items_count": len(items), "items": items}


def delta_result(
    counts: Sequence[tuple[str, int]], date_from: str, date_to: str, group_range: str
) -> dict[str, Any]:
    """Each period's mentions minus the period before's (the first against the one before ``date_from``)."""
    by: dict[str, int] = {}
    for day, n in counts:
        key = period_of(day, group_range)
        by[key] = by.get(key, 0) + n
    spans = periods(date_from, date_to, group_range)
    items = []
    before = by.get(previous_period(spans[0], group_range), 0) if spans else 0
    for start in spans:
        now = by.get(start, 0)
        items.append({"date": start, "delta_mentions": now - before, "delta_ai_search_volume": None})
        before = now
    return {"items_count": len(items), "items": items}


def new_lost_result(
    rows: Sequence[tuple[str, str, str]], date_from: str, date_to: str, group_range: str
) -> dict[str, Any]:
    """Per period, the questions (per platform) whose answers newly mention the target, and those that
    mentioned it the period before and no longer do."""
    asked: dict[str, set[tuple[str, str]]] = {}
    for day, platform, question in rows:
        asked.setdefault(period_of(day, group_range), set()).add((platform, question))
    spans = periods(date_from, date_to, group_range)
    items = []
    before = asked.get(previous_period(spans[0], group_range), set()) if spans else set()
    for start in spans:
        now = asked.get(start, set())
        items.append(
            {
                "date": start,
                "new_mentions": len(now - before),
                "lost_mentions": len(before - now),
                "new_ai_search_volume": None,
                "lost_ai_search_volume": None,
            }
        )
        before = now
    return {"items_count": len(items), "items": items}


def locations_result(rows: Sequence[tuple[int | None, str | None, str, int]]) -> list[dict[str, Any]]:
    """locations_and_languages: the locations the caller's answers come from, each with its languages,
    the engines that answered in them and how many answers (``null`` location: tasks without a country)."""
    by_location: dict[int | None, dict[str | None, tuple[list[str], int]]] = {}
    for location, language, platform, n in rows:
        platforms, count = by_location.setdefault(location, {}).get(language, ([], 0))
        by_location[location][language] = ([*platforms, platform], count + n)
    return [
        {
            "location_code": location,
            "location_name": location_name(location),
            "available_languages": [
                {
                    "available_platforms": platforms,
                    "language_name": None,
                    "language_code": language,
                    "responses_count": n,
                }
                for language, (platforms, n) in languages.items()
            ],  # fmt: skip
        }
        for location, languages in by_location.items()
    ]


def location_name(code: int | None) -> str | None:
    entry = countries_by_numeric.get(f"{code - 2000:03d}") if code and 2000 < code < 3000 else None
    return entry.name if entry else None


def filters_result() -> dict[str, dict[str, str]]:
    """available_filters: the fields each function's ``filters`` (or ``initial_dataset_filters``) take."""
    rows = {field: _FIELD_TYPES[ROW_FIELD_TYPES[field]] for field in ROW_FIELD_TYPES}
    metrics_ = {"total.mentions": "num", "total.ai_search_volume": "num"}
    out: dict[str, dict[str, str]] = {"search_mentions": rows, "target_metrics": rows}
    for function, key in ITEM_KEYS.items():
        out[function] = {key: "str", **metrics_}
    return out


_FIELD_TYPES: dict[Any, str] = {str: "str", int: "num", bool: "bool", "datetime": "time"}
