"""Perplexity: the Agent API (``POST /v1/responses``, the same as ``/v1/agent``, shaped like OpenAI's
Responses API), through the official ``openai`` SDK with Perplexity's base URL. Serves ``perplexity``.

Perplexity retired Sonar Chat Completions on 2026-09-27 (docs.perplexity.ai/docs/agent-api/migrate-from-sonar).
The ``openai`` SDK, not ``perplexityai``: it is already how every OpenAI-shaped upstream is called here
(one client pool, one error map, its aiohttp transport), and the answer is read as JSON either way;
``perplexityai`` validates requests against types that lag the API (docs.perplexity.ai, "OpenAI
compatibility").

- DataForSEO's model names map to an Agent API model slug (``perplexity/sonar``) or an effort level (a
  preset: ``low``, ``medium``, ``high``; catalog.toml, docs/compatibility.md): a catalog id with a ``/`` is
  sent as ``model``, one without as ``effort``.
- DataForSEO's Perplexity always searches; the Agent API searches only when told to, so ``web_search`` is
  offered and forced (``tool_choice``), with the caller's country as the tool's ``user_location``.
- With a model, the system message is ``instructions``; with a preset it goes as a leading system input
  item, since ``instructions`` would replace the preset's own prompt (the one that makes it search and cite).
  Sampling is sent only with a model: presets run reasoning models and set their own.
- The answer cites with ``[n]`` or ``[web:n]`` markers naming a result's ``id`` across every
  ``search_results`` item; a group of markers cites the claim it closes. Annotations with offsets, when the
  message has them, are used as they are. Each item's ``queries`` are the fan-out queries. Non-streamed
  answers carry no reasoning text (its tokens are counted); reasoning items, if any, become reasoning.
- The charge is Perplexity's own ``usage.cost.total_cost``; without it (older versions, gateways that strip
  it) tokens at the model's price plus each tool call at ``TOOL_FEES``.
- Its Batch API (docs.perplexity.ai/docs/agent-api/batch, shaped like OpenAI's) is ``provider.batch``
  (``providers/openai_batch.py``): each line runs the full Agent API loop, so ``web_search`` and
  ``fetch_url`` work there and every request is accepted; models may be mixed in one batch; 50,000 lines and
  200 MB per file. ``submit`` sends our batch key as the ``Idempotency-Key``, so after a crash it is simply
  repeated (``find`` answers None). Whether batches are billed at a discount is not documented.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field

from llm_responses.config_tables import UPSTREAM_RETRIES, UPSTREAM_TIMEOUT
from llm_responses.core import BatchClient, Citation, LlmRequest, LlmResult, Provider, TextPart
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.openai_batch import OpenAIShapedBatch
from llm_responses.providers.sdk_provider import SdkProvider
from llm_responses.vendors.vendor import Vendor, VendorSettings

BASE_URL = "https://api.perplexity.ai/v1"
# USD per tool call (docs.perplexity.ai/docs/getting-started/pricing, "Agent API"): web_search per
# invocation, Fast Search ($0.001) for search_type "fast"; fetch_url per invocation
TOOL_FEES = {
    "web_search": Decimal("0.0025"),
    "web_search_fast": Decimal("0.001"),
    "fetch_url": Decimal("0.0005"),
}
# usage.tool_calls_details is keyed by billing names (docs.perplexity.ai, Agent API "Usage")
_BILLED_AS = {"search_web": "web_search", "fetch_url": "fetch_url"}
_MARKERS = re.compile(r"(?:\[(?:web:)?\d{1,4}\])+")  # a group of adjacent markers: "[2][1]", "[web:1]"
_NUMBER = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?\n]\s+")
_TRANSIENT = frozenset(
    {"internal_error", "bad_gateway", "gateway_timeout", "server_error", "rate_limit_exceeded"}
)
INCOMPLETE = {"max_output_tokens": "max_output_tokens", "content_filter": "content_filter"}


class PerplexityProvider(SdkProvider):
    hosted_search = True
    path = "/responses"
    batch: BatchClient | None = None  # its Batch API (``build`` attaches it)

    def __init__(self, *, name: str = "perplexity", **client: Any) -> None:
        super().__init__(name=name, **client)

    def build(self, request: LlmRequest) -> dict[str, Any]:
        return build_params(request)

    def parse(self, body: dict[str, Any], *, fallback_model: str) -> LlmResult:
        return parse_response(body, fallback_model=fallback_model)

    async def generate(self, request: LlmRequest) -> LlmResult:
        try:
            return await super().generate(request)
        except ProviderError as exc:
            if (ours := own_field(exc)) is not exc:
                raise ours from exc
            raise


def own_field(exc: ProviderError) -> ProviderError:
    """A field the strict decoder did not know is one we sent: ours to fix, not the caller's (no ``param``)."""
    if exc.param and "unknown field" in exc.message:
        return ProviderError(exc.kind, exc.message, code=exc.code)
    return exc


