"""One HTTP attempt at a webhook: to the address the guard checked, no redirects, a hard timeout.

The request goes to the checked IP with the original ``Host`` header (and, for https, the original name for
SNI and certificate checks), so the HTTP client never resolves the name itself. The outcome says whether
another attempt is worthwhile: network errors, timeouts, temporary DNS failures, 408, 429 and 5xx are;
other answers are not. Of the receiver's reply at most ``MAX_REPLY_BYTES`` are read: only its status counts
(and, on a 429, how long it asks us to wait), and a receiver must not be able to make us hold a gigabyte.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from llm_responses.errors import Refused, Unresolved
from llm_responses.webhooks.guard import AddressGuard

RETRYABLE_STATUS = {408, 425, 429}
MAX_REPLY_BYTES = 4096


@dataclass(frozen=True, slots=True)
class SendResult:
    delivered: bool
    retryable: bool
    http_status: int | None
    error: str | None
    latency_ms: float
    retry_after: float | None = None  # seconds the receiver asked us to wait (429/503), if it said


def asked_delay(status: int, headers: httpx.Headers, body: bytes, now: float) -> float | None:
    """How long a 429 or 503 asks us to wait: ``Retry-After`` in seconds or as an HTTP date (RFC 9110, as
    Slack sends it), or a JSON body's ``retry_after`` in float seconds (Discord's); the longer of the two."""
    if status not in (429, 503):
        return None
    asked: list[float] = []
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        asked.append(float(value))
    elif value:
        try:
            when = parsedate_to_datetime(value)
            asked.append((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() - now)
        except (TypeError, ValueError):
            pass
    if status == 429 and body and headers.get("content-encoding", "identity") == "identity":
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        seconds = data.get("retry_after") if isinstance(data, dict) else None
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds):
            asked.append(float(seconds))
    return max(0.0, *asked) if asked else None


def _pinned_url(url: httpx.URL, address: str) -> httpx.URL:
    return url.copy_with(host=address)


async def send(
    client: httpx.AsyncClient,
    guard: AddressGuard,
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout_seconds: float = 10.0,
) -> SendResult:
    """One attempt, DNS included, within ``timeout_seconds`` in all (DataForSEO's 10 s per attempt)."""
    started = time.perf_counter()

    def done(
        delivered: bool, retryable: bool, status: int | None, error: str | None, asked: float | None = None
    ) -> SendResult:
        latency = round((time.perf_counter() - started) * 1000, 2)
        return SendResult(delivered, retryable, status, error, latency, asked)

    try:
        async with asyncio.timeout(timeout_seconds):
            try:
                target = await guard.resolve(url)
            except Refused as exc:
                return done(False, False, None, f"refused: {exc}")
            except Unresolved as exc:
                return done(False, True, None, str(exc))
            original = httpx.URL(url)
            request_headers = {"Host": original.netloc.decode("ascii"), **(headers or {})}
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request = client.build_request(
                method, _pinned_url(original, target.address), content=body, headers=request_headers,
                timeout=timeout_seconds, extensions=extensions,
            )  # fmt: skip
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                kept = bytearray()  # the reply is drained up to a few KB, read only for a 429's retry_after
                async for chunk in response.aiter_raw():
                    kept += chunk[: MAX_REPLY_BYTES - len(kept)]
                    if len(kept) >= MAX_REPLY_BYTES:
                        break
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        return done(False, True, None, f"timed out after {timeout_seconds:g}s")
    except httpx.HTTPError as exc:
        return done(False, True, None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    status = response.status_code
    if 200 <= status < 300:
        return done(True, False, status, None)
    retryable = status >= 500 or status in RETRYABLE_STATUS
    asked = asked_delay(status, response.headers, bytes(kept), time.time())
    return done(False, retryable, status, f"HTTP {status}", asked)
