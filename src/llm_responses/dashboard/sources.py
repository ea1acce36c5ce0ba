"""``/dashboard/sources``: the domains and pages the answers cite, for all answers or for those naming one
brand, the top ones' share of answers day by day, and the gap: domains cited where competitors are named
and the own brand is not (the sources to win over). A domain of a tracked brand is marked as that brand's.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.dashboard.filters import Tracked, answers_of, bar, parse_filters, tracked
from llm_responses.dashboard.web import BadFilter, Site, api_of, heavy, out
from llm_responses.store.records import Account
from llm_responses.tasks.mentions_service import Kind
from llm_responses.wire.domains import domain_of

TOP = 50  # domains or pages listed
TREND = 5  # of them drawn day by day


def owner(domain: str, t: Tracked) -> tuple[str, bool]:
    """(the tracked brand whose domain this is, whether it is the own brand) or ('', False)."""
    for b in t.brands:
        for d in b.domains:
            d = d.lower().removeprefix("www.")
            if domain == d or domain.endswith("." + d):
                return b.name, b.own
    return "", False


async def sources(request: Request, account: Account, site: Site) -> Response:
    api = api_of(request)
    q = request.query_params
    f = parse_filters(q)
    t = await tracked(api, account, f, site.brands)
    kind = q.get("kind") or "domains"
    if kind not in ("domains", "pages"):
        raise BadFilter("Kind: domains or pages.")
    view = q.get("view") or "cited"
    if view not in ("cited", "gap"):
        raise BadFilter("View: cited or gap.")
    brand = q.get("brand") or None
    if brand is not None and brand not in {b.name for b in t.brands}:
        raise BadFilter("No such brand in this project.")
    cf = answers_of(f, t)
    key = "domain" if kind == "domains" else "page"
    column: Kind = "domain" if kind == "domains" else "url"
    series: list[dict[str, Any]] = []
    rows: list[dict[str, Any]]
    answers = 0
    async with heavy(request, account):
        if view == "gap":
            if t.own is None:
                raise BadFilter("The gap needs an own brand: mark one with own = true.")
            own = t.own
            found = await api.mentions.gap(account.id, cf, own, limit=TOP)
            rows = [
                {"domain": dom, "answers_without_us": n, "answers_with_us": w, "owner": owner(dom, t)[0]}
                for dom, n, w in found
            ]
        else:
            answers, top = await api.mentions.cited(account.id, cf, column, brand=brand, limit=TOP)
            rows = []
            for k, n in top:
                name, is_own = owner(k if kind == "domains" else domain_of(k), t)
                rows.append({key: k, "answers": n, "share": round(n / answers, 4) if answers else 0.0,
                             "owner": name, "own": is_own})  # fmt: skip
            keys = [r[key] for r in rows[:TREND]]
            daily = await api.mentions.cited_by_day(account.id, cf, column, keys, brand=brand)
            totals = {day: n for day, k, n in daily if not k}
            series = [
                {"name": k, "data": {day: round(n / totals[day] * 100, 1) for day, kk, n in sorted(daily)
                                     if kk == k and totals.get(day)}}
                for k in keys
            ]  # fmt: skip
    return out(
        request, "sources.html", rows, account=account, **bar(f, t, kind=kind, view=view, brand=brand), kind=kind,
        key=key, view=view, brand=brand or "", answers=answers, series=series,
    )  # fmt: skip
