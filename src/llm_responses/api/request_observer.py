"""Per request, in one pure ASGI middleware: the request's metrics, its span, its log context and its access
log line (method, path, HTTP status, milliseconds, the account when known, the trace id when tracing).

One layer, not one per concern: the live path's overhead is measured in microseconds. The route template
comes from the endpoint the router matched (``scope["endpoint"]``, after the app has run, looked up in
``templates``, each route's template read once from the routes), so a task id never becomes a label; the time a request spent in upstream calls is what the runner added to its
``RequestContext``, and the rest is our own latency (``llm_responses_added_latency_seconds``).
``LLM_RESPONSES_ACCESS_LOG=false`` turns the line off; the account comes from the request state that
authentication sets (``routes.caller``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Mount, Route

from llm_responses.observability import context
from llm_responses.observability.metrics import UNMATCHED, Metrics

if TYPE_CHECKING:
    from llm_responses.observability.tracing import Tracing

log = logging.getLogger("llm_responses.access")


class RequestObserver:
    def __init__(
        self,
        app: Any,
        *,
        metrics: Metrics,
        templates: Mapping[object, str],
        tracing: Tracing | None = None,
        access_log: bool = True,
    ) -> None:
        """``templates``: each route's endpoint (a mount's app) → its path template (``route_templates``),
        filled by the app once its routes are all there."""
        self.app = app
        self.templates = templates
        self.metrics = metrics
        self.tracing = tracing
        self.access_log = access_log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        ctx = context.RequestContext(scope)
        token = context.request.set(ctx)
        status = 0

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        tracing = self.tracing
        span = tracing.start_request(scope, ctx) if tracing is not None else None
        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            status = status or 500  # nothing was sent: the server's error handler answers 500
            path = self._template(scope)
            self.metrics.request(path or UNMATCHED, scope["method"], status, seconds, ctx.upstream)
            if span is not None and tracing is not None:
                tracing.end_request(span[0], span[1], scope["method"], path, status)
            if self.access_log:
                self._log(scope, status, seconds, ctx)
            context.request.reset(token)

    def _template(self, scope: dict[str, Any]) -> str | None:
        endpoint = scope.get("endpoint")
        path = self.templates.get(endpoint) if endpoint is not None else None
        if path is None:  # inside a mounted Starlette app: its route, below its mount point ("/mcp/")
            route = scope.get("route")
            if route is not None:
                path = scope.get("root_path", "") + route.path
        return path

    @staticmethod
    def _log(scope: dict[str, Any], status: int, seconds: float, ctx: context.RequestContext) -> None:
        account = ctx.account or "-"
        ms = seconds * 1000
        extra = {"method": scope["method"], "path": scope["path"], "status": status, "duration_ms": ms}
        if ctx.trace_id is None:
            log.info(
                "%s %s %d %.1fms account=%s", scope["method"], scope["path"], status, ms, account, extra=extra
            )
        else:
            log.info(
                "%s %s %d %.1fms account=%s trace_id=%s",
                scope["method"], scope["path"], status, ms, account, ctx.trace_id, extra=extra,
            )  # fmt: skip


def route_templates(routes: Iterable[BaseRoute]) -> dict[object, str]:
    """Endpoint (a mount's app) → path template, for ``RequestObserver``."""
    out: dict[object, str] = {}
    for route in routes:
        if isinstance(route, Route):
            out.setdefault(route.endpoint, route.path)
        elif isinstance(route, Mount):
            out.setdefault(route.app, route.path)
    return out
