"""Anthropic: Claude through the Messages API (``POST /v1/messages``) with the official ``anthropic`` SDK.
Serves ``claude``.

Translation (docs.anthropic.com, "Messages", "Extended thinking", "Web search tool"): DataForSEO's
``use_reasoning`` becomes
extended thinking (a 1,024-token budget, or adaptive thinking with summaries on models that only have
that), web search the server-side ``web_search_20250305`` tool with the caller's country and city,
``force_web_search`` a forced ``tool_choice``. The answer's text runs are joined into one text, with a
paragraph break where a search split them; each citation gets the code-point span of the run that cites
it (Anthropic's citations carry no offsets). ``server_tool_use`` queries are the fan-out queries;
``usage.server_tool_use.web_search_requests`` is what is billed for search, never a count of blocks.

The version header is pinned to ``2023-06-01``: on the SDK's default version every sampling parameter is
a 400, and DataForSEO's Claude endpoint takes ``temperature`` (default 0.7) and ``top_p``. Models that
deprecated sampling (Opus 4.7+, Sonnet 5, ...) are sent none. Retries are ours (``post_json``'s rules:
429, 529 overloaded and 5xx, waiting what ``retry-after`` asks).

Its Message Batches API (the Standard method at half price) is ``provider.batch`` (``AnthropicBatch``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx2
import orjson
from pydantic import AliasChoices, Field

from llm_responses.config_tables import UPSTREAM_RETRIES, UPSTREAM_TIMEOUT
from llm_responses.core import (
    BatchClient,
    BatchHandle,
    BatchPoll,
    Citation,
    LineResult,
    LlmRequest,
    LlmResult,
    Provider,
    TextPart,
)
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.batch_io import SKEW, check_size, spool
from llm_responses.providers.checks import require_answer, status_kind
from llm_responses.providers.retrying import retry_after, retrying
from llm_responses.providers.sdk_errors import SdkFailures, classified, stainless
from llm_responses.vendors.vendor import Vendor, VendorSettings

if TYPE_CHECKING:
    import anthropic

BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
THINKING_BUDGET = 1024  # DataForSEO's rule "use_reasoning needs max_output_tokens >= 1025" is this budget
WEB_SEARCH_TOOL = "web_search_20250305"  # every web-search model has it; only the blocks mapped here
MAX_SEARCHES = 5
MAX_CONTINUATIONS = 5  # "pause_turn": the server's tool loop paused; resume at most this often
# models that reject temperature/top_p ("deprecated for this model") and budgeted thinking
NO_SAMPLING = ("claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-opus-5", "claude-fable")
INCOMPLETE = {"max_tokens": "max_output_tokens", "refusal": "content_filter"}
# a 400's message names the parameter it refused: ours, when it is one the caller set
PARAMS = ("temperature", "top_p", "max_tokens", "thinking", "messages", "system")


log = logging.getLogger(__name__)


class AnthropicProvider:
    hosted_search = True
    batch: BatchClient | None = None  # its Message Batches API, ``AnthropicBatch`` (``build`` attaches it)
    thinking_budget = (
        THINKING_BUDGET  # what a reasoning task adds to the output budget (Runner.output_budget)
    )

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        name: str = "anthropic",
    ) -> None:
        import anthropic  # here, not at the top: the SDK's import is 0.8 s every CLI command would pay

        self.name = name
        self._retries = max_retries
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key or "not-needed",
            base_url=base_url or BASE_URL,
            timeout=timeout,
            max_retries=0,
            default_headers={"anthropic-version": API_VERSION},
            http_client=anthropic.DefaultAioHttpClient(timeout=timeout),
        )

    async def generate(self, request: LlmRequest) -> LlmResult:
        body = build_params(request)
        responses = [await self._post(body)]
        while responses[-1].get("stop_reason") == "pause_turn" and len(responses) <= MAX_CONTINUATIONS:
            # the documented resume: the same messages plus the paused turn as the assistant's
            body = {
                **body,
                "messages": [*body["messages"], {"role": "assistant", "content": _content(responses)}],
            }
            responses.append(await self._post(body))
        result = parse_messages(responses, web_search=request.web_search, fallback_model=request.model)
        require_answer(result, self.name)
        return result

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        return await retrying(lambda: self._post_once(body), self._retries)

    async def _post_once(self, body: dict[str, Any]) -> dict[str, Any]:
        with sdk_errors(self.name):
            raw = await self._client.post("/v1/messages", content=orjson.dumps(body), cast_to=httpx2.Response)
            parsed = orjson.loads(raw.content)
        if not isinstance(parsed, dict) or not isinstance(parsed.get("content"), list):
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: the body is not a Message")
        return parsed

    async def aclose(self) -> None:
        await self._client.close()


def build_params(r: LlmRequest) -> dict[str, Any]:
    """The Messages request for one task."""
    messages = [{"role": role, "content": text} for role, text in r.history]
    messages.append({"role": "user", "content": r.user_prompt})
    body: dict[str, Any] = {"model": r.model, "max_tokens": r.max_output_tokens, "messages": messages}
    if r.system_message:
        body["system"] = r.system_message
    adaptive_only = r.model.startswith(NO_SAMPLING)
    if r.reasoning:
        body["thinking"] = (
            {"type": "adaptive", "display": "summarized"}
            if adaptive_only
            else {"type": "enabled", "budget_tokens": min(THINKING_BUDGET, max(r.max_output_tokens - 1, 1))}
        )
    elif not adaptive_only:
        if r.temperature is not None:
            body["temperature"] = r.temperature
        if r.top_p is not None:
            body["top_p"] = r.top_p
    if r.web_search:
        tool: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": "web_search", "max_uses": MAX_SEARCHES}
        if r.country:
            tool["user_location"] = {"type": "approximate", "country": r.country}
            if r.city:
                tool["user_location"]["city"] = r.city
        body["tools"] = [tool]
        if r.force_web_search:
            body["tool_choice"] = {"type": "tool", "name": "web_search"}
    return body


def parse_messages(responses: list[dict[str, Any]], *, web_search: bool, fallback_model: str) -> LlmResult:
    """One ``LlmResult`` from a Message (and its ``pause_turn`` continuations, usage summed)."""
    text = ""
    citations: list[Citation] = []
    summaries: list[str] = []
    queries: list[str] = []
    after_tool = False
    for block in _content(responses):
        kind = block.get("type")
        if kind == "thinking" and block.get("thinking"):  # empty when display is "omitted"
            summaries.append(str(block["thinking"]))
        elif kind == "server_tool_use" and block.get("name") == "web_search":
            query = (block.get("input") or {}).get("query")
            if isinstance(query, str) and query and query not in queries:
                queries.append(query)
        if kind in ("server_tool_use", "web_search_tool_result"):
            after_tool = True
        elif kind == "text" and isinstance(block.get("text"), str):
            if after_tool and text and not text[-1].isspace():
                text += "\n\n"  # runs split by a search would otherwise run together
            after_tool = False
            start = len(text)
            text += block["text"]
            for c in block.get("citations") or ():
                if c.get("type") == "web_search_result_location" and c.get("url"):
                    citations.append(
                        Citation(str(c["url"]), str(c.get("title") or c["url"]), start, len(text))
                    )
    usage = _summed_usage(responses)
    searches = usage["web_search_requests"]
    last = responses[-1]
    return LlmResult(
        model=str(last.get("model") or fallback_model),
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        reasoning_tokens=usage["thinking_tokens"],
        cached_input_tokens=usage["cache_read_input_tokens"],
        cache_write_tokens=usage["cache_creation_input_tokens"],  # billed at 1.25x input (5-minute cache)
        web_search_calls=searches,
        reasoning_summaries=tuple(summaries),
        parts=(TextPart(text, tuple(citations) if web_search else ()),) if text else (),
        fan_out_queries=tuple(queries),
        incomplete_reason=INCOMPLETE.get(str(last.get("stop_reason"))),
        search_tool="web_search" if searches else "",
    )


def _content(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for r in responses for b in r.get("content") or () if isinstance(b, dict)]


def _summed_usage(responses: list[dict[str, Any]]) -> dict[str, int]:
    total = dict.fromkeys(
        (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "web_search_requests",
            "thinking_tokens",
        ),
        0,
    )
    for r in responses:
        u = r.get("usage") or {}
        # "total input tokens is the sum of input_tokens, cache_creation_input_tokens and cache_read_input_tokens"
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            total["input_tokens"] += _int(u.get(key))
        total["cache_read_input_tokens"] += _int(u.get("cache_read_input_tokens"))
        total["cache_creation_input_tokens"] += _int(u.get("cache_creation_input_tokens"))
        total["output_tokens"] += _int(u.get("output_tokens"))
        total["web_search_requests"] += _int((u.get("server_tool_use") or {}).get("web_search_requests"))
        total["thinking_tokens"] += _int((u.get("output_tokens_details") or {}).get("thinking_tokens"))
    return total


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def sdk_errors(name: str) -> AbstractContextManager[None]:
    """The SDK's exceptions (and a body that is not JSON) as classified ``ProviderError``s."""
    return classified(name, _failures())


