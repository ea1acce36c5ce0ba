"""A protocol-faithful fake of OpenAI's Files + Batch APIs on top of ``FakeOpenAI``, over real HTTP on loopback.

``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files``, ``GET|DELETE /v1/files/{id}``,
``GET /v1/files/{id}/content`` (streamed), ``POST /v1/batches``, ``GET /v1/batches``, ``GET /v1/batches/{id}``,
``POST /v1/batches/{id}/cancel``. Each ``/v1/responses`` line is answered by the parent fake's own default
reply for that body (``/v1/chat/completions`` lines by its chat reply), so a line the live API would refuse
comes back as a 4xx line in the error file.

As the real API does it (sources in the batch notes): the upload checks only the file (``.jsonl``, at most
200 MB, else 400); the batch is created ``validating`` and its lines are checked on the first poll, a bad file
ending ``failed`` with ``errors.data[]`` (``invalid_json_line``, ``missing_required_parameter``,
``invalid_url``, ``duplicate_custom_id``, ``mismatched_model``, ``streaming_unsupported``,
``model_not_found``, ``too_many_tasks``, ``empty_file``); unknown ``endpoint`` or ``completion_window`` is a
create-time 400; cancelling a finished batch is a 409. Succeeded lines go to ``output_file_id``, the rest to
``error_file_id`` (``{"id","custom_id","response":{"status_code","request_id","body"},"error":null}``, or
``"response": null`` with ``error.code`` ``batch_expired`` / ``batch_cancelled``), out of input order.

Test hooks: ``fake.batches`` is the ``BatchEngine`` (``polls_to_finish``, ``finalizing_polls``,
``cancel_polls``, ``cancel_completes``, ``clock.advance``, ``finish/expire/cancel/fail/process``,
``script_line``, ``refuse_next_create``); ``max_requests``, ``max_file_bytes``, ``unsupported_models`` and
``enqueued_token_limit`` (a batch over it fails with ``token_limit_exceeded``) shrink or widen the limits.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.batch_engine import DAY, HOUR, Batch, BatchEngine, Kind, Line, StoredFile, stream_file, token
from tests.fakes.openai_replies import SNAPSHOTS, Reply, error_reply, random_hex, word_tokens
from tests.fakes.openai_server import FakeOpenAI

MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
)
EXPIRED_LINE = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}
CANCELLED_LINE = {
    "code": "batch_cancelled",
    "message": "The batch was cancelled before this request executed.",
}
STATUS_TEXT = {
    400: "Bad request",
    429: "Rate limit reached",
    500: "The server had an error while processing your request. Sorry about that!",
}
ENDPOINT_NAMES = {"/v1/responses": "Responses", "/v1/chat/completions": "Chat Completions"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def reply_response(reply: Reply) -> Response:
    return json_response(reply.body, reply.status, reply.headers)


def batch_error(
    code: str, message: str, *, line: int | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def usage_of(body: Any) -> dict[str, Any] | None:
    """A line's tokens in the batch ``usage`` shape (Responses and Chat Completions bodies alike)."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    inp = usage.get("input_tokens", usage.get("prompt_tokens", 0)) or 0
    out = usage.get("output_tokens", usage.get("completion_tokens", 0)) or 0
    in_details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
    out_details = usage.get("output_tokens_details") or usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": in_details.get("cached_tokens", 0) or 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": out_details.get("reasoning_tokens", 0) or 0},
        "total_tokens": usage.get("total_tokens", inp + out) or 0,
    }


def input_tokens(body: dict[str, Any]) -> int:
    """A rough count of a line's prompt tokens, for the enqueued-token limit (words, as the parent fake counts)."""
    raw = body.get("input", body.get("messages", ""))
    instructions = body.get("instructions")
    return word_tokens(orjson.dumps(raw).decode()) + (word_tokens(str(instructions)) if instructions else 0)


def zero_usage() -> dict[str, Any]:
    return {
        "input_tokens": 0,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 0,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 0,
    }


