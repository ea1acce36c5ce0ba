"""A protocol-faithful fake of OpenAI's Responses API, served over real HTTP on loopback.

Also ``/v1/chat/completions``, the API OpenAI-compatible servers fall back to (OpenAI's documented
``chat.completion`` object). Built from OpenAI's Responses API reference (https://platform.openai.com/docs/api-reference/responses):
complete, strictly valid Response bodies, error bodies wrapped as ``{"error": {...}}``, its semantics (dated snapshot in ``model``,
reasoning models refuse temperature/top_p, non-reasoning models refuse ``reasoning``, ``max_output_tokens``
below 16 refused, web search items before the message, citations as inline ``([domain](url))`` with
code-point offsets, ``utm_source=openai``). Tests script replies with ``enqueue``; otherwise a deterministic
answer is generated from the request. Every request body is recorded in ``requests``.

The ugly cases real upstreams produce (§4.5 and the threads cited there) are built here too: HTTP 200 with
``status: failed`` or no output; ``status: incomplete``; reasoning models spending ``max_output_tokens`` on
reasoning first (``reasoning_cost``), so a small budget yields an incomplete answer or none; vLLM/gpt-oss
bodies with raw ``reasoning_text`` content and an empty summary. The error replies tests script by name are
in ``openai_replies``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.chat_completions import chat_completion
from tests.fakes.openai_replies import (
    SNAPSHOTS,
    SOURCES,
    Reply,
    error_reply,
    is_reasoning_model,
    object_id,
    random_hex,
    summary_refused,
    word_tokens,
)
from tests.fakes.scripted import ScriptedFake


class FakeOpenAI(ScriptedFake):
    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.verified_org = True  # False: reasoning.summary is refused, as for an unverified organization
        self.reasoning_cost = 64  # output tokens a reasoning model spends thinking before it writes

    def reset(self) -> None:
        super().reset()
        self.verified_org = True
        self.reasoning_cost = 64

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self) -> list[Route]:
        return [
            Route("/v1/responses", self._responses, methods=["POST"]),
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
        ]

    async def _responses(self, request: Request) -> Response:
        return self._with_request_id(await self.answer(request, lambda body, _: self.default_reply(body)))

    async def _chat(self, request: Request) -> Response:
        return self._with_request_id(
            await self.answer(request, lambda body, _: self.default_chat_reply(body))
        )

    @staticmethod
    def _with_request_id(response: Response) -> Response:
        response.headers.setdefault("x-request-id", f"req_{random_hex(32)}")
        return response

    def default_reply(self, req: dict[str, Any]) -> Reply:
        """OpenAI's behaviour for a request nobody scripted (§8.3)."""
        model = str(req.get("model", ""))
        reasoning_model = is_reasoning_model(model)
        if req.get("stream"):
            return error_reply(400, "streaming is not supported by this fake", param="stream")
        for name in ("temperature", "top_p"):
            if reasoning_model and req.get(name) is not None:
                return error_reply(
                    400,
                    f"Unsupported parameter: '{name}' is not supported with this model.",
                    param=name,
                    code="unsupported_parameter",
                )
        if not reasoning_model and req.get("reasoning") is not None:
            return error_reply(
                400,
                "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
                param="reasoning.effort",
                code="unsupported_parameter",
            )
        if reasoning_model and (req.get("reasoning") or {}).get("summary") and not self.verified_org:
            return summary_refused()
        limit = req.get("max_output_tokens")
        if limit is not None and limit < 16:
            return error_reply(
                400,
                f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {limit} instead.",
                param="max_output_tokens",
                code="integer_below_min_value",
            )
        return Reply(body=self.build_response(req))

    def build_response(
        self,
        req: dict[str, Any],
        *,
        text: str | None = None,
        search: bool | None = None,
        reasoning_text: str | None = None,
    ) -> dict[str, Any]:
        """A complete body. Reasoning models think ``reasoning_cost`` tokens first, inside ``max_output_tokens``
        (as OpenAI counts them): a budget that runs out cuts the answer (``incomplete``) or leaves none.
        ``reasoning_text``: the body vLLM and gpt-oss send, raw reasoning content and an empty summary."""
        model = str(req.get("model", ""))
        prompt = req["input"] if isinstance(req.get("input"), str) else req["input"][-1]["content"]
        tools = req.get("tools") or []
        searched = bool(tools) and req.get("tool_choice") != "none" if search is None else search
        output: list[dict[str, Any]] = []
        reasoning = req.get("reasoning") or None
        thinks = is_reasoning_model(model) or reasoning_text is not None
        if reasoning_text is not None:
            output.append(
                {
                    "id": object_id("rs"),
                    "type": "reasoning",
                    "summary": [],
                    "content": [{"type": "reasoning_text", "text": reasoning_text}],
                }
            )
        elif thinks:
            summary = (
                [
                    {
                        "type": "summary_text",
                        "text": f"**Considering the question**\n\nThe user asks: {prompt[:60]}",
                    }
                ]
                if (reasoning or {}).get("summary")
                else []
            )
            output.append(
                {
                    "id": object_id("rs"),
                    "type": "reasoning",
                    "summary": summary,
                    "encrypted_content": random_hex(40),
                }
            )
        annotations: list[dict[str, Any]] = []
        body_text = text if text is not None else f"Here is an answer about {prompt}."
        if searched:
            query = prompt[:80]
            output.append(
                {
                    "id": object_id("ws"),
                    "type": "web_search_call",
                    "status": "completed",
                    "action": {
                        "type": "search",
                        "query": query,
                        "queries": [query],
                        **(
                            {"sources": [{"type": "url", "url": u} for _, u in SOURCES]}
                            if "web_search_call.action.sources" in (req.get("include") or [])
                            else {}
                        ),
                    },
                }
            )
            if text is None:
                body_text = "Les parcs d’attractions restent importants en France."
                for title, url in SOURCES:
                    cited = f"{url}?utm_source=openai"
                    domain = url.split("/")[2]
                    marker = f"([{domain}]({cited}))"
                    body_text += " Voilà — un fait. "
                    start = len(body_text)
                    body_text += marker
                    annotations.append(
                        {
                            "type": "url_citation",
                            "start_index": start,
                            "end_index": len(body_text),
                            "url": cited,
                            "title": title,
                        }
                    )
        reasoning_tokens = self.reasoning_cost if thinks else 0
        limit = req.get("max_output_tokens")
        incomplete = None
        if limit is not None and reasoning_tokens + word_tokens(body_text) > limit:
            incomplete = {"reason": "max_output_tokens"}
            reasoning_tokens = min(reasoning_tokens, limit)
            words = body_text.split()[: max(0, limit - reasoning_tokens)]
            body_text = " ".join(words)
            annotations = [a for a in annotations if a["end_index"] <= len(body_text)]
        if body_text or incomplete is None:
            output.append(
                {
                    "id": object_id("msg"),
                    "type": "message",
                    "status": "incomplete" if incomplete else "completed",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "annotations": annotations, "logprobs": [], "text": body_text}
                    ],
                }
            )
        input_tokens = word_tokens(prompt) + word_tokens(req.get("instructions") or "") + 10
        output_tokens = (word_tokens(body_text) if body_text else 0) + reasoning_tokens
        now = int(time.time())
        body = {
            "id": object_id("resp"),
            "object": "response",
            "created_at": now,
            "status": "incomplete" if incomplete else "completed",
            "background": False,
            "billing": {"payer": "developer"},
            "completed_at": None if incomplete else now,
            "error": None,
            "frequency_penalty": 0.0,
            "incomplete_details": incomplete,
            "instructions": req.get("instructions"),
            "max_output_tokens": req.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": SNAPSHOTS.get(model, model),
            "output": output,
            "parallel_tool_calls": True,
            "presence_penalty": 0.0,
            "previous_response_id": None,
            "prompt_cache_key": None,
            "prompt_cache_retention": None,
            "reasoning": {
                "effort": "medium" if thinks else None,
                "summary": (reasoning or {}).get("summary"),
            },
            "safety_identifier": None,
            "service_tier": "default",
            "store": req.get("store", True),
            "temperature": req.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": req.get("tool_choice", "auto"),
            "tools": [
                {
                    "type": t.get("type"),
                    "filters": None,
                    "search_context_size": "medium",
                    "user_location": {
                        "type": "approximate",
                        "city": None,
                        "country": "US",
                        "region": None,
                        "timezone": None,
                        **(t.get("user_location") or {}),
                    },
                }
                for t in tools
            ],
            "top_logprobs": 0,
            "top_p": req.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                "total_tokens": input_tokens + output_tokens,
            },
            "user": None,
            "metadata": req.get("metadata") or {},
        }
        if searched:
            body["tool_usage"] = {
                "image_gen": {
                    "input_tokens": 0,
                    "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                    "output_tokens": 0,
                    "total_tokens": 0,
                },
                "web_search": {"num_requests": 1},
            }
        return body

    def failed_response(
        self,
        req: dict[str, Any],
        *,
        code: str = "server_error",
        message: str = "The server had an error while processing your request. Sorry about that!",
    ) -> dict[str, Any]:
        """HTTP 200 with ``status: failed``: an ``error`` object, no output, nothing billed."""
        body = self.build_response(req)
        body.update(
            status="failed",
            completed_at=None,
            output=[],
            error={"code": code, "message": message},
            usage={
                "input_tokens": 0,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 0,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 0,
            },
        )
        return body

    def incomplete_response(
        self, req: dict[str, Any], *, reason: str = "content_filter", text: str = ""
    ) -> dict[str, Any]:
        """``status: incomplete`` with whatever text came before the stop (possibly none)."""
        body = self.build_response(req, text=text or "x")
        body.update(status="incomplete", completed_at=None, incomplete_details={"reason": reason})
        messages = [o for o in body["output"] if o["type"] == "message"]
        if text:
            messages[0]["status"] = "incomplete"
        else:
            body["output"] = [o for o in body["output"] if o["type"] != "message"]
        return body

    # -- Chat Completions (the fallback API of OpenAI-compatible servers) -------------------------

    def default_chat_reply(self, req: dict[str, Any]) -> Reply:
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            return error_reply(400, "'messages' is a required property", param="messages")
        return Reply(body=self.build_chat_response(req))

    build_chat_response = staticmethod(chat_completion)
