"""A protocol-faithful fake of Anthropic's Message Batches API on top of ``FakeAnthropic``, over real HTTP.

``POST /v1/messages/batches`` (``{"requests": [{"custom_id", "params"}]}``), ``GET /v1/messages/batches``
(``limit``, ``after_id``, ``before_id``), ``GET|DELETE /v1/messages/batches/{id}``,
``POST /v1/messages/batches/{id}/cancel``, ``GET /v1/messages/batches/{id}/results`` (JSONL, streamed).
The same auth and ``anthropic-version`` rules as ``FakeAnthropic``. Each succeeded line carries the parent
fake's own ``Message`` for that ``params`` body; ``params`` are validated per line, asynchronously (a bad one
is an ``errored`` result carrying the parent's error body), while the envelope is checked at create: at most
100,000 requests and 256 MB (a 413 ``request_too_large``), ``custom_id`` matching ``^[a-zA-Z0-9_-]{1,64}$``
and unique.

The batch is ``in_progress`` at once, ``canceling`` after a cancel, then ``ended``; ``request_counts`` keep
every request ``processing`` until the batch ends; ``results_url`` appears only then; results come out of
input order as ``succeeded|errored|canceled|expired`` per ``custom_id``; ``expires_at`` is 24 h after creation
and results stay 29 days (``archived_at`` after that).

Test hooks: ``fake.batches`` is the ``BatchEngine`` (see ``batch_engine``); ``cancel_completes`` lines still
succeed during a cancel (Anthropic's non-interruptible requests); ``max_requests`` and ``max_bytes`` shrink the
limits.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.anthropic_server import VERSIONS, FakeAnthropic, anthropic_error
from tests.fakes.batch_engine import (
    DAY,
    HOUR,
    Batch,
    BatchEngine,
    Kind,
    Line,
    StoredFile,
    rfc3339,
    stream_file,
    token,
)
from tests.fakes.openai_replies import Reply

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
RESULTS_KEPT = 29 * DAY
ERROR_TYPES = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def json_response(body: Any, status: int = 200) -> Response:
    response = Response(orjson.dumps(body), status_code=status, media_type="application/json")
    response.headers["request-id"] = f"req_{token(24)}"
    return response


def reply_response(reply: Reply) -> Response:
    return json_response(reply.body, reply.status)


class FakeAnthropicBatch(FakeAnthropic):
    def __init__(self) -> None:
        super().__init__()
        self.batches = BatchEngine(
            handler=self._handle,
            render=self._render,
            default_error=self.line_error,
            on_end=None,
        )
        self.max_requests = MAX_REQUESTS
        self.max_bytes = MAX_BYTES

    def reset(self) -> None:
        super().reset()
        self.batches.reset()
        self.max_requests = MAX_REQUESTS
        self.max_bytes = MAX_BYTES

    def routes(self) -> list[Route]:
        return [
            *super().routes(),
            Route("/v1/messages/batches", self._create, methods=["POST"]),
            Route("/v1/messages/batches", self._list, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}/cancel", self._cancel, methods=["POST"]),
            Route("/v1/messages/batches/{batch_id}/results", self._results, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self._retrieve, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self._delete, methods=["DELETE"]),
        ]

    # -- lines -------------------------------------------------------------------------------------------

    @staticmethod
    def line_error(status: int) -> dict[str, Any]:
        type_, message = ERROR_TYPES.get(status, ("api_error", "Internal server error"))
        return anthropic_error(status, type_, message).body  # type: ignore[return-value]

    def _handle(self, batch: Batch, line: Line) -> tuple[int, Any]:
        params = line.body
        if not isinstance(params, dict):
            return 400, anthropic_error(
                400, "invalid_request_error", "params: Input should be an object"
            ).body
        if params.get("stream"):
            return 400, anthropic_error(
                400, "invalid_request_error", "stream: Streaming is not supported in the Message Batches API."
            ).body
        reply = self.default_reply(params, batch.meta["headers"])
        return reply.status, reply.body

    def _render(self, batch: Batch, line: Line, kind: Kind, status: int, body: Any) -> bytes:
        result: dict[str, Any]
        if kind == "succeeded":
            result = {"type": "succeeded", "message": body}
        elif kind == "errored":
            result = {"type": "errored", "error": body}
        elif kind == "cancelled":
            result = {"type": "canceled"}
        else:
            result = {"type": "expired"}
        return orjson.dumps({"custom_id": line.custom_id, "result": result}) + b"\n"

    # -- the batch object --------------------------------------------------------------------------------

    def batch_json(self, batch: Batch, base_url: str) -> dict[str, Any]:
        self.batches.observe(batch)
        ended = batch.terminal
        counts = batch.counts()
        if ended:
            request_counts = {
                "canceled": counts["cancelled"],
                "errored": counts["errored"],
                "expired": counts["expired"],
                "processing": 0,
                "succeeded": counts["succeeded"],
            }
        else:  # "zero until processing of the entire Message Batch has ended"
            request_counts = {
                "canceled": 0,
                "errored": 0,
                "expired": 0,
                "processing": len(batch.lines),
                "succeeded": 0,
            }
        archived = ended and self.batches.clock.now() >= batch.created_at + RESULTS_KEPT
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended"
            if ended
            else ("canceling" if batch.phase == "cancelling" else "in_progress"),
            "request_counts": request_counts,
            "ended_at": rfc3339(batch.ended_at) if batch.ended_at is not None else None,
            "created_at": rfc3339(batch.created_at),
            "expires_at": rfc3339(batch.expires_at),
            "archived_at": rfc3339(batch.created_at + RESULTS_KEPT) if archived else None,
            "cancel_initiated_at": rfc3339(batch.cancelling_at) if batch.cancelling_at is not None else None,
            "results_url": f"{base_url}v1/messages/batches/{batch.id}/results"
            if ended and not archived
            else None,
        }

    # -- routes ------------------------------------------------------------------------------------------

    def _refused(self, headers: dict[str, str]) -> Response | None:
        """The same header rules as ``POST /v1/messages``."""
        if not headers.get("x-api-key") and not headers.get("authorization", "").startswith("Bearer "):
            return reply_response(
                anthropic_error(401, "authentication_error", "x-api-key header is required")
            )
        version = headers.get("anthropic-version")
        if version is None:
            return reply_response(
                anthropic_error(400, "invalid_request_error", "anthropic-version: header is required")
            )
        if version not in VERSIONS:
            return reply_response(
                anthropic_error(
                    400, "invalid_request_error", f"anthropic-version: invalid version {version!r}"
                )
            )
        return None

    def _not_found(self, batch_id: str) -> Response:
        return reply_response(
            anthropic_error(404, "not_found_error", f"No message batch found with id '{batch_id}'.")
        )

    async def _create(self, request: Request) -> Response:
        headers = dict(request.headers.items())
        if (refused := self._refused(headers)) is not None:
            return refused
        if (refusal := self.batches.pop_create_refusal()) is not None:
            status, body = refusal
            return json_response(body if body is not None else self.line_error(status), status)
        raw = await request.body()
        if len(raw) > self.max_bytes:
            return reply_response(
                anthropic_error(
                    413, "request_too_large", "Request exceeds the maximum allowed number of bytes."
                )
            )
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return reply_response(
                anthropic_error(400, "invalid_request_error", "There was an issue with the JSON body.")
            )
        invalid = lambda message: reply_response(anthropic_error(400, "invalid_request_error", message))  # noqa: E731
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list):
            return invalid("requests: Field required")
        if not requests:
            return invalid("requests: List should have at least 1 item after validation, not 0")
        if len(requests) > self.max_requests:
            return invalid(
                f"requests: List should have at most {self.max_requests} items after validation, not {len(requests)}"
            )
        lines: list[Line] = []
        seen: set[str] = set()
        for i, item in enumerate(requests):
            if not isinstance(item, dict):
                return invalid(f"requests.{i}: Input should be an object")
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str):
                return invalid(f"requests.{i}.custom_id: Field required")
            if len(custom_id) > 64:
                return invalid(f"requests.{i}.custom_id: String should have at most 64 characters")
            if not CUSTOM_ID.match(custom_id):
                return invalid(
                    f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                )
            if custom_id in seen:
                return invalid(f"requests.{i}.custom_id: Duplicate custom_id '{custom_id}' in batch")
            if "params" not in item:
                return invalid(f"requests.{i}.params: Field required")
            seen.add(custom_id)
            lines.append(Line(i, custom_id, item["params"]))
        with self.batches.lock:
            batch = self.batches.create(
                f"msgbatch_01{token(22)}",
                lines,
                expires_in=24 * HOUR,
                phase="running",
                meta={"headers": headers},
            )
            return json_response(self.batch_json(batch, str(request.base_url)))

    async def _retrieve(self, request: Request) -> Response:
        if (refused := self._refused(dict(request.headers.items()))) is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        with self.batches.lock:
            batch = self.batches.poll(batch_id)
            if batch is None:
                return self._not_found(batch_id)
            return json_response(self.batch_json(batch, str(request.base_url)))

    async def _list(self, request: Request) -> Response:
        if (refused := self._refused(dict(request.headers.items()))) is not None:
            return refused
        q = request.query_params
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            return reply_response(
                anthropic_error(400, "invalid_request_error", "limit: Input should be between 1 and 1000")
            )
        with self.batches.lock:
            batches = self.batches.all()
            ids = [b.id for b in batches]
            if q.get("before_id"):
                end = ids.index(q["before_id"]) if q["before_id"] in ids else 0
                start = max(0, end - limit)
                page, has_more = batches[start:end], start > 0
            else:
                start = (
                    ids.index(q["after_id"]) + 1
                    if q.get("after_id") in ids
                    else (len(ids) if q.get("after_id") else 0)
                )
                page, has_more = batches[start : start + limit], start + limit < len(batches)
            data = [self.batch_json(b, str(request.base_url)) for b in page]
        return json_response(
            {
                "data": data,
                "has_more": has_more,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def _cancel(self, request: Request) -> Response:
        if (refused := self._refused(dict(request.headers.items()))) is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        with self.batches.lock:
            batch = self.batches.find(batch_id)
            if batch is None:
                return self._not_found(batch_id)
            if batch.terminal:
                return reply_response(
                    anthropic_error(
                        400,
                        "invalid_request_error",
                        f"Batch {batch_id} cannot be canceled: processing has already ended.",
                    )
                )
            self.batches.request_cancel(batch)
            return json_response(self.batch_json(batch, str(request.base_url)))

    async def _delete(self, request: Request) -> Response:
        if (refused := self._refused(dict(request.headers.items()))) is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        with self.batches.lock:
            batch = self.batches.find(batch_id)
            if batch is None:
                return self._not_found(batch_id)
            if not batch.terminal:
                return reply_response(
                    anthropic_error(
                        400,
                        "invalid_request_error",
                        f"Batch {batch_id} cannot be deleted while it is in progress; cancel it first.",
                    )
                )
            del self.batches.batches[batch_id]
        return json_response({"id": batch_id, "type": "message_batch_deleted"})

    async def _results(self, request: Request) -> Response:
        if (refused := self._refused(dict(request.headers.items()))) is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        with self.batches.lock:
            batch = self.batches.find(batch_id)
            if batch is None:
                return self._not_found(batch_id)
            if not batch.terminal:
                return reply_response(
                    anthropic_error(
                        400,
                        "invalid_request_error",
                        f"Batch {batch_id} has not finished processing; no results yet.",
                    )
                )
            if self.batches.clock.now() >= batch.created_at + RESULTS_KEPT:
                return reply_response(
                    anthropic_error(
                        404, "not_found_error", f"The results of batch {batch_id} have been archived."
                    )
                )
            chunks = [line.result.data for line in self.batches.ordered(batch, batch.lines) if line.result]
        file = StoredFile(batch_id, f"{batch_id}_results.jsonl", "results", batch.created_at, chunks)
        response = stream_file(file, "application/binary")
        response.headers["request-id"] = f"req_{token(24)}"
        return response
