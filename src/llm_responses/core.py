"""The bottom layer: what a model call and a web search are, and the two protocols every engine and every
search backend implements.

``Provider``: ``LlmRequest`` in, ``LlmResult`` out, ``errors.ProviderError`` on failure. Everything the rest
of the service knows about an upstream model call crosses this boundary; providers never see DataForSEO's
wire format and never touch the store. ``SearchBackend``: a query in, ranked ``SearchHit``s out,
``errors.SearchError`` when it fails; a backend never sees the wire format or the model
(``search/grounding.py`` turns hits into numbered sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LlmRequest:
    model: str  # the upstream model id (a resolved, dated version)
    user_prompt: str
    max_output_tokens: int
    temperature: float | None = None  # None: do not send (reasoning models reject it)
    top_p: float | None = None
    system_message: str | None = None
    history: tuple[tuple[str, str], ...] = ()  # (role "user" | "assistant", text), oldest first
    web_search: bool = False
    force_web_search: bool = False
    country: str | None = None
    city: str | None = None
    reasoning: bool = False  # ask for reasoning summaries
    task_id: str = ""


@dataclass(frozen=True, slots=True)
class Citation:
    url: str
    title: str
    start_index: int  # code-point offsets into the part's text, end exclusive
    end_index: int
    direct_url: str | None = None  # the page behind a redirect link (Gemini's Vertex links), when known


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True)
class LlmResult:
    model: str
    input_tokens: int
    output_tokens: int  # includes reasoning tokens, as OpenAI counts them
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0  # part of input_tokens, read from the vendor's prompt cache
    cache_write_tokens: int = 0  # part of input_tokens, written to the vendor's prompt cache (Anthropic)
    web_search_calls: int = 0  # billable searches
    reasoning_summaries: tuple[str, ...] = ()
    parts: tuple[TextPart, ...] = ()
    fan_out_queries: tuple[str, ...] = ()
    incomplete_reason: str | None = None  # why the answer stopped early (max_output_tokens, content_filter)
    search_tool: str = ""  # the upstream's hosted search tool that ran (prices differ by tool), if any
    reported_cost: Decimal | None = None  # USD the upstream says the call cost (Perplexity), if it says
    # billed tool calls by tool name, for vendors that price each tool per call (vendors/*.py tool_fees)
    tool_calls: tuple[tuple[str, int], ...] = ()


class Provider(Protocol):
    name: str
    hosted_search: bool  # the upstream searches the web itself (OpenAI); otherwise search/ does it for it

    async def generate(self, request: LlmRequest) -> LlmResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    snippet: str  # plain text, already shortened by the backend


@dataclass(frozen=True, slots=True)
class Locale:
    """Where the searcher is, as far as the task says (ISO 3166-1 alpha-2 country, free-text city)."""

    country: str | None = None
    city: str | None = None


class SearchBackend(Protocol):
    name: str

    async def search(self, query: str, *, limit: int, locale: Locale) -> list[SearchHit]: ...

    async def aclose(self) -> None: ...
