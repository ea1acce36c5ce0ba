"""OpenAI: the Responses API with hosted web search, through the official ``openai`` SDK (the shared
``providers/openai_responses.py``, which any Responses-API server uses too). Serves ``chat_gpt``.

Its web search fee comes from the price database and OpenAI's published table, by tool and model family
(billing/web_search_fees.py), so it declares no flat fees of its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from llm_responses.core import Provider
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
    openai_timeout: float = 110.0
    openai_max_retries: int = 2
    openai_search_tool: Literal["web_search", "web_search_preview"] = "web_search"


def build(s: OpenAISettings) -> Provider:
    return OpenAIResponsesProvider(
        api_key=s.openai_api_key,
        base_url=s.openai_base_url or BASE_URL,
        timeout=s.openai_timeout,
        max_retries=s.openai_max_retries,
        search_tool=s.openai_search_tool,
    )


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
