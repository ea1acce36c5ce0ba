"""A protocol-faithful fake of Anthropic's Messages API (``POST /v1/messages``) over real HTTP on loopback.

Built from Anthropic's Messages API reference (https://docs.anthropic.com/en/api/messages), the
``anthropic`` SDK's generated types and recorded errors: both auth headers (``x-api-key``, SDK 2.x's ``Authorization:
Bearer``), the ``anthropic-version`` header (sampling parameters are a 400 on ``2026-10-21`` and on models
that deprecated them), error bodies ``{"type": "error", "error": {type, message}, "request_id"}``,
extended thinking's rules (``budget_tokens`` ≥ 1024 and < ``max_tokens``, no forced tool use, adaptive-only
models), the ``web_search_20250305`` server tool: text runs interleaved with ``server_tool_use`` and
``web_search_tool_result`` blocks, citations without offsets, ``usage.server_tool_use``; ``stop_reason``
``max_tokens`` and ``pause_turn``. Tests script replies with ``enqueue``; otherwise a deterministic answer
is built from the request. Every request body and its headers are recorded.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.openai_replies import Reply, random_hex, word_tokens
from tests.fakes.scripted import ScriptedFake

DATED = {  # aliases that have a dated snapshot answer with it in ``model``; 4.6+ models have none
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
}
NO_SAMPLING = ("claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-opus-5", "claude-fable")
ADAPTIVE_ONLY = NO_SAMPLING
VERSIONS = ("2023-06-01", "2026-10-21")

# Non-ASCII on purpose (offsets are code points, and the source titles carry accents)
SOURCES = [
    ("Parc Astérix – Wikipédia", "https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix"),
    ("Disneyland Paris visitor numbers", "https://www.example-parks.fr/disneyland-paris/visiteurs"),
]


def anthropic_error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {
        "type": "error",
        "error": {"type": type_, "message": message},
        "request_id": f"req_{random_hex(24)}",
    }
    return Reply(body=body, status=status, headers=headers or {})


def overloaded() -> Reply:
    return anthropic_error(529, "overloaded_error", "Overloaded")


def rate_limited(retry_after: str = "1") -> Reply:
    return anthropic_error(
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 requests per minute.",
        {"retry-after": retry_after},
    )


def invalid(message: str) -> Reply:
    return anthropic_error(400, "invalid_request_error", message)


class FakeAnthropic(ScriptedFake):
    def routes(self) -> list[Route]:
        return [Route("/v1/messages", self._messages, methods=["POST"])]

    async def _messages(self, request: Request) -> Response:
        response = await self.answer(request, self.default_reply)
        response.headers["request-id"] = f"req_{random_hex(24)}"
        return response

    def default_reply(self, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        """Anthropic's checks, in the order the API applies them, then an answer."""
        if not headers.get("x-api-key") and not headers.get("authorization", "").startswith("Bearer "):
            return anthropic_error(401, "authentication_error", "x-api-key header is required")
        version = headers.get("anthropic-version")
        if version is None:
            return invalid("anthropic-version: header is required")
        if version not in VERSIONS:
            return invalid(f"anthropic-version: invalid version {version!r}")
        model = req.get("model")
        if not isinstance(model, str) or not model:
            return invalid("model: Field required")
        max_tokens = req.get("max_tokens")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            return invalid("max_tokens: Field required")
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            return invalid("messages: at least one message is required")
        if any(m.get("role") not in ("user", "assistant") for m in messages):
            return invalid("messages: roles must be 'user' or 'assistant'")
        sampling = [k for k in ("temperature", "top_p", "top_k") if req.get(k) is not None]
        if sampling and version == "2026-10-21":
            return invalid(f"`{sampling[0]}` is not supported on this API version.")
        if sampling and model.startswith(NO_SAMPLING):
            return invalid(f"`{sampling[0]}` is deprecated for this model.")
        if "temperature" in sampling and "top_p" in sampling and "4-5" in model:
            return invalid(
                "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
            )
        thinking = req.get("thinking") or {}
        if thinking.get("type") == "enabled":
            if model.startswith(ADAPTIVE_ONLY):
                return invalid(
                    "thinking.type.enabled is not supported for this model. Use thinking.type.adaptive instead."
                )
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or budget < 1024:
                return invalid(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                )
            if budget >= max_tokens:
                return invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
        thinks = thinking.get("type") in ("enabled", "adaptive")
        if thinks and "temperature" in sampling:
            return invalid("`temperature` may only be set to 1 when thinking is enabled.")
        if thinks and (req.get("tool_choice") or {}).get("type") in ("any", "tool"):
            return invalid("Thinking may not be enabled when tool_choice forces tool use.")
        return Reply(body=self.build_message(req))

    def build_message(
        self, req: dict[str, Any], *, text: str | None = None, search: bool | None = None
    ) -> dict[str, Any]:
        """A complete ``Message``. With the web search tool: a text run, one search, its results, then cited
        runs — separated the way Claude writes them (no space between a run and the next)."""
        model = str(req["model"])
        last = req["messages"][-1]["content"]
        prompt = last if isinstance(last, str) else " ".join(b.get("text", "") for b in last)
        tools = [t for t in req.get("tools") or [] if str(t.get("type", "")).startswith("web_search")]
        searched = bool(tools) if search is None else search
        thinking = (req.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        content: list[dict[str, Any]] = []
        thinking_tokens = 0
        if thinking:
            thought = f"The user asks about {prompt}. I should answer briefly."
            display = (req.get("thinking") or {}).get("display", "summarized")
            content.append(
                {
                    "type": "thinking",
                    "thinking": "" if display == "omitted" else thought,
                    "signature": "EqQBCkYIBxgCKkBtb2NrLXNpZ25hdHVyZS1mb3ItdGVzdHMtb25seQ==",
                }
            )
            thinking_tokens = word_tokens(thought)
        answer = text if text is not None else f"Voilà: here is what I found about {prompt}"
        searches = 0
        if searched:
            tool_id = f"srvtoolu_{random_hex(24)}"
            content.append({"type": "text", "text": "I'll look that up."})
            content.append(
                {
                    "type": "server_tool_use",
                    "id": tool_id,
                    "name": "web_search",
                    "input": {"query": prompt[:80]},
                }
            )
            content.append(
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": tool_id,
                    "content": [
                        {
                            "type": "web_search_result",
                            "title": title,
                            "url": url,
                            "encrypted_content": "Eq" + random_hex(40),
                            "page_age": None,
                        }
                        for title, url in SOURCES
                    ],
                }
            )
            searches = 1
            content.append({"type": "text", "text": "Two things stand out:\n\n- "})
            for i, (title, url) in enumerate(SOURCES):
                claim = f"{answer} (source {i + 1}, été {2024 + i})"
                content.append(
                    {
                        "type": "text",
                        "text": claim,
                        "citations": [
                            {
                                "type": "web_search_result_location",
                                "url": url,
                                "title": title,
                                "encrypted_index": "Eo" + random_hex(30),
                                "cited_text": f"Quoted passage {i + 1} from the page. ",
                            }
                        ],
                    }
                )
                content.append({"type": "text", "text": "\n- " if i == 0 else "."})
        else:
            content.append({"type": "text", "text": answer})
        written = sum(word_tokens(b["text"]) for b in content if b["type"] == "text")
        output_tokens = written + thinking_tokens
        stop_reason = "end_turn"
        if output_tokens > int(req["max_tokens"]):
            stop_reason = "max_tokens"
        prompt_tokens = sum(word_tokens(str(m.get("content", ""))) for m in req["messages"]) + 8
        usage: dict[str, Any] = {
            "input_tokens": prompt_tokens + (2400 if searched else 0),  # fetched results bill as input
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "server_tool_use": {"web_search_requests": searches, "web_fetch_requests": 0},
            "service_tier": "standard",
        }
        if thinking_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
        return {
            "id": f"msg_{random_hex(24)}",
            "type": "message",
            "role": "assistant",
            "model": DATED.get(model, model),
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
