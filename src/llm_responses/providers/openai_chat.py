"""Chat Completions (``/v1/chat/completions``) through the official SDK: the fallback for OpenAI-compatible
servers without ``/v1/responses`` (older vLLM, Ollama, LM Studio, many gateways).

Such servers have no hosted web search; ``search/`` supplies it. Reasoning text, where a server returns
it (``reasoning_content``, as vLLM and llama.cpp do), becomes the reasoning summary.
"""

from __future__ import annotations

from typing import Any

from llm_responses.providers.base import LlmRequest, LlmResult, TextPart
from llm_responses.providers.sdk_provider import SdkProvider


class OpenAIChatProvider(SdkProvider):
    path = "/chat/completions"

    def __init__(self, *, name: str = "chat", **client: Any) -> None:
        super().__init__(name=name, **client)

    def build(self, request: LlmRequest) -> dict[str, Any]:
        return build_chat_params(request)

    def parse(self, body: dict[str, Any], *, fallback_model: str) -> LlmResult:
        return parse_chat_response(body, fallback_model=fallback_model)


def build_chat_params(request: LlmRequest) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    if request.system_message:
        messages.append({"role": "system", "content": request.system_message})
    messages += [{"role": role, "content": text} for role, text in request.history]
    messages.append({"role": "user", "content": request.user_prompt})
    # ``max_tokens``: what every compatible server understands (OpenAI itself also takes it for these models)
    params: dict[str, Any] = {"model": request.model, "messages": messages, "max_tokens": request.max_output_tokens}
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    return params


def parse_chat_response(body: dict[str, Any], *, fallback_model: str) -> LlmResult:
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = message.get("content")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    details = usage.get("completion_tokens_details") if isinstance(usage.get("completion_tokens_details"), dict) else {}
    cached = usage.get("prompt_tokens_details") if isinstance(usage.get("prompt_tokens_details"), dict) else {}
    return LlmResult(
        model=str(body.get("model") or fallback_model),
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        reasoning_tokens=int(details.get("reasoning_tokens") or 0),
        cached_input_tokens=int(cached.get("cached_tokens") or 0),
        reasoning_summaries=(reasoning,) if isinstance(reasoning, str) and reasoning.strip() else (),
        parts=(TextPart(text=text),) if isinstance(text, str) and text else (),
        incomplete_reason="max_output_tokens" if choice.get("finish_reason") == "length" else None,
    )
