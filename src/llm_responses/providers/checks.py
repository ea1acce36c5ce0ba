"""What every provider decides the same way about an upstream's answer, whatever its SDK: which HTTP
statuses are the operator's problem or worth another try, and that a 200 without a word is a failure."""

from __future__ import annotations

from llm_responses.core import LlmResult
from llm_responses.errors import ErrorKind, ProviderError

OPERATOR_STATUSES = frozenset({401, 402, 403, 404})  # credentials, billing, permission, unknown model
RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx (Anthropic's 529 "overloaded" too)


def status_kind(status: int) -> ErrorKind:
    """FATAL (an operator must act), UNAVAILABLE (try again later) or INVALID_REQUEST (the request itself)."""
    if status in OPERATOR_STATUSES:
        return ErrorKind.FATAL
    if status in RETRY_STATUSES or status >= 500:
        return ErrorKind.UNAVAILABLE
    return ErrorKind.INVALID_REQUEST


def require_answer(result: LlmResult, name: str) -> LlmResult:
    """A 200 with no text at all (no output, or cut before any): a failure, never a charge."""
    if not any(part.text.strip() for part in result.parts):
        why = f"incomplete ({result.incomplete_reason})" if result.incomplete_reason else "no output text"
        raise ProviderError(ErrorKind.NO_OUTPUT, f"{name}: {why}")
    return result
