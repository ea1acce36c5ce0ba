"""The one place an SDK's exceptions become classified ``ProviderError``s, for every vendor's SDK.

The SDKs differ in their exception types (``openai`` and ``anthropic`` share one layout; ``google-genai``
has its own) and in how an HTTP error's body reads (each vendor's ``status_error``), not in what a failure
means for a task: an HTTP error is classified by its vendor, a timeout is worth another try, so is a
connection that failed, and a body that is not JSON is the upstream's trouble. Each vendor describes its
SDK once (``SdkFailures``); ``classified`` does the rest, around a direct call and each batch API call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx2
import orjson

from llm_responses.errors import ErrorKind, ProviderError

ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


@dataclass(frozen=True, slots=True)
class SdkFailures:
    """How one SDK fails: its HTTP error and the vendor's reading of it, then its other failures in the
    order they are tried, each as (exception types, kind, what the message says after the provider's name:
    ``{exc}`` is the exception's text, ``{type}`` its class name)."""

    http_error: ExceptionTypes
    classify: Callable[[Any, str], ProviderError]  # (the HTTP error, the provider's name)
    failures: tuple[tuple[ExceptionTypes, ErrorKind, str], ...]


def stainless(sdk: ModuleType, classify: Callable[[Any, str], ProviderError]) -> SdkFailures:
    """``openai``'s and ``anthropic``'s failures: both SDKs are generated alike (the same exception types
    over httpx2), and a streamed body read past the SDK's own handling raises httpx2's errors as they are."""
    return SdkFailures(
        http_error=sdk.APIStatusError,
        classify=classify,
        failures=(
            (sdk.APITimeoutError, ErrorKind.TIMEOUT, "request timed out"),
            (sdk.APIConnectionError, ErrorKind.UNAVAILABLE, "connection error: {exc}"),
            (httpx2.TimeoutException, ErrorKind.TIMEOUT, "read timed out"),
            (httpx2.TransportError, ErrorKind.UNAVAILABLE, "connection error: {exc}"),
        ),
    )


@contextmanager
def classified(name: str, sdk: SdkFailures) -> Iterator[None]:
    """Whatever ``sdk`` raises inside, as a classified ``ProviderError`` (anything else passes through)."""
    try:
        yield
    except orjson.JSONDecodeError as exc:  # a 200 with a non-JSON body (a misbehaving proxy)
        raise ProviderError(ErrorKind.UNAVAILABLE, f"{name}: non-JSON response body") from exc
    except sdk.http_error as exc:
        raise sdk.classify(exc, name) from exc
    except Exception as exc:
        for types, kind, what in sdk.failures:
            if isinstance(exc, types):
                text = what.format(exc=exc, type=type(exc).__name__)
                raise ProviderError(kind, f"{name}: {text}") from exc
        raise
