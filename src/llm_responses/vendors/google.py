"""Google: Gemini through the Gemini API's ``generateContent`` with the official ``google-genai`` SDK.
Serves ``gemini``.

Translation (ai.google.dev/api/generate-content, ".../docs/thinking", ".../docs/google-search"):
``use_reasoning`` becomes a thinking budget
with thought summaries (a thinking level on Gemini 3; Pro models always think, and 2.5 Flash is told
not to when reasoning is off), ``web_search`` the ``google_search`` grounding tool (Gemini has no
location and no forcing). The answer is the joined non-thought parts; each grounding support becomes
one citation per chunk it names, its UTF-8 **byte** offsets converted to code points and checked against
the segment's own text. ``webSearchQueries`` are the fan-out queries. Search is billed per grounded
prompt on Gemini 2.x and per query on Gemini 3 (Google's price list; genai-prices carries both fees).

The SDK is pinned to ``v1beta`` (google-genai 3.x defaults to ``v1``, where the REST docs' fields are
not all served); our retries follow ``post_json``'s rules. The SDK's own: none for an HTTP error, but a
connection refused or dropped is tried once more by the SDK itself after a sleep of 1 to 10 s (its
implicit retry, which an explicit ``retry_options`` would turn off). The body is the REST
request built here, sent through the SDK's request path (``_call`` says why). It is imported
when the provider is built, so processes that serve no Gemini model do not pay its import.

Its Batch Mode (the Standard method at half price) is ``provider.batch`` (``GeminiBatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

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
from llm_responses.providers.batch_io import SKEW, check_size, json_lines, spool
from llm_responses.providers.checks import require_answer, status_kind
from llm_responses.providers.redirects import RedirectResolver
from llm_responses.providers.retrying import retrying
from llm_responses.providers.sdk_errors import SdkFailures, classified
from llm_responses.vendors.vendor import Vendor, VendorSettings

BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
THINKING_BUDGET = 1024
INCOMPLETE = {"MAX_TOKENS": "max_output_tokens", "SAFETY": "content_filter", "RECITATION": "content_filter"}


log = logging.getLogger(__name__)


class GeminiProvider:
    hosted_search = True
    batch: BatchClient | None = None  # its Batch Mode, ``GeminiBatch`` (``build`` attaches it)
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
        name: str = "google",
        redirects: RedirectResolver | None = None,
    ) -> None:
        from google import genai
        from google.genai import types

        self.name = name
        self._retries = max_retries
        self._redirects = redirects  # fills direct_url behind the Vertex redirect links
        self._client = genai.Client(
            api_key=api_key or "not-needed",
            http_options=types.HttpOptions(
                base_url=base_url or BASE_URL,
                api_version=API_VERSION,
                timeout=int(timeout * 1000),
            ),
        )

    async def generate(self, request: LlmRequest) -> LlmResult:
        raw = await retrying(lambda: self._call(request), self._retries)
        result = parse_response(raw, web_search=request.web_search, fallback_model=request.model)
        require_answer(result, self.name)
        return await self._with_direct_urls(result)

    async def _with_direct_urls(self, result: LlmResult) -> LlmResult:
        cited = [c.url for part in result.parts for c in part.citations]
        if self._redirects is None or not cited:
            return result
        targets = await self._redirects.resolve(cited)
        parts = tuple(
            replace(part, citations=tuple(replace(c, direct_url=targets.get(c.url)) for c in part.citations))
            for part in result.parts
        )
        return replace(result, parts=parts)

    async def _call(self, request: LlmRequest) -> dict[str, Any]:
        """One ``generateContent`` through the SDK's own request path (auth, base URL, API version,
        timeout, error types), with the REST body built here: the SDK's typed conversion of the request
        and the response was 0.8 ms of CPU per call, more than everything else we add (bench_engines)."""
        return await self._rest("post", f"models/{request.model}:generateContent", build_request(request))

    async def _rest(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One REST call (``path`` under the API version) through the SDK's request path, its JSON object."""
        with sdk_errors(self.name):
            response = await self._client.aio._api_client.async_request(method, path, body)
            parsed = orjson.loads(response.body or "{}")
        if not isinstance(parsed, dict):
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: response body is not a JSON object")
        return parsed

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        if self._redirects is not None:
            await self._redirects.aclose()


