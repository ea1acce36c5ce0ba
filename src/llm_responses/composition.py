"""Wiring: settings → the concrete store, providers, search backend, limits and the running service.

The one module that knows every concrete class. Everything below it receives what it needs already built
(a ``Store``, a ``Catalog``, providers keyed by name), so swapping SQLite for PostgreSQL, OpenAI for a local
server, or the local index for SearXNG is a setting, decided here and nowhere else.

Providers come from the vendors (``vendors/``: OpenAI, Anthropic, Google, Perplexity, each through its
official SDK, each built when its key or base URL is set), the OpenAI-compatible servers of ``[[providers]]``
(Responses or Chat Completions) and the embedded model. Every provider without hosted search is wrapped in
``SearchGroundedProvider`` when a search backend is configured; without one, its models do not offer
``web_search``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from llm_responses.accounts import key_file
from llm_responses.accounts.credentials import Hasher
from llm_responses.analysis.mentions import Entity, entities_of
from llm_responses.api.auth import Authenticator
from llm_responses.api.http_server import GuardedHttpTools, HttpLimits
from llm_responses.api.ratelimit import RateLimiter
from llm_responses.api.routes import ApiContext
from llm_responses.batching.batcher import Batcher
from llm_responses.catalog import Catalog
from llm_responses.config import Settings
from llm_responses.config_tables import QueryPlanner
from llm_responses.core import Provider, SearchBackend
from llm_responses.errors import ConfigError
from llm_responses.heavy_reads import HeavyReads
from llm_responses.observability.bundle import Observability
from llm_responses.observability.scrape import Scrape
from llm_responses.redaction import Redactor
from llm_responses.search.grounded import SearchGroundedProvider
from llm_responses.store import Store
from llm_responses.store.connection import WaitObserver
from llm_responses.store.migrate import head_revision
from llm_responses.store.postgres_database import PostgresDatabase, is_postgres_url
from llm_responses.store.sqlite_database import SqliteDatabase
from llm_responses.tasks import maintenance
from llm_responses.tasks.indexer import EntitiesOf, Indexer
from llm_responses.tasks.live_slots import InProcessLiveSlots, LiveSlots, RedisLiveSlots
from llm_responses.tasks.mentions_service import MentionsService
from llm_responses.tasks.runner import Runner
from llm_responses.tasks.service import TaskService
from llm_responses.tasks.worker import Worker
from llm_responses.tracking.scheduler import Scheduler
from llm_responses.tracking.service import TrackingService
from llm_responses.tracking.spec import ProjectSpec
from llm_responses.vendors import VENDORS, compatible, local
from llm_responses.webhooks.digests import Digests
from llm_responses.webhooks.dispatcher import Dispatcher, Payload
from llm_responses.webhooks.guard import AddressGuard

log = logging.getLogger(__name__)


def make_store(settings: Settings, waits: WaitObserver | None = None) -> Store:
    """The store; ``waits``: told how long calls wait for a connection or a lane (metrics)."""
    url = settings.database_url
    heavy, wait = settings.heavy_read_connections, settings.heavy_read_wait_seconds
    if url.startswith("sqlite:///"):
        sqlite = SqliteDatabase(
            url,
            synchronous=settings.sqlite_synchronous,
            heavy_connections=heavy,
            heavy_wait=wait,
            waits=waits,
        )
        return Store(sqlite)
    if is_postgres_url(url):
        database = PostgresDatabase(
            url,
            pool_size=settings.postgres_pool_size,
            command_timeout=settings.postgres_command_timeout_seconds,
            heavy_connections=heavy,
            heavy_wait=wait,
            waits=waits,
        )
        return Store(database)
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


def genai_names(settings: Settings) -> dict[str, tuple[str, str]]:
    """Each provider's (``gen_ai.provider.name``, ``gen_ai.operation.name``) for traces: its vendor's
    declaration; a ``[[providers]]`` server by its own name."""
    genai = {v.name: (v.genai_provider or v.name, v.genai_operation) for v in VENDORS}
    genai |= {p.name: (p.name, "chat") for p in settings.providers}
    genai[local.NAME] = (local.GENAI_PROVIDER, "chat")
    return genai


def make_observability(settings: Settings) -> Observability:
    """Metrics, and traces when ``LLM_RESPONSES_TRACING`` is on."""
    return Observability.create(tracing=settings.tracing, genai=genai_names(settings))


def heartbeat_window(settings: Settings) -> float:
    """How old a worker's heartbeat may be and still count (readiness, metrics): three beats."""
    return 3 * settings.worker_heartbeat_seconds


