"""The HTTP endpoints. Thin: parse, authenticate, call the task service, wrap in the envelope.

Bodies are read raw (never through a framework's validation) because DataForSEO reports problems per task
inside HTTP 200; every failure becomes an ``ApiError`` rendered by the handlers in ``api/errors.py``.
The app is Starlette and the endpoints plain Starlette routes, documented by ``api/openapi.py``: FastAPI's
per-request parameter machinery, which none of them used, cost ~0.2 ms per call (docs/benchmarks.md, live).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from llm_responses.api import render
from llm_responses.api.auth import Authenticator
from llm_responses.api.ratelimit import RateLimiter
from llm_responses.billing.money import to_usd
from llm_responses.catalog import Catalog
from llm_responses.cross_site import refuse_cross_site
from llm_responses.errors import ApiError, StatusCode
from llm_responses.heavy_reads import HeavyReads
from llm_responses.observability.scrape import Scrape
from llm_responses.store import Store
from llm_responses.store.records import Account
from llm_responses.tasks.mentions_service import MentionsService
from llm_responses.tasks.service import TaskService
from llm_responses.tracking.service import TrackingService
from llm_responses.wire import ai_optimized, envelope
from llm_responses.wire.engines import ENGINES

LLM = f"{envelope.PREFIX}/{{se}}/{envelope.FUNCTION}"  # /v3/ai_optimization/{se}/llm_responses


@dataclass
class ApiContext:
    service: TaskService
    auth: Authenticator
    limiter: RateLimiter
    catalog: Catalog
    store: Store
    heavy_reads: HeavyReads
    max_body_bytes: int
    body_timeout: float
    scrape: Scrape  # /metrics (api/ops_routes.py)
    metrics_token: str | None  # None: /metrics answers loopback clients only
    schema_head: str | None  # the newest migration this code has (readiness)
    heartbeat_window: float  # a worker heartbeat older than this is not fresh (readiness)
    service_only: bool  # this process runs no worker (serve --no-worker)
    tracking: TrackingService  # projects, runs, alerts (api/tracking_routes.py)
    mentions: MentionsService  # the mentions index's reads (api/mentions_routes.py, the MCP tools)


Handler = Callable[[Request], Awaitable[Response]]


class Routes(list[Route]):
    """The endpoints of one module, registered with a decorator. Every ``/v3`` endpoint also answers at its
    path plus ``.ai`` (DataForSEO's AI-optimized response, ``wire.ai_optimized``), registered first so a
    path parameter never swallows the suffix."""

    def add(self, path: str, method: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if path.startswith("/v3/"):
                self.append(
                    Route(
                        path + ai_optimized.SUFFIX,
                        _ai_variant(handler),
                        methods=[method],
                        name=handler.__name__ + "_ai",
                        include_in_schema=False,
                    )
                )
            self.append(Route(path, handler, methods=[method], include_in_schema=False))
            return handler

        return register


def _ai_variant(handler: Handler) -> Handler:
    async def ai(request: Request) -> Response:
        try:
            full = await handler(request)
        except ApiError as exc:
            full = render.error(exc)
        body = ai_optimized.crop(orjson.loads(full.body))
        headers = {
            k: v for k, v in full.headers.items() if k.lower() not in ("content-length", "content-type")
        }
        return render.json_response(body, full.status_code, headers or None)

    ai.__doc__ = f"{(handler.__doc__ or handler.__name__).strip()}\n\nAI-optimized (cropped) response."
    return ai


routes = Routes()


def context(request: Request) -> ApiContext:
    api: ApiContext = request.app.state.api  # set by the app's lifespan (app.py)
    return api


async def caller(request: Request) -> Account:
    """The account whose credentials the request carries, counted against its rate limit; 40100 for a
    request another site made a browser send (``cross_site``) whatever it carries."""
    ctx = context(request)
    client = request.client
    headers = request.headers
    refuse_cross_site(headers)
    account = await ctx.auth.authenticate(headers.get("authorization"), client.host if client else "")
    request.state.account = account.login  # for the access log
    if not await ctx.limiter.hit(account.id):
        raise ApiError(StatusCode.RATE_LIMIT)
    return account


async def _begin(request: Request, se: str, function: str) -> tuple[ApiContext, Account]:
    """Common to every llm_responses endpoint: an engine that has this endpoint (Perplexity has no
    task_post family), then the caller (auth + rate limit)."""
    ctx = context(request)
    engine = ENGINES.get(se)
    if engine is None or function not in engine.functions:
        raise ApiError(StatusCode.NOT_FOUND)
    return ctx, await caller(request)


async def read_body(request: Request, limit: int, within: float) -> bytes:
    """The body, read as a stream and refused (40503) the moment it passes ``limit`` bytes: a client can
    make us hold at most ``limit`` bytes, never what it chooses to send; and all of it within ``within`` seconds."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(
            StatusCode.POST_DATA_INVALID,
            f"POST Data Is Invalid. The body did not arrive within {within:g} s.",
        ) from None
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        StatusCode.POST_DATA_INVALID, f"POST Data Is Invalid. The body is larger than {limit} bytes."
    )


