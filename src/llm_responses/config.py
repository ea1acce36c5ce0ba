"""Settings, built once at start-up and passed down (no module-level globals).

Sources, highest first: constructor arguments, environment (``LLM_RESPONSES_*``, plus the vendors' own
names such as ``OPENAI_API_KEY``), the TOML file named by ``LLM_RESPONSES_CONFIG``, defaults. Each vendor's
settings are declared in its module (``vendors/``) and joined in here. Every field is documented in
docs/configuration.md (a test keeps the two in step).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from llm_responses.billing.money import to_nanos
from llm_responses.billing.pricing import Tariff
from llm_responses.config_tables import BrandConfig, ModelConfig, ProviderConfig
from llm_responses.config_views import BatchConfig, ServiceConfig, TrackingConfig, WebhookConfig, WorkerConfig
from llm_responses.vendors import AllVendorSettings, compatible


class Settings(AllVendorSettings):
    model_config = SettingsConfigDict(env_prefix="LLM_RESPONSES_", extra="ignore", populate_by_name=True)

    # storage
    database_url: str = "sqlite:///llm-responses.db"
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"  # for promised commits
    secret_key: str | None = None
    auth_failures_per_login: int = 10  # failed logins a minute per login and client address, then refused
    auth_failures_per_address: int = 100  # failed logins a minute per client address
    secret_key_file: str | None = (
        None  # default: <sqlite database>.key, or ./llm-responses.key for PostgreSQL
    )
    postgres_pool_size: int = 10  # connections per process
    redis_url: str | None = None  # shared rate and live-concurrency limits across API processes
    redis_timeout_seconds: float = 0.5  # per Redis call; a Redis slower than this is bypassed (fail open)
    postgres_command_timeout_seconds: float = 30.0  # per statement and per wait for a pooled connection
    # LLM Mentions reads and the dashboard's aggregates: connections of their own, a share per account
    heavy_read_connections: int = 2  # SQLite: reader threads; PostgreSQL: a pool apart from the main one
    heavy_read_wait_seconds: float = 10.0  # a heavy read waits this long for one of them, then 40209
    heavy_reads_per_account: int = 2  # at once per account and API process; more are answered 40209

    # HTTP
    access_log: bool = True  # one INFO line per request (method, path, status, ms, account)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"  # WARNING quiets the access log too
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line (observability/logs.py)
    # /metrics: a bearer token, or (unset) loopback clients only
    metrics_token: str | None = None
    # OpenTelemetry traces (the [otel] extra), configured by the standard OTEL_* environment
    tracing: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    # longer than any proxy's idle timeout, so the proxy, not us, closes idle connections (no reset races)
    http_keep_alive_seconds: float = 75.0
    http_max_header_bytes: int = 64 * 1024  # request line + headers; more is answered 431
    http_header_timeout_seconds: float = (
        10.0  # a connection's (or request's) headers must be complete by then
    )
    http_body_timeout_seconds: float = 30.0  # a POST body must have arrived by then (after its headers)
    http_max_connections: int = 4096  # open client connections per process; more get a 503 at once
    # per client address (IPv6: per /64); behind a reverse proxy, every connection is the proxy's: raise it
    http_max_connections_per_address: int = 1024
    # after answering a request whose body is still arriving: read and drop the rest this long / this much
    http_linger_seconds: float = 10.0
    http_linger_bytes: int = 64 << 20

    # extra or overriding catalog entries (TOML: [[models]] tables; see docs/configuration.md)
    models: list[ModelConfig] = Field(default_factory=list)
    # OpenAI-compatible servers (TOML: [[providers]] tables; see docs/configuration.md)
    providers: list[ProviderConfig] = Field(default_factory=list)
    # brands and competitors tracked in answers (TOML: [[brands]] tables; `llm-responses mentions`)
    brands: list[BrandConfig] = Field(default_factory=list)

    # web search for models without their own: "local" (SQLite FTS5 index), "searxng" or "none"
    search_backend: Literal["local", "searxng", "none"] = "local"
    search_index_path: str = "llm-responses-index.db"
    searxng_url: str | None = None
    search_sources: int = 3
    search_timeout_seconds: float = 10.0

    # worker
    worker_enabled: bool = True
    worker_concurrency: int = 16
    worker_lease_seconds: float = 60.0
    worker_poll_seconds: float = 1.0
    # each worker records a heartbeat this often; readiness wants one younger than 3 of these
    worker_heartbeat_seconds: float = 10.0
    task_max_attempts: int = 3
    task_retry_delay_seconds: float = 30.0
    shutdown_grace_seconds: float = 10.0  # on SIGTERM: finish running tasks this long, then requeue the rest

    # webhooks (postback_url / pingback_url)
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 6
    webhook_retry_horizon_seconds: float = 3600.0
    webhook_concurrency: int = 256
    webhook_poll_seconds: float = 1.0
    webhook_secret_cache_seconds: float = 60.0  # a rotated secret signs deliveries at most this much later
    webhook_allowlist: str | None = (
        None  # "127.0.0.1/32,hooks.internal": internal receivers an operator allows
    )

    # limits and windows (DataForSEO's documented values)
    max_tasks_per_post: int = 100
    max_body_bytes: int = 1 << 20  # a POST body larger than this is refused while it is being read
    live_timeout_seconds: float = 120.0
    live_max_concurrent: int = 30
    rate_limit_per_minute: int = 2000
    task_deadline_hours: float = 72.0
    result_retention_days: float = 30.0
    tasks_ready_days: float = 3.0
    tasks_ready_limit: int = 1000
    maintenance_interval_seconds: float = 60.0

    # prices, USD
    price_task_post_base: Decimal = Decimal("0.0002")
    price_task_post_prepayment: Decimal = Decimal("0.01")
    price_live_base: Decimal = Decimal("0.0006")
    # what a task holds while it runs: the model's worst case (at least the prepayment) or the flat prepayment
    hold_policy: Literal["worst_case", "flat"] = "worst_case"
    # a flat fee per hosted web search; unset: by tool and model family (0.025 reproduces DataForSEO's live-page example)
    price_web_search_call: Decimal | None = None
    # output tokens a reasoning model may spend beyond the caller's max_output_tokens. OpenAI counts reasoning
    # tokens in max_output_tokens, and gpt-5/o-series answers need 2-5k output tokens of which 2-4k are
    # reasoning, so the caller's figure sent as is cuts or empties real answers. DataForSEO documents that
    # output "may exceed" max_output_tokens for reasoning models; what was used is billed (docs/compatibility.md)
    reasoning_token_allowance: int = 8192

    # vendor batch APIs for task_post (the Standard method at the vendors' batch prices, docs/configuration.md)
    task_post_batch: Literal["off", "on"] = "off"
    batch_max_age_seconds: float = 60.0  # queued tasks wait this long to be gathered into a vendor batch
    batch_poll_seconds: float = 2.0  # how often each worker's batcher gathers and polls
    batch_lease_seconds: float = 120.0  # a process that died holding a batch gives it up after this long

    # tracking projects (tracking/): how often each worker's scheduler looks for due runs and finished ones
    tracking_poll_seconds: float = Field(default=10.0, gt=0, le=3600)

    @field_validator("search_backend", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value  # "OFF" has always meant "off"

    def updated(self, changes: Mapping[str, Any]) -> Settings:
        """A copy with ``changes``, validated like the original (``model_copy`` would not validate)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    # -- the views each part is built from (passed whole, not fanned out into keyword arguments) --

    def service(self) -> ServiceConfig:
        return ServiceConfig(
            max_tasks_per_post=self.max_tasks_per_post,
            live_timeout_seconds=self.live_timeout_seconds,
            lease_seconds=self.worker_lease_seconds,
            retention_seconds=self.result_retention_days * 86400,
            ready_window_seconds=self.tasks_ready_days * 86400,
            ready_limit=self.tasks_ready_limit,
            hold_policy=self.hold_policy,
            search_tool=self.openai_search_tool,
            reasoning_allowance=self.reasoning_token_allowance,
            batch=self.task_post_batch == "on",
        )

    def tariff(self) -> Tariff:
        return Tariff(
            task_post_base=to_nanos(self.price_task_post_base),
            task_post_prepayment=to_nanos(self.price_task_post_prepayment),
            live_base=to_nanos(self.price_live_base),
            web_search_call=None
            if self.price_web_search_call is None
            else to_nanos(self.price_web_search_call),
        )

    def tracking(self) -> TrackingConfig:
        return TrackingConfig(poll_seconds=self.tracking_poll_seconds)

    def batching(self) -> BatchConfig:
        return BatchConfig(
            max_age_seconds=self.batch_max_age_seconds,
            poll_seconds=self.batch_poll_seconds,
            lease_seconds=self.batch_lease_seconds,
        )

    def secrets(self) -> list[str]:
        """Every secret value this server was configured with: kept out of logs and stored errors."""
        values = [getattr(self, name) for name in type(self).model_fields if name.endswith("_api_key")]
        values += [compatible.key_of(p) for p in self.providers]
        values += [self.secret_key, self.metrics_token]
        values += [urlsplit(url).password for url in (self.database_url, self.redis_url) if url]
        return [v for v in values if isinstance(v, str) and v]

    def worker(self) -> WorkerConfig:
        return WorkerConfig(
            concurrency=self.worker_concurrency,
            lease_seconds=self.worker_lease_seconds,
            poll_seconds=self.worker_poll_seconds,
            max_attempts=self.task_max_attempts,
            retry_delay_seconds=self.task_retry_delay_seconds,
            heartbeat_seconds=self.worker_heartbeat_seconds,
        )

    def webhooks(self) -> WebhookConfig:
        return WebhookConfig(
            concurrency=self.webhook_concurrency,
            timeout_seconds=self.webhook_timeout_seconds,
            max_attempts=self.webhook_max_attempts,
            retry_horizon_seconds=self.webhook_retry_horizon_seconds,
            poll_seconds=self.webhook_poll_seconds,
            secret_cache_seconds=self.webhook_secret_cache_seconds,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("LLM_RESPONSES_CONFIG")
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)
