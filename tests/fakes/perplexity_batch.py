"""A fake of Perplexity's Batch API (Agent API lines) and its batch Files API, mountable on any ScriptedFake.

Perplexity's Batch and Files endpoints "follow the shape of OpenAI's Batch API", so this reuses
``OpenAIShapedBatches`` with Perplexity's documented differences: the only endpoint is ``/v1/responses``;
``POST /v1/files`` validates every line before storing the file (a bad line, a blank line, more than 50,000
lines or more than 200 MB is a 400 there, not a ``failed`` batch) and refuses ``expires_after``;
``POST /v1/batches`` refuses ``output_expires_after`` with a 400, takes ``completion_window`` as optional
(``24h``) and honours an ``Idempotency-Key`` header (a repeat returns the original batch); the batch always
carries ``usage``, has no ``model``, and its errors have no ``param``; statuses are OpenAI's
(``validating|in_progress|finalizing|completed|expired|cancelling|cancelled|failed``). Error bodies are
Perplexity's ``{"error": {"message", "type", "code"}}``.

Use it three ways: ``FakePerplexityBatch`` (standalone, lines answered by ``agent_reply``, a minimal Agent API
response), ``mount_perplexity_batch(fake, line_handler)`` on any ScriptedFake (e.g. the Agent API fake,
``line_handler(body)`` answering one ``/v1/responses`` body with ``(status, body)`` or a ``Reply``), or the
``PerplexityBatch`` object's ``routes()`` directly. Test hooks as for the OpenAI fake: ``.batches`` is the
``BatchEngine``.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.batch_engine import DAY, HOUR, Batch, BatchEngine, Line
from tests.fakes.openai_batch import OpenAIShapedBatches, json_response
from tests.fakes.openai_replies import Reply, random_hex, word_tokens
from tests.fakes.perplexity_agent_server import FakePerplexityAgent
from tests.fakes.scripted import ScriptedFake

SEARCH_RESULTS = [
    ("Parcs d'attractions : une fréquentation record", "https://www.lesechos.fr/parcs-attractions-2026"),
    ("Disneyland Paris — chiffres clés", "https://www.disneylandparis-news.com/chiffres"),
]
PRICES = {"perplexity/sonar": (Decimal("0.25"), Decimal("2.50"))}  # USD per million tokens in/out
WEB_SEARCH_FEE = Decimal("0.0025")
LINE_HEADERS = {"authorization": "Bearer batch-line"}  # a line runs with the batch's key


def perplexity_error(
    status: int, message: str, type_: str = "invalid_request", param: str | None = None
) -> dict:
    body: dict[str, Any] = {"message": message, "type": type_, "code": status}
    if param is not None:
        body["param"] = param
    return {"error": body}


def agent_reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A minimal, valid Agent API response for one ``/v1/responses`` body (the standalone fake's lines)."""
    model = body.get("model")
    if not isinstance(model, str) and not body.get("preset"):
        return 400, perplexity_error(400, "either model or preset is required", param="model")
    model = model or f"preset/{body['preset']}"
    raw = body.get("input")
    if isinstance(raw, list):
        last = raw[-1] if raw else {}
        prompt = last.get("content", "") if isinstance(last, dict) else str(last)
    else:
        prompt = str(raw or "")
    if not isinstance(prompt, str):
        prompt = " ".join(p.get("text", "") for p in prompt if isinstance(p, dict))
    searched = any((t or {}).get("type") == "web_search" for t in body.get("tools") or [])
    text = f"Sur « {prompt} » : la fréquentation des parcs a atteint un record en 2025 [1]."
    output: list[dict[str, Any]] = []
    if searched:
        output.append(
            {
                "type": "search_results",
                "queries": [prompt[:80]],
                "results": [
                    {
                        "id": i + 1,
                        "title": title,
                        "url": url,
                        "snippet": "…",
                        "date": None,
                        "last_updated": "2026-11-20",
                        "source": "web",
                    }
                    for i, (title, url) in enumerate(SEARCH_RESULTS)
                ],
            }
        )
    output.append(
        {
            "type": "message",
            "id": f"msg_{uuid.uuid4().hex[:8]}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    )
    input_tokens = word_tokens(prompt) + (1200 if searched else 0)
    output_tokens = word_tokens(text)
    price_in, price_out = PRICES.get(model, PRICES["perplexity/sonar"])
    input_cost = price_in * input_tokens / 1_000_000
    output_cost = price_out * output_tokens / 1_000_000
    tool_cost = WEB_SEARCH_FEE if searched else Decimal(0)
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "cost": {
            "currency": "USD",
            "input_cost": float(input_cost),
            "output_cost": float(output_cost),
            "tool_calls_cost": float(tool_cost),
            "total_cost": float(input_cost + output_cost + tool_cost),
        },
    }
    if searched:
        usage["tool_calls_details"] = {"search_web": {"invocation": 1}}
    return 200, {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "status": "completed",
        "output": output,
        "usage": usage,
        "error": None,
    }


def _as_pair(result: Any) -> tuple[int, Any]:
    if isinstance(result, Reply):
        return result.status, result.body
    status, body = result
    return status, body


class PerplexityBatch(OpenAIShapedBatches):
    """``/v1/files`` + ``/v1/batches`` as Perplexity serves them; ``line_handler(body)`` answers one line."""

    file_prefix = "file_"
    batch_prefix = "batch_"
    endpoints = ("/v1/responses",)
    purposes = ("batch",)
    file_has_status = False
    batch_has_model = False
    error_has_param = False

    def __init__(self, line_handler=agent_reply, engine: BatchEngine | None = None) -> None:
        super().__init__(lambda _url, body: _as_pair(line_handler(body)), engine)
        self.idempotency: dict[str, str] = {}

    def reset(self) -> None:
        super().reset()
        self.idempotency.clear()

    def new_file_id(self) -> str:
        return f"{self.file_prefix}{uuid.uuid4().hex}"

    # -- Perplexity's errors -----------------------------------------------------------------------------

    def error(
        self, status: int, message: str, *, type_: str = "invalid_request", param=None, code=None
    ) -> Response:
        return json_response(perplexity_error(status, message, type_, param), status)

    def unauthorized(self) -> Response:
        return self.error(401, "Missing or invalid API key", type_="unauthorized")

    def no_file(self, file_id: str) -> Response:
        return self.error(404, f"file {file_id} not found", type_="not_found")

    def no_batch(self, batch_id: str) -> Response:
        return self.error(404, f"batch {batch_id} not found", type_="not_found")

    def default_line_error(self, status: int) -> Any:
        if status >= 500:
            return perplexity_error(status, "internal server error", "internal_error")
        if status == 429:
            return perplexity_error(status, "rate limit exceeded", "rate_limit_exceeded")
        return perplexity_error(status, "invalid request")

    # -- files: every line is validated at upload ---------------------------------------------------------

    def check_upload(self, form, upload: UploadFile, data: bytes) -> Response | None:
        if len(data) > self.max_file_bytes:
            return self.error(
                400, f"file exceeds the maximum size of {self.max_file_bytes} bytes", param="file"
            )
        count = 0
        seen: set[str] = set()
        rows = data.split(b"\n")
        if rows and rows[-1] == b"":
            rows.pop()  # a final newline ends the last line
        for number, raw in enumerate(rows, 1):
            count += 1
            if count > self.max_requests:
                return self.error(400, f"file has more than {self.max_requests} lines", param="file")
            problem = self.line_problem(raw, seen)
            if problem:
                return self.error(400, f"line {number}: {problem}", param="file")
        if not count:
            return self.error(400, "file is empty", param="file")
        return None

    def line_problem(self, raw: bytes, seen: set[str]) -> str | None:
        if not raw.strip():
            return "blank lines are not allowed"
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return "not valid JSON"
        if not isinstance(obj, dict):
            return "each line must be a JSON object"
        for name in ("custom_id", "method", "url", "body"):
            if name not in obj:
                return f"missing required field '{name}'"
        if not isinstance(obj["custom_id"], str) or not obj["custom_id"]:
            return "custom_id must be a non-empty string"
        if obj["custom_id"] in seen:
            return f"duplicate custom_id '{obj['custom_id']}'"
        seen.add(obj["custom_id"])
        if obj["method"] != "POST":
            return "method must be POST"
        if obj["url"] not in self.endpoints:
            return "url must be /v1/responses"
        if not isinstance(obj["body"], dict):
            return "body must be a JSON object"
        if obj["body"].get("stream"):
            return "stream is not supported in a batch"
        return None

    def parse_lines(self, data: bytes, endpoint: str) -> tuple[list[Line], list[dict[str, Any]]]:
        """The lines were checked at upload; a body's own fields are the line handler's to refuse."""
        rows = [orjson.loads(raw) for raw in data.split(b"\n") if raw.strip()]
        return [Line(i, row["custom_id"], row["body"]) for i, row in enumerate(rows)], []

    def file_expiry(self, form, created: float) -> float | Response:
        if any(key.startswith("expires_after") for key in form.keys()):
            return self.error(400, "expires_after is not supported", param="expires_after")
        return created + 30 * DAY

    # -- batches -----------------------------------------------------------------------------------------

    def check_create(self, request: Request, req: dict[str, Any]) -> Response | None:
        if "output_expires_after" in req:
            return self.error(400, "output_expires_after is not supported", param="output_expires_after")
        req.setdefault("completion_window", "24h")
        return super().check_create(request, req)

    def create_batch(self, request: Request, req: dict[str, Any]) -> Batch:
        key = request.headers.get("idempotency-key")
        if key and key in self.idempotency:
            existing = self.engine.find(self.idempotency[key])
            if existing is not None:
                return existing
        meta = {
            "input_file_id": req["input_file_id"],
            "endpoint": req["endpoint"],
            "completion_window": req["completion_window"],
            "metadata": req.get("metadata"),
            "output_expires_after": None,
        }
        batch = self.engine.create(
            f"{self.batch_prefix}{random_hex(32)}",
            [],
            expires_in=24 * HOUR,
            validator=self.validate,
            meta=meta,
        )
        if key:
            self.idempotency[key] = batch.id
        return batch


def mount_perplexity_batch(fake: ScriptedFake, line_handler=agent_reply) -> PerplexityBatch:
    """Add the Batch and Files routes to ``fake`` (before it starts): ``fake.batch`` is the API,
    ``fake.batch.engine`` the batches; ``fake.reset()`` resets them too."""
    api = PerplexityBatch(line_handler)
    routes, reset = fake.routes, fake.reset

    def mounted_routes() -> list[Route]:
        return [*api.routes(), *routes()]

    def mounted_reset() -> None:
        reset()
        api.reset()

    fake.routes = mounted_routes  # type: ignore[method-assign]
    fake.reset = mounted_reset  # type: ignore[method-assign]
    fake.batch = api  # type: ignore[attr-defined]
    return api


class FakePerplexityBatch(ScriptedFake):
    """Perplexity's Files + Batches alone; lines answered by ``line_handler`` (default ``agent_reply``)."""

    def __init__(self, line_handler=agent_reply) -> None:
        super().__init__()
        self.batch = PerplexityBatch(line_handler)

    @property
    def batches(self) -> BatchEngine:
        return self.batch.engine

    def reset(self) -> None:
        super().reset()
        self.batch.reset()

    def routes(self) -> list[Route]:
        return self.batch.routes()


class FakePerplexityAgentBatch(FakePerplexityAgent):
    """The Agent API fake with the Batch and Files routes mounted: each batch line is answered by the Agent
    API fake's own reply for its body (its strict decoder, presets, searches and costs), as Perplexity runs
    each line through the Agent API. ``batch`` is the API, ``batches`` its engine."""

    def __init__(self) -> None:
        super().__init__()
        self.batch = mount_perplexity_batch(self, lambda body: self.default_reply(body, LINE_HEADERS))

    @property
    def batches(self) -> BatchEngine:
        return self.batch.engine


__all__ = [
    "FakePerplexityAgentBatch",
    "FakePerplexityBatch",
    "PerplexityBatch",
    "agent_reply",
    "mount_perplexity_batch",
    "perplexity_error",
]
