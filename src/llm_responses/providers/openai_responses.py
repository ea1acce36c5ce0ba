"""OpenAI's Responses API through the official SDK (``AsyncOpenAI``).

The same class serves OpenAI itself and anything that speaks ``/v1/responses`` (gateways, vLLM, Ollama,
llama.cpp's server): only ``base_url`` differs. Mapping follows ``reference/openai_responses.md`` §11.
Responses are read as plain JSON, defensively: proxies and local servers omit fields.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2  # the HTTP client of openai>=3 (its dependency), named for the raw-response cast
import openai
import orjson
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
            # The SDK's generic POST (its documented way to call any endpoint) keeps its auth, retries,
            # timeouts and typed errors, but skips the typed-params transform and the pydantic model
            # construction: together most of the SDK's own per-call cost (see docs/benchmarks.md).
            # Our params come from build_params and are checked by the tests against the fake server.
            raw = await self._client.post("/responses", body=build_params(request), cast_to=httpx2.Response)
            body = orjson.loads(raw.content)
        except orjson.JSONDecodeError as exc:  # a 200 with a non-JSON body (a misbehaving proxy)
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: non-JSON response body") from exc
        except openai.APIStatusError as exc:
            raise map_status_error(exc) from exc
        except openai.APITimeoutError as exc:
            raise ProviderError(ErrorKind.TIMEOUT, f"{self.name}: request timed out") from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: connection error: {exc}") from exc
        return parse_response(body, fallback_model=request.model)


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


def parse_response(body: Any, *, fallback_model: str) -> LlmResult:
    """The Responses API JSON body (a dict) → our LlmResult. Every field is optional: proxies omit some."""
    if not isinstance(body, dict):
        raise ProviderError(ErrorKind.UNAVAILABLE, "response body is not a JSON object")
    parts: list[TextPart] = []
    summaries: list[str] = []
    queries: list[str] = []
    searches = 0
    for item in _dicts(body.get("output")):
        kind = item.get("type")
        if kind == "message":
            for part in _dicts(item.get("content")):
                if part.get("type") != "output_text":
                    continue
                cites = tuple(
                    Citation(
                        url=str(a.get("url") or ""),
                        title=str(a.get("title") or ""),
                        start_index=int(a.get("start_index") or 0),
                        end_index=int(a.get("end_index") or 0),
                    )
                    for a in _dicts(part.get("annotations"))
                    if a.get("type") == "url_citation"
                )
                parts.append(TextPart(text=str(part.get("text") or ""), citations=cites))
        elif kind == "reasoning":
            summaries.extend(str(s["text"]) for s in _dicts(item.get("summary")) if s.get("text"))
        elif kind == "web_search_call":
            action = item.get("action")
            if not isinstance(action, dict):  # preview-era bodies have no action: still one search
                searches += 1
            elif action.get("type") == "search":
                searches += 1
                found = action.get("queries") or ([action["query"]] if action.get("query") else [])
                queries.extend(q for q in found if isinstance(q, str) and q and q not in queries)
    usage = _dict(body.get("usage"))
    billed_searches = _dict(_dict(body.get("tool_usage")).get("web_search")).get("num_requests")
    return LlmResult(
        model=str(body.get("model") or fallback_model),
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        reasoning_tokens=int(_dict(usage.get("output_tokens_details")).get("reasoning_tokens") or 0),
        cached_input_tokens=int(_dict(usage.get("input_tokens_details")).get("cached_tokens") or 0),
        web_search_calls=int(billed_searches) if isinstance(billed_searches, int) else searches,
        reasoning_summaries=tuple(summaries),
        parts=tuple(parts),
        fan_out_queries=tuple(queries),
        incomplete_reason=_dict(body.get("incomplete_details")).get("reason"),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


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
