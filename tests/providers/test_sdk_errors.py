"""Each vendor's SDK failing before any answer (nothing listening; a server that never answers) becomes the
same classified ``ProviderError`` (``providers/sdk_errors.py``): worth another try, named by the provider."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from llm_responses.core import LlmRequest, Provider
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.openai_chat import OpenAIChatProvider
from llm_responses.providers.openai_responses import OpenAIResponsesProvider
from llm_responses.vendors.anthropic import AnthropicProvider
from llm_responses.vendors.google import GeminiProvider

REQUEST = LlmRequest(model="some-model", user_prompt="Hello?", max_output_tokens=64)
TIMEOUT = 0.5


def responses(url: str) -> Provider:
    return OpenAIResponsesProvider(
        api_key="k", base_url=f"{url}/v1", timeout=TIMEOUT, max_retries=0, name="p"
    )


def chat(url: str) -> Provider:
    return OpenAIChatProvider(api_key="k", base_url=f"{url}/v1", timeout=TIMEOUT, max_retries=0, name="p")


def claude(url: str) -> Provider:
    return AnthropicProvider(api_key="k", base_url=url, timeout=TIMEOUT, max_retries=0, name="p")


def gemini(url: str) -> Provider:
    return GeminiProvider(api_key="k", base_url=url, timeout=TIMEOUT, max_retries=0, name="p")


PROVIDERS = [responses, chat, claude, gemini]


@pytest.fixture
def closed_port() -> Iterator[str]:
    """A loopback address nothing listens on (bound, never listening: connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that takes connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


async def failure(make: Callable[[str], Provider], url: str) -> ProviderError:
    provider = make(url)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.generate(REQUEST)
    finally:
        await provider.aclose()
    return caught.value


# the openai SDK's aiohttp transport reports a refused connection as httpx2's ConnectTimeout
REFUSED = {responses: ErrorKind.TIMEOUT, chat: ErrorKind.TIMEOUT}
# google-genai tries a refused connection once more itself, after sleeping 1 to 10 s
REFUSED_CASES = [pytest.param(m, marks=[pytest.mark.slow] if m is gemini else []) for m in PROVIDERS]


@pytest.mark.parametrize("make", REFUSED_CASES, ids=lambda m: m.__name__)
async def test_a_refused_connection_is_worth_another_try(make, closed_port):
    error = await failure(make, closed_port)
    assert error.kind is REFUSED.get(make, ErrorKind.UNAVAILABLE) and error.retryable
    assert error.message.startswith("p: ")


@pytest.mark.parametrize("make", PROVIDERS, ids=lambda m: m.__name__)
async def test_a_server_that_never_answers_times_out(make, silent_server):
    error = await failure(make, silent_server)
    assert error.kind is ErrorKind.TIMEOUT and error.retryable
    assert error.message == "p: request timed out"
