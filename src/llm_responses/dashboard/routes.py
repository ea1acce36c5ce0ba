"""``/dashboard``: the pages a GEO analyst reads (overview, prompt × brand matrix, answers, brands, cited
sources, new and lost, spend, alerts), every one with a ``.json`` and a ``.csv`` twin, and the login.

Reads only, bounded: lists are pages (``?after=`` for the next), brand metrics are summed by the database
from the mentions index's rollups, and an account runs at most ``heavy_reads_per_account`` heavy pages at
once (``dashboard/web.py``). Charts are chartkick's Chart.js bundle, served from the installed package (no
CDN, nothing copied into this repository, no build step).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import parse_qs

import chartkick
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_responses.config_tables import BrandConfig
from llm_responses.cross_site import is_cross_site
from llm_responses.dashboard import session
from llm_responses.dashboard.alerts import alerts
from llm_responses.dashboard.answers import answer, tasks
from llm_responses.dashboard.brands import brands
from llm_responses.dashboard.changes import changes
from llm_responses.dashboard.matrix import matrix
from llm_responses.dashboard.overview import overview
from llm_responses.dashboard.sources import sources
from llm_responses.dashboard.spend import spend
from llm_responses.dashboard.web import SECURITY_HEADERS, Handler, Site, api_of, endpoint, env, error, secured
from llm_responses.errors import ApiError

LOGIN_BODY_BYTES = 4096
CHARTKICK_STATIC = Path(chartkick.__file__).parent / "django" / "static" / "chartkick"
OWN_STATIC = Path(__file__).parent / "static"
PAGES: dict[str, Handler] = {
    "overview": overview, "matrix": matrix, "tasks": tasks, "brands": brands, "sources": sources,
    "changes": changes, "spend": spend, "alerts": alerts,
}  # fmt: skip


def _next(raw: str | None) -> str:
    """Where a login goes on to: a dashboard path only (never another host)."""
    if raw and raw.startswith("/dashboard") and "//" not in raw and "\\" not in raw and raw.isprintable():
        return raw
    return "/dashboard"


async def login_form(request: Request) -> Response:
    page = env.get_template("login.html").render(next=_next(request.query_params.get("next")), error="")
    return secured(HTMLResponse(page))


async def login(request: Request) -> Response:
    """The form's POST: the account's login and API password → the session cookie."""
    if is_cross_site(request.headers):
        return secured(error(request, 403, "Log in from this server's own login page."))
    body = await _form(request)
    if body is None:
        return secured(error(request, 400, "The login form was too large or too slow."))
    fields = parse_qs(body, max_num_fields=8)
    name, password = fields.get("login", [""])[0], fields.get("password", [""])[0]
    target = _next(fields.get("next", [""])[0])
    client = request.client
    try:
        account = await api_of(request).auth.login(name, password, client.host if client else "")
    except ApiError:
        page = env.get_template("login.html").render(
            next=target, error="Wrong login or password, or too many attempts: try again in a minute."
        )
        return secured(HTMLResponse(page, status_code=401))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.COOKIE,
        session.issue(api_of(request).auth.hasher.key, account, time.time()),
        max_age=session.LIFETIME_SECONDS,
        path="/dashboard",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return secured(response)


async def logout(request: Request) -> Response:
    if is_cross_site(request.headers):
        return secured(error(request, 403, "Log out from this server's own pages."))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/dashboard", httponly=True, samesite="strict")
    return secured(response)


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


def dashboard_routes(server_brands: list[BrandConfig]) -> list[BaseRoute]:
    site = Site(tuple(server_brands))
    routes: list[BaseRoute] = [
        Route("/dashboard", endpoint(overview, site)),
        Route("/dashboard/login", login_form, methods=["GET"]),
        Route("/dashboard/login", login, methods=["POST"]),
        Route("/dashboard/logout", logout, methods=["POST"]),
        Route("/dashboard/answer/{task_id}.{fmt:str}", endpoint(answer, site)),
        Route("/dashboard/answer/{task_id}", endpoint(answer, site)),
    ]
    for name, handler in PAGES.items():
        page = endpoint(handler, site)
        routes += [Route(f"/dashboard/{name}", page), Route(f"/dashboard/{name}.{{fmt:str}}", page)]
    return [
        *routes,
        Mount(
            "/dashboard/static/chartkick",
            app=_Headers(StaticFiles(directory=CHARTKICK_STATIC)),
            name="chartkick",
        ),
        Mount("/dashboard/static", app=_Headers(StaticFiles(directory=OWN_STATIC)), name="dashboard-static"),
    ]