def process_owner() -> str:
    """Who holds a lease: unique per process, readable in the database."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Running:
    """Everything one process runs, wired together: what the HTTP layer and the worker command use."""

    api: ApiContext
    worker: Worker
    dispatcher: Dispatcher
    scheduler: Scheduler  # the tracker's loop (running only where the worker runs)
    indexer: Indexer  # the mentions index's (running only where the worker runs)


@asynccontextmanager
async def running(
    settings: Settings, *, work: bool, observability: Observability | None = None
) -> AsyncIterator[Running]:
    """Open the store, build providers, service, worker and dispatcher; with ``work`` also run the worker and
    the webhook dispatcher. Maintenance (leases, deadlines, retention) runs in every process: idempotent.
    ``observability`` (made from the settings when None) is closed when this ends."""
    obs = observability if observability is not None else make_observability(settings)
    metrics = obs.metrics
    store = make_store(settings, metrics.db_wait)
    await store.open()
    setup = build_providers(settings)
    providers = setup.providers
    catalog = Catalog.build(
        [*setup.models, *(m.spec() for m in settings.models)],
        providers=set(providers),
        searchless=setup.searchless,
        hosted=setup.hosted,
        hints={v.name: v.hint for v in VENDORS},
        tool_fees={v.name: v.tool_fees for v in VENDORS if v.tool_fees},
        base_tier_only={v.name for v in VENDORS if not v.long_context_tier},
        batch_rates={
            **{v.name: v.batch_rate for v in VENDORS},
            **{p.name: p.batch_rate for p in settings.providers if p.batch},
        },
        batching=(
            {name for name, p in providers.items() if getattr(p, "batch", None)}
            if settings.task_post_batch == "on"
            else set()
        ),
    )
    if not providers:
        log.warning(
            "no LLM provider configured (OPENAI_API_KEY, [[providers]] or the embedded model): no models are served"
        )
    tariff = settings.tariff()
    runner = Runner(
        catalog,
        providers,
        tariff,
        reasoning_allowance=settings.reasoning_token_allowance,
        redact=Redactor(settings.secrets()),
        metrics=metrics,
        tracing=obs.tracing,
    )
    owner = process_owner()
    guard = AddressGuard.from_setting(settings.webhook_allowlist)
    live_slots = make_live_slots(settings)
    service = TaskService(
        store=store,
        catalog=catalog,
        runner=runner,
        tariff=tariff,
        owner=owner,
        config=settings.service(),
        live_slots=live_slots,
        check_webhook_url=guard.check_without_dns,
    )

    async def postback_payload(account_id: int, task_id: str) -> Payload | None:
        found = await service.webhook_payload(account_id, task_id)
        return Payload(*found) if found else None

    dispatcher = Dispatcher(
        store=store,
        guard=guard,
        render=postback_payload,
        owner=owner,
        config=settings.webhooks(),
        metrics=metrics,
    )
    indexer = Indexer(store, project_entities(store, entities_of(settings.brands)), owner)
    worker = Worker(
        store=store,
        runner=runner,
        owner=owner,
        config=settings.worker(),
        on_finished=dispatcher.notify,  # a finished task may have a webhook due
    )
    service.on_tasks_created = worker.notify
    tracking = TrackingService(store=store, tasks=service, reindex=store.enqueue_reindex)
    scheduler = Scheduler(service=tracking, config=settings.tracking(), digests=Digests(store))
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
        heavy_reads=HeavyReads(settings.heavy_reads_per_account),
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.http_body_timeout_seconds,
        scrape=Scrape(store, metrics, heartbeat_window=heartbeat_window(settings)),
        metrics_token=settings.metrics_token,
        schema_head=await asyncio.to_thread(head_revision),
        heartbeat_window=heartbeat_window(settings),
        service_only=not work,
        tracking=tracking,
        mentions=MentionsService(store),
    )
    obs.sampler.add(metrics.live_slots, lambda: live_slots.in_use)
    if work:
        obs.sampler.add(metrics.tasks_in_flight, lambda: worker.in_flight)
        obs.sampler.add(metrics.deliveries_in_flight, lambda: dispatcher.in_flight)
    stop = asyncio.Event()
    windows = maintenance.Windows(
        deadline_seconds=settings.task_deadline_hours * 3600,
        retention_seconds=settings.result_retention_days * 86400,
    )
    background = [
        asyncio.create_task(
            maintenance.run_periodically(store, windows, settings.maintenance_interval_seconds, stop)
        ),
        asyncio.create_task(obs.sampler.run(stop)),
    ]
    if work:
        await store.subscribe(worker.notify, dispatcher.notify)  # other processes' new work wakes us
        await worker.announce()  # alive before this process serves: readiness needs no first beat
        background.append(
            asyncio.create_task(worker.run(stop, shutdown_grace=settings.shutdown_grace_seconds))
        )
        background.append(asyncio.create_task(dispatcher.run(stop)))
        background.append(asyncio.create_task(indexer.run(stop)))
        background.append(asyncio.create_task(scheduler.run(stop)))
        if settings.task_post_batch == "on":
            batcher = Batcher(
                store=store,
                runner=runner,
                owner=owner,
                config=settings.batching(),
                on_finished=dispatcher.notify,
            )
            background.append(asyncio.create_task(batcher.run(stop)))
    try:
        yield Running(api=api, worker=worker, dispatcher=dispatcher, scheduler=scheduler, indexer=indexer)
    finally:
        stop.set()  # the worker stops claiming, finishes what runs within the grace, requeues the rest
        await asyncio.gather(*background, return_exceptions=True)
        await setup.aclose()
        if isinstance(live_slots, RedisLiveSlots):
            await live_slots.aclose()
        await api.limiter.aclose()
        await store.close()
        obs.close()


def project_entities(store: Store, server: list[Entity]) -> EntitiesOf:
    """The brands an answer is read for: its project's as the project says now, else the server's."""

    async def entities_of(project_id: int) -> list[Entity]:
        if not project_id:
            return server
        project = await store.tracking.project_by_id(project_id)
        return ProjectSpec.from_json(project.spec_json).entities() if project else []

    return entities_of


# -- providers and search ------------------------------------------------------------------------


@dataclass
class Setup:
    providers: dict[str, Provider] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)  # catalog specs the providers add
    search: SearchBackend | None = None
    # providers whose models cannot search: no hosted search and no backend to lend them one
    searchless: set[str] = field(default_factory=set)
    hosted: set[str] = field(default_factory=set)  # providers whose models search on the vendor's side

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
        if self.search is not None:
            await self.search.aclose()


def make_search(settings: Settings) -> SearchBackend | None:
    backend = settings.search_backend
    if backend == "none":
        return None
    if backend == "local":
        from llm_responses.search.local_index import LocalIndex

        return LocalIndex(settings.search_index_path)
    if backend == "searxng":
        if not settings.searxng_url:
            raise ConfigError("search_backend = searxng needs LLM_RESPONSES_SEARXNG_URL")
        from llm_responses.search.searxng import SearxngBackend

        return SearxngBackend(settings.searxng_url, timeout=settings.search_timeout_seconds)
    raise ConfigError(f"unknown search_backend {backend!r}: use local, searxng or none")


def build_providers(settings: Settings) -> Setup:
    """Every configured vendor's provider, the ``[[providers]]`` servers and the embedded model; each one
    without hosted search wrapped in ``SearchGroundedProvider`` when a search backend is configured."""
    setup = Setup(search=make_search(settings))
    planners: dict[str, QueryPlanner] = {}
    raw: dict[str, Provider] = {v.name: v.build(settings) for v in VENDORS if v.configured(settings)}
    for entry in settings.providers:
        name, provider, planner = compatible.build(entry)
        if name in raw:
            raise ConfigError(f"provider {name!r} is configured twice")
        raw[name] = provider
        planners[name] = planner
    embedded = local.build(settings, others=bool(raw))
    if embedded is not None:
        provider, specs = embedded
        raw[local.NAME] = provider
        planners[local.NAME] = settings.local_model_planner
        setup.models.extend(specs)
    for name, provider in raw.items():
        if provider.hosted_search:
            setup.hosted.add(name)
        if not provider.hosted_search and setup.search is None:
            setup.searchless.add(name)
        elif not provider.hosted_search and setup.search is not None:
            provider = SearchGroundedProvider(
                provider,
                setup.search,
                sources=settings.search_sources,
                planner=planners.get(name, "rule"),
                search_timeout=settings.search_timeout_seconds,
            )
        setup.providers[name] = provider
    return setup


# -- the HTTP server ------------------------------------------------------------------------------


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        max_header_bytes=settings.http_max_header_bytes,
        header_timeout=settings.http_header_timeout_seconds,
        body_timeout=settings.http_body_timeout_seconds,
        max_connections=settings.http_max_connections,
        max_connections_per_address=settings.http_max_connections_per_address,
        linger_seconds=settings.http_linger_seconds,
        linger_bytes=settings.http_linger_bytes,
    )


def server_config(app: Any, settings: Settings, **extra: Any) -> uvicorn.Config:
    """The uvicorn configuration ``serve`` runs: the guarded protocol with the settings' limits."""
    protocol = type(
        "ConfiguredHttpTools", (GuardedHttpTools,), {"limits": http_limits(settings), "addresses": {}}
    )
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=int(settings.http_keep_alive_seconds),
        **extra,
    )
