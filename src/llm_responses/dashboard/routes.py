"""``/dashboard``: tasks, one answer, brands, cited sources, new and lost mentions, spend; every page with a
``.json`` and a ``.csv`` twin.

Logged in through its own form (``dashboard/session``: a SameSite cookie, so the browser never holds API
credentials); scripts may send the account's ``Authorization`` header instead, as to the API. Every
response carries a Content-Security-Policy without inline script and may not be framed; nothing a request
sent is echoed but through the templates' escaping. Reads only, bounded: pages of ``PAGE`` tasks
(``?after=`` for the next), brand metrics summed by the database from the mentions index's rollups,
and at most ``heavy_reads_per_account`` heavy pages of one account at once. Charts are chartkick's Chart.js
bundle, served from the installed package (no CDN, nothing copied into this repository).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import chartkick
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_responses.analysis.brand_metrics import (
    GROUPS,
    BrandQuery,
    BrandScope,
    brand_metrics,
    check_groups,
    scope_of,
)
from llm_responses.analysis.mentions import entities_of
from llm_responses.config_tables import BrandConfig
from llm_responses.cross_site import is_cross_site
from llm_responses.dashboard import session
from llm_responses.dashboard.views import (
    alert_row,
    answer_view,
    safe_url,
    source_rows,
    spend_rows,
    task_row,
)
from llm_responses.errors import ApiError, Busy, QueryTimeout
from llm_responses.store import mention_queries
from llm_responses.store.records import Account, finished_cursor, parse_finished_cursor
from llm_responses.wire import mentions_result
from llm_responses.wire.engines import ENGINES
from llm_responses.wire.mentions_request import MentionsQuery, Target
from llm_responses.wire.spreadsheet import csv_text

PAGE = 50
TOP = 50  # cited domains and pages listed
CHANGE_WEEKS = 8
SPEND_DAYS = 90
ALERTS = 200  # the newest listed
LOGIN_BODY_BYTES = 4096
_env = Environment(loader=PackageLoader("llm_responses.dashboard"), autoescape=select_autoescape())
_env.filters["safe_url"] = safe_url
CHARTKICK_STATIC = Path(chartkick.__file__).parent / "django" / "static" / "chartkick"
OWN_STATIC = Path(__file__).parent / "static"
# every dashboard response: no inline script or style, nothing from elsewhere, never in another page's frame
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
FORMATS = ("", "json", "csv")


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _fmt(request: Request) -> str:
    return str(request.path_params.get("fmt", ""))


def _error(request: Request, status: int, message: str) -> Response:
    """A fixed message (never anything the request sent) in the page's own format."""
    fmt = _fmt(request)
    if fmt == "json":
        return JSONResponse({"error": message}, status_code=status)
    if fmt == "csv":
        return Response(message + "\n", status_code=status, media_type="text/plain")
    return HTMLResponse(_env.get_template("error.html").render(message=message), status_code=status)


async def _account(request: Request) -> Account | None:
    """The session cookie's account; else the ``Authorization`` header's (scripts), as the API reads it."""
    api = request.app.state.api
    found = session.parse(request.cookies.get(session.COOKIE))
    if found is not None:
        account = await api.store.account_by_id(found.account_id)
        if account is not None and session.valid(api.auth.hasher.key, found, account, time.time()):
            return account
    authorization = request.headers.get("authorization")
    if authorization and not is_cross_site(request.headers):
        client = request.client
        try:
            return await api.auth.authenticate(authorization, client.host if client else "")
        except ApiError:
            return None
    return None


