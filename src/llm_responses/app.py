"""``create_app(settings)``: the one place that picks the concrete store, providers, search and worker."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from llm_responses import __version__
from llm_responses.accounts import key_file
from llm_responses.accounts.credentials import Hasher
from llm_responses.api import errors as api_errors
from llm_responses.api import openapi
from llm_responses.api.access_log import AccessLog
from llm_responses.api.auth import Authenticator
from llm_responses.api.ratelimit import RateLimiter
from llm_responses.api.routes import ApiContext
from llm_responses.api.routes import routes as api_routes
from llm_responses.api.webhook_routes import routes as webhook_routes
from llm_responses.billing.money import to_nanos
from llm_responses.billing.pricing import Tariff
from llm_responses.config import Settings
from llm_responses.providers import registry
from llm_responses.providers.catalog import Catalog
from llm_responses.store.base import Store
from llm_responses.tasks import maintenance
from llm_responses.tasks.live_slots import InProcessLiveSlots, LiveSlots, RedisLiveSlots
from llm_responses.tasks.runner import Runner
from llm_responses.tasks.service import TaskService
from llm_responses.tasks.worker import Worker
from llm_responses.webhooks.dispatcher import Dispatcher, Payload
from llm_responses.webhooks.guard import AddressGuard

log = logging.getLogger(__name__)


def make_store(settings: Settings) -> Store:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        from llm_responses.store.sqlite import SqliteStore

        return SqliteStore(url, synchronous=settings.sqlite_synchronous)
    from llm_responses.store.postgres import PostgresStore, is_postgres_url

    if is_postgres_url(url):
        return PostgresStore(
            url,
            pool_size=settings.postgres_pool_size,
            command_timeout=settings.postgres_command_timeout_seconds,
        )
    raise ValueError(
        f"unsupported LLM_RESPONSES_DATABASE_URL {url!r}: use sqlite:///path.db or postgresql://..."
    )


async def make_hasher(store: Store, settings: Settings) -> Hasher:
    """Keyed hashes need a key that outlives the process and stays out of the database (``key_file``)."""
    key = settings.secret_key
    if not key:
        path = (
            Path(settings.secret_key_file)
            if settings.secret_key_file
            else key_file.default_key_path(settings.database_url)
        )
        legacy = await store.meta_get_or_set(key_file.LEGACY_META_KEY, "")
        key = key_file.read_or_create(path, initial=legacy or None)
        if legacy:
            await store.meta_set(key_file.LEGACY_META_KEY, "")  # moved to the file: no copy in the database
            log.warning(
                "the credential key was moved from the database to %s: keep that file with backups", path
            )
    fingerprint = key_file.fingerprint(key)
    if await store.meta_get_or_set(key_file.FINGERPRINT_META_KEY, fingerprint) != fingerprint:
        raise key_file.KeyMismatch(
            "the credential key (LLM_RESPONSES_SECRET_KEY or the key file) is not the one this database's "
            "credentials were made with: every login would fail. Use the original key file or value."
        )
    return Hasher(key.encode("utf-8"))


def make_live_slots(settings: Settings) -> LiveSlots:
    if settings.redis_url:
        hold = settings.live_timeout_seconds + 30  # a slot outlives no live call, even one whose process died
        return RedisLiveSlots(
            settings.redis_url,
            settings.live_max_concurrent,
            hold_seconds=hold,
            redis_timeout=settings.redis_timeout_seconds,
        )
    return InProcessLiveSlots(settings.live_max_concurrent)


def make_tariff(settings: Settings) -> Tariff:
    return Tariff(
        task_post_base=to_nanos(settings.price_task_post_base),
        task_post_prepayment=to_nanos(settings.price_task_post_prepayment),
        live_base=to_nanos(settings.price_live_base),
        web_search_call=None
        if settings.price_web_search_call is None
        else to_nanos(settings.price_web_search_call),
    )


def process_owner() -> str:
    """Who holds a lease: unique per process, readable in the database."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Running:
    """Everything one process runs, wired together: what the HTTP layer and the worker command use."""

    api: ApiContext
    worker: Worker
    dispatcher: Dispatcher


