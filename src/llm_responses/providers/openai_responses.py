"""OpenAI's Responses API through the official SDK (``AsyncOpenAI``).

The same class serves OpenAI itself and anything that speaks ``/v1/responses`` (gateways, vLLM, Ollama,
llama.cpp's server): only ``base_url`` differs. Mapping follows ``reference/openai_responses.md`` §11.
Responses are read defensively (the SDK's lenient parser leaves ``None`` where a proxy omits fields).
"""

from __future__ import annotations

import logging
from typing import Any

import openai
from openai import AsyncOpenAI

from llm_responses.providers.base import (
    Citation,
    ErrorKind,
    LlmRequest,
    LlmResult,
    ProviderError,
    TextPart,
)

log = logging.getLogger(__name__)


class OpenAIResponsesProvider:
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float = 110.0,
        max_retries: int = 2,
        name: str = "openai",
    ) -> None:
        self.name = name
        # base_url is always passed explicitly: a stray OPENAI_BASE_URL must not redirect us silently.
        self._client = AsyncOpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url or "https://api.openai.com/v1",
            timeout=timeout,
            max_retries=max_retries,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(self, request: LlmRequest) -> LlmResult:
        try:
            response = await self._client.responses.create(**build_params(request))
        except openai.APIStatusError as exc:
            raise map_status_error(exc) from exc
        except openai.APITimeoutError as exc:
            raise ProviderError(ErrorKind.TIMEOUT, f"{self.name}: request timed out") from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: connection error: {exc}") from exc
        if isinstance(response, str):  # a 200 with a non-JSON body (a misbehaving proxy)
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: non-JSON response body")
        return parse_response(response, fallback_model=request.model)


def build_params(request: LlmRequest) -> dict[str, Any]:
    """The ``responses.create`` keyword arguments for one request."""
    if request.history:
        items: list[dict[str, str]] = [{"role": role, "content": text} for role, text in request.history]
        items.append({"role": "user", "content": request.user_prompt})
        input_: Any = items
    else:
        input_ = request.user_prompt
    params: dict[str, Any] = {
        "model": request.model,
        "input": input_,
        "max_output_tokens": request.max_output_tokens,
        "store": False,
    }
    if request.task_id:
        params["metadata"] = {"task_id": request.task_id}
    if request.system_message:
        params["instructions"] = request.system_message
    # Reasoning models reject temperature/top_p: omit them entirely (None would be sent as null).
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    if request.reasoning:
        params["reasoning"] = {"summary": "auto"}
    if request.web_search:
        # An explicit location object: without one OpenAI localises the search to the United States.
        location: dict[str, str] = {"type": "approximate"}
        if request.country:
            location["country"] = request.country
        if request.city:
            location["city"] = request.city
        params["tools"] = [{"type": "web_search", "user_location": location}]
        params["tool_choice"] = "required" if request.force_web_search else "auto"
        params["include"] = ["web_search_call.action.sources"]
    return params


def parse_response(response: Any, *, fallback_model: str) -> LlmResult:
    parts: list[TextPart] = []
    summaries: list[str] = []
    queries: list[str] = []
    searches = 0
    for item in response.output or []:
        kind = getattr(item, "type", None)
        if kind == "message":
            for part in getattr(item, "content", None) or []:
                if getattr(part, "type", None) != "output_text":
                    continue
                text = part.text or ""
                cites = tuple(
                    Citation(
                        url=a.url,
                        title=a.title or "",
                        start_index=a.start_index,
                        end_index=a.end_index,
                    )
                    for a in (part.annotations or [])
                    if getattr(a, "type", None) == "url_citation"
                )
                parts.append(TextPart(text=text, citations=cites))
        elif kind == "reasoning":
            summaries.extend(s.text for s in (getattr(item, "summary", None) or []) if s.text)
        elif kind == "web_search_call":
            action = getattr(item, "action", None)
            if action is None:  # preview-era bodies have no action: still one search
                searches += 1
            elif getattr(action, "type", None) == "search":
                searches += 1
                found = getattr(action, "queries", None) or (
                    [action.query] if getattr(action, "query", None) else []
                )
                queries.extend(q for q in found if q and q not in queries)
    usage = response.usage
    tool_usage = getattr(response, "tool_usage", None)
    billed_searches = _num_requests(tool_usage)
    input_details = getattr(usage, "input_tokens_details", None) if usage else None
    output_details = getattr(usage, "output_tokens_details", None) if usage else None
    incomplete = getattr(response, "incomplete_details", None)
    return LlmResult(
        model=response.model or fallback_model,
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        reasoning_tokens=int(getattr(output_details, "reasoning_tokens", 0) or 0),
        cached_input_tokens=int(getattr(input_details, "cached_tokens", 0) or 0),
        web_search_calls=billed_searches if billed_searches is not None else searches,
        reasoning_summaries=tuple(summaries),
        parts=tuple(parts),
        fan_out_queries=tuple(queries),
        incomplete_reason=getattr(incomplete, "reason", None) if incomplete else None,
    )


def _num_requests(tool_usage: Any) -> int | None:
    """``tool_usage.web_search.num_requests`` when the upstream reports it (billable searches only)."""
    web = getattr(tool_usage, "web_search", None) if tool_usage is not None else None
    if web is None and isinstance(tool_usage, dict):
        web = tool_usage.get("web_search")
    if isinstance(web, dict):
        return web.get("num_requests")
    return getattr(web, "num_requests", None) if web is not None else None


def map_status_error(exc: openai.APIStatusError) -> ProviderError:
    """HTTP errors after the SDK's own retries, classified for the task lifecycle."""
    code = getattr(exc, "code", None)
    message = f"HTTP {exc.status_code}: {getattr(exc, 'message', str(exc))}"
    if exc.status_code == 429 and code == "insufficient_quota":
        return ProviderError(ErrorKind.FATAL, message)
    if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
        return ProviderError(ErrorKind.UNAVAILABLE, message)
    if exc.status_code in (401, 403, 404):
        return ProviderError(ErrorKind.FATAL, message)
    return ProviderError(ErrorKind.INVALID_REQUEST, message, param=getattr(exc, "param", None))
