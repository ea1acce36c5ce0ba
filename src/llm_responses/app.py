"""The two ways a process runs: ``create_app(settings)`` (the HTTP API, with the worker unless disabled)
and ``run_worker(settings)`` (tasks and webhooks only). What they run is wired in ``composition``."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from llm_responses import __version__
from llm_responses.api import errors as api_errors
from llm_responses.api import openapi
from llm_responses.api.mentions_routes import routes as mentions_routes
from llm_responses.api.ops_routes import routes as ops_routes
from llm_responses.api.request_observer import RequestObserver, route_templates
from llm_responses.api.routes import ApiContext
from llm_responses.api.routes import routes as api_routes
from llm_responses.api.tracking_routes import routes as tracking_routes
from llm_responses.api.webhook_routes import routes as webhook_routes
from llm_responses.composition import make_observability, running
from llm_responses.config import Settings
from llm_responses.dashboard.routes import dashboard_routes
from llm_responses.observability.bundle import Observability

log = logging.getLogger(__name__)


def _log_tasks() -> None:
    """Log where every asyncio task of this process is waiting (SIGUSR1)."""
    counts: dict[str, int] = {}
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=30)
        where = (
            " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames[-6:])) or "(not started)"
        )
        counts[where] = counts.get(where, 0) + 1
    for where, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        log.warning("%d task(s) at %s", n, where)


async def run_worker(settings: Settings) -> None:
    """``llm-responses worker``: tasks and webhooks, no HTTP, until SIGTERM or SIGINT (then a graceful stop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _log_tasks)  # an operator's "what is it waiting on?"
    async with running(settings, work=True, observability=make_observability(settings)):
        log.info("worker started (concurrency %d)", settings.worker_concurrency)
        await stop.wait()
        log.info("stopping: finishing running tasks for up to %gs", settings.shutdown_grace_seconds)


@asynccontextmanager
async def _serving(mcp: Any) -> AsyncIterator[None]:
    """The MCP session manager in a task of its own: its anyio task group must be left by the task that
    entered it, and a lifespan's start and end need not run in one task (test harnesses, some servers)."""
    ready, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with mcp.session_manager.run():
            ready.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    await asyncio.wait([task, asyncio.create_task(ready.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # it failed to start: say why
    try:
        yield
    finally:
        stop.set()
        await task


def create_app(
    settings: Settings,
    *,
    on_started: Callable[[ApiContext], Coroutine[Any, Any, None]] | None = None,
    observability: Observability | None = None,
) -> Starlette:
    """The app; ``on_started`` runs in the background once it serves (``serve --demo``'s dataset), and is
    cancelled when it stops. ``observability``: made from the settings when None (tests pass their own)."""
    obs = observability if observability is not None else make_observability(settings)
    from mcp.server.transport_security import TransportSecuritySettings

    from llm_responses.api.mcp_server import build_mcp  # the SDK's import only where the server runs

    mcp = build_mcp(lambda: app.state.api, settings.brands)
    mcp_app = mcp.streamable_http_app(
        stateless_http=True,
        json_response=True,
        streamable_http_path="/",
        max_request_body_size=settings.max_body_bytes,  # the same cap as every other POST
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=False
        ),  # see api/mcp_server
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(settings, work=settings.worker_enabled, observability=obs) as r, _serving(mcp):
            app.state.api, app.state.worker, app.state.dispatcher = r.api, r.worker, r.dispatcher
            app.state.scheduler = r.scheduler
            app.state.indexer = r.indexer
            background: asyncio.Task[None] | None = (
                asyncio.create_task(on_started(r.api)) if on_started else None
            )
            try:
                yield
            finally:
                if background is not None:
                    background.cancel()
                    await asyncio.gather(background, return_exceptions=True)

    schema = openapi.document(
        title="llm-responses",
        version=__version__,
        description="Self-hosted, wire-compatible DataForSEO AI Optimization / LLM Responses API",
        routes=[*api_routes, *mentions_routes, *webhook_routes, *tracking_routes],
    )
    # a Starlette app: our routes read their bodies raw and answer DataForSEO's envelope (api/routes.py),
    # and api/openapi.py documents them, so nothing of a framework's request validation runs
    app = Starlette(
        routes=[
            *openapi.doc_routes(schema),
            *api_routes,
            *mentions_routes,
            *webhook_routes,
            *tracking_routes,
            *ops_routes,
            *dashboard_routes(settings.brands),
            Mount("/mcp", app=mcp_app),
        ],
        lifespan=lifespan,
    )
    app.router.redirect_slashes = (
        False  # no 307 to the slashless path: its Location would be the client's Host
    )
    api_errors.install(app)
    app.add_middleware(
        RequestObserver,
        metrics=obs.metrics,
        templates=route_templates(app.router.routes),
        tracing=obs.tracing,
        access_log=settings.access_log,
    )
    return app
