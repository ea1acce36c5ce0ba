"""What the fake OpenAI answers with: the model snapshots it knows, the sources it cites, ``Reply`` (one
scripted answer) and the error replies real upstreams send, so tests script them by name.

From OpenAI's error-code guide (https://platform.openai.com/docs/guides/error-codes) and reported cases: an unverified organization
refusing ``reasoning.summary``; ``model_not_found`` as HTTP 400; ``insufficient_quota`` and rate-limit 429s
with ``Retry-After``. Error bodies are wrapped as ``{"error": {message, type, param, code}}``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

SNAPSHOTS = {
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "o4-mini": "o4-mini-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "gpt-5": "gpt-5-2025-08-07",
}

# Non-ASCII on purpose: byte and code-point offsets differ, so offset mix-ups show.
SOURCES = [
    ("Parc Astérix – Wikipédia", "https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix"),
    (
        "France Amusement Parks Market Size & Outlook, 2030",
        "https://www.grandviewresearch.com/horizon/outlook/amusement-parks-market/france",
    ),
]


def is_reasoning_model(model: str) -> bool:
    return model.startswith(("o1", "o3", "o4", "gpt-5"))


def random_hex(chars: int) -> str:
    """Random hex like OpenAI's ids; not secret, so no system call per id (the benchmarks share the fake's cores)."""
    return f"{random.getrandbits(chars * 4):0{chars}x}"


def object_id(prefix: str) -> str:
    return f"{prefix}_{random_hex(50)}"


def word_tokens(text: str) -> int:
    return max(1, len(text.split()))


@dataclass
class Reply:
    """One scripted answer: a body with a status, optional headers and a delay before answering."""

    body: dict[str, Any] | str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def error_reply(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Reply(body=body, status=status, headers=headers or {})


UNVERIFIED_SUMMARY = (
    "Your organization must be verified to generate reasoning summaries. Please go to: "
    "https://platform.openai.com/settings/organization/general and click on Verify Organization. "
    "If you just verified, it can take up to 15 minutes for access to propagate."
)


def summary_refused() -> Reply:
    return error_reply(400, UNVERIFIED_SUMMARY, param="reasoning.summary", code="unsupported_value")


def model_not_found(model: str, *, status: int = 400) -> Reply:
    """OpenAI answers an unknown or inaccessible model with ``model_not_found``, as a 400 on /responses."""
    return error_reply(
        status, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
    )


def insufficient_quota() -> Reply:
    return error_reply(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        type_="insufficient_quota",
        code="insufficient_quota",
    )


def rate_limited(*, retry_after: str | None = None, retry_after_ms: str | None = None) -> Reply:
    headers = {
        k: v for k, v in (("retry-after", retry_after), ("retry-after-ms", retry_after_ms)) if v is not None
    }
    return error_reply(
        429,
        "Rate limit reached for gpt-4.1-mini in organization org-FAKE0000000000000000000 on "
        "tokens per min (TPM): Limit 200000, Used 199310, Requested 1420. Please try again in 219ms. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        type_="tokens",
        code="rate_limit_exceeded",
        headers=headers,
    )
