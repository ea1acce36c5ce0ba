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
not all served) and makes no retries of its own; ours follow ``post_json``'s rules. The body is the REST
request built here, sent through the SDK's request path (``_call`` says why). It is imported
when the provider is built, so processes that serve no Gemini model do not pay its import.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from pydantic import AliasChoices, Field

from llm_responses.core import Citation, LlmRequest, LlmResult, Provider, TextPart
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.checks import require_answer, status_kind
from llm_responses.providers.redirects import RedirectResolver
from llm_responses.providers.retrying import retrying
from llm_responses.vendors.vendor import Vendor, VendorSettings

BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
THINKING_BUDGET = 1024
INCOMPLETE = {"MAX_TOKENS": "max_output_tokens", "SAFETY": "content_filter", "RECITATION": "content_filter"}


class GeminiProvider:
    hosted_search = True
    thinking_budget = (
        THINKING_BUDGET  # what a reasoning task adds to the output budget (Runner.output_budget)
    )

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float = 110.0,
        max_retries: int = 2,
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
        from google.genai import errors

        try:
            response = await self._client.aio._api_client.async_request(
                "post", f"models/{request.model}:generateContent", build_request(request)
            )
            parsed = orjson.loads(response.body or "{}")
        except errors.APIError as exc:
            raise map_api_error(exc, self.name) from exc
        except orjson.JSONDecodeError as exc:
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: non-JSON response body") from exc
        except TimeoutError as exc:
            raise ProviderError(ErrorKind.TIMEOUT, f"{self.name}: request timed out") from exc
        except OSError as exc:  # aiohttp's and httpx's connection errors
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: {type(exc).__name__}: {exc}") from exc
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


def map_api_error(exc: Any, name: str) -> ProviderError:
    code = int(getattr(exc, "code", 0) or 0)
    status = getattr(exc, "status", None)
    message = f"HTTP {code}: {getattr(exc, 'message', None) or exc}"
    kind = status_kind(code)
    if kind is ErrorKind.FATAL or status in ("PERMISSION_DENIED", "UNAUTHENTICATED", "NOT_FOUND"):
        return ProviderError(ErrorKind.FATAL, message, code=status)
    if kind is ErrorKind.UNAVAILABLE:  # RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL
        return ProviderError(kind, message, code=status)
    text = str(getattr(exc, "message", "") or "")
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
    gemini_timeout: float = 110.0
    gemini_max_retries: int = 2
    # direct_url: one HEAD per cited Vertex redirect link (cached) to learn the page behind it; "" turns it off
    gemini_redirect_hosts: str = "vertexaisearch.cloud.google.com"


def build(s: GoogleSettings) -> Provider:
    hosts = s.gemini_redirect_hosts
    return GeminiProvider(
        api_key=s.gemini_api_key,
        base_url=s.gemini_base_url,
        timeout=s.gemini_timeout,
        max_retries=s.gemini_max_retries,
        redirects=RedirectResolver(hosts.split(",")) if hosts.strip() else None,
    )


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
