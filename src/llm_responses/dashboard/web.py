"""What every dashboard page shares: who is logged in, the security headers, the fixed error pages, and a
page's three formats (HTML, and its ``.json`` and ``.csv`` twins serializing the same rows).

Logged in through the dashboard's own form (``dashboard/session``: a SameSite cookie, so the browser never
holds API credentials); scripts may send the account's ``Authorization`` header instead, as to the API.
Every response carries a Content-Security-Policy without inline script and may not be framed; nothing a
request sent is echoed but through the templates' escaping.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from llm_responses.accounts.credentials import Hasher
from llm_responses.config_tables import BrandConfig
from llm_responses.cross_site import is_cross_site
from llm_responses.dashboard import session
from llm_responses.dashboard.format import FILTERS
from llm_responses.errors import ApiError, Busy, QueryTimeout
from llm_responses.heavy_reads import HeavyReads
from llm_responses.store import Store
from llm_responses.store.records import Account
from llm_responses.tasks.mentions_service import MentionsService
from llm_responses.tracking.service import TrackingService
from llm_responses.wire.spreadsheet import csv_text

env = Environment(loader=PackageLoader("llm_responses.dashboard"), autoescape=select_autoescape())
env.filters.update(FILTERS)
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


@dataclass(frozen=True, slots=True)
class Site:
    """What the pages know besides the request: the server's ``[[brands]]`` (the answers outside projects
    are read for them)."""

    brands: tuple[BrandConfig, ...] = ()


Handler = Callable[[Request, Account, Site], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class BadFilter(ValueError):
    """A filter no page can take: answered 400 with a fixed message."""


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def fmt_of(request: Request) -> str:
    return str(request.path_params.get("fmt", ""))


def error(request: Request, status: int, message: str) -> Response:
    """A fixed message (never anything the request sent) in the page's own format."""
    fmt = fmt_of(request)
    if fmt == "json":
        return JSONResponse({"error": message}, status_code=status)
    if fmt == "csv":
        return Response(message + "\n", status_code=status, media_type="text/plain")
    return HTMLResponse(env.get_template("error.html").render(message=message), status_code=status)


async def _account(request: Request) -> Account | None:
    """The session cookie's account; else the ``Authorization`` header's (scripts), as the API reads it."""
    api = api_of(request)
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


def endpoint(handler: Handler, site: Site) -> Endpoint:
    """A page for the logged-in account (the login form, or a 401 for the twins, else); a bad filter is a
    400, a heavy page over the account's share a 429, a read the database gave up on a 503."""

    @functools.wraps(handler)
    async def checked(request: Request) -> Response:
        if fmt_of(request) not in FORMATS:
            return secured(error(request, 404, "No such page."))
        account = await _account(request)
        if account is None:
            if fmt_of(request):
                return secured(error(request, 401, "Log in at /dashboard/login, or send credentials."))
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return secured(RedirectResponse(f"/dashboard/login?next={quote(target)}", status_code=303))
        try:
            return secured(await handler(request, account, site))
        except BadFilter as exc:
            return secured(error(request, 400, str(exc)))
        except ApiError as exc:  # a heavy page over the account's share
            return secured(error(request, 429, exc.message))
        except (QueryTimeout, Busy):
            return secured(error(request, 503, "The database gave up on this page: narrow it down."))

    return checked


def out(request: Request, template: str, rows: list[dict[str, Any]], **context: Any) -> Response:
    """The page as HTML, or its rows as JSON or CSV."""
    fmt = fmt_of(request)
    if fmt == "json":
        return JSONResponse(rows)
    if fmt == "csv":
        return Response(csv_text(rows), media_type="text/csv")
    return HTMLResponse(env.get_template(template).render(rows=rows, request=request, **context))


class Auth(Protocol):
    """The API's authenticator, as the dashboard uses it (``api/auth.py``)."""

    @property
    def hasher(self) -> Hasher: ...
    async def authenticate(self, authorization: str | None, address: str = "") -> Account: ...
    async def login(self, login: str, password: str, address: str = "") -> Account: ...


class DashboardApi(Protocol):
    """What the pages read of the running API's context (``api.routes.ApiContext``, a sibling layer the
    dashboard may not import): its store, authenticator, tracking and mentions services, heavy-read slots."""

    @property
    def store(self) -> Store: ...
    @property
    def auth(self) -> Auth: ...
    @property
    def tracking(self) -> TrackingService: ...
    @property
    def mentions(self) -> MentionsService: ...
    @property
    def heavy_reads(self) -> HeavyReads: ...


def api_of(request: Request) -> DashboardApi:
    api: DashboardApi = request.app.state.api  # set by the app's lifespan (app.py)
    return api


def heavy(request: Request, account: Account) -> Any:
    """One of the account's heavy-read slots (``heavy_reads``) for a page that scans or aggregates."""
    return api_of(request).heavy_reads.slot(account.id)
