"""OpenAI: the Responses API with hosted web search, through the official ``openai`` SDK (the shared
``providers/openai_responses.py``, which any Responses-API server uses too). Serves ``chat_gpt``.

Its web search fee comes from the price database and OpenAI's published table, by tool and model family
(billing/web_search_fees.py), so it declares no flat fees of its own.

Its Batch API (the Standard method at half price) is ``provider.batch`` (``providers/openai_batch.py``): one
model per input file (``group``), 50,000 lines and 200 MB per file. Requests with web search go direct:
whether the Batch API runs the hosted ``web_search`` tool on ``/v1/responses`` lines is not confirmed by
OpenAI's documentation. A line refused for ``reasoning.summary`` (an unverified organization) goes direct,
where the provider retries it without summaries and remembers; later lines are encoded without them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import AliasChoices, Field

from llm_responses.config_tables import UPSTREAM_RETRIES, UPSTREAM_TIMEOUT
from llm_responses.core import BatchClient, LlmRequest, Provider
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.openai_batch import OpenAIShapedBatch
from llm_responses.providers.openai_responses import OpenAIResponsesProvider
from llm_responses.vendors.vendor import Vendor, VendorSettings

BASE_URL = "https://api.openai.com/v1"


class OpenAISettings(VendorSettings):
    openai_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LLM_RESPONSES_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"),
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LLM_RESPONSES_OPENAI_BASE_URL", "OPENAI_BASE_URL", "openai_base_url"),
    )
    openai_timeout: float = UPSTREAM_TIMEOUT
    openai_max_retries: int = UPSTREAM_RETRIES
    openai_search_tool: Literal["web_search", "web_search_preview"] = "web_search"


class OpenAIProvider(OpenAIResponsesProvider):
    """OpenAI's own API: the Responses API provider, with its Batch API as ``batch``."""

    batch: BatchClient | None = None  # ``build`` attaches it


def batch_client(provider: OpenAIResponsesProvider) -> OpenAIShapedBatch:
    """OpenAI's Batch API on the provider's own SDK clients (closed with it)."""

    def build_line(request: LlmRequest) -> dict[str, Any]:
        if request.reasoning and not provider.summaries_allowed:
            request = replace(request, reasoning=False)
        return provider.build(request)

    def line_error(error: ProviderError) -> ProviderError | None:
        if error.kind is ErrorKind.INVALID_REQUEST and error.param == "reasoning.summary":
            provider.summaries_allowed = False  # as the direct provider learns it
            return None  # direct: answered there without summaries
        return error

    return OpenAIShapedBatch(
        provider._clients,
        name=provider.name,
        build=build_line,
        parse=provider.parse,
        accepts=lambda request: not request.web_search,
        group=lambda request: request.model,
        line_error=line_error,
    )


def build(s: OpenAISettings) -> Provider:
    provider = OpenAIProvider(
        api_key=s.openai_api_key,
        base_url=s.openai_base_url or BASE_URL,
        timeout=s.openai_timeout,
        max_retries=s.openai_max_retries,
        search_tool=s.openai_search_tool,
    )
    provider.batch = batch_client(provider)
    return provider


VENDOR = Vendor(
    name="openai",
    label="OpenAI",
    key_env="OPENAI_API_KEY",
    default_base_url=BASE_URL,
    engines=frozenset({"chat_gpt"}),
    searches=True,
    configured=lambda s: bool(s.openai_api_key or s.openai_base_url),
    build=build,
)