class OpenAIShapedBatches:
    """Files + Batches in OpenAI's shape, answering each line with ``line_handler(url, body) -> (status, body)``.
    ``PerplexityBatch`` reuses it with Perplexity's differences as overrides."""

    file_prefix = "file-"
    batch_prefix = "batch_"
    endpoints: tuple[str, ...] = ENDPOINTS
    purposes: tuple[str, ...] = FILE_PURPOSES
    file_has_status = True
    batch_has_model = True
    error_has_param = True

    def __init__(self, line_handler, engine: BatchEngine | None = None) -> None:
        self.line_handler = line_handler
        self.engine = engine or BatchEngine(
            handler=self._handle,
            render=self._render,
            default_error=self.default_line_error,
            usage=usage_of,
            on_end=self._on_end,
        )
        self.max_requests = MAX_REQUESTS
        self.max_file_bytes = MAX_FILE_BYTES
        self.unsupported_models: set[str] = set()
        self.enqueued_token_limit: int | None = None  # per model, over the batches not yet ended

    def reset(self) -> None:
        self.engine.reset()
        self.max_requests = MAX_REQUESTS
        self.max_file_bytes = MAX_FILE_BYTES
        self.unsupported_models = set()
        self.enqueued_token_limit = None

    @property
    def clock(self):
        return self.engine.clock

    @property
    def files(self):
        return self.engine.files

    def routes(self) -> list[Route]:
        return [
            Route("/v1/files", self._files_create, methods=["POST"]),
            Route("/v1/files", self._files_list, methods=["GET"]),
            Route("/v1/files/{file_id}/content", self._file_content, methods=["GET"]),
            Route("/v1/files/{file_id}", self._file_get, methods=["GET"]),
            Route("/v1/files/{file_id}", self._file_delete, methods=["DELETE"]),
            Route("/v1/batches", self._batches_create, methods=["POST"]),
            Route("/v1/batches", self._batches_list, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", self._batch_cancel, methods=["POST"]),
            Route("/v1/batches/{batch_id}", self._batch_get, methods=["GET"]),
        ]

    # -- errors (overridden by Perplexity) ---------------------------------------------------------------

    def error(
        self, status: int, message: str, *, type_: str = "invalid_request_error", param=None, code=None
    ) -> Response:
        return reply_response(error_reply(status, message, type_=type_, param=param, code=code))

    def unauthorized(self) -> Response:
        return self.error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) "
            "if you're accessing the API from your browser and are prompted for a username. You can obtain an "
            "API key from https://platform.openai.com/account/api-keys.",
        )

    def no_file(self, file_id: str) -> Response:
        return self.error(404, f"No such File object: {file_id}", param="id")

    def no_batch(self, batch_id: str) -> Response:
        return self.error(404, f"No batch found with id '{batch_id}'.")

    def default_line_error(self, status: int) -> Any:
        return error_reply(
            status,
            STATUS_TEXT.get(status, "The server had an error while processing your request."),
            type_="server_error" if status >= 500 else "invalid_request_error",
        ).body

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Bearer ")

    # -- files -------------------------------------------------------------------------------------------

    def file_json(self, file: StoredFile) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": file.id,
            "object": "file",
            "bytes": file.size,
            "created_at": int(file.created_at),
            "filename": file.filename,
            "purpose": file.purpose,
        }
        if self.file_has_status:
            body.update(status="processed", status_details=None)
        body["expires_at"] = int(file.expires_at) if file.expires_at is not None else None
        return body

    def new_file_id(self) -> str:
        return f"{self.file_prefix}{token(22)}"

    def check_upload(self, form, upload: UploadFile, data: bytes) -> Response | None:
        """OpenAI looks at the file, not its lines, at upload."""
        if not (upload.filename or "").endswith(".jsonl"):
            return self.error(400, "Invalid file format for Batch API. Must be .jsonl")
        if len(data) > self.max_file_bytes:
            return self.error(400, "File is too large.")
        return None

    def file_expiry(self, form, created: float) -> float | Response:
        seconds = form.get("expires_after[seconds]")
        if seconds is None:
            return created + 30 * DAY
        if form.get("expires_after[anchor]") != "created_at":
            return self.error(400, "Invalid value for 'expires_after.anchor'.", param="expires_after.anchor")
        if not str(seconds).isdigit() or not 3600 <= int(seconds) <= 30 * DAY:
            return self.error(
                400,
                "Invalid 'expires_after.seconds': must be between 3600 (1 hour) and 2592000 (30 days).",
                param="expires_after.seconds",
                code="invalid_value",
            )
        return created + int(seconds)

    async def _files_create(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        # closed when answered: Starlette spools an uploaded file to a temporary file, which would otherwise
        # be left for the garbage collector (a ResourceWarning; starlette.io "Requests": "Request Files")
        async with request.form() as form:
            return await self._file_upload(form)

    async def _file_upload(self, form) -> Response:
        upload = form.get("file")
        purpose = form.get("purpose")
        if not isinstance(upload, UploadFile):
            return self.error(
                400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter"
            )
        if purpose is None:
            return self.error(
                400,
                "Missing required parameter: 'purpose'.",
                param="purpose",
                code="missing_required_parameter",
            )
        if purpose not in self.purposes:
            supported = ", ".join(f"'{p}'" for p in self.purposes)
            return self.error(
                400,
                f"Invalid value: '{purpose}'. Supported values are: {supported}.",
                param="purpose",
                code="invalid_value",
            )
        data = await upload.read()
        if purpose == "batch" and (refused := self.check_upload(form, upload, data)) is not None:
            return refused
        with self.engine.lock:
            now = self.clock.now()
            expires = self.file_expiry(form, now) if purpose == "batch" else None
            if isinstance(expires, Response):
                return expires
            file = self.files.add(
                StoredFile(
                    self.new_file_id(), upload.filename or "upload", str(purpose), now, [data], expires
                )
            )
            return json_response(self.file_json(file))

    async def _files_list(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        purpose = request.query_params.get("purpose")
        with self.engine.lock:
            files = [f for f in self.files.all() if purpose is None or f.purpose == purpose]
            files.sort(key=lambda f: f.created_at, reverse=True)
            data = [self.file_json(f) for f in files]
        return json_response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": False,
            }
        )

    async def _file_get(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        file_id = request.path_params["file_id"]
        with self.engine.lock:
            file = self.files.get(file_id)
            return json_response(self.file_json(file)) if file else self.no_file(file_id)

    async def _file_delete(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        file_id = request.path_params["file_id"]
        with self.engine.lock:
            if not self.files.delete(file_id):
                return self.no_file(file_id)
        return json_response({"id": file_id, "object": "file", "deleted": True})

    async def _file_content(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        file_id = request.path_params["file_id"]
        with self.engine.lock:
            file = self.files.get(file_id)
        if file is None:
            return self.no_file(file_id)
        return stream_file(file, "application/octet-stream")

    # -- batches -----------------------------------------------------------------------------------------

    def check_create(self, request: Request, req: dict[str, Any]) -> Response | None:
        """The create-time 400s: missing or unsupported parameters (the file's lines are checked later)."""
        for name in ("input_file_id", "endpoint", "completion_window"):
            if req.get(name) is None:
                return self.error(
                    400,
                    f"Missing required parameter: '{name}'.",
                    param=name,
                    code="missing_required_parameter",
                )
        if req["endpoint"] not in self.endpoints:
            supported = ", ".join(f"'{e}'" for e in self.endpoints[:-1]) + f", and '{self.endpoints[-1]}'"
            if len(self.endpoints) == 1:
                supported = f"'{self.endpoints[0]}'"
            return self.error(
                400,
                f"Invalid value: '{req['endpoint']}'. Supported values are: {supported}.",
                param="endpoint",
                code="invalid_value",
            )
        if req["completion_window"] != "24h":
            return self.error(
                400,
                f"Invalid value: '{req['completion_window']}'. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        metadata = req.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict) or len(metadata) > 16:
                return self.error(
                    400, "Invalid 'metadata': expected an object with at most 16 keys.", param="metadata"
                )
            for key, value in metadata.items():
                if not isinstance(value, str):
                    kind = {list: "an array", dict: "an object", int: "an integer", float: "a number"}.get(
                        type(value), "another type"
                    )
                    return self.error(
                        400,
                        f"Invalid type for 'metadata.{key}': expected a string, but got {kind} instead.",
                        param=f"metadata.{key}",
                        code="invalid_type",
                    )
                if len(key) > 64 or len(value) > 512:
                    return self.error(
                        400, f"Invalid 'metadata.{key}': string too long.", param=f"metadata.{key}"
                    )
        return self.check_output_expiry(req.get("output_expires_after"))

    def check_output_expiry(self, oea: Any) -> Response | None:
        if oea is None:
            return None
        if not isinstance(oea, dict) or oea.get("anchor") != "created_at":
            return self.error(
                400, "Invalid value for 'output_expires_after.anchor'.", param="output_expires_after.anchor"
            )
        seconds = oea.get("seconds")
        if not isinstance(seconds, int) or not 3600 <= seconds <= 30 * DAY:
            return self.error(
                400,
                "Invalid 'output_expires_after.seconds': must be between 3600 (1 hour) and 2592000 (30 days).",
                param="output_expires_after.seconds",
                code="invalid_value",
            )
        return None

    async def _batches_create(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        try:
            req = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(req, dict):
            return self.error(400, "We could not parse the JSON body of your request.")
        if (refused := self.check_create(request, req)) is not None:
            return refused
        if (refusal := self.engine.pop_create_refusal()) is not None:
            status, body = refusal
            return json_response(body if body is not None else self.default_line_error(status), status)
        with self.engine.lock:
            batch = self.create_batch(request, req)
            return json_response(self.batch_json(batch))

    def create_batch(self, request: Request, req: dict[str, Any]) -> Batch:
        meta = {
            "input_file_id": req["input_file_id"],
            "endpoint": req["endpoint"],
            "completion_window": req["completion_window"],
            "metadata": req.get("metadata"),
            "output_expires_after": req.get("output_expires_after"),
            "model": None,
        }
        batch_id = f"{self.batch_prefix}{random_hex(32)}"
        return self.engine.create(batch_id, [], expires_in=24 * HOUR, validator=self.validate, meta=meta)

    def validate(self, batch: Batch) -> list[dict[str, Any]]:
        """What the real API checks while ``validating``: the file, then every line. Sets ``batch.lines``."""
        file = self.files.get(batch.meta["input_file_id"])
        if file is None:
            return [
                batch_error(
                    "invalid_request",
                    f"Cannot find file {batch.meta['input_file_id']}, or organization org-FAKE0000000000000000000 "
                    "does not have access to it.",
                    param="file_id",
                )
            ]
        if file.purpose != "batch":
            return [
                batch_error(
                    "invalid_request", "The input file must have purpose 'batch'.", param="input_file_id"
                )
            ]
        lines, errors = self.parse_lines(file.content(), batch.meta["endpoint"])
        if not errors and not lines:
            errors.append(batch_error("empty_file", "The batch input file is empty."))
        if len(lines) > self.max_requests:
            errors.append(
                batch_error(
                    "too_many_tasks",
                    f"The batch input file has {len(lines)} requests; a batch can have at most "
                    f"{self.max_requests} requests.",
                )
            )
        if errors:
            return errors
        model = lines[0].body.get("model")
        batch.meta["enqueued_tokens"] = sum(input_tokens(line.body) for line in lines)
        if self.enqueued_token_limit is not None:
            queued = sum(
                b.meta.get("enqueued_tokens", 0)
                for b in self.engine.batches.values()
                if b is not batch
                and not b.terminal
                and b.phase != "validating"
                and b.lines
                and b.lines[0].body.get("model") == model
            )
            if queued + batch.meta["enqueued_tokens"] > self.enqueued_token_limit:
                return [
                    batch_error(
                        "token_limit_exceeded",
                        f"Enqueued token limit reached for {model} in organization org-FAKE0000000000000000000. "
                        f"Limit: {self.enqueued_token_limit:,} enqueued tokens. Please try again once some "
                        "in_progress batches have been completed.",
                    )
                ]
        batch.lines = lines
        batch.meta["model"] = SNAPSHOTS.get(model, model)
        return []

    def parse_lines(self, data: bytes, endpoint: str) -> tuple[list[Line], list[dict[str, Any]]]:
        lines: list[Line] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        model: str | None = None
        for number, raw in enumerate(data.split(b"\n"), 1):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                errors.append(
                    batch_error("invalid_json_line", "This line is not parseable as valid JSON.", line=number)
                )
                continue
            if not isinstance(obj, dict):
                errors.append(
                    batch_error("invalid_json_line", "This line is not parseable as valid JSON.", line=number)
                )
                continue
            bad = False
            for name in ("custom_id", "method", "url", "body"):
                if name not in obj:
                    errors.append(
                        batch_error(
                            "missing_required_parameter",
                            f"Missing required parameter: '{name}'.",
                            line=number,
                            param=name,
                        )
                    )
                    bad = True
            if bad:
                continue
            custom_id, body = obj["custom_id"], obj["body"]
            if obj["method"] != "POST":
                errors.append(
                    batch_error(
                        "invalid_value",
                        f"Invalid value: '{obj['method']}'. Supported values are: 'POST'.",
                        line=number,
                        param="method",
                    )
                )
                continue
            if obj["url"] != endpoint:
                errors.append(
                    batch_error(
                        "invalid_url",
                        "The URL provided for this request does not match the batch endpoint.",
                        line=number,
                        param="url",
                    )
                )
                continue
            if not isinstance(custom_id, str) or not isinstance(body, dict):
                errors.append(batch_error("invalid_request", "Invalid request line.", line=number))
                continue
            if custom_id in seen:
                errors.append(
                    batch_error(
                        "duplicate_custom_id",
                        f"The custom_id '{custom_id}' for this request is a duplicate of another request. The "
                        "custom_id parameter must be unique for each request in a batch.",
                        line=number,
                        param="custom_id",
                    )
                )
                continue
            seen.add(custom_id)
            if body.get("stream"):
                errors.append(
                    batch_error(
                        "streaming_unsupported",
                        f"{ENDPOINT_NAMES.get(endpoint, 'This endpoint')}: Streaming is not supported in the Batch API.",
                        line=number,
                        param="body.stream",
                    )
                )
                continue
            line_model = body.get("model")
            if not isinstance(line_model, str) or not line_model:
                errors.append(
                    batch_error(
                        "invalid_request", "Model parameter is required.", line=number, param="body.model"
                    )
                )
                continue
            if line_model in self.unsupported_models:
                errors.append(
                    batch_error(
                        "model_not_found",
                        f"The provided model '{line_model}' is not supported by the Batch API.",
                        line=number,
                        param="body.model",
                    )
                )
                continue
            if model is None:
                model = line_model
            elif line_model != model:
                errors.append(
                    batch_error(
                        "mismatched_model",
                        f"The model '{line_model}' for this request does not match the rest of the batch. Each "
                        "batch must contain requests for a single model.",
                        line=number,
                        param="body.model",
                    )
                )
                continue
            lines.append(Line(len(lines), custom_id, body))
        return lines, errors

    def _handle(self, batch: Batch, line: Line) -> tuple[int, Any]:
        result = self.line_handler(batch.meta["endpoint"], line.body)
        if isinstance(result, Reply):
            return result.status, result.body
        return result

    def _render(self, batch: Batch, line: Line, kind: Kind, status: int, body: Any) -> bytes:
        out: dict[str, Any] = {"id": f"batch_req_{random_hex(32)}", "custom_id": line.custom_id}
        if kind == "expired":
            out.update(response=None, error=EXPIRED_LINE)
        elif kind == "cancelled":
            out.update(response=None, error=CANCELLED_LINE)
        else:
            out.update(
                response={"status_code": status, "request_id": f"req_{random_hex(32)}", "body": body},
                error=None,
            )
        return orjson.dumps(out) + b"\n"

    def _on_end(self, batch: Batch) -> None:
        if batch.end == "failed":
            return
        ok = [ln for ln in batch.lines if ln.result and ln.result.kind == "succeeded"]
        bad = [ln for ln in batch.lines if ln.result and ln.result.kind != "succeeded"]
        now = self.clock.now()
        oea = batch.meta.get("output_expires_after")
        expires = now + (oea["seconds"] if oea else 30 * DAY)
        for key, chosen, suffix in (("output_file_id", ok, "output"), ("error_file_id", bad, "error")):
            if not chosen:
                batch.outputs[key] = None
                continue
            data = [ln.result.data for ln in self.engine.ordered(batch, chosen) if ln.result]
            file = StoredFile(
                self.new_file_id(), f"{batch.id}_{suffix}.jsonl", "batch_output", now, data, expires
            )
            self.files.add(file)
            batch.outputs[key] = file.id

    def status(self, batch: Batch) -> str:
        if batch.phase == "ended":
            return str(batch.end)
        return {"validating": "validating", "running": "in_progress"}.get(batch.phase, batch.phase)

    def batch_json(self, batch: Batch) -> dict[str, Any]:
        self.engine.observe(batch)
        counts = batch.counts()
        started = batch.in_progress_at is not None
        end = batch.end
        ts = lambda t: int(t) if t is not None else None  # noqa: E731
        errors = None
        if end == "failed":
            errors = {
                "object": "list",
                "data": [
                    e if self.error_has_param else {k: v for k, v in e.items() if k != "param"}
                    for e in batch.errors
                ],
            }
        body: dict[str, Any] = {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.meta["endpoint"],
            "errors": errors,
            "input_file_id": batch.meta["input_file_id"],
            "completion_window": batch.meta["completion_window"],
            "status": self.status(batch),
            "output_file_id": batch.outputs.get("output_file_id"),
            "error_file_id": batch.outputs.get("error_file_id"),
            "created_at": int(batch.created_at),
            "in_progress_at": ts(batch.in_progress_at),
            "expires_at": int(batch.expires_at),
            "finalizing_at": ts(batch.finalizing_at),
            "completed_at": ts(batch.ended_at) if end == "completed" else None,
            "failed_at": ts(batch.ended_at) if end == "failed" else None,
            "expired_at": ts(batch.ended_at) if end == "expired" else None,
            "cancelling_at": ts(batch.cancelling_at),
            "cancelled_at": ts(batch.ended_at) if end == "cancelled" else None,
            "request_counts": {
                "total": len(batch.lines) if started else 0,
                "completed": counts["succeeded"],
                "failed": counts["errored"] + counts["expired"] + counts["cancelled"],
            },
            "usage": {**zero_usage(), **self.engine.usage_total(batch)},
            "metadata": batch.meta.get("metadata"),
        }
        if self.batch_has_model:
            body["model"] = batch.meta.get("model")
        return body

    async def _batch_get(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        batch_id = request.path_params["batch_id"]
        with self.engine.lock:
            batch = self.engine.poll(batch_id)
            return json_response(self.batch_json(batch)) if batch else self.no_batch(batch_id)

    async def _batches_list(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        after = request.query_params.get("after")
        try:
            limit = int(request.query_params.get("limit", "20"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return self.error(
                400, "Invalid 'limit': must be between 1 and 100.", param="limit", code="invalid_value"
            )
        with self.engine.lock:
            batches = self.engine.all()
            start = 0
            if after:
                ids = [b.id for b in batches]
                start = ids.index(after) + 1 if after in ids else len(ids)
            page = batches[start : start + limit]
            data = [self.batch_json(b) for b in page]
            has_more = start + limit < len(batches)
        return json_response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": has_more,
            }
        )

    async def _batch_cancel(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.unauthorized()
        batch_id = request.path_params["batch_id"]
        with self.engine.lock:
            batch = self.engine.find(batch_id)
            if batch is None:
                return self.no_batch(batch_id)
            if batch.terminal and batch.end != "cancelled":
                return self.error(409, f"Cannot cancel a batch with status '{batch.end}'.")
            self.engine.request_cancel(batch)
            return json_response(self.batch_json(batch))


class FakeOpenAIBatch(FakeOpenAI):
    """``FakeOpenAI`` plus Files and Batches; ``batches`` is the engine tests drive."""

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.batch_api = OpenAIShapedBatches(self.answer_line)

    @property
    def batches(self) -> BatchEngine:
        return self.batch_api.engine

    def reset(self) -> None:
        super().reset()
        self.batch_api.reset()

    def routes(self) -> list[Route]:
        return [*super().routes(), *self.batch_api.routes()]

    def answer_line(self, url: str, body: dict[str, Any]) -> Reply:
        """The parent fake's own answer for one line's body, as its endpoint would give it."""
        if url == "/v1/responses":
            return self.default_reply(body)
        if url == "/v1/chat/completions":
            return self.default_chat_reply(body)
        return error_reply(400, f"This fake does not answer {url} lines.", param="url")


__all__ = ["FakeOpenAIBatch", "OpenAIShapedBatches", "json_response", "usage_of"]
