"""Chat Completions (``/v1/chat/completions``) through the official SDK: the fallback for OpenAI-compatible
servers without ``/v1/responses`` (older vLLM, Ollama, LM Studio, many gateways).

Such servers have no hosted web search; ``search/`` supplies it. Reasoning text, where a server returns
it — a ``reasoning_content`` (or ``reasoning``) field as vLLM, DeepSeek and llama.cpp do, or inline as
``<think>…</think>`` at the start of the content as DeepSeek-R1, Qwen and Ollama do — becomes reasoning,
never part of the answer.
"""

from __future__ import annotations

import re
from typing import Any

from llm_responses.core import LlmRequest, LlmResult, TextPart
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
    params: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "max_tokens": request.max_output_tokens,
    }
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    return params


# a leading think block; R1-style templates put the opening tag in the prompt, so it may be missing
_THINK = re.compile(r"^\s*(?:<think>)?(?P<thought>.*?)</think>\s*", re.DOTALL)


def split_think(text: str) -> tuple[str | None, str]:
    """``(reasoning, answer)`` from a content string that may start with a ``<think>`` block."""
    if "</think>" not in text:
        if text.lstrip().startswith("<think>"):  # cut off while still thinking: all of it is reasoning
            return text.lstrip()[len("<think>") :].strip() or None, ""
        return None, text
    match = _THINK.match(text)
    if match is None:
        return None, text
    return match["thought"].strip() or None, text[match.end() :]


def parse_chat_response(body: dict[str, Any], *, fallback_model: str) -> LlmResult:
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    text = message.get("content")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(text, str):
        thought, text = split_think(text)
        if thought and not (isinstance(reasoning, str) and reasoning.strip()):
            reasoning = thought
    usage = _dict(body.get("usage"))
    details = _dict(usage.get("completion_tokens_details"))
    cached = _dict(usage.get("prompt_tokens_details"))
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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