async def json_array(request: Request, max_items: int | None = None) -> list[Any]:
    """The POST body as a list of tasks: 40502 when empty, 40503 when it is not JSON or not tasks or too
    large, 40006 (for the whole post, before any per-task work) when it has more than ``max_items``."""
    ctx = context(request)
    raw = await read_body(request, ctx.max_body_bytes, ctx.body_timeout)
    if not raw.strip():
        raise ApiError(StatusCode.POST_DATA_EMPTY)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(StatusCode.POST_DATA_INVALID) from None
    if isinstance(body, dict):  # a single task object, as some gateways send it
        body = [body]
    if not isinstance(body, list):
        raise ApiError(StatusCode.POST_DATA_INVALID)
    if not body:
        raise ApiError(StatusCode.POST_DATA_EMPTY)
    if len(body) > (ctx.service.config.max_tasks_per_post if max_items is None else max_items):
        raise ApiError(StatusCode.TOO_MANY_TASKS)
    return body


@routes.add(LLM + "/task_post", "POST")
async def task_post(request: Request) -> Response:
    started = time.perf_counter()
    se = request.path_params["se"]
    ctx, account = await _begin(request, se, "task_post")
    body = await json_array(request)
    return render.ok(await ctx.service.post(account, se, body, started), started)


@routes.add(LLM + "/live", "POST")
async def live(request: Request) -> Response:
    started = time.perf_counter()
    se = request.path_params["se"]
    ctx, account = await _begin(request, se, "live")
    body = await json_array(request)
    if len(body) > 1:
        raise ApiError(StatusCode.ONE_TASK_ONLY)
    return render.ok([await ctx.service.live(account, se, body[0], started)], started)


@routes.add(LLM + "/task_get/{task_id}", "GET")
async def task_get(request: Request) -> Response:
    started = time.perf_counter()
    se, task_id = request.path_params["se"], request.path_params["task_id"]
    ctx, account = await _begin(request, se, "task_get")
    return render.ok([await ctx.service.get(account, se, task_id, started)], started)


@routes.add(LLM + "/tasks_ready", "GET")
async def tasks_ready(request: Request) -> Response:
    started = time.perf_counter()
    se = request.path_params["se"]
    ctx, account = await _begin(request, se, "tasks_ready")
    return render.ok([await ctx.service.ready(account, se, started)], started)


@routes.add(LLM + "/models", "GET")
async def models(request: Request) -> Response:
    started = time.perf_counter()
    se = request.path_params["se"]
    ctx, _ = await _begin(request, se, "models")
    task = envelope.task(
        started=started,
        path=envelope.path_of(request.url.path),
        data=envelope.base_data(se),
        result=ctx.catalog.listing(se),
    )
    return render.ok([task], started)


@routes.add(envelope.APPENDIX + "/errors", "GET")
async def appendix_errors(request: Request) -> Response:
    started = time.perf_counter()
    await caller(request)
    result = [{"code": int(code), "message": code.message} for code in StatusCode]
    return render.ok([_appendix_task("errors", request, started, result)], started)


@routes.add(envelope.APPENDIX + "/user_data", "GET")
async def appendix_user_data(request: Request) -> Response:
    started = time.perf_counter()
    ctx = context(request)
    account = await caller(request)
    now = time.time()
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    spent_today = await ctx.store.spending_since(account.id, midnight)
    spent_minute = await ctx.store.spending_since(account.id, now - 60)
    topped_up = await ctx.store.topped_up(account.id)
    limit = float(ctx.limiter.item.amount)
    result = [
        {
            "login": account.login,
            "timezone": account.timezone,
            "rates": {
                "limits": {"day": {"total": None}, "minute": {"total": limit}},
                "statistics": {
                    "day": {"total": None},
                    "minute": {"total": float(await ctx.limiter.used(account.id))},
                },
            },
            "money": {
                "total": to_usd(topped_up),
                "balance": to_usd(account.balance),
                "limits": {"day": {"total": None}, "minute": {"total": None}},
                "statistics": {
                    "day": {"total": to_usd(spent_today), "total_ai_optimization": to_usd(spent_today)},
                    "minute": {"total": to_usd(spent_minute), "total_ai_optimization": to_usd(spent_minute)},
                },
            },
            "price": None,
        }
    ]
    return render.ok([_appendix_task("user_data", request, started, result)], started)


def _appendix_task(function: str, request: Request, started: float, result: list[Any]) -> dict[str, Any]:
    return envelope.task(
        started=started,
        path=envelope.path_of(request.url.path),
        data=envelope.appendix_data(function),
        result=result,
    )


@routes.add("/healthz", "GET")
async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return render.json_response({"status": "ok"})


@routes.add("/readyz", "GET")
async def readyz(request: Request) -> Response:
    """Readiness: the database answers, its schema is this code's newest migration, and a worker (in this
    process or any other) has sent a heartbeat lately, so tasks posted here will run. 503 otherwise, saying
    which (load balancers stop sending requests here)."""
    ctx = context(request)
    try:
        revision = await ctx.store.schema_revision()
        beats = await ctx.store.worker_heartbeats()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return render.json_response({"status": "unavailable", "database": type(exc).__name__}, 503)
    since = time.time() - ctx.heartbeat_window
    workers = sum(1 for at in beats.values() if at >= since)
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "migrations": "current"
        if revision == ctx.schema_head
        else f"at {revision}, code has {ctx.schema_head}",
        "workers": workers,
    }
    problems = []
    if revision != ctx.schema_head:
        problems.append("the database schema is not this code's (run `llm-responses migrate`)")
    if not workers:
        problems.append(
            f"no worker has sent a heartbeat in the last {ctx.heartbeat_window:g} s: tasks posted here would "
            "wait (this process serves the API only; start `llm-responses worker`)"
            if ctx.service_only
            else f"this process's worker has sent no heartbeat in the last {ctx.heartbeat_window:g} s"
        )
    if problems:
        return render.json_response({**body, "status": "unavailable", "reasons": problems}, 503)
    return render.json_response(body)
