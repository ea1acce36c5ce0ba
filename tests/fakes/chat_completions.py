"""The ``chat.completion`` bodies of the fake's ``/v1/chat/completions``: the API OpenAI-compatible servers
(vLLM, Ollama, llama.cpp) fall back to, in OpenAI's documented shape."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.openai_replies import random_hex, word_tokens


def chat_completion(
    req: dict[str, Any],
    *,
    text: str | None = None,
    finish_reason: str = "stop",
    reasoning: str | None = None,
) -> dict[str, Any]:
    """OpenAI's documented ``chat.completion`` object for the last message of ``req``."""
    prompt = str(req["messages"][-1]["content"])
    answer = text if text is not None else f"Here is an answer about {prompt}."
    prompt_tokens = sum(word_tokens(str(m.get("content", ""))) for m in req["messages"]) + 5
    message: dict[str, Any] = {"role": "assistant", "content": answer, "refusal": None, "annotations": []}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return {
        "id": f"chatcmpl-{random_hex(24)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(req.get("model", "")),
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": word_tokens(answer),
            "total_tokens": prompt_tokens + word_tokens(answer),
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
