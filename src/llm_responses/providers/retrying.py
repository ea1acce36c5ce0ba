"""The one retry loop every upstream call goes through: retry what ``ProviderError.retryable`` says is worth
it, waiting what the server asked (``retry_after``) or the SDKs' own backoff, and never longer than
``MAX_RETRY_AFTER`` (a longer wait is not waited for: the error stands, as the SDKs do)."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from llm_responses.errors import ProviderError

T = TypeVar("T")
MAX_RETRY_AFTER = 120.0


def backoff(attempt: int) -> float:
    """The SDKs' own schedule: 0.5 s doubling to 8 s, less up to a quarter at random."""
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * random.random())


async def retrying(call: Callable[[], Awaitable[T]], retries: int) -> T:
    """``call()``, and up to ``retries`` more attempts of it after failures worth another try now."""
    attempt = 0
    while True:
        try:
            return await call()
        except ProviderError as exc:
            delay = exc.retry_after if exc.retry_after is not None else backoff(attempt)
            if not exc.retryable or attempt >= retries or delay > MAX_RETRY_AFTER:
                raise
        attempt += 1
        await asyncio.sleep(delay)


def retry_after(headers: Any) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, or ``retry-after`` as seconds or an HTTP date."""
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None
