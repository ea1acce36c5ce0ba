"""One HTTP attempt at a webhook: to the address the guard checked, no redirects, a hard timeout.

The request goes to the checked IP with the original ``Host`` header (and, for https, the original name for
SNI and certificate checks), so the HTTP client never resolves the name itself. The outcome says whether
another attempt is worthwhile: network errors, timeouts, temporary DNS failures, 408, 429 and 5xx are;
other answers are not. Of the receiver's reply at most ``MAX_REPLY_BYTES`` are read: only its status counts,
and a receiver must not be able to make us hold a gigabyte.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

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

    def done(delivered: bool, retryable: bool, status: int | None, error: str | None) -> SendResult:
        return SendResult(
            delivered, retryable, status, error, round((time.perf_counter() - started) * 1000, 2)
        )

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
                read = 0
                async for chunk in response.aiter_raw():  # the reply is drained up to a few KB, never kept
                    read += len(chunk)
                    if read >= MAX_REPLY_BYTES:
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
    return done(False, retryable, status, f"HTTP {status}")
