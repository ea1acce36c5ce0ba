"""A protocol-faithful fake of Perplexity's Sonar Chat Completions (``POST /chat/completions``) on loopback.

Built from ``shared/reference/other_vendors.md`` §3.1–3.3 (the ``perplexityai`` SDK's types, Perplexity's
docs, recorded errors): Bearer auth; the message rules (optional system messages first, then user and
assistant strictly alternating, the last one the user's), refused with Perplexity's ``invalid_message``
errors; an answer citing with ``[n]`` markers into ``search_results`` and ``citations``; ``usage.cost`` in
USD at the published rates with the request fee for the search context size; ``<think>`` blocks at the
start of the reasoning models' content; ``delta`` sent even without streaming.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.openai_replies import Reply, word_tokens
from tests.fakes.scripted import ScriptedFake

# USD per million tokens in/out, and per 1,000 requests at low/medium/high context (Perplexity's pricing page)
RATES = {
    "sonar": (Decimal(1), Decimal(1), (Decimal(5), Decimal(8), Decimal(12))),
    "sonar-pro": (Decimal(3), Decimal(15), (Decimal(6), Decimal(10), Decimal(14))),
    "sonar-reasoning-pro": (Decimal(2), Decimal(8), (Decimal(6), Decimal(10), Decimal(14))),
    "sonar-deep-research": (Decimal(2), Decimal(8), (Decimal(5), Decimal(5), Decimal(5))),
}
SEARCH_RESULTS = [
    ("Parcs d'attractions : une fréquentation record", "https://www.lesechos.fr/parcs-attractions-2026"),
    ("Disneyland Paris — chiffres clés", "https://www.disneylandparis-news.com/chiffres"),
]


def perplexity_error(status: int, message: str, type_: str = "invalid_message") -> Reply:
    return Reply(body={"error": {"message": message, "type": type_, "code": status}}, status=status)


class FakePerplexity(ScriptedFake):
    def routes(self) -> list[Route]:
        return [Route("/chat/completions", self._chat, methods=["POST"])]

    async def _chat(self, request: Request) -> Response:
        return await self.answer(request, self.default_reply)

    def default_reply(self, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        if not headers.get("authorization", "").startswith("Bearer "):
            return perplexity_error(401, "Missing or invalid API key", "unauthorized")
        model = req.get("model")
        if model not in RATES:
            return perplexity_error(
                400,
                f"Invalid model '{model}'. Permitted models can be found in the documentation.",
                "invalid_model",
            )
        messages = [m for m in req.get("messages") or [] if m.get("role") != "system"]
        roles = [m.get("role") for m in messages]
        if any(r != ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(roles)):
            return perplexity_error(
                400, "After the (optional) system message(s), user and assistant roles should be alternating."
            )
        if not roles or roles[-1] != "user":
            return perplexity_error(400, "Last message must have role `user`.")
        return Reply(body=self.build_completion(req))

    def build_completion(self, req: dict[str, Any], *, content: str | None = None) -> dict[str, Any]:
        model = str(req["model"])
        prompt = str(req["messages"][-1]["content"])
        answer = (
            content
            if content is not None
            else (
                f"Sur « {prompt} » : la fréquentation des parcs a atteint un record en 2025 [1]. "
                "Disneyland Paris reste le premier site payant d'Europe [2][1]."
            )
        )
        if content is None and "reasoning" in model:
            answer = "<think>\nLet me check recent attendance figures first.\n</think>\n\n" + answer
        prompt_tokens = sum(word_tokens(str(m.get("content", ""))) for m in req["messages"]) + 6
        completion_tokens = word_tokens(answer)
        context = (req.get("web_search_options") or {}).get("search_context_size", "low")
        rate_in, rate_out, fees = RATES[model]
        fee = fees[("low", "medium", "high").index(context)] / 1000
        input_cost = rate_in * prompt_tokens / 1_000_000
        output_cost = rate_out * completion_tokens / 1_000_000
        return {
            "id": str(uuid.uuid4()),
            "model": model,
            "created": int(time.time()),
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "search_context_size": context,
                "cost": {
                    "input_tokens_cost": float(input_cost),
                    "output_tokens_cost": float(output_cost),
                    "request_cost": float(fee),
                    "total_cost": float(input_cost + output_cost + fee),
                },
            },
            "citations": [url for _, url in SEARCH_RESULTS],
            "search_results": [
                {
                    "title": title,
                    "url": url,
                    "date": None,
                    "last_updated": "2026-11-20",
                    "snippet": "…",
                    "source": "web",
                }
                for title, url in SEARCH_RESULTS
            ],
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": answer},
                    "delta": {"role": "assistant", "content": ""},
                }
            ],
        }