def build_request(r: LlmRequest) -> dict[str, Any]:
    """The REST ``GenerateContentRequest`` (camelCase, as Google's reference writes it)."""
    turns = [
        {"role": "model" if role == "assistant" else "user", "parts": [{"text": text}]}
        for role, text in r.history
    ]
    turns.append({"role": "user", "parts": [{"text": r.user_prompt}]})
    config: dict[str, Any] = {"maxOutputTokens": r.max_output_tokens}
    if r.temperature is not None:
        config["temperature"] = r.temperature
    if r.top_p is not None:
        config["topP"] = r.top_p
    if thinking_config := thinking(r):
        config["thinkingConfig"] = thinking_config
    body: dict[str, Any] = {"contents": turns, "generationConfig": config}
    if r.system_message:
        body["systemInstruction"] = {"parts": [{"text": r.system_message}]}
    if r.web_search:
        body["tools"] = [{"googleSearch": {}}]
    return body


def thinking(r: LlmRequest) -> dict[str, Any]:
    """Thought summaries when reasoning; Flash told not to think otherwise (Pro cannot stop)."""
    gemini3 = r.model.startswith("gemini-3")
    if r.reasoning:
        if gemini3:
            return {"includeThoughts": True, "thinkingLevel": "LOW"}
        return {"includeThoughts": True, "thinkingBudget": THINKING_BUDGET}
    if r.model.startswith("gemini-2.5-flash"):
        return {"thinkingBudget": 0}
    return {}


def byte_to_char(text_bytes: bytes, index: int) -> int:
    """A UTF-8 byte offset as a code-point offset (clamped; an offset inside a character rounds down)."""
    return len(text_bytes[: max(index, 0)].decode("utf-8", errors="ignore"))


