"""``/dashboard``: tasks, one answer, brands, cited sources, new and lost mentions, spend; every page with a
``.json`` and a ``.csv`` twin.

Logged in with the account's own credentials (HTTP Basic, as the API: the browser asks once). Reads only,
bounded: pages of ``PAGE`` tasks (``?after=`` for the next), brand metrics over at most ``MAX_SCAN``
answers. Charts are chartkick's Chart.js bundle, served from the installed package (no CDN, nothing
copied into this repository).
"""

from __future__ import annotations

import csv
import functools
import io
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import chartkick
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from llm_responses.analysis.stored import entities_of
from llm_responses.config_tables import BrandConfig
from llm_responses.dashboard.views import answer_view, brand_rows, safe_url, source_rows, spend_rows, task_row
from llm_responses.errors import ApiError, QueryTimeout
from llm_responses.store import mention_queries
from llm_responses.store.records import Account, TaskRecord, finished_cursor, parse_finished_cursor
from llm_responses.wire import mentions_result
from llm_responses.wire.engines import ENGINES
from llm_responses.wire.mentions_request import MentionsQuery, Target

PAGE = 50
MAX_SCAN = 20_000
TOP = 50  # cited domains and pages listed
CHANGE_WEEKS = 8
SPEND_DAYS = 90
_env = Environment(loader=PackageLoader("llm_responses.dashboard"), autoescape=select_autoescape())
_env.filters["safe_url"] = safe_url
CHARTKICK_STATIC = Path(chartkick.__file__).parent / "django" / "static" / "chartkick"


async def _caller(request: Request) -> Account:
    return await request.app.state.api.auth.authenticate(
        request.headers.get("authorization"), request.client.host if request.client else ""
    )


