"""A protocol-faithful fake of the Gemini API's ``generateContent`` over real HTTP on loopback.

Built from the Gemini API reference (https://ai.google.dev/api/generate-content), the ``google-genai``
SDK's types and what gemini-cli does with real answers: ``POST /v1beta/models/{model}:generateContent`` with ``x-goog-api-key``;
camelCase answers (the SDK ignores snake_case ones) while ``thinkingConfig``'s keys may arrive in either
case; Google's error envelope ``{"error": {code, message, status}}``; thought parts (``thought: true``)
with a real base64 ``thoughtSignature``; Search grounding with ``webSearchQueries``, ``groundingChunks``
(Vertex redirect URIs, the bare domain as title) and ``groundingSupports`` whose segments are **UTF-8
byte** offsets into the joined non-thought text, ``startIndex`` left out when 0; ``usageMetadata`` with
``toolUsePromptTokenCount`` and ``thoughtsTokenCount``; ``finishReason`` MAX_TOKENS; Pro models that
cannot stop thinking. Tests script replies with ``enqueue``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.openai_replies import Reply, random_hex, word_tokens
from tests.fakes.scripted import ScriptedFake

MODELS = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
    "gemini-3-pro-preview",
)
THINKING_ONLY = ("gemini-2.5-pro", "gemini-3-pro")
NO_THINKING = ("gemini-2.0-flash",)  # Gemini 2.0 has no thinking: a thinking config is a 400
SIGNATURE = "Cixtb2NrLXRob3VnaHQtc2lnbmF0dXJlLWZvci10ZXN0cy1vbmx5"  # valid base64, as the SDK demands
VERTEX = "https://vertexaisearch.cloud.google.com"
CHUNKS = [  # redirect tokens as Google issues them, the bare domain as the title, and the page behind each
    ("AUZIYQHnRslbELPz0Kvy", "lesechos.fr", "https://www.lesechos.fr/industrie-services/tourisme/parcs-2026"),
    (
        "AUZIYQEml06nC_SbjGaE",
        "parisinfo.com",
        "https://www.parisinfo.com/visiter-a-paris/parcs-d-attractions",
    ),
]


def google_error(code: int, status: str, message: str) -> Reply:
    return Reply(body={"error": {"code": code, "message": message, "status": status}}, status=code)


class FakeGemini(ScriptedFake):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []
        # where the grounding redirect links point: Google's host, or this fake (which then answers them)
        self.redirect_base = VERTEX

    def reset(self) -> None:
        super().reset()
        self.paths.clear()
        self.redirect_base = VERTEX

    def routes(self) -> list[Route]:
        return [
            Route("/v1beta/models/{model}:generateContent", self._generate, methods=["POST"]),
            Route("/grounding-api-redirect/{token}", self._redirect, methods=["GET", "HEAD"]),
        ]

    async def _generate(self, request: Request) -> Response:
        self.paths.append(request.url.path)
        model = request.path_params["model"]
        return await self.answer(request, lambda body, headers: self.default_reply(model, body, headers))

    async def _redirect(self, request: Request) -> Response:
        """Vertex's redirect links: a 302 to the cited page (HEAD too)."""
        pages = {token: page for token, _, page in CHUNKS}
        page = pages.get(request.path_params["token"])
        return Response(status_code=302, headers={"location": page}) if page else Response(status_code=404)

    def default_reply(self, model: str, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        if not headers.get("x-goog-api-key"):
            return google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        if not model.startswith(MODELS):
            return google_error(
                404, "NOT_FOUND", f"models/{model} is not found for API version v1beta, or is not supported."
            )
        contents = req.get("contents")
        if not isinstance(contents, list) or not contents:
            return google_error(
                400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"
            )
        config = req.get("generationConfig") or {}
        temperature = config.get("temperature")
        if temperature is not None and not 0 <= temperature <= 2:
            return google_error(
                400, "INVALID_ARGUMENT", "Unable to submit request because temperature must be in [0, 2]."
            )
        top_p = config.get("topP")
        if top_p is not None and not 0 <= top_p <= 1:
            return google_error(
                400, "INVALID_ARGUMENT", "Unable to submit request because topP must be in [0, 1]."
            )
        thinking = config.get("thinkingConfig") or {}
        budget = thinking.get("thinkingBudget", thinking.get("thinking_budget"))
        if model.startswith(NO_THINKING) and (budget not in (None, 0) or thinking.get("thinkingLevel")):
            return google_error(  # the text Google answers with (Vertex AI and Gemini API alike)
                400,
                "INVALID_ARGUMENT",
                "Unable to submit request because thinking is not supported by this model. Learn more: "
                "https://cloud.google.com/vertex-ai/generative-ai/docs/thinking",
            )
        if budget == 0 and model.startswith(THINKING_ONLY):
            return google_error(
                400, "INVALID_ARGUMENT", "Budget 0 is invalid. This model only works in thinking mode."
            )
        if budget is not None and budget not in (0, -1) and not 128 <= budget <= 32768:
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "Unable to submit request because thinking_budget is out of range; supported values are "
                "integers from 128 to 32768.",
            )
        return Reply(body=self.build_response(model, req))

    def build_response(self, model: str, req: dict[str, Any], *, text: str | None = None) -> dict[str, Any]:
        prompt = " ".join(p.get("text", "") for p in req["contents"][-1].get("parts", []))
        config = req.get("generationConfig") or {}
        thinking = config.get("thinkingConfig") or {}
        include = thinking.get("includeThoughts", thinking.get("include_thoughts", False))
        budget = thinking.get("thinkingBudget", thinking.get("thinking_budget"))
        thinks = (
            model.startswith(THINKING_ONLY)
            or (budget not in (None, 0))
            or bool(thinking.get("thinkingLevel"))
        )
        grounded = any("googleSearch" in t or "google_search" in t for t in req.get("tools") or [])
        parts: list[dict[str, Any]] = []
        thoughts_tokens = 0
        if thinks:
            thoughts_tokens = 120
            if include:
                parts.append(
                    {
                        "text": f"**Thinking about {prompt[:40]}**\n\nI will answer in two sentences.",
                        "thought": True,
                    }
                )
        first = (
            text
            if text is not None
            else f"Les parcs d'attractions en France attirent des millions de visiteurs (≈€2 Md) — {prompt}."
        )
        second = " Disneyland Paris reste le premier site touristique payant d'Europe."
        parts.append({"text": first, "thoughtSignature": SIGNATURE})
        parts.append({"text": second})
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": parts},
            "finishReason": "STOP",
            "index": 0,
        }
        answer = first + second
        if grounded:
            a, b = len(first.encode()), len(answer.encode())
            first_segment: dict[str, Any] = {"endIndex": a, "text": first}  # startIndex 0 is left out
            candidate["groundingMetadata"] = {
                "webSearchQueries": [prompt[:60], "parcs d'attractions France fréquentation"],
                "searchEntryPoint": {
                    "renderedContent": '<style>.container{}</style><div class="container">…</div>'
                },
                "groundingChunks": [
                    {"web": {"uri": f"{self.redirect_base}/grounding-api-redirect/{token}", "title": title}}
                    for token, title, _ in CHUNKS
                ],
                "groundingSupports": [
                    {"segment": first_segment, "groundingChunkIndices": [0]},
                    {
                        "segment": {"startIndex": a + 1, "endIndex": b, "text": second.strip()},
                        "groundingChunkIndices": [1, 0],
                    },
                ],
            }
        prompt_tokens = (
            sum(word_tokens(p.get("text", "")) for c in req["contents"] for p in c.get("parts", [])) + 4
        )
        candidates_tokens = word_tokens(answer)
        limit = config.get("maxOutputTokens")
        if isinstance(limit, int) and candidates_tokens + thoughts_tokens > limit:
            candidate["finishReason"] = "MAX_TOKENS"
        usage: dict[str, Any] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": candidates_tokens,
            "totalTokenCount": prompt_tokens + candidates_tokens + thoughts_tokens + (800 if grounded else 0),
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
        }
        if grounded:
            usage["toolUsePromptTokenCount"] = 800
        if thoughts_tokens:
            usage["thoughtsTokenCount"] = thoughts_tokens
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": random_hex(20),
        }
