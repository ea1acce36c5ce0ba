"""``/dashboard/brands``: every tracked brand's metrics grouped as asked (``?by=engine,day``...), with
visibility and share of voice day by day; the same numbers as MCP and the ``mentions`` command
(``analysis/brand_metrics.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.analysis.brand_metrics import GROUPS, check_groups
from llm_responses.dashboard.filters import bar, parse_filters, tracked
from llm_responses.dashboard.web import BadFilter, Site, api_of, heavy, out
from llm_responses.store.records import Account


async def brands(request: Request, account: Account, site: Site) -> Response:
    api = api_of(request)
    by = tuple(g for g in request.query_params.get("by", "engine").split(",") if g)
    try:
        check_groups(by)
    except ValueError:
        raise BadFilter(f"Group by any of: {', '.join(GROUPS)}.") from None
    f = parse_filters(request.query_params)
    t = await tracked(api, account, f, site.brands)
    async with heavy(request, account):
        rows = await api.mentions.brand_metrics(account.id, f.brands(t.project_id, by), t.scope)
        daily = await api.mentions.brand_metrics(account.id, f.brands(t.project_id, ("day",)), t.scope)
    own = t.own
    for r in rows:
        r["own"] = r["entity"] == own
    names = [b.name for b in t.brands] + sorted({r["entity"] for r in daily} - {b.name for b in t.brands})
    days = sorted({r["day"] for r in daily})  # a day with answers that did not name a brand: 0 for it
    values = {(r["entity"], r["day"]): r for r in daily}
    series = {
        metric: [
            {"name": name, "data": {day: round(values[name, day][metric] * 100, 1) if (name, day) in values else 0.0
                                    for day in days}}
            for name in names
            if any(e == name for e, _ in values)
        ]
        for metric in ("visibility", "share_of_voice")
    }  # fmt: skip
    sample = {r["day"]: r["answers"] for r in daily}
    return out(
        request, "brands.html", rows, account=account, **bar(f, t, by=",".join(by)), by=by,
        groups=GROUPS, series=series, answers_in_period=sum(sample.values()), days_with_answers=len(sample),
    )  # fmt: skip