@functools.cache
def _failures() -> SdkFailures:
    import anthropic  # when first needed, as in the provider: the SDK's import is slow

    return stainless(anthropic, map_status_error)


def map_status_error(exc: anthropic.APIStatusError, name: str) -> ProviderError:
    """Anthropic's HTTP errors, classified like OpenAI's: whose fault, and whether to retry."""
    return status_error(exc.status_code, exc.body, name, headers=exc.response.headers, fallback=exc.message)


def status_error(
    status: int, body: object, name: str, *, headers: Mapping[str, str] | None = None, fallback: str = ""
) -> ProviderError:
    """An error status and Anthropic's error body (``{"type": "error", "error": {type, message}}``),
    classified: the one mapping for a direct call's HTTP error and a batch's ``errored`` line."""
    body = body if isinstance(body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    kind_name = error.get("type") if isinstance(error, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    message = f"HTTP {status}: {text or fallback or kind_name or 'error'}"
    code = kind_name if isinstance(kind_name, str) else None
    kind = status_kind(status)
    if kind is ErrorKind.FATAL:
        return ProviderError(kind, message, code=code)
    if kind is ErrorKind.UNAVAILABLE:  # 429, 529 "overloaded_error", 5xx
        wait = retry_after(headers) if headers is not None else None
        return ProviderError(ErrorKind.UNAVAILABLE, message, code=code, retry_after=wait)
    param = next((p for p in PARAMS if isinstance(text, str) and f"`{p}`" in text), None)
    return ProviderError(ErrorKind.INVALID_REQUEST, message, param=param, code=code)


# -- Message Batches --------------------------------------------------------------------------------------
# "A Message Batch is limited to either 100,000 Message requests or 256 MB in size, whichever is reached
# first" (docs.claude.com/en/api/creating-message-batches; the same page's schema says 10,000 requests). The
# 256 MB is the whole request body: MB or MiB is not said, so the smaller, less a megabyte for the envelope and
# the commas between lines (100 kB at most).
MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 255_000_000
# an ``errored`` line carries the error body without its HTTP status: the status each documented error type
# is answered with (docs.claude.com/en/api/errors)
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
RESULTS_TIMEOUT = 3600.0  # seconds to read one batch's results, read as fast as the caller takes them


class AnthropicBatch:
    """Anthropic's Message Batches (``POST /v1/messages/batches``) with the provider's own SDK client.

    Every Messages feature works in a batch ("All features available in the Messages API, including beta
    features"), the ``web_search_20250305`` server tool included, and models may be mixed: every request is
    accepted, in one group. Each line is ``{"custom_id": <task id>, "params": <the direct request>}``; a task
    id (a UUID) fits ``custom_id``'s ``^[a-zA-Z0-9_-]{1,64}$``.

    Per result line: ``succeeded`` is the Message parsed as the direct call's, with ``batched``, unless it
    stopped on ``pause_turn`` (the server's tool loop paused; the direct path resumes it, a batch line cannot
    be continued): then ``direct``; a Message without text is the direct path's ``NO_OUTPUT``; ``errored`` is
    the error the direct call would have raised with that error body (``status_error``); ``canceled`` and
    ``expired`` are ``direct``. A batch only ever ends (``processing_status: ended``); it is never refused as a
    whole once created.

    Anthropic has neither an idempotency key nor labels on batches, so ``find`` recognises the batch by when
    it was created and how many requests it holds: the earliest batch created between ``since`` and the end
    of the create call's timeout (both widened by ``SKEW``) whose request count is ``count``. Another batch
    of ours with as many requests created in that window is indistinguishable from it; without ``count`` a
    batch is found only when it is the one created in that window.
    """

    max_requests = MAX_BATCH_REQUESTS
    max_bytes = MAX_BATCH_BYTES

    def __init__(self, provider: AnthropicProvider, *, timeout: float) -> None:
        self.name = provider.name
        self._client = provider._client
        self._timeout = timeout

    def accepts(self, request: LlmRequest) -> bool:
        return True

    def group(self, request: LlmRequest) -> str:
        return ""

    def encode(self, custom_id: str, request: LlmRequest) -> bytes:
        return orjson.dumps({"custom_id": custom_id, "params": build_params(request)})

    async def submit(self, key: str, lines: Sequence[bytes]) -> BatchHandle:
        """One POST whose body (``{"requests": [...]}``) is read from a temporary file as it is sent."""
        check_size(lines, self.max_requests, self.max_bytes)
        body = await asyncio.to_thread(spool, lines, head=b'{"requests":[', sep=b",", tail=b"]}")
        try:
            size = os.fstat(body.fileno()).st_size
            with sdk_errors(self.name):
                raw = await self._client.post(
                    "/v1/messages/batches",
                    content=_chunks(body),
                    cast_to=httpx2.Response,
                    options={"headers": {"Content-Length": str(size)}},  # not sent chunked
                )
                batch = orjson.loads(raw.content)
        finally:
            body.close()
        if not isinstance(batch, dict) or not isinstance(batch.get("id"), str):
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: the body is not a Message Batch")
        return BatchHandle(batch["id"])

    async def find(self, key: str, since: float, count: int | None = None) -> BatchHandle | None:
        """See the class: by creation time and request count, newest first."""
        latest = since + self._timeout + SKEW
        found: list[tuple[datetime, str]] = []
        with sdk_errors(self.name):
            async for batch in self._client.messages.batches.list(limit=100):
                created = batch.created_at.timestamp()
                if created < since - SKEW:
                    break
                counts = batch.request_counts
                total = (
                    counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
                )
                if created <= latest and (count is None or total == count):
                    found.append((batch.created_at, batch.id))
        if count is None and len(found) != 1:
            return None
        return BatchHandle(min(found)[1]) if found else None

    async def poll(self, handle: BatchHandle) -> BatchPoll:
        with sdk_errors(self.name):
            batch = await self._client.messages.batches.retrieve(handle.vendor_id)
        return BatchPoll(ended=batch.processing_status == "ended")

    async def results(self, handle: BatchHandle) -> AsyncIterator[LineResult]:
        """The ``results_url`` JSONL, streamed through the SDK's JSONL decoder as plain dicts."""
        from anthropic._decoders.jsonl import AsyncJSONLDecoder  # the SDK's own, as ``batches.results`` uses

        with sdk_errors(self.name):
            batch = await self._client.messages.batches.retrieve(handle.vendor_id)
            if not batch.results_url:
                raise ProviderError(
                    ErrorKind.UNAVAILABLE,
                    f"{self.name}: batch {handle.vendor_id} has no results ({batch.processing_status}"
                    f"{', archived' if batch.archived_at else ''})",
                )
            decoder = await self._client.get(
                batch.results_url,
                cast_to=AsyncJSONLDecoder[dict[str, Any]],
                stream=True,
                options={"headers": {"Accept": "application/binary"}, "timeout": RESULTS_TIMEOUT},
            )
            try:
                async for line in decoder:
                    result = self._line(line)
                    if result is not None:
                        yield result
            finally:
                await decoder.close()

    async def cancel(self, handle: BatchHandle) -> None:
        """The batch goes ``canceling``, then ends with what had run; an ended batch is left as it is."""
        try:
            with sdk_errors(self.name):
                await self._client.messages.batches.cancel(handle.vendor_id)
        except ProviderError:
            if not (await self.poll(handle)).ended:
                raise

    def _line(self, line: Any) -> LineResult | None:
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str):
            log.warning("%s: a batch result line without custom_id was skipped", self.name)
            return None
        result = _object(line.get("result"))
        kind = result.get("type")
        if kind == "succeeded":
            message = result.get("message")
            if not isinstance(message, dict) or not isinstance(message.get("content"), list):
                error = ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: the result is not a Message")
                return LineResult(custom_id, error=error)
            if message.get("stop_reason") == "pause_turn":
                return LineResult(custom_id, direct=True)  # a continuation is needed: the direct path does it
            try:
                # citations come only from the web search tool: keeping them is what the request asked for
                parsed = parse_messages([message], web_search=True, fallback_model="")
                answer = require_answer(parsed, self.name)
            except ProviderError as exc:
                return LineResult(custom_id, error=exc)
            return LineResult(custom_id, result=replace(answer, batched=True))
        if kind == "errored":
            body = _object(result.get("error"))
            status = ERROR_STATUS.get(str(_object(body.get("error")).get("type")), 500)
            return LineResult(custom_id, error=status_error(status, body, self.name))
        return LineResult(custom_id, direct=True)  # canceled, expired: never ran


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def _chunks(file: Any, size: int = 1 << 16) -> AsyncIterator[bytes]:
    while chunk := file.read(size):
        yield chunk


class AnthropicSettings(VendorSettings):
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
    anthropic_timeout: float = UPSTREAM_TIMEOUT
    anthropic_max_retries: int = UPSTREAM_RETRIES


def build(s: AnthropicSettings) -> Provider:
    provider = AnthropicProvider(
        api_key=s.anthropic_api_key,
        base_url=s.anthropic_base_url,
        timeout=s.anthropic_timeout,
        max_retries=s.anthropic_max_retries,
    )
    provider.batch = AnthropicBatch(provider, timeout=s.anthropic_timeout)
    return provider


VENDOR = Vendor(
    name="anthropic",
    label="Anthropic",
    key_env="ANTHROPIC_API_KEY",
    default_base_url=BASE_URL,
    engines=frozenset({"claude"}),
    searches=True,
    configured=lambda s: bool(s.anthropic_api_key or s.anthropic_base_url),
    build=build,
    long_context_tier=False,
)
