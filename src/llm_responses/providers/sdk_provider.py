"""What every OpenAI-shaped provider does around its one POST: the client, usage counting, the model name.

Subclasses say which path they call and how a request becomes a body and a body a result; the rest —
the SDK client, counting tokens when the upstream reported none, replacing a meaningless ``model``
field — is here once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, ClassVar

from llm_responses.core import LlmRequest, LlmResult
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.openai_client import ClientPool, make_client, post_json
from llm_responses.providers.token_count import with_counted_usage


class SdkProvider:
    path: ClassVar[str]
    hosted_search: bool = False

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        name: str,
        trust_reply_model: bool = True,
    ) -> None:
        self.name = name
        # llama.cpp answers with its file path as ``model``: such servers report our own id instead
        self._trust_reply_model = trust_reply_model
        self._retries = max_retries
        self._clients = ClientPool(lambda: make_client(api_key=api_key, base_url=base_url, timeout=timeout))

    def build(self, request: LlmRequest) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, body: dict[str, Any], *, fallback_model: str) -> LlmResult:
        raise NotImplementedError

    async def generate(self, request: LlmRequest) -> LlmResult:
        body = await post_json(
            self._clients, self.path, self.build(request), name=self.name, retries=self._retries
        )
        result = self.parse(body, fallback_model=request.model)
        if not any(part.text.strip() for part in result.parts):
            # a 200 without a word of answer (no output, or cut before any text): a failure, never a charge
            why = f"incomplete ({result.incomplete_reason})" if result.incomplete_reason else "no output text"
            raise ProviderError(ErrorKind.NO_OUTPUT, f"{self.name}: {why}")
        if not isinstance(body.get("usage"), dict):  # some gateways omit it: count, never charge nothing
            result = await asyncio.to_thread(with_counted_usage, result, request)
        return result if self._trust_reply_model else replace(result, model=request.model)

    async def aclose(self) -> None:
        await self._clients.aclose()
