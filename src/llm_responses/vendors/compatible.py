"""Any OpenAI-compatible server an operator configures (``[[providers]]``: vLLM, Ollama, llama.cpp, LM
Studio, gateways), through the official ``openai`` SDK: the Responses API or Chat Completions."""

from __future__ import annotations

import os
from typing import Any

from llm_responses.config_tables import ProviderConfig, QueryPlanner
from llm_responses.core import Provider
from llm_responses.providers.openai_chat import OpenAIChatProvider
from llm_responses.providers.openai_responses import OpenAIResponsesProvider
from llm_responses.vendors.openai import OpenAIProvider, batch_client


def build(entry: ProviderConfig) -> tuple[str, Provider, QueryPlanner]:
    """One ``[[providers]]`` table → (name, provider, who plans its search queries)."""
    common: dict[str, Any] = {
        "api_key": key_of(entry),
        "base_url": entry.base_url,
        "timeout": entry.timeout,
        "max_retries": entry.max_retries,
        "name": entry.name,
        "trust_reply_model": entry.trust_reply_model,
    }
    provider: Provider
    if entry.api == "responses" and entry.batch:  # a gateway to OpenAI, with its Batch API too
        batching = OpenAIProvider(hosted_search=entry.hosted_search, **common)
        batching.batch = batch_client(batching)
        provider = batching
    elif entry.api == "responses":
        provider = OpenAIResponsesProvider(hosted_search=entry.hosted_search, **common)
    else:
        provider = OpenAIChatProvider(**common)
    return entry.name, provider, entry.query_planner


def key_of(entry: ProviderConfig) -> str | None:
    """Its key: given in the table, or read from the environment variable the table names."""
    return entry.api_key or (os.environ.get(entry.api_key_env) if entry.api_key_env else None)
