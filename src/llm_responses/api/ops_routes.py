"""``GET /metrics``: Prometheus's text format, for the operator's scraper, not for accounts.

Guarded by a setting, since what it shows (traffic, spend, models in use) is the operator's business: with
``LLM_RESPONSES_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>`` is let in (compared in
constant time); without one, only clients on the loopback interface. Behind a reverse proxy on the same
host every client is on loopback: set a token there.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from llm_responses.api.routes import context

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def metrics(request: Request) -> Response:
    ctx = context(request)
    if ctx.metrics_token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {ctx.metrics_token}".encode()):
            return Response(
                "a bearer token is needed (LLM_RESPONSES_METRICS_TOKEN)\n",
                401,
                {"www-authenticate": "Bearer"},
                media_type="text/plain",
            )
    elif not (request.client and _loopback(request.client.host)):
        return Response(
            "metrics are served to loopback clients only; set LLM_RESPONSES_METRICS_TOKEN\n",
            403,
            media_type="text/plain",
        )
    return Response(await ctx.scrape.body(), media_type=CONTENT_TYPE)


routes = [Route("/metrics", metrics, methods=["GET"], include_in_schema=False)]