def logged_in(
    page: Callable[[Request, Account], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A page for the logged-in account; the login form (or a 401 for the ``.json``/``.csv`` twins) else."""

    @functools.wraps(page)
    async def handler(request: Request) -> Response:
        if _fmt(request) not in FORMATS:
            return _secured(_error(request, 404, "No such page."))
        account = await _account(request)
        if account is None:
            if _fmt(request):
                return _secured(_error(request, 401, "Log in at /dashboard/login, or send credentials."))
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return _secured(RedirectResponse(f"/dashboard/login?next={quote(target)}", status_code=303))
        try:
            return _secured(await page(request, account))
        except ApiError as exc:  # a heavy page over the account's share
            return _secured(_error(request, 429, exc.message))
        except (QueryTimeout, Busy):
            return _secured(_error(request, 503, "The database gave up on this page: narrow it down."))

    return handler


def _next(raw: str | None) -> str:
    """Where a login goes on to: a dashboard path only (never another host)."""
    if raw and raw.startswith("/dashboard") and "//" not in raw and "\\" not in raw and raw.isprintable():
        return raw
    return "/dashboard"


async def login_form(request: Request) -> Response:
    page = _env.get_template("login.html").render(next=_next(request.query_params.get("next")), error="")
    return _secured(HTMLResponse(page))


async def login(request: Request) -> Response:
    """The form's POST: the account's login and API password → the session cookie."""
    if is_cross_site(request.headers):
        return _secured(_error(request, 403, "Log in from this server's own login page."))
    body = await _form(request)
    if body is None:
        return _secured(_error(request, 400, "The login form was too large or too slow."))
    fields = parse_qs(body, max_num_fields=8)
    name, password = fields.get("login", [""])[0], fields.get("password", [""])[0]
    target = _next(fields.get("next", [""])[0])
    client = request.client
    try:
        account = await request.app.state.api.auth.login(name, password, client.host if client else "")
    except ApiError:
        page = _env.get_template("login.html").render(
            next=target, error="Wrong login or password, or too many attempts: try again in a minute."
        )
        return _secured(HTMLResponse(page, status_code=401))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.COOKIE,
        session.issue(request.app.state.api.auth.hasher.key, account, time.time()),
        max_age=session.LIFETIME_SECONDS,
        path="/dashboard",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return _secured(response)


async def logout(request: Request) -> Response:
    if is_cross_site(request.headers):
        return _secured(_error(request, 403, "Log out from this server's own pages."))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/dashboard", httponly=True, samesite="strict")
    return _secured(response)


async def _form(request: Request) -> str | None:
    """The urlencoded form body, at most ``LOGIN_BODY_BYTES`` read within 10 s; None otherwise."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(10):
            async for chunk in request.stream():
                size += len(chunk)
                if size > LOGIN_BODY_BYTES:
                    return None
                chunks.append(chunk)
    except (TimeoutError, ClientDisconnect):
        return None
    return b"".join(chunks).decode("utf-8", errors="replace")


def _out(request: Request, template: str, rows: list[dict[str, Any]], **context: Any) -> Response:
    fmt = request.path_params.get("fmt", "")
    if fmt == "json":
        return JSONResponse(rows)
    if fmt == "csv":
        return Response(csv_text(rows), media_type="text/csv")
    return HTMLResponse(_env.get_template(template).render(rows=rows, request=request, **context))


class BadFilter(ValueError):
    """A filter no page can take: answered 400 with a fixed message."""


def _engine_and_tag(request: Request) -> tuple[str | None, str | None]:
    q = request.query_params
    engine = q.get("engine") or None
    tag = q.get("tag") or None
    if engine is not None and engine not in ENGINES:
        raise BadFilter("No such engine.")
    if tag is not None and (len(tag) > 255 or not tag.isprintable()):
        raise BadFilter("A tag is at most 255 printable characters.")
    return engine, tag


def _heavy(request: Request, account: Account) -> Any:
    """One of the account's heavy-read slots (``heavy_reads``) for a page that scans or aggregates."""
    return request.app.state.api.heavy_reads.slot(account.id)


def page(
    handler: Callable[[Request, Account], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A logged-in page whose bad filters are a 400 with a fixed message."""

    @functools.wraps(handler)
    async def checked(request: Request, account: Account) -> Response:
        try:
            return await handler(request, account)
        except BadFilter as exc:
            return _error(request, 400, str(exc))

    return logged_in(checked)


@page
async def tasks(request: Request, account: Account) -> Response:
    try:
        after = parse_finished_cursor(request.query_params.get("after", ""))
    except ValueError:
        raise BadFilter("Not a page cursor: follow the Next link.") from None
    engine, tag = _engine_and_tag(request)
    outcome = request.query_params.get("status") or None
    if outcome not in (None, "done", "failed"):
        raise BadFilter("Status: done or failed.")
    records = await request.app.state.api.store.latest_tasks(
        account.id,
        before=after if after != (0.0, "") else None,
        se=engine,
        tag=tag,
        outcome=outcome,
        limit=PAGE,
    )
    rows = [task_row(r) for r in records]
    nxt = ""
    if len(records) == PAGE:  # the filters ride along: the next page is the same list, further back
        kept = {k: v for k, v in (("tag", tag), ("engine", engine), ("status", outcome)) if v}
        nxt = urlencode({"after": finished_cursor(records[-1]), **kept})
    total = sum(r["cost"] for r in rows)
    return _out(request, "tasks.html", rows, account=account, engines=list(ENGINES), next=nxt, total=total)


@page
async def answer(request: Request, account: Account) -> Response:
    task_id = request.path_params["task_id"]
    record = (
        await request.app.state.api.store.get_task(account.id, task_id)
        if len(task_id) <= 64 and task_id.isprintable()
        else None
    )
    if record is None:
        return _error(request, 404, "No such task.")
    view = answer_view(record)
    fmt = _fmt(request)
    if fmt == "json":
        return JSONResponse(view)
    if fmt == "csv":
        return _out(request, "answer.html", [{k: v for k, v in view.items() if not isinstance(v, list)}])
    return HTMLResponse(_env.get_template("answer.html").render(a=view, account=account))


def brands_page(brands: list[BrandConfig]) -> Callable[[Request], Awaitable[Response]]:
    @page
    async def brands_view(request: Request, account: Account) -> Response:
        """The tracked brands' metrics from the mentions index's rollups (``?project=``: a tracking
        project's; absent: the account's first project, if any; empty: the server's ``[[brands]]``)."""
        by = tuple(g for g in request.query_params.get("by", "engine").split(",") if g)
        try:
            check_groups(by)
        except ValueError:
            raise BadFilter(f"Group by any of: {', '.join(GROUPS)}.") from None
        engine, tag = _engine_and_tag(request)
        tracking = request.app.state.api.tracking
        projects = await tracking.projects(account)
        wanted = request.query_params.get("project")
        chosen = (
            projects[0]
            if projects and wanted is None
            else next((p for p in projects if p[0].name == wanted), None)
        )
        if wanted and chosen is None:
            raise BadFilter("No such project.")
        q = BrandQuery(by=by, engine=engine, tag=tag, project_id=chosen[0].id if chosen else 0)
        scope = scope_of(chosen[1].prompts) if chosen else BrandScope()
        store = request.app.state.api.store
        async with _heavy(request, account):
            rows = await brand_metrics(store, account.id, q, scope)
            daily = await brand_metrics(store, account.id, replace(q, by=("day",)), scope)
        names = sorted({r["entity"] for r in daily})
        series = {
            metric: [
                {
                    "name": name,
                    "data": {r["day"]: round(r[metric] * 100, 1) for r in daily if r["entity"] == name},
                }
                for name in names
            ]
            for metric in ("visibility", "share_of_voice")
        }
        return _out(
            request, "brands.html", rows, account=account, by=by, series=series, tracked=bool(chosen or brands),
            projects=[p.name for p, _ in projects], project=chosen[0].name if chosen else "",
        )  # fmt: skip

    return brands_view


@page
async def sources(request: Request, account: Account) -> Response:
    """The domains and pages the account's answers cite most (the mentions index: every answer at once)."""
    engine, _ = _engine_and_tag(request)
    kind = request.query_params.get("kind", "domains")
    if kind not in ("domains", "pages"):
        raise BadFilter("Kind: domains or pages.")
    store = request.app.state.api.store
    everything = MentionsQuery("target_metrics", platform=engine, internal_list_limit=1)
    top = MentionsQuery(f"top_mentioned_{kind}", platform=engine, limit=TOP, internal_list_limit=1)
    async with _heavy(request, account):
        total = await store.mention_query(lambda c, d: mention_queries.ranked(c, d, account.id, everything))
        ranked = await store.mention_query(lambda c, d: mention_queries.ranked(c, d, account.id, top))
    answers = total.items[0][1].mentions if total.items else 0
    key = "domain" if kind == "domains" else "page"
    rows = source_rows(key, [(k, b.mentions) for k, b in ranked.items], answers)
    return _out(
        request, "sources.html", rows, account=account, kind=kind, key=key, answers=answers,
        engines=list(ENGINES), engine=engine or "",
    )  # fmt: skip


def changes_page(brands: list[BrandConfig]) -> Callable[[Request], Awaitable[Response]]:
    entities = entities_of(brands)

    @page
    async def changes(request: Request, account: Account) -> Response:
        """Week by week, the questions whose answers newly name each brand, and those that stopped."""
        today = datetime.now(UTC).date()
        start = (today - timedelta(weeks=CHANGE_WEEKS - 1)).isoformat()
        first = mentions_result.period_of(start, "week")
        before = mentions_result.previous_period(first, "week")
        store = request.app.state.api.store
        rows: list[dict[str, Any]] = []
        async with _heavy(request, account):
            for e in entities:
                q = MentionsQuery(
                    "timeseries_new_lost",
                    targets=tuple(Target(None, term) for term in e.terms),
                    date_from=before,
                    date_to=today.isoformat(),
                    group_range="week",
                )
                found = await store.mention_query(
                    lambda c, d, q=q: mention_queries.questions_per_day(c, d, account.id, q)
                )
                series = mentions_result.new_lost_result(found, start, today.isoformat(), "week")
                rows += [
                    {"brand": e.name, "competitor": e.competitor, "week": i["date"], "new": i["new_mentions"],
                     "lost": i["lost_mentions"]}
                    for i in series["items"]
                ]  # fmt: skip
        return _out(request, "changes.html", rows, account=account, brands=brands)

    return changes


@page
async def spend(request: Request, account: Account) -> Response:
    """What the account's tasks cost, per day and engine, over the last ``SPEND_DAYS`` days."""
    since = time.time() - SPEND_DAYS * 86400
    rows = spend_rows(await request.app.state.api.store.spend_by_day(account.id, since))
    by_day: dict[str, float] = {}
    for r in rows:
        by_day[r["day"]] = round(by_day.get(r["day"], 0.0) + r["cost"], 6)
    chart = [{"name": "cost (USD)", "data": dict(sorted(by_day.items()))}]
    total = round(sum(r["cost"] for r in rows), 6)
    saved = round(sum(r["batch_saved"] for r in rows), 6)
    return _out(
        request, "spend.html", rows, account=account, chart=chart, total=total, saved=saved, days=SPEND_DAYS
    )


@page
async def alerts(request: Request, account: Account) -> Response:
    """The tracking projects' alerts, newest first (``?project=`` one project's)."""
    tracking = request.app.state.api.tracking
    names = [p.name for p, _ in await tracking.projects(account)]
    project = request.query_params.get("project") or ""
    if project and project not in names:
        raise BadFilter("No such project.")
    project_id = 0
    if project:
        found, _ = await tracking.get(account, project)
        project_id = found.id
    found_alerts = await tracking.store.tracking.alerts(account.id, project_id=project_id, limit=ALERTS)
    rows = [alert_row(a) for a in found_alerts]
    return _out(request, "alerts.html", rows, account=account, projects=names, project=project)


class _Headers:
    """The static files with the pages' security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def dashboard_routes(brands: list[BrandConfig]) -> list[BaseRoute]:
    brands_view = brands_page(brands)
    changes = changes_page(brands)
    return [
        Route("/dashboard", tasks),
        Route("/dashboard/login", login_form, methods=["GET"]),
        Route("/dashboard/login", login, methods=["POST"]),
        Route("/dashboard/logout", logout, methods=["POST"]),
        Route("/dashboard/tasks", tasks),
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
        Route("/dashboard/alerts", alerts),
        Route("/dashboard/alerts.{fmt:str}", alerts),
        Mount(
            "/dashboard/static/chartkick",
            app=_Headers(StaticFiles(directory=CHARTKICK_STATIC)),
            name="chartkick",
        ),
        Mount("/dashboard/static", app=_Headers(StaticFiles(directory=OWN_STATIC)), name="dashboard-static"),
    ]