def parse_response(raw: dict[str, Any], *, web_search: bool, fallback_model: str) -> LlmResult:
    candidate = (raw.get("candidates") or [{}])[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    summaries = [str(p["text"]) for p in parts if p.get("thought") and p.get("text")]
    text = "".join(str(p["text"]) for p in parts if p.get("text") and not p.get("thought"))
    encoded = text.encode("utf-8")
    grounding = candidate.get("groundingMetadata") or {}
    chunks = grounding.get("groundingChunks") or []
    citations: list[Citation] = []
    for support in grounding.get("groundingSupports") or []:
        segment = support.get("segment") or {}
        start = byte_to_char(encoded, int(segment.get("startIndex") or 0))
        end = byte_to_char(encoded, int(segment.get("endIndex") or 0))
        start, end = _checked_span(text, start, end, segment.get("text"))
        for i in support.get("groundingChunkIndices") or ():
            web = (chunks[i] if isinstance(i, int) and 0 <= i < len(chunks) else {}).get("web") or {}
            if web.get("uri") and end > start:
                citations.append(Citation(str(web["uri"]), str(web.get("title") or web["uri"]), start, end))
    queries = list(
        dict.fromkeys(q for q in grounding.get("webSearchQueries") or () if isinstance(q, str) and q)
    )
    usage = raw.get("usageMetadata") or {}
    thoughts = _int(usage.get("thoughtsTokenCount"))
    model = str(raw.get("modelVersion") or fallback_model)
    # one fee per grounded prompt on Gemini 2.x, one per query on Gemini 3
    searches = (len(queries) if model.startswith("gemini-3") else 1) if queries else 0
    return LlmResult(
        model=model,
        input_tokens=_int(usage.get("promptTokenCount")) + _int(usage.get("toolUsePromptTokenCount")),
        output_tokens=_int(usage.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
        cached_input_tokens=_int(usage.get("cachedContentTokenCount")),
        web_search_calls=searches,
        reasoning_summaries=tuple(summaries),
        parts=(TextPart(text, tuple(citations) if web_search else ()),) if text else (),
        fan_out_queries=tuple(queries),
        incomplete_reason=INCOMPLETE.get(str(candidate.get("finishReason"))),
        search_tool="web_search" if searches else "",
    )


def _checked_span(text: str, start: int, end: int, quoted: Any) -> tuple[int, int]:
    """The converted span, or where the segment's own text really is when the offsets disagree with it."""
    if not isinstance(quoted, str) or not quoted or text[start:end] == quoted:
        return start, end
    found = text.find(quoted, max(start - len(quoted), 0))
    if found < 0:
        found = text.find(quoted)
    return (found, found + len(quoted)) if found >= 0 else (start, end)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def sdk_errors(name: str) -> AbstractContextManager[None]:
    """The SDK's exceptions (and a body that is not JSON) as classified ``ProviderError``s."""
    return classified(name, _failures())


@functools.cache
def _failures() -> SdkFailures:
    from google.genai import errors  # when first needed, as in the provider

    return SdkFailures(
        http_error=errors.APIError,
        classify=map_api_error,
        failures=(
            (TimeoutError, ErrorKind.TIMEOUT, "request timed out"),
            (OSError, ErrorKind.UNAVAILABLE, "{type}: {exc}"),  # aiohttp's and httpx's connection errors
        ),
    )


def map_api_error(exc: Any, name: str) -> ProviderError:
    """A direct call's HTTP error (the SDK's ``APIError``), classified by ``api_error``."""
    code = int(getattr(exc, "code", 0) or 0)
    return api_error(code, getattr(exc, "status", None), str(getattr(exc, "message", None) or exc), name)


def api_error(code: int, status: str | None, text: str, name: str) -> ProviderError:
    """An HTTP ``code``, Google's ``status`` name and message, classified: the one mapping for a direct
    call's error and a batch line's ``google.rpc.Status`` (as the HTTP code its gRPC code maps to)."""
    message = f"HTTP {code}: {text}"
    kind = status_kind(code)
    if kind is ErrorKind.FATAL or status in ("PERMISSION_DENIED", "UNAUTHENTICATED", "NOT_FOUND"):
        return ProviderError(ErrorKind.FATAL, message, code=status)
    if kind is ErrorKind.UNAVAILABLE:  # RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL
        return ProviderError(kind, message, code=status)
    param = next(
        (p for p in ("temperature", "top_p", "thinking_budget", "max_output_tokens") if p in text), None
    )
    if param is None and "topP" in text:
        param = "top_p"
    if param == "thinking_budget":
        param = "max_output_tokens"
    if "thinking is not supported" in text.lower() or "thinking_config" in text.lower():
        param = "use_reasoning"  # a model that cannot think, asked to (the catalog should have said)
    return ProviderError(ErrorKind.INVALID_REQUEST, message, param=param, code=status)


# -- Batch Mode ---------------------------------------------------------------------------------------------
# Inline requests "for smaller batches that keep the total request size under 20MB"
# (ai.google.dev/gemini-api/docs/batch-api); their answers come back inside the batch's Operation, which can
# only be read whole, so only small batches go inline and the rest as a JSONL file whose answers are streamed.
INLINE_BYTES = 20_000_000
INLINE_LINES = 100
# Google caps an input file at 2 GB and sets no request count; these caps are ours, as for OpenAI and
# Perplexity: one batch's upload and answers stay what one worker handles in bounded memory and time. The
# per-model enqueued-token limit (by tier, not published per account) may refuse a batch sooner: a 429 on create.
MAX_BATCH_REQUESTS = 50_000
MAX_BATCH_BYTES = 200_000_000
RESULTS_TIMEOUT_MS = 3_600_000  # one batch's answers file, read as fast as the caller takes the lines
FIND_PAGES = 20  # pages of 100 batches ``find`` reads at most
# google.rpc.Code -> (the HTTP status it maps to, its name), from googleapis' google/rpc/code.proto
RPC_CODES = {
    1: (499, "CANCELLED"),
    2: (500, "UNKNOWN"),
    3: (400, "INVALID_ARGUMENT"),
    4: (504, "DEADLINE_EXCEEDED"),
    5: (404, "NOT_FOUND"),
    6: (409, "ALREADY_EXISTS"),
    7: (403, "PERMISSION_DENIED"),
    8: (429, "RESOURCE_EXHAUSTED"),
    9: (400, "FAILED_PRECONDITION"),
    10: (409, "ABORTED"),
    11: (400, "OUT_OF_RANGE"),
    12: (501, "UNIMPLEMENTED"),
    13: (500, "INTERNAL"),
    14: (503, "UNAVAILABLE"),
    15: (500, "DATA_LOSS"),
    16: (401, "UNAUTHENTICATED"),
}
# the REST API answers BATCH_STATE_*, the SDK maps them to JOB_STATE_* (and has more): either is read
RUNNING_STATES = frozenset(
    {"", "UNSPECIFIED", "PENDING", "QUEUED", "RUNNING", "CANCELLING", "PAUSED", "UPDATING"}
)


class GeminiBatch:
    """Gemini's Batch Mode (``models/{model}:batchGenerateContent``) with the provider's own genai client.

    One model per batch (it is in the path): ``group`` is the model. Every request is accepted: Google
    Search grounding runs inside batches by third-party reports (Google's batch documentation neither lists
    nor excludes tools). A line is ``{"key": <task id>, "request": <the direct REST request, with its
    model>}``, the input file's shape; small batches are sent inline (``{"request", "metadata": {"key"}}``).
    The batch's ``displayName`` is our key: ``find`` lists the batches and matches it.

    Per answer: a ``GenerateContentResponse`` is parsed as the direct call's (grounding redirect links
    resolved too), with ``batched``, or is the direct path's ``NO_OUTPUT``; a ``google.rpc.Status`` is the
    error the direct call would have raised with that status (``api_error``; a ``CANCELLED`` line is
    ``direct``). The batch: ``SUCCEEDED`` has ended; ``FAILED``, and an ``EXPIRED`` (48 hours pending or
    running) or ``CANCELLED`` batch without output, have ended ``failed``, so their lines go direct (Google
    says nothing per line for them).
    """

    max_requests = MAX_BATCH_REQUESTS
    max_bytes = MAX_BATCH_BYTES

    def __init__(self, provider: GeminiProvider) -> None:
        self.name = provider.name
        self._provider = provider
        self._client = provider._client

    def accepts(self, request: LlmRequest) -> bool:
        return True

    def group(self, request: LlmRequest) -> str:
        return request.model

    def encode(self, custom_id: str, request: LlmRequest) -> bytes:
        body = {"model": f"models/{request.model}", **build_request(request)}
        return orjson.dumps({"key": custom_id, "request": body})

    async def submit(self, key: str, lines: Sequence[bytes]) -> BatchHandle:
        check_size(lines, self.max_requests, self.max_bytes)
        model = str(orjson.loads(lines[0])["request"]["model"])
        path = f"{model}:batchGenerateContent"
        size = sum(len(line) for line in lines) + 32 * len(lines)  # the inline items' envelope
        if len(lines) <= INLINE_LINES and size < INLINE_BYTES:
            requests = [_inline(line) for line in lines]
            config: dict[str, Any] = {"requests": {"requests": requests}}
            operation = await self._provider._rest(
                "post", path, {"batch": {"displayName": key, "inputConfig": config}}
            )
            return BatchHandle(str(operation["name"]))
        body = await asyncio.to_thread(spool, lines)
        try:
            with sdk_errors(self.name):
                uploaded = await self._client.aio.files.upload(
                    file=cast(Any, body), config={"mime_type": "jsonl", "display_name": key}
                )
        finally:
            body.close()
        file_name = str(uploaded.name)
        try:
            operation = await self._provider._rest(
                "post", path, {"batch": {"displayName": key, "inputConfig": {"fileName": file_name}}}
            )
        except ProviderError as exc:
            if exc.kind in (ErrorKind.INVALID_REQUEST, ErrorKind.FATAL):  # refused: no batch reads the file
                await self._delete(file_name)
            raise
        return BatchHandle(str(operation["name"]), file_name)

    async def find(self, key: str, since: float, count: int | None = None) -> BatchHandle | None:
        """The batch named ``key`` (its ``displayName``) created since ``since`` (less ``SKEW``)."""
        token = ""
        for _ in range(FIND_PAGES):
            query = urlencode({"pageSize": 100, **({"pageToken": token} if token else {})})
            page = await self._provider._rest("get", f"batches?{query}", {})
            for operation in page.get("operations") or ():
                meta = _object(_object(operation).get("metadata"))
                created = _timestamp(meta.get("createTime"))
                if meta.get("displayName") != key or (created is not None and created < since - SKEW):
                    continue
                file_name = _object(meta.get("inputConfig")).get("fileName")
                return BatchHandle(str(operation["name"]), str(file_name) if file_name else None)
            token = str(page.get("nextPageToken") or "")
            if not token:
                break
        return None

    async def poll(self, handle: BatchHandle) -> BatchPoll:
        operation = await self._provider._rest("get", handle.vendor_id, {})
        state = _state(operation)
        if state in RUNNING_STATES:
            return BatchPoll(ended=False)
        if state in ("SUCCEEDED", "PARTIALLY_SUCCEEDED") or _output(operation):
            return BatchPoll(ended=True)
        error = _object(operation.get("error"))
        why = f": {error['message']}" if error.get("message") else ""
        return BatchPoll(ended=True, failed=f"{self.name}: batch {state.lower()}{why}")

    async def results(self, handle: BatchHandle) -> AsyncIterator[LineResult]:
        """The answers: streamed from the responses file, or read from the Operation (inline batches)."""
        operation = await self._provider._rest("get", handle.vendor_id, {})
        output = _output(operation)
        fallback = str(_object(operation.get("metadata")).get("model") or "").removeprefix("models/")
        file_name = output.get("responsesFile")
        if isinstance(file_name, str) and file_name:
            async for raw in json_lines(self._download(file_name)):
                try:
                    item = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    log.warning(
                        "%s: an unreadable batch result line was skipped (%d bytes)", self.name, len(raw)
                    )
                    continue
                line = await self._line(_object(item).get("key"), _object(item), fallback)
                if line is not None:
                    yield line
            return
        for item in _object(output.get("inlinedResponses")).get("inlinedResponses") or ():
            item = _object(item)
            line = await self._line(_object(item.get("metadata")).get("key"), item, fallback)
            if line is not None:
                yield line

    async def cancel(self, handle: BatchHandle) -> None:
        """Best effort (Google's words); an ended batch is left as it is."""
        try:
            await self._provider._rest("post", f"{handle.vendor_id}:cancel", {})
        except ProviderError:
            if not (await self.poll(handle)).ended:
                raise

    async def _line(self, key: Any, item: dict[str, Any], fallback: str) -> LineResult | None:
        if not isinstance(key, str) or not key:
            log.warning("%s: a batch answer without its key was skipped", self.name)
            return None
        response = item.get("response")
        if isinstance(response, dict):
            try:
                # citations come only from grounding: keeping them is what the request asked for
                parsed = parse_response(response, web_search=True, fallback_model=fallback)
                answer = require_answer(parsed, self.name)
            except ProviderError as exc:
                return LineResult(key, error=exc)
            answer = await self._provider._with_direct_urls(answer)
            return LineResult(key, result=replace(answer, batched=True))
        status = _object(item.get("error"))
        code = status.get("code")
        rpc = code if isinstance(code, int) and not isinstance(code, bool) else 2
        if rpc == 1:  # CANCELLED: never ran
            return LineResult(key, direct=True)
        http, name = RPC_CODES.get(rpc, (500, "UNKNOWN"))
        return LineResult(key, error=api_error(http, name, str(status.get("message") or name), self.name))

    async def _download(self, file_name: str) -> AsyncIterator[bytes]:
        """The file's bytes as the SDK downloads them (``files.download`` with a writable destination, whose
        ``write`` is awaited): a few chunks of a megabyte in memory at a time, however large the file."""
        chunks: asyncio.Queue[bytes | Exception | None] = asyncio.Queue(maxsize=4)

        class Pipe:
            async def write(self, chunk: bytes) -> None:
                await chunks.put(bytes(chunk))

        async def download() -> None:
            try:
                with sdk_errors(self.name):
                    await self._client.aio.files.download(
                        file=file_name,
                        destination=cast(Any, Pipe()),
                        config={"http_options": {"timeout": RESULTS_TIMEOUT_MS}},
                    )
            except Exception as exc:  # handed to the reader, which raises it
                await chunks.put(exc)
            else:
                await chunks.put(None)

        task = asyncio.create_task(download())
        try:
            while (chunk := await chunks.get()) is not None:
                if isinstance(chunk, Exception):
                    raise chunk
                yield chunk
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _delete(self, file_name: str) -> None:
        """Best effort: an input file nothing reads (it would expire after 48 hours anyway)."""
        try:
            with sdk_errors(self.name):
                await self._client.aio.files.delete(name=file_name)
        except ProviderError as exc:
            log.info("%s: could not delete the unused batch input file %s: %s", self.name, file_name, exc)


def _inline(line: bytes) -> dict[str, Any]:
    item = orjson.loads(line)
    return {"request": item["request"], "metadata": {"key": item["key"]}}


def _state(operation: dict[str, Any]) -> str:
    state = str(_object(operation.get("metadata")).get("state") or "")
    state = state.removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_")
    if not state and operation.get("done"):
        return "SUCCEEDED" if operation.get("response") else "FAILED"
    return state


def _output(operation: dict[str, Any]) -> dict[str, Any]:
    """Where the answers are: ``response`` (or ``metadata.output``), with ``responsesFile`` or
    ``inlinedResponses``; empty when there are none."""
    output = _object(operation.get("response")) or _object(_object(operation.get("metadata")).get("output"))
    return output if output.get("responsesFile") or output.get("inlinedResponses") else {}


def _timestamp(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp() if value else None
    except ValueError:
        return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class GoogleSettings(VendorSettings):
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
    gemini_timeout: float = UPSTREAM_TIMEOUT
    gemini_max_retries: int = UPSTREAM_RETRIES
    # direct_url: one HEAD per cited Vertex redirect link (cached) to learn the page behind it; "" turns it off
    gemini_redirect_hosts: str = "vertexaisearch.cloud.google.com"


def build(s: GoogleSettings) -> Provider:
    hosts = s.gemini_redirect_hosts
    provider = GeminiProvider(
        api_key=s.gemini_api_key,
        base_url=s.gemini_base_url,
        timeout=s.gemini_timeout,
        max_retries=s.gemini_max_retries,
        redirects=RedirectResolver(hosts.split(",")) if hosts.strip() else None,
    )
    provider.batch = GeminiBatch(provider)
    return provider


VENDOR = Vendor(
    name="google",
    label="Google",
    key_label="Gemini",
    key_env="GEMINI_API_KEY",
    default_base_url=BASE_URL,
    engines=frozenset({"gemini"}),
    searches=True,
    configured=lambda s: bool(s.gemini_api_key or s.gemini_base_url),
    build=build,
    genai_provider="gcp.gemini",  # the Gemini API (generativelanguage.googleapis.com), not Vertex AI
    genai_operation="generate_content",
)
