"""The official ``openai`` SDK as every OpenAI-shaped provider uses it: one client, one POST, one reading
of an HTTP error (``status_error``; the SDK's other failures are classified in ``providers/sdk_errors.py``).

Both API flavours (Responses and Chat Completions) and the embedded model go through ``post_json``, so
auth, retries, timeouts and the classification of upstream failures are the same everywhere.

Retries are ours, not the SDK's: the SDK retries every 429 alike, but OpenAI's ``insufficient_quota`` 429
(out of credit) differs from a rate limit only in its body, and retrying it just wastes time
(platform.openai.com/docs/guides/error-codes). So the SDK runs with ``max_retries=0`` and ``post_json`` retries
what is worth retrying, waiting what ``Retry-After``/``retry-after-ms`` asks (up to ``MAX_RETRY_AFTER``, as
the SDK would) or an exponential backoff.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager, asynccontextmanager
from functools import cache
from typing import Any

import httpcore2
import httpx2  # the HTTP client of openai>=3 (its dependency), named for the raw-response cast
import openai
import orjson
from openai import AsyncOpenAI, DefaultAioHttpClient

from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.checks import status_kind
from llm_responses.providers.retrying import retry_after, retrying
from llm_responses.providers.sdk_errors import classified, stainless

PER_CLIENT = 16  # requests in flight per SDK client before another client is opened
MAX_CLIENTS = 256
# Idle upstream connections are dropped well before the 5 s idle timeout of uvicorn-based servers (vLLM,
# the fake) and llama.cpp's: reusing a connection the server is closing at that moment fails the request
# (measured: 4 workers x 1,000 in flight without SDK retries: tasks requeued, ~190 tasks/s). aiohttp sweeps
# idle connections once per this period, so one may idle up to twice as long: 4 s was not enough, 2 s is.
KEEPALIVE_SECONDS = 2.0


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client, built the way the SDK's HTTP client builds its own (system CAs,
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``): each one loads the CA bundle, ~20 ms of CPU."""
    return httpcore2.default_ssl_context()


def make_client(*, api_key: str | None, base_url: str | None, timeout: float) -> AsyncOpenAI:
    # base_url is always passed explicitly: a stray OPENAI_BASE_URL must not redirect us silently.
    limits = httpx2.Limits(
        max_connections=PER_CLIENT * 4,
        max_keepalive_connections=PER_CLIENT,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )
    return AsyncOpenAI(
        api_key=api_key or "not-needed",
        base_url=base_url or "https://api.openai.com/v1",
        timeout=timeout,
        max_retries=0,  # post_json retries: see the module docstring
        # the SDK's aiohttp transport (its `aiohttp` extra): the same client API, a faster HTTP stack
        http_client=DefaultAioHttpClient(limits=limits, timeout=timeout, verify=_tls()),
    )


class ClientPool:
    """Several SDK clients, each with a small connection pool, used least-busy first.

    The SDK's default HTTP client (httpx2) scans its whole connection pool on every request (a readability
    check per idle connection): with a thousand requests in flight through one client that scan dominated
    the worker's CPU (measured with py-spy: 1 s upstream latency, 1,000 in flight, ~130 tasks/s). Spreading
    the same requests over clients of about ``PER_CLIENT`` connections each kept every scan short. The
    aiohttp transport used now has no such scan; the pool stays because it was measured with it (1,000 in
    flight per worker at 166 MB, docs/benchmarks.md), not re-measured without it.
    """

    def __init__(self, factory: Callable[[], AsyncOpenAI]) -> None:
        self._factory = factory
        self._clients: list[AsyncOpenAI] = []
        self._load: list[int] = []

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AsyncOpenAI]:
        index = min(range(len(self._load)), key=self._load.__getitem__, default=-1)
        if index < 0 or (self._load[index] >= PER_CLIENT and len(self._clients) < MAX_CLIENTS):
            self._clients.append(self._factory())
            self._load.append(0)
            index = len(self._clients) - 1
        self._load[index] += 1
        try:
            yield self._clients[index]
        finally:
            self._load[index] -= 1

    async def aclose(self) -> None:
        for client in self._clients:
            await client.close()
        self._clients.clear()
        self._load.clear()


