"""``/dashboard/changes``: week by week, the prompts (per engine) whose answers newly name each brand, and
those whose answers stopped naming it, each number opening the prompts and answers behind it.

A prompt counts as new or lost for a brand only when it was answered on that engine both weeks: a prompt
not asked the week before is neither (it is unknown, not new). Weeks before the project's first answers
are not shown, and its first week is the baseline (what is named), never "everything new". The counts come
from the per-prompt rollups (``store/answer_reads.presence``), not from the answers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.analysis.answer_index import prompt_hash
from llm_responses.dashboard.filters import answers_of, bar, parse_filters, tracked
from llm_responses.dashboard.web import BadFilter, DashboardApi, Site, api_of, heavy, out
from llm_responses.store.records import Account
from llm_responses.tasks.mentions_service import Presence

Pair = tuple[str, str]  # (prompt hash, engine)


def week_of(day: str) -> str:
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def weekly(found: list[Presence]) -> tuple[dict[str, set[Pair]], dict[str, dict[str, set[Pair]]]]:
    """Per week (its Monday): the (prompt, engine) pairs answered, and per brand those naming it."""
    answered: dict[str, set[Pair]] = defaultdict(set)
    named: dict[str, dict[str, set[Pair]]] = defaultdict(lambda: defaultdict(set))
    for p in found:
        week = week_of(p.day)
        if p.brand:
            named[week][p.brand].add((p.prompt_hash, p.engine))
        else:
            answered[week].add((p.prompt_hash, p.engine))
    return answered, named


def changes_of(
    answered: dict[str, set[Pair]], named: dict[str, dict[str, set[Pair]]], brand: str, week: str, before: str
) -> tuple[set[Pair], set[Pair]]:
    """(new, lost) pairs of ``brand`` in ``week`` against ``before``: only pairs answered in both."""
    both = answered.get(week, set()) & answered.get(before, set())
    now = named.get(week, {}).get(brand, set()) & both
    then = named.get(before, {}).get(brand, set()) & both
    return now - then, then - now


async def changes(request: Request, account: Account, site: Site) -> Response:
    api = api_of(request)
    q = request.query_params
    f = parse_filters(q)
    t = await tracked(api, account, f, site.brands)
    first = date.fromisoformat(week_of(f.date_from))
    # from the week before the first shown (its baseline); a project's tag as its prompts' hashes
    cf = replace(answers_of(f, t), date_from=(first - timedelta(days=7)).isoformat(), tag=None, prompts=None)
    prompts = t.prompts_tagged(f.tag)
    hashes = None if prompts is None else [prompt_hash(p) for p in prompts]
    async with heavy(request, account):
        found = await api.mentions.presence(account.id, cf, hashes)
    answered, named = weekly(found)
    weeks = sorted(answered)
    rows: list[dict[str, Any]] = []
    for week in reversed([w for w in weeks if w >= first.isoformat()]):  # newest first
        i = weeks.index(week)
        before = weeks[i - 1] if i else None  # the week answered before: none for the first, the baseline
        for b in t.brands:
            new, lost = changes_of(answered, named, b.name, week, before) if before else (set(), set())
            rows.append({
                "brand": b.name, "own": b.own, "competitor": b.competitor, "week": week,
                "prompts_answered": len(answered[week]), "prompts_naming": len(named[week][b.name]),
                "new": len(new) if before else None, "lost": len(lost) if before else None,
                "compared_with": before or "",
            })  # fmt: skip
    detail = await _detail(
        request, account, api, t.project_id, answered, named, weeks, [b.name for b in t.brands]
    )
    return out(
        request, "changes.html", rows, account=account, **bar(f, t), detail=detail,
    )  # fmt: skip


async def _detail(
    request: Request,
    account: Account,
    api: DashboardApi,
    project_id: int,
    answered: dict[str, set[Pair]],
    named: dict[str, dict[str, set[Pair]]],
    weeks: list[str],
    brands: list[str],
) -> dict[str, Any] | None:
    """``?brand=&week=``: the prompts behind one row's new and lost numbers, with their texts."""
    brand, week = request.query_params.get("brand"), request.query_params.get("week")
    if not brand and not week:
        return None
    if brand not in brands or week not in weeks:
        raise BadFilter("No such brand or week: follow a number's link.")
    i = weeks.index(week)
    if i == 0:
        return {"brand": brand, "week": week, "new": [], "lost": [], "end": _end(week)}
    new, lost = changes_of(answered, named, brand, week, weeks[i - 1])
    texts = await api.mentions.prompt_texts(account.id, project_id, sorted({h for h, _ in new | lost}))
    return {
        "brand": brand, "week": week, "end": _end(week), "before": weeks[i - 1], "before_end": _end(weeks[i - 1]),
        "new": sorted((texts.get(h, h), e, h) for h, e in new), "lost": sorted((texts.get(h, h), e, h) for h, e in lost),
    }  # fmt: skip


def _end(week: str) -> str:
    return (date.fromisoformat(week) + timedelta(days=6)).isoformat()
