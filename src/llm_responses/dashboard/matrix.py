"""``/dashboard/matrix``: which prompts each brand wins, per engine. A row per prompt and engine, a column
per tracked brand (the own brand first); a cell is the share of that prompt's answers on that engine naming
the brand, with its average position, and links to those answers. The brand named in most of them wins
the row (ties: the better average position).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.analysis.answer_index import prompt_hash
from llm_responses.dashboard.filters import bar, parse_filters, tracked
from llm_responses.dashboard.web import Site, api_of, heavy, out
from llm_responses.store.records import Account


def winners(rows: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(prompt, engine) → the brand named in most of its answers (ties: better average position, then name)."""
    best: dict[tuple[str, str], tuple[int, float, str]] = {}
    for r in rows:
        if not r["mentions"]:
            continue
        key = (r["prompt"], r["engine"])
        rank = (-r["mentions"], r["average_position"] or 1e9, r["entity"])
        if key not in best or rank < best[key]:
            best[key] = rank
    return {key: rank[2] for key, rank in best.items()}


async def matrix(request: Request, account: Account, site: Site) -> Response:
    api = api_of(request)
    f = parse_filters(request.query_params)
    t = await tracked(api, account, f, site.brands)
    async with heavy(request, account):
        found = await api.mentions.brand_metrics(
            account.id, f.brands(t.project_id, ("prompt", "engine")), t.scope
        )
    won = winners(found)
    order = [p.text for p in t.spec.prompts] if t.spec else []
    prompts = sorted(
        {r["prompt"] for r in found}, key=lambda p: (order.index(p) if p in order else len(order), p)
    )
    engines = sorted({r["engine"] for r in found})
    brands = [b.name for b in t.brands] + sorted({r["entity"] for r in found} - {b.name for b in t.brands})
    own = t.own
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    answers: dict[tuple[str, str], int] = {}
    for r in found:
        answers[(r["prompt"], r["engine"])] = r["answers"]
        cells[(r["prompt"], r["engine"], r["entity"])] = r
    rows: list[dict[str, Any]] = []
    groups: list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]] = []
    for prompt in prompts:
        digest = prompt_hash(prompt)
        per_engine: list[tuple[str, list[dict[str, Any]]]] = []
        groups.append((prompt, per_engine))
        for engine in engines:
            n = answers.get((prompt, engine))
            if n is None:
                continue
            line: list[dict[str, Any]] = []
            per_engine.append((engine, line))
            answers_of = "/dashboard/tasks?" + f.query(prompt=digest, engine=engine) + "&brand="  # once a row
            for brand in brands:
                c = cells.get((prompt, engine, brand))
                line.append({
                    "prompt": prompt, "engine": engine, "brand": brand, "own": brand == own, "answers": n,
                    "mentions": c["mentions"] if c else 0, "visibility": c["visibility"] if c else 0.0,
                    "average_position": c["average_position"] if c else None,
                    "wins": won.get((prompt, engine)) == brand,
                    "answers_url": answers_of + quote_plus(brand),
                })  # fmt: skip
            rows.extend(line)
    wins = {b: sum(1 for r in rows if r["brand"] == b and r["wins"]) for b in brands}
    return out(
        request, "matrix.html", rows, account=account, **bar(f, t), brands=brands, wins=wins, groups=groups
    )
