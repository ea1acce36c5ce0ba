"""``/dashboard``: a project at a glance. The own brand's visibility, share of voice, citation share and
average position with their change against the period before, its visibility per engine day by day, the
brands and the prompts that moved most, and the latest alerts.

Every number is a brand metric (``analysis/brand_metrics.py``, the rollups), so the overview, the Brands
page, MCP and the CLI agree; the twins list one row per brand with both periods.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.analysis.answer_index import prompt_hash
from llm_responses.dashboard.filters import Tracked, bar, parse_filters, tracked
from llm_responses.dashboard.views import alert_row
from llm_responses.dashboard.web import Site, api_of, heavy, out
from llm_responses.store.records import Account

METRICS = ("visibility", "share_of_voice", "citation_share", "average_position")
MOVERS = 5
ALERTS = 5


def compared(
    current: list[dict[str, Any]], previous: list[dict[str, Any]], key: str, answered: dict[Any, int]
) -> list[dict[str, Any]]:
    """One row per ``key`` value (a brand, a prompt) with this period's metrics, the previous period's and
    the change. ``answered``: the previous period's answers per ``key`` value. A brand those answers never
    named had 0 there; with no answers then (or, for an average position, no position) there is no change."""
    before = {r[key]: r for r in previous}
    rows = []
    for r in current:
        p = before.get(r[key])
        n = p["answers"] if p else answered.get(r[key], 0)
        row = {**r, "previous_answers": n}
        for m in METRICS:
            then = p[m] if p else (0.0 if n and m != "average_position" else None)
            row[f"previous_{m}"] = then
            now = r[m]
            row[f"{m}_change"] = None if now is None or then is None else round(now - then, 4)
        rows.append(row)
    return rows


def _with_own(rows: list[dict[str, Any]], t: Tracked) -> list[dict[str, Any]]:
    own = t.own
    return [{**r, "own": r["entity"] == own} for r in rows]


async def overview(request: Request, account: Account, site: Site) -> Response:
    api = api_of(request)
    f = parse_filters(request.query_params)
    t = await tracked(api, account, f, site.brands)
    pid = t.project_id
    async with heavy(request, account):
        now = await api.mentions.brand_metrics(account.id, f.brands(pid), t.scope)
        before = await api.mentions.brand_metrics(account.id, f.brands(pid, previous=True), t.scope)
        daily = await api.mentions.brand_metrics(account.id, f.brands(pid, ("engine", "day")), t.scope)
        by_prompt: list[dict[str, Any]] = []
        if t.own:
            own_prompts = await api.mentions.brand_metrics(account.id, f.brands(pid, ("prompt",)), t.scope)
            own_before = await api.mentions.brand_metrics(
                account.id, f.brands(pid, ("prompt",), previous=True), t.scope
            )
            by_prompt = compared(
                [r for r in own_prompts if r["entity"] == t.own],
                [r for r in own_before if r["entity"] == t.own],
                "prompt",
                {r["prompt"]: r["answers"] for r in own_before},
            )
    previous_answers = before[0]["answers"] if before else 0
    rows = _with_own(compared(now, before, "entity", {r["entity"]: previous_answers for r in now}), t)
    own = next((r for r in rows if r["own"]), None)
    answers = now[0]["answers"] if now else 0
    if own is None and t.own and answers:  # answered, never named: zero, not "no data"
        zero = {"entity": t.own, "competitor": False, "answers": answers, "mentions": 0, "visibility": 0.0,
                "share_of_voice": 0.0, "citations": 0, "citation_share": 0.0, "average_position": None}  # fmt: skip
        own = _with_own(compared([zero], before, "entity", {t.own: previous_answers}), t)[0]
    movers = sorted(
        (r for r in rows if r["visibility_change"] is not None),
        key=lambda r: (-abs(r["visibility_change"]), r["entity"]),
    )[:MOVERS]
    prompt_movers = sorted(
        (r for r in by_prompt if r["visibility_change"] is not None),
        key=lambda r: (-abs(r["visibility_change"]), r["prompt"]),
    )[:MOVERS]
    for r in prompt_movers:
        r["answers_query"] = f.query(prompt=prompt_hash(r["prompt"]), brand=t.own)
    answered_days = sorted({(r["engine"], r["day"]) for r in daily})  # a day the own brand was not named: 0
    own_daily = {(r["engine"], r["day"]): r["visibility"] for r in daily if r["entity"] == t.own}
    series = [
        {"name": engine, "data": {day: round(own_daily.get((e, day), 0.0) * 100, 1) for e, day in answered_days if e == engine}}
        for engine in sorted({e for e, _ in answered_days})
    ]  # fmt: skip
    alerts = []
    if t.project is not None:
        found = await api.tracking.store.tracking.alerts(account.id, project_id=pid, limit=ALERTS)
        alerts = [alert_row(a) for a in found]
    return out(
        request, "overview.html", rows, account=account, **bar(f, t, compare=True), own=own, answers=answers,
        previous_answers=previous_answers, movers=movers, prompt_movers=prompt_movers,
        series=series, alerts=alerts,
    )  # fmt: skip