async def post_json(
    pool: ClientPool, path: str, body: dict[str, Any], *, name: str, retries: int
) -> dict[str, Any]:
    """One POST with up to ``retries`` more attempts for failures worth another try right now."""

    async def once() -> dict[str, Any]:
        async with pool.client() as client:
            return await _post_json(client, path, body, name=name)

    return await retrying(once, retries)


async def _post_json(client: AsyncOpenAI, path: str, body: dict[str, Any], *, name: str) -> dict[str, Any]:
    """POST through the SDK and return the JSON object, or raise a classified ``ProviderError``.

    The SDK's generic ``post`` (its documented way to call any endpoint) keeps its auth, retries, timeouts
    and typed errors, but skips the typed-params transform and the pydantic model construction: together
    most of the SDK's own per-call cost (docs/benchmarks.md). The bodies come from our own builders and
    are checked by the tests against the fake server and the embedded llama.cpp server.
    """
    with sdk_errors(name):
        # serialized with orjson here (the SDK's default JSON header stays): its own dumps is a json.dumps
        raw = await client.post(path, content=orjson.dumps(body), cast_to=httpx2.Response)
        parsed = orjson.loads(raw.content)
    if not isinstance(parsed, dict):
        raise ProviderError(ErrorKind.UNAVAILABLE, f"{name}: response body is not a JSON object")
    return parsed


def sdk_errors(name: str) -> AbstractContextManager[None]:
    """The SDK's exceptions as classified ``ProviderError``s: around a direct call and each batch API call."""
    return classified(name, FAILURES)


# error codes that say the operator's setup is wrong, whatever the HTTP status carrying them (OpenAI sends
# ``model_not_found`` as a 400 as well as a 404): no retry, and never the caller's fault
OPERATOR_CODES = frozenset(
    {"insufficient_quota", "model_not_found", "invalid_api_key", "unsupported_country_region_territory"}
)


def _status_error(exc: openai.APIStatusError, name: str) -> ProviderError:
    """An HTTP error of a direct call, classified for the task lifecycle (``status_error`` decides; its
    message is the SDK's own text, without the provider's name)."""
    return status_error(exc.status_code, exc.body, exc.response.headers)


FAILURES = stainless(openai, _status_error)


def status_error(status: int, body: object, headers: Mapping[str, str] | None = None) -> ProviderError:
    """An upstream's HTTP error status and its body, classified: the one mapping for a direct call's error
    (``_status_error``) and for a batch line answered with that status (``providers/openai_batch.py``).

    ``body`` is the answer's JSON (``{"error": {...}}``, or the SDK's ``APIStatusError.body``, the inner
    object) or whatever text came instead; the message, ``code`` and ``param`` are read from it as the SDK
    reads them. ``headers`` (none for a batch line) give ``Retry-After``.
    """
    error = body.get("error", body) if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    raw_code = error.get("code")
    code = str(raw_code) if raw_code is not None else None
    text = error.get("message")
    detail = f" - {text}" if isinstance(text, str) and text else ""
    message = f"HTTP {status}: Error code: {status}{detail}"  # the SDK's own text for the error
    kind = status_kind(status)
    if code in OPERATOR_CODES or kind is ErrorKind.FATAL:
        return ProviderError(ErrorKind.FATAL, message, code=code)
    if kind is ErrorKind.UNAVAILABLE:
        wait = retry_after(headers) if headers is not None else None
        return ProviderError(ErrorKind.UNAVAILABLE, message, code=code, retry_after=wait)
    param = error.get("param") if isinstance(error.get("param"), str) else None
    if (
        param is None and error.get("type") == "exceed_context_size_error"
    ):  # llama.cpp: the prompt is too long
        param = "input"
    return ProviderError(ErrorKind.INVALID_REQUEST, message, param=param, code=code)