def build_params(r: LlmRequest) -> dict[str, Any]:
    """The Agent API request for one task (every field one the API's strict decoder accepts)."""
    preset = "/" not in r.model
    turns = [*r.history, ("user", r.user_prompt)]
    items = [{"role": role, "content": text} for role, text in turns]
    body: dict[str, Any] = {"effort": r.model} if preset else {"model": r.model}
    if r.system_message:
        if preset:
            items.insert(0, {"role": "system", "content": r.system_message})
        else:
            body["instructions"] = r.system_message
    body["input"] = items
    body["max_output_tokens"] = r.max_output_tokens
    if not preset:
        if r.temperature is not None:
            body["temperature"] = r.temperature
        if r.top_p is not None:
            body["top_p"] = r.top_p
    tool: dict[str, Any] = {"type": "web_search"}
    if r.country:
        tool["user_location"] = {"country": r.country}
    body["tools"] = [tool]
    body["tool_choice"] = {"type": "web_search"}
    return body


def parse_response(body: dict[str, Any], *, fallback_model: str) -> LlmResult:
    status = body.get("status")
    if status in ("failed", "cancelled"):  # HTTP 200, with the reason in ``error``
        error = _object(body.get("error"))
        code = str(error.get("type") or error.get("code") or "")
        kind = ErrorKind.UNAVAILABLE if code in _TRANSIENT else ErrorKind.INVALID_REQUEST
        raise ProviderError(
            kind, f"perplexity: run {status}: {error.get('message') or code}", code=code or None
        )
    sources: dict[int, tuple[str, str]] = {}
    queries: list[str] = []
    texts: list[tuple[str, list[dict[str, Any]]]] = []
    reasoning: list[str] = []
    for item in body.get("output") or ():
        if not isinstance(item, dict):
            continue
        item_type = item.get("type")
        if item_type == "search_results":
            for q in item.get("queries") or ():
                if isinstance(q, str) and q and q not in queries:
                    queries.append(q)
            for result in item.get("results") or ():
                if isinstance(result, dict) and isinstance(result.get("url"), str):
                    number = result.get("id")
                    key = number if isinstance(number, int) else len(sources) + 1
                    sources[key] = (result["url"], str(result.get("title") or result["url"]))
        elif item_type == "message":
            for content in item.get("content") or ():
                if isinstance(content, dict) and content.get("type") == "output_text":
                    texts.append((str(content.get("text") or ""), list(content.get("annotations") or ())))
        elif item_type == "reasoning":
            reasoning += [
                str(s["text"]) for s in item.get("summary") or () if isinstance(s, dict) and s.get("text")
            ]
    parts = tuple(
        TextPart(text, _citations(text, annotations, sources)) for text, annotations in texts if text
    )
    usage = _object(body.get("usage"))
    calls = _tool_calls(usage.get("tool_calls_details"))
    searches = dict(calls).get("web_search", 0) or (1 if sources else 0)
    details = _object(usage.get("input_tokens_details"))
    output = _object(usage.get("output_tokens_details"))
    incomplete = _object(body.get("incomplete_details"))
    return LlmResult(
        model=str(body.get("model") or fallback_model),
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        reasoning_tokens=_int(output.get("reasoning_tokens")),
        cached_input_tokens=_int(details.get("cached_tokens") or details.get("cache_read_input_tokens")),
        web_search_calls=searches,
        tool_calls=calls or ((("web_search", searches),) if searches else ()),
        reasoning_summaries=tuple(reasoning),
        parts=parts,
        fan_out_queries=tuple(queries),
        incomplete_reason=(
            INCOMPLETE.get(str(incomplete.get("reason")), str(incomplete.get("reason") or "incomplete"))
            if status == "incomplete"
            else None
        ),
        search_tool="web_search" if searches else "",
        reported_cost=_total_cost(usage),
    )