@asynccontextmanager
async def running(settings: Settings, *, work: bool) -> AsyncIterator[Running]:
    """Open the store, build providers, service, worker and dispatcher; with ``work`` also run the worker and
    the webhook dispatcher. Maintenance (leases, deadlines, retention) runs in every process: idempotent."""
    store = make_store(settings)
    await store.open()
    setup = registry.build(settings)
    providers = setup.providers
    catalog = Catalog.build(
        [*setup.models, *settings.models], providers=set(providers), searchless=setup.searchless
    )
    if not providers:
        log.warning(
            "no LLM provider configured (OPENAI_API_KEY, [[providers]] or the embedded model): no models are served"
        )
    tariff = make_tariff(settings)
    runner = Runner(catalog, providers, tariff, reasoning_allowance=settings.reasoning_token_allowance)
    owner = process_owner()
    guard = AddressGuard.from_setting(settings.webhook_allowlist)
    live_slots = make_live_slots(settings)
    service = TaskService(
        store=store,
        catalog=catalog,
        runner=runner,
        tariff=tariff,
        owner=owner,
        max_tasks_per_post=settings.max_tasks_per_post,
        live_timeout=settings.live_timeout_seconds,
        live_slots=live_slots,
        lease_seconds=settings.worker_lease_seconds,
        retention_seconds=settings.result_retention_days * 86400,
        ready_window_seconds=settings.tasks_ready_days * 86400,
        ready_limit=settings.tasks_ready_limit,
        check_webhook_url=guard.check_without_dns,
        hold_policy=settings.hold_policy,
        search_tool=settings.openai_search_tool,
        reasoning_allowance=settings.reasoning_token_allowance,
    )

    async def postback_payload(account_id: int, task_id: str) -> Payload | None:
        found = await service.webhook_payload(account_id, task_id)
        return Payload(*found) if found else None

    dispatcher = Dispatcher(
        store=store,
        guard=guard,
        render=postback_payload,
        owner=owner,
        concurrency=settings.webhook_concurrency,
        timeout=settings.webhook_timeout_seconds,
        max_attempts=settings.webhook_max_attempts,
        retry_horizon=settings.webhook_retry_horizon_seconds,
        poll_seconds=settings.webhook_poll_seconds,
    )
    worker = Worker(
        store=store,
        runner=runner,
        owner=owner,
        concurrency=settings.worker_concurrency,
        lease_seconds=settings.worker_lease_seconds,
        poll_seconds=settings.worker_poll_seconds,
        max_attempts=settings.task_max_attempts,
        retry_delay=settings.task_retry_delay_seconds,
        on_finished=dispatcher.notify,  # a finished task may have a webhook due
    )
    service.on_tasks_created = worker.notify
    api = ApiContext(
        service=service,
        auth=Authenticator(
            store,
            await make_hasher(store, settings),
            per_login=settings.auth_failures_per_login,
            per_address=settings.auth_failures_per_address,
        ),
        limiter=RateLimiter(
            settings.rate_limit_per_minute, settings.redis_url, redis_timeout=settings.redis_timeout_seconds
        ),
        catalog=catalog,
        store=store,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.http_body_timeout_seconds,
    )
    stop = asyncio.Event()
    windows = maintenance.Windows(
        deadline_seconds=settings.task_deadline_hours * 3600,
        retention_seconds=settings.result_retention_days * 86400,
    )
    background = [
        asyncio.create_task(
            maintenance.run_periodically(store, windows, settings.maintenance_interval_seconds, stop)
        )
    ]
    if work:
        await store.subscribe(worker.notify, dispatcher.notify)  # other processes' new work wakes us
        background.append(
            asyncio.create_task(worker.run(stop, shutdown_grace=settings.shutdown_grace_seconds))
        )
        background.append(asyncio.create_task(dispatcher.run(stop)))
    try:
        yield Running(api=api, worker=worker, dispatcher=dispatcher)
    finally:
        stop.set()  # the worker stops claiming, finishes what runs within the grace, requeues the rest
        await asyncio.gather(*background, return_exceptions=True)
        await setup.aclose()
        if isinstance(live_slots, RedisLiveSlots):
            await live_slots.aclose()
        await api.limiter.aclose()
        await store.close()


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
    async with running(settings, work=True):
        log.info("worker started (concurrency %d)", settings.worker_concurrency)
        await stop.wait()
        log.info("stopping: finishing running tasks for up to %gs", settings.shutdown_grace_seconds)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(settings, work=settings.worker_enabled) as r:
            app.state.api, app.state.worker, app.state.dispatcher = r.api, r.worker, r.dispatcher
            yield

    app = FastAPI(
        title="llm-responses",
        version=__version__,
        description="Self-hosted, wire-compatible DataForSEO AI Optimization / LLM Responses API",
        lifespan=lifespan,
        # no 307 to the slashless path: its Location would be built from the client's Host header
        redirect_slashes=False,
    )
    api_errors.install(app)
    if settings.access_log:
        app.add_middleware(AccessLog)
    app.router.routes.extend([*api_routes, *webhook_routes])
    app.openapi_schema = openapi.install(app.openapi(), [*api_routes, *webhook_routes])
    return app
