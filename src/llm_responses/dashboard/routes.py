"""``/dashboard``: tasks, one answer, brands; every page with a ``.json`` and a ``.csv`` twin.

Logged in with the account's own credentials (HTTP Basic, as the API: the browser asks once). Reads only,
bounded: pages of ``PAGE`` tasks (``?after=`` for the next), brand metrics over at most ``MAX_SCAN``
answers. Charts are chartkick's Chart.js bundle, served from the installed package (no CDN, nothing
copied into this repository).
"""

from __future__ import annotations

import csv
import io
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
from llm_responses.dashboard.views import answer_view, brand_rows, safe_url, task_row
from llm_responses.errors import ApiError
from llm_responses.store.records import Account, TaskRecord, finished_cursor, parse_finished_cursor
from llm_responses.wire.engines import ENGINES

PAGE = 50
MAX_SCAN = 20_000
_env = Environment(loader=PackageLoader("llm_responses.dashboard"), autoescape=select_autoescape())
_env.filters["safe_url"] = safe_url
CHARTKICK_STATIC = Path(chartkick.__file__).parent / "django" / "static" / "chartkick"


async def _caller(request: Request) -> Account:
    return await request.app.state.api.auth.authenticate(
        request.headers.get("authorization"), request.client.host if request.client else ""
    )


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


async def tasks(request: Request) -> Response:
    try:
        account = await _caller(request)
    except ApiError:
        return _unauthorized()
    try:
        after = parse_finished_cursor(request.query_params.get("after", ""))
    except ValueError as exc:
        return HTMLResponse(str(exc), status_code=400)
    records = await _records(request, account, limit=PAGE, after=after)
    rows = [task_row(r) for r in records]
    nxt = finished_cursor(records[-1]) if len(records) == PAGE else ""
    total = sum(r["cost"] for r in rows)
    return _out(request, "tasks.html", rows, account=account, engines=list(ENGINES), next=nxt, total=total)


async def answer(request: Request) -> Response:
    try:
        account = await _caller(request)
    except ApiError:
        return _unauthorized()
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

    async def brands_view(request: Request) -> Response:
        try:
            account = await _caller(request)
        except ApiError:
            return _unauthorized()
        records = await _records(request, account, limit=MAX_SCAN)
        by = tuple(g for g in request.query_params.get("by", "engine").split(",") if g)
        try:
            rows, daily = brand_rows(records, entities, by)
        except ValueError as exc:
            return HTMLResponse(str(exc), status_code=400)
        series = [
            {
                "name": e.name,
                "data": {r["day"]: round(r["visibility"] * 100, 1) for r in daily if r["entity"] == e.name},
            }
            for e in entities
        ]
        return _out(request, "brands.html", rows, account=account, by=by, series=series, brands=brands)

    return brands_view


def dashboard_routes(brands: list[BrandConfig]) -> list[BaseRoute]:
    brands_view = brands_page(brands)
    return [
        Route("/dashboard", tasks),
        Route("/dashboard/tasks.{fmt:str}", tasks),
        Route("/dashboard/answer/{task_id}.{fmt:str}", answer),
        Route("/dashboard/answer/{task_id}", answer),
        Route("/dashboard/brands", brands_view),
        Route("/dashboard/brands.{fmt:str}", brands_view),
        Mount("/dashboard/static/chartkick", app=StaticFiles(directory=CHARTKICK_STATIC), name="chartkick"),
    ]
