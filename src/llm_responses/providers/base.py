"""The provider boundary: ``LlmRequest`` in, ``LlmResult`` out, ``ProviderError`` on failure.

Everything the rest of the service knows about an upstream model call crosses this boundary; providers
never see DataForSEO's wire format and never touch the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
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
    cached_input_tokens: int = 0
    web_search_calls: int = 0  # billable searches
    reasoning_summaries: tuple[str, ...] = ()
    parts: tuple[TextPart, ...] = ()
    fan_out_queries: tuple[str, ...] = ()
    incomplete_reason: str | None = None  # why the answer stopped early (max_output_tokens, content_filter)
    search_tool: str = ""  # the upstream's hosted search tool that ran (prices differ by tool), if any


class ErrorKind(Enum):
    UNAVAILABLE = "unavailable"  # rate limits, 5xx, connection trouble: worth another try later
    TIMEOUT = "timeout"
    INVALID_REQUEST = "invalid_request"  # the upstream refused the request itself: retrying will not help
    FATAL = "fatal"  # credentials, quota, unknown model: an operator must act
    NO_OUTPUT = "no_output"  # the upstream answered, but with no text at all (failed or cut before any)


class ProviderError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param  # the upstream's name of the offending request parameter, when it gave one
        self.code = code  # the upstream's error code (``model_not_found``, ``insufficient_quota``, ...)
        self.retry_after = retry_after  # seconds the upstream asked us to wait before another try

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT)


class Provider(Protocol):
    name: str
    hosted_search: bool  # the upstream searches the web itself (OpenAI); otherwise search/ does it for it

    async def generate(self, request: LlmRequest) -> LlmResult: ...

    async def aclose(self) -> None: ...
