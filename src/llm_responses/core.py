"""The bottom layer: what a model call and a web search are, and the two protocols every engine and every
search backend implements.

``Provider``: ``LlmRequest`` in, ``LlmResult`` out, ``errors.ProviderError`` on failure. Everything the rest
of the service knows about an upstream model call crosses this boundary; providers never see DataForSEO's
wire format and never touch the store. ``SearchBackend``: a query in, ranked ``SearchHit``s out,
``errors.SearchError`` when it fails; a backend never sees the wire format or the model
(``search/grounding.py`` turns hits into numbered sources).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from llm_responses.errors import ProviderError


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
    batched: bool = False  # answered through the vendor's batch API (billed at its batch rates)


class Provider(Protocol):
    name: str
    hosted_search: bool  # the upstream searches the web itself (OpenAI); otherwise search/ does it for it

    async def generate(self, request: LlmRequest) -> LlmResult: ...

    async def aclose(self) -> None: ...


# -- vendor batch APIs (the Standard method at half price) ------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchHandle:
    """A batch the vendor accepted: its id, and the input file it reads (where the vendor has files)."""

    vendor_id: str
    input_file: str | None = None


@dataclass(frozen=True, slots=True)
class BatchPoll:
    """What a poll says: still running, or ended (its results are readable). ``failed``: the whole batch was
    refused (a validation error, an expired window with nothing run); its lines go the direct way."""

    ended: bool
    failed: str | None = None


@dataclass(frozen=True, slots=True)
class LineResult:
    """One line of an ended batch, keyed by the ``custom_id`` it was sent with (our task id): an answer, an
    error classified as a direct call's would be, or ``direct``: the line did not run (expired, cancelled,
    refused in batches) and the task should be run the direct way."""

    custom_id: str
    result: LlmResult | None = None
    error: ProviderError | None = None
    direct: bool = False


class BatchClient(Protocol):
    """A vendor's batch API, for one provider. Lines are our ``LlmRequest``s, each with a ``custom_id``
    (the task id: a line is never sent twice under two ids); results come back as ``LineResult``s, read as a
    stream (50,000 lines in bounded memory)."""

    max_requests: int  # lines per batch the vendor takes
    max_bytes: int  # bytes of encoded lines per batch

    def accepts(self, request: LlmRequest) -> bool:
        """The vendor runs this request in a batch (a tool or model it refuses there goes direct)."""
        ...

    def group(self, request: LlmRequest) -> str:
        """Requests of one group can share a batch (OpenAI: one model per input file)."""
        ...

    def encode(self, custom_id: str, request: LlmRequest) -> bytes:
        """The line as the vendor's input holds it (one JSON object, no newline): its size counts."""
        ...

    async def submit(self, key: str, lines: Sequence[bytes]) -> BatchHandle:
        """Create the batch; ``key`` (our batch id) is its idempotency key or a label ``find`` looks for."""
        ...

    async def find(self, key: str, since: float, count: int | None = None) -> BatchHandle | None:
        """The batch ``submit(key, ...)`` created, if it did (a process that died mid-submit); None if not.
        ``since``: the time (``time.time()``) just before that submit; ``count``: how many lines it sent (a
        vendor without labels or idempotency keys, Anthropic, recognises its batch by that)."""
        ...

    async def poll(self, handle: BatchHandle) -> BatchPoll: ...

    def results(self, handle: BatchHandle) -> AsyncIterator[LineResult]:
        """Every line of an ended batch, streamed."""
        ...

    async def cancel(self, handle: BatchHandle) -> None: ...


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