def _citations(
    text: str, annotations: list[dict[str, Any]], sources: dict[int, tuple[str, str]]
) -> tuple[Citation, ...]:
    """The claims the ``[n]``/``[web:n]`` markers close, each citing the result the marker names (an
    annotation over a marker names its source too, when no ``search_results`` item does); without markers,
    the annotations whose offsets span cited text."""
    spans = []
    for a in annotations:
        if not (isinstance(a, dict) and isinstance(a.get("url"), str)):
            continue
        start, end = a.get("start_index"), a.get("end_index")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            continue
        source = (a["url"], str(a.get("title") or a["url"]))
        marker = _MARKERS.fullmatch(text[start:end])
        if marker:
            for number in _NUMBER.findall(marker.group()):
                sources.setdefault(int(number), source)
        else:
            spans.append(Citation(source[0], source[1], start, end))
    return cited_spans(text, sources) or tuple(spans)


def cited_spans(text: str, sources: dict[int, tuple[str, str]]) -> tuple[Citation, ...]:
    """One citation per marker naming a known result; a group of markers ("[2][1]") cites the claim it
    closes: from the previous sentence end (or marker group) to the group."""
    out: list[Citation] = []
    after_previous = 0
    for group in _MARKERS.finditer(text):
        start = after_previous
        for boundary in _SENTENCE_END.finditer(text, after_previous, group.start()):
            start = boundary.end()
        end = group.start()
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and (text[start].isspace() or text[start] in ".,;:"):
            start += 1
        after_previous = group.end()
        if end <= start:
            continue
        for number in _NUMBER.findall(group.group()):
            source = sources.get(int(number))
            if source is not None:
                out.append(Citation(source[0], source[1], start, end))
    return tuple(out)


def _tool_calls(details: Any) -> tuple[tuple[str, int], ...]:
    """Billed tool calls by our tool names, from ``usage.tool_calls_details`` (``{"search_web": {"invocation": n}}``)."""
    if not isinstance(details, dict):
        return ()
    out = []
    for billed, counts in details.items():
        tool = _BILLED_AS.get(billed)
        n = counts.get("invocation") if isinstance(counts, dict) else None
        if tool and isinstance(n, int) and n > 0:
            out.append((tool, n))
    return tuple(out)


def _total_cost(usage: dict[str, Any]) -> Decimal | None:
    cost = usage.get("cost")
    total = cost.get("total_cost") if isinstance(cost, dict) else None
    if isinstance(total, int | float) and not isinstance(total, bool) and total >= 0:
        try:
            return Decimal(str(total))
        except InvalidOperation:
            return None
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class PerplexitySettings(VendorSettings):
    perplexity_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_PERPLEXITY_API_KEY", "PERPLEXITY_API_KEY", "perplexity_api_key"
        ),
    )
    perplexity_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_PERPLEXITY_BASE_URL", "PERPLEXITY_BASE_URL", "perplexity_base_url"
        ),
    )
    perplexity_timeout: float = UPSTREAM_TIMEOUT
    perplexity_max_retries: int = UPSTREAM_RETRIES


def build(s: PerplexitySettings) -> Provider:
    provider = PerplexityProvider(
        api_key=s.perplexity_api_key,
        base_url=_v1(s.perplexity_base_url or BASE_URL),
        timeout=s.perplexity_timeout,
        max_retries=s.perplexity_max_retries,
    )
    provider.batch = batch_client(provider)
    return provider


def batch_client(provider: PerplexityProvider) -> OpenAIShapedBatch:
    """Perplexity's Batch API on the provider's own SDK clients (closed with it): ``/v1/files`` and
    ``/v1/batches`` beside ``/v1/responses``, with an ``Idempotency-Key`` on create."""
    return OpenAIShapedBatch(
        provider._clients,
        name=provider.name,
        build=provider.build,
        parse=provider.parse,
        idempotent=True,
        line_error=own_field,
    )


def _v1(url: str) -> str:
    """A bare host (``https://api.perplexity.ai``, as Sonar's clients were configured) gets the ``/v1`` the
    SDK's paths are relative to."""
    return url.rstrip("/") + "/v1" if urlsplit(url).path in ("", "/") else url


VENDOR = Vendor(
    name="perplexity",
    label="Perplexity",
    key_env="PERPLEXITY_API_KEY",
    default_base_url=BASE_URL,
    engines=frozenset({"perplexity"}),
    searches=True,
    configured=lambda s: bool(s.perplexity_api_key or s.perplexity_base_url),
    build=build,
    tool_fees=TOOL_FEES,
    batch_rate=Decimal(1),  # no batch discount is documented; each line's own usage.cost is what it bills
)