def logged_in(
    page: Callable[[Request, Account], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A page for the account whose credentials the request carries; 401 (the browser asks) otherwise."""

    @functools.wraps(page)
    async def handler(request: Request) -> Response:
        try:
            account = await _caller(request)
        except ApiError:
            return _unauthorized()
        return await page(request, account)

    return handler


def _unauthorized() -> Response:
    return Response(
        "login required",
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="llm-responses dashboard"'},
    )


def _out(request: Request, template: str, rows: list[dict[str, Any]], **context: Any) -> Response:
    fmt = request.path_params.get("fmt", "")
    if fmt == "json":
        return JSONResponse(rows)
    if fmt == "csv":
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, list(rows[0]), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        return Response(buffer.getvalue(), media_type="text/csv")
    return HTMLResponse(_env.get_template(template).render(rows=rows, request=request, **context))


async def _records(
    request: Request, account: Account, *, limit: int, after: tuple[float, str] = (0.0, "")
) -> list[TaskRecord]:
    q = request.query_params
    engine = q.get("engine") or None
    tag = q.get("tag") or None
    store = request.app.state.api.store
    out = [
        r async for r in store.each_finished_task(account.id, after=after, se=engine, tag=tag, limit=limit)
    ]
    status = q.get("status")
    if status == "done":
        out = [r for r in out if r.status_code == 20000]
    elif status == "failed":
        out = [r for r in out if r.status_code != 20000]
    return out


@logged_in
async def tasks(request: Request, account: Account) -> Response:
    try:
        after = parse_finished_cursor(request.query_params.get("after", ""))
    except ValueError as exc:
        return HTMLResponse(str(exc), status_code=400)
    records = await _records(request, account, limit=PAGE, after=after)
    rows = [task_row(r) for r in records]
    nxt = finished_cursor(records[-1]) if len(records) == PAGE else ""
    total = sum(r["cost"] for r in rows)
    return _out(request, "tasks.html", rows, account=account, engines=list(ENGINES), next=nxt, total=total)


@logged_in
async def answer(request: Request, account: Account) -> Response:
    record = await request.app.state.api.store.get_task(account.id, request.path_params["task_id"])
    if record is None:
        return HTMLResponse("no such task", status_code=404)
    view = answer_view(record)
    fmt = request.path_params.get("fmt", "")
    if fmt == "json":
        return JSONResponse(view)
    if fmt == "csv":
        return _out(request, "answer.html", [{k: v for k, v in view.items() if not isinstance(v, list)}])
    return HTMLResponse(_env.get_template("answer.html").render(a=view, account=account))


def brands_page(brands: list[BrandConfig]):
    entities = entities_of(brands)

    @logged_in
    async def brands_view(request: Request, account: Account) -> Response:
        records = await _records(request, account, limit=MAX_SCAN)
        by = tuple(g for g in request.query_params.get("by", "engine").split(",") if g)
        try:
            rows, daily = brand_rows(records, entities, by)
        except ValueError as exc:
            return HTMLResponse(str(exc), status_code=400)
        series = {
            metric: [
                {
                    "name": e.name,
                    "data": {r["day"]: round(r[metric] * 100, 1) for r in daily if r["entity"] == e.name},
                }
                for e in entities
            ]
            for metric in ("visibility", "share_of_voice")
        }
        return _out(request, "brands.html", rows, account=account, by=by, series=series, brands=brands)

    return brands_view


@logged_in
async def sources(request: Request, account: Account) -> Response:
    """The domains and pages the account's answers cite most (the mentions index: every answer at once)."""
    engine = request.query_params.get("engine") or None
    if engine is not None and engine not in ENGINES:
        return HTMLResponse("no such engine", status_code=400)
    kind = request.query_params.get("kind", "domains")
    if kind not in ("domains", "pages"):
        return HTMLResponse("kind: domains or pages", status_code=400)
    store = request.app.state.api.store
    everything = MentionsQuery("target_metrics", platform=engine, internal_list_limit=1)
    top = MentionsQuery(f"top_mentioned_{kind}", platform=engine, limit=TOP, internal_list_limit=1)
    try:
        total = await store.mention_query(lambda c, d: mention_queries.ranked(c, d, account.id, everything))
        ranked = await store.mention_query(lambda c, d: mention_queries.ranked(c, d, account.id, top))
    except QueryTimeout:
        return HTMLResponse("the database gave up on this page; narrow it with ?engine=", status_code=503)
    answers = total.items[0][1].mentions if total.items else 0
    key = "domain" if kind == "domains" else "page"
    rows = source_rows(key, [(k, b.mentions) for k, b in ranked.items], answers)
    return _out(
        request, "sources.html", rows, account=account, kind=kind, key=key, answers=answers,
        engines=list(ENGINES), engine=engine or "",
    )  # fmt: skip


def changes_page(brands: list[BrandConfig]):
    entities = entities_of(brands)

    @logged_in
    async def changes(request: Request, account: Account) -> Response:
        """Week by week, the questions whose answers newly name each brand, and those that stopped."""
        today = datetime.now(UTC).date()
        start = (today - timedelta(weeks=CHANGE_WEEKS - 1)).isoformat()
        first = mentions_result.period_of(start, "week")
        before = mentions_result.previous_period(first, "week")
        store = request.app.state.api.store
        rows: list[dict[str, Any]] = []
        for e in entities:
            q = MentionsQuery(
                "timeseries_new_lost",
                targets=tuple(Target(None, term) for term in e.terms),
                date_from=before,
                date_to=today.isoformat(),
                group_range="week",
            )
            try:
                found = await store.mention_query(
                    lambda c, d, q=q: mention_queries.questions_per_day(c, d, account.id, q)
                )
            except QueryTimeout:
                return HTMLResponse("the database gave up on this page", status_code=503)
            series = mentions_result.new_lost_result(found, start, today.isoformat(), "week")
            rows += [
                {"brand": e.name, "competitor": e.competitor, "week": i["date"], "new": i["new_mentions"],
                 "lost": i["lost_mentions"]}
                for i in series["items"]
            ]  # fmt: skip
        return _out(request, "changes.html", rows, account=account, brands=brands)

    return changes


@logged_in
async def spend(request: Request, account: Account) -> Response:
    """What the account's tasks cost, per day and engine, over the last ``SPEND_DAYS`` days."""
    since = time.time() - SPEND_DAYS * 86400
    rows = spend_rows(await request.app.state.api.store.spend_by_day(account.id, since))
    by_day: dict[str, float] = {}
    for r in rows:
        by_day[r["day"]] = round(by_day.get(r["day"], 0.0) + r["cost"], 6)
    chart = [{"name": "cost (USD)", "data": dict(sorted(by_day.items()))}]
    total = round(sum(r["cost"] for r in rows), 6)
    return _out(request, "spend.html", rows, account=account, chart=chart, total=total, days=SPEND_DAYS)


def dashboard_routes(brands: list[BrandConfig]) -> list[BaseRoute]:
    brands_view = brands_page(brands)
    changes = changes_page(brands)
    return [
        Route("/dashboard", tasks),
        Route("/dashboard/tasks.{fmt:str}", tasks),
        Route("/dashboard/answer/{task_id}.{fmt:str}", answer),
        Route("/dashboard/answer/{task_id}", answer),
        Route("/dashboard/brands", brands_view),
        Route("/dashboard/brands.{fmt:str}", brands_view),
        Route("/dashboard/sources", sources),
        Route("/dashboard/sources.{fmt:str}", sources),
        Route("/dashboard/changes", changes),
        Route("/dashboard/changes.{fmt:str}", changes),
        Route("/dashboard/spend", spend),
        Route("/dashboard/spend.{fmt:str}", spend),
        Mount("/dashboard/static/chartkick", app=StaticFiles(directory=CHARTKICK_STATIC), name="chartkick"),
    ]
