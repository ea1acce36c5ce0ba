"""``/dashboard/alerts``: what the tracking projects' rules found when their runs finished, newest first
(``?project=`` one project's)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.dashboard.views import alert_row
from llm_responses.dashboard.web import BadFilter, Site, api_of, out
from llm_responses.store.records import Account

ALERTS = 200  # the newest listed


async def alerts(request: Request, account: Account, site: Site) -> Response:
    tracking = api_of(request).tracking
    projects = await tracking.projects(account)
    name = request.query_params.get("project") or ""
    chosen = next((p for p, _ in projects if p.name == name), None)
    if name and chosen is None:
        raise BadFilter("No such project.")
    found = await tracking.store.tracking.alerts(
        account.id, project_id=chosen.id if chosen else 0, limit=ALERTS
    )
    rows = [alert_row(a) for a in found]
    return out(
        request, "alerts.html", rows, account=account, projects=[p.name for p, _ in projects], project=name
    )
