"""OpenAI's Responses API through the official SDK (``AsyncOpenAI``).

The same class serves OpenAI itself and anything that speaks ``/v1/responses`` (gateways, vLLM, Ollama,
llama.cpp's server): only ``base_url`` differs. Mapping follows OpenAI's API reference (platform.openai.com/docs/api-reference/responses).
Responses are read as plain JSON, defensively: proxies and local servers omit fields.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

from llm_responses.core import Citation, LlmRequest, LlmResult, TextPart
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.sdk_provider import SdkProvider

log = logging.getLogger(__name__)
SearchTool = Literal["web_search", "web_search_preview"]
# error codes of a 200 with ``status: "failed"`` worth another try (the rest are final)
_TRANSIENT_FAILURES = frozenset({"server_error", "rate_limit_exceeded", "vector_store_timeout"})


class OpenAIResponsesProvider(SdkProvider):
    """OpenAI's ``/v1/responses`` (or any server that speaks it) through the official SDK."""

    path = "/responses"

    def __init__(
        self,
        *,
        hosted_search: bool = True,
        name: str = "openai",
        search_tool: SearchTool = "web_search",
        **client: Any,
    ) -> None:
        super().__init__(name=name, **client)
        self.hosted_search = (
            hosted_search  # OpenAI runs web_search itself; other servers get it through search/
        )
        self.search_tool: SearchTool = search_tool
        # cleared for good when the upstream refuses reasoning summaries (an organization not verified)
        self.summaries_allowed = True

    def build(self, request: LlmRequest) -> dict[str, Any]:
        return build_params(request, search_tool=self.search_tool)

    def parse(self, body: dict[str, Any], *, fallback_model: str) -> LlmResult:
        result = parse_response(body, fallback_model=fallback_model)
        return replace(result, search_tool=self.search_tool) if result.web_search_calls else result

    async def generate(self, request: LlmRequest) -> LlmResult:
        """One call; a refusal of ``reasoning.summary`` is retried at once without it, and remembered."""
        if request.reasoning and not self.summaries_allowed:
            return await super().generate(replace(request, reasoning=False))
        try:
            return await super().generate(request)
        except ProviderError as exc:
            if not (
                request.reasoning
                and exc.kind is ErrorKind.INVALID_REQUEST
                and exc.param == "reasoning.summary"
            ):
                raise
            self.summaries_allowed = False
            log.warning(
                "%s refuses reasoning summaries (%s): asking without them from now on", self.name, exc.message
            )
            return await super().generate(replace(request, reasoning=False))


def build_params(request: LlmRequest, *, search_tool: SearchTool = "web_search") -> dict[str, Any]:
    """The ``responses.create`` keyword arguments for one request."""
    if request.history:
        # explicit ``type: message``: OpenAI accepts both forms, llama.cpp's server only this one
        turns = [*request.history, ("user", request.user_prompt)]
        items: list[dict[str, str]] = [
            {"type": "message", "role": role, "content": text} for role, text in turns
        ]
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
        params["tools"] = [{"type": search_tool, "user_location": location}]
        params["tool_choice"] = "required" if request.force_web_search else "auto"
        params["include"] = ["web_search_call.action.sources"]
    return params


def parse_response(body: Any, *, fallback_model: str) -> LlmResult:
    """The Responses API JSON body (a dict) → our LlmResult. Every field is optional: proxies omit some.

    A 200 whose ``status`` is ``failed`` (or a background-only state) raises; ``incomplete`` keeps what came
    back with its reason. Reasoning arrives as ``summary`` texts (OpenAI) or as ``reasoning_text`` content
    with an empty summary (vLLM, gpt-oss): both become reasoning, never answer text.
    """
    if not isinstance(body, dict):
        raise ProviderError(ErrorKind.UNAVAILABLE, "response body is not a JSON object")
    _raise_for_status(body)
    parts: list[TextPart] = []
    summaries: list[str] = []
    queries: list[str] = []
    searches = 0
    for item in _dicts(body.get("output")):
        kind = item.get("type")
        if kind == "message":
            for part in _dicts(item.get("content")):
                if part.get("type") == "reasoning_text" and part.get("text"):
                    summaries.append(str(part["text"]))
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
            texts = [str(s["text"]) for s in _dicts(item.get("summary")) if s.get("text")]
            if not texts:  # raw reasoning where the server writes no summary (vLLM, gpt-oss)
                texts = [
                    str(c["text"])
                    for c in _dicts(item.get("content"))
                    if c.get("type") == "reasoning_text" and c.get("text")
                ]
            summaries.extend(texts)
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


def _raise_for_status(body: dict[str, Any]) -> None:
    status = body.get("status")
    if status in (None, "completed", "incomplete"):
        return
    error = _dict(body.get("error"))
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = f"response status {status}: {code or '-'}: {error.get('message') or ''}".rstrip(": ")
    if status == "failed" and code == "invalid_prompt":  # the prompt itself was refused
        raise ProviderError(ErrorKind.INVALID_REQUEST, message, param="input", code=code)
    if status == "failed" and code not in _TRANSIENT_FAILURES and code is not None:
        raise ProviderError(ErrorKind.FATAL, message, code=code)
    raise ProviderError(ErrorKind.UNAVAILABLE, message, code=code)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
