"""The official ``openai`` SDK as every OpenAI-shaped provider uses it: one client, one POST, one error map.

Both API flavours (Responses and Chat Completions) and the embedded model go through ``post_json``, so
auth, retries, timeouts and the classification of upstream failures are the same everywhere.
"""

from __future__ import annotations

from typing import Any

import httpx2  # the HTTP client of openai>=3 (its dependency), named for the raw-response cast
import openai
import orjson
from openai import AsyncOpenAI

from llm_responses.providers.base import ErrorKind, ProviderError


def make_client(*, api_key: str | None, base_url: str | None, timeout: float, max_retries: int) -> AsyncOpenAI:
    # base_url is always passed explicitly: a stray OPENAI_BASE_URL must not redirect us silently.
    return AsyncOpenAI(
        api_key=api_key or "not-needed",
        base_url=base_url or "https://api.openai.com/v1",
        timeout=timeout,
        max_retries=max_retries,
    )


async def post_json(client: AsyncOpenAI, path: str, body: dict[str, Any], *, name: str) -> dict[str, Any]:
    """POST through the SDK and return the JSON object, or raise a classified ``ProviderError``.

    The SDK's generic ``post`` (its documented way to call any endpoint) keeps its auth, retries, timeouts
    and typed errors, but skips the typed-params transform and the pydantic model construction: together
    most of the SDK's own per-call cost (docs/benchmarks.md). The bodies come from our own builders and
    are checked by the tests against the fake server and the embedded llama.cpp server.
    """
    try:
        raw = await client.post(path, body=body, cast_to=httpx2.Response)
        parsed = orjson.loads(raw.content)
    except orjson.JSONDecodeError as exc:  # a 200 with a non-JSON body (a misbehaving proxy)
        raise ProviderError(ErrorKind.UNAVAILABLE, f"{name}: non-JSON response body") from exc
    except openai.APIStatusError as exc:
        raise map_status_error(exc) from exc
    except openai.APITimeoutError as exc:
        raise ProviderError(ErrorKind.TIMEOUT, f"{name}: request timed out") from exc
    except openai.APIConnectionError as exc:
        raise ProviderError(ErrorKind.UNAVAILABLE, f"{name}: connection error: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ProviderError(ErrorKind.UNAVAILABLE, f"{name}: response body is not a JSON object")
    return parsed


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
    param = getattr(exc, "param", None)
    if param is None and _error_type(exc) == "exceed_context_size_error":  # llama.cpp: the prompt is too long
        param = "input"
    return ProviderError(ErrorKind.INVALID_REQUEST, message, param=param)


def _error_type(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            value = inner.get("type")
            return value if isinstance(value, str) else None
    return None
