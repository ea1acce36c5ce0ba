"""A protocol-faithful fake of the Gemini API's Batch Mode and Files API on top of ``FakeGemini``, over real HTTP.

``POST /v1beta/models/{model}:batchGenerateContent`` with inline requests (``inputConfig.requests.requests[]``
of ``{request, metadata}``, at most 20 MB) or a JSONL file (``inputConfig.fileName``, lines
``{"key", "request"}``); ``GET|DELETE /v1beta/batches/{id}``, ``GET /v1beta/batches``,
``POST /v1beta/batches/{id}:cancel``; the Files API as google-genai drives it: the resumable upload
(``POST /upload/v1beta/files`` with ``X-Goog-Upload-Command: start`` answers an ``x-goog-upload-url``; chunks
go there with ``upload`` / ``upload, finalize`` and the last answers ``x-goog-upload-status: final`` and
``{"file": File}``), ``GET|DELETE /v1beta/files/{id}``, ``GET /v1beta/files``, and
``GET /v1beta/files/{id}:download?alt=media`` (also under ``/download/v1beta/...``, the ``downloadUri``).

A batch is a long-running ``Operation``: ``{name: "batches/…", metadata: {"@type": …GenerateContentBatch,
model, displayName, createTime, updateTime, batchStats (int64 as strings, zero counts left out), state, name},
done, response | error}``. The REST API answers ``BATCH_STATE_PENDING|RUNNING|SUCCEEDED|FAILED|CANCELLED|
EXPIRED`` (the SDK maps them to ``JOB_STATE_*``). On success ``metadata.output`` and ``response`` carry
``inlinedResponses.inlinedResponses[]`` (``{response | error, metadata}``, input order) or ``responsesFile``
(``files/batch-…``, lines ``{"response" | "error", "key"}``). Line errors are ``google.rpc.Status``
(``{code, message}``, canonical codes). A batch still pending or running 48 h after creation expires without
results; a cancelled one ends with ``error.code`` 1.

Test hooks: ``fake.batches`` is the ``BatchEngine`` (see ``batch_engine``); ``inline_limit`` shrinks the 20 MB
inline cap.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.batch_engine import (
    HOUR,
    LOWER_ALNUM,
    Batch,
    BatchEngine,
    Kind,
    Line,
    StoredFile,
    rfc3339,
    stream_file,
    token,
)
from tests.fakes.gemini_server import MODELS, FakeGemini, google_error
from tests.fakes.openai_replies import Reply

BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
INLINE_LIMIT = 20 * 1024 * 1024
EXPIRY = 48 * HOUR
FILE_TTL = 48 * HOUR
CODES = {  # google.rpc.Code
    "CANCELLED": 1,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
}
HTTP_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
MESSAGES = {
    "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
    "INTERNAL": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    "UNAVAILABLE": "The model is overloaded. Please try again later.",
    "DEADLINE_EXCEEDED": "Deadline expired before operation could complete.",
}
STATES = {
    "validating": "BATCH_STATE_PENDING",
    "running": "BATCH_STATE_RUNNING",
    "finalizing": "BATCH_STATE_RUNNING",
    "cancelling": "BATCH_STATE_RUNNING",
}
ENDED = {
    "completed": "BATCH_STATE_SUCCEEDED",
    "failed": "BATCH_STATE_FAILED",
    "cancelled": "BATCH_STATE_CANCELLED",
    "expired": "BATCH_STATE_EXPIRED",
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def reply_response(reply: Reply) -> Response:
    return json_response(reply.body, reply.status)


def rpc_status(status: str, message: str) -> dict[str, Any]:
    return {"code": CODES.get(status, 2), "message": message}


def pick(d: dict[str, Any], camel: str, snake: str) -> Any:
    return d.get(camel, d.get(snake))


class FakeGeminiBatch(FakeGemini):
    def __init__(self) -> None:
        super().__init__()
        self.batches = BatchEngine(
            handler=self._handle,
            render=self._render,
            default_error=self.line_error,
            on_end=self._on_end,
            shuffle=False,  # "written in the same order as the input requests"
        )
        self.inline_limit = INLINE_LIMIT
        self._uploads: dict[str, dict[str, Any]] = {}

    @property
    def files(self):
        return self.batches.files

    def reset(self) -> None:
        super().reset()
        self.batches.reset()
        self.inline_limit = INLINE_LIMIT
        self._uploads.clear()

    def routes(self) -> list[Route]:
        return [
            Route("/v1beta/models/{model}:batchGenerateContent", self._create, methods=["POST"]),
            Route("/v1beta/batches/{batch_id}:cancel", self._cancel, methods=["POST"]),
            Route("/v1beta/batches/{batch_id}", self._get, methods=["GET"]),
            Route("/v1beta/batches/{batch_id}", self._delete, methods=["DELETE"]),
            Route("/v1beta/batches", self._list, methods=["GET"]),
            Route("/upload/v1beta/files", self._upload, methods=["POST"]),
            Route("/v1beta/files/{file_id}:download", self._download, methods=["GET"]),
            Route("/download/v1beta/files/{file_id}:download", self._download, methods=["GET"]),
            Route("/v1beta/files/{file_id}", self._file_get, methods=["GET"]),
            Route("/v1beta/files/{file_id}", self._file_delete, methods=["DELETE"]),
            Route("/v1beta/files", self._files_list, methods=["GET"]),
            *super().routes(),
        ]

    # -- lines -------------------------------------------------------------------------------------------

    @staticmethod
    def line_error(status: int) -> dict[str, Any]:
        name = HTTP_STATUS.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
        return rpc_status(name, MESSAGES.get(name, "Request contains an invalid argument."))

    def _handle(self, batch: Batch, line: Line) -> tuple[int, Any]:
        if not isinstance(line.body, dict):
            return 400, rpc_status("INVALID_ARGUMENT", "Invalid JSON payload received.")
        reply = self.default_reply(batch.meta["model"], line.body, batch.meta["headers"])
        if reply.status == 200:
            return 200, reply.body
        err = reply.body.get("error", {}) if isinstance(reply.body, dict) else {}
        return reply.status, rpc_status(str(err.get("status", "INTERNAL")), str(err.get("message", "")))

    def _render(self, batch: Batch, line: Line, kind: Kind, status: int, body: Any) -> bytes:
        if kind == "expired":
            body = rpc_status("DEADLINE_EXCEEDED", "The batch expired before this request was processed.")
        elif kind == "cancelled":
            body = rpc_status("CANCELLED", "The batch was cancelled before this request was processed.")
        item: dict[str, Any] = {"response": body} if kind == "succeeded" else {"error": body}
        if batch.meta["source"] == "file":
            item["key"] = line.custom_id
            return orjson.dumps(item) + b"\n"
        if line.index in batch.meta["line_metadata"]:
            item["metadata"] = batch.meta["line_metadata"][line.index]
        return orjson.dumps(item)

    def _on_end(self, batch: Batch) -> None:
        if batch.end != "completed" or batch.meta["source"] != "file":
            return
        now = self.batches.clock.now()
        chunks = [line.result.data for line in batch.lines if line.result]
        file_id = f"batch-{batch.id}"
        self.files.add(
            StoredFile(
                file_id,
                file_id,
                "batch_output",
                now,
                chunks,
                now + FILE_TTL,
                meta={"source": "GENERATED", "mime_type": "application/jsonl"},
            )
        )
        batch.outputs["responsesFile"] = f"files/{file_id}"

    # -- shapes ------------------------------------------------------------------------------------------

    def operation(self, batch: Batch) -> dict[str, Any]:
        self.batches.observe(batch)
        counts = batch.counts()
        stats = {
            "requestCount": len(batch.lines),
            "successfulRequestCount": counts["succeeded"],
            "failedRequestCount": counts["errored"] + counts["expired"] + counts["cancelled"],
            "pendingRequestCount": counts["processing"],
        }
        state = ENDED[batch.end] if batch.end else STATES[batch.phase]
        name = f"batches/{batch.id}"
        meta: dict[str, Any] = {"@type": BATCH_TYPE, "model": f"models/{batch.meta['model']}"}
        if batch.meta.get("display_name") is not None:
            meta["displayName"] = batch.meta["display_name"]
        if batch.meta["source"] == "file":
            meta["inputConfig"] = {"fileName": batch.meta["file_name"]}
        output = self._output(batch)
        if output is not None:
            meta["output"] = output
        updates = [
            t for t in (batch.created_at, batch.in_progress_at, batch.cancelling_at, batch.ended_at) if t
        ]
        meta["createTime"] = rfc3339(batch.created_at, 9)
        if batch.ended_at is not None:
            meta["endTime"] = rfc3339(batch.ended_at, 9)
        meta["updateTime"] = rfc3339(max(updates), 9)
        meta["batchStats"] = {k: str(v) for k, v in stats.items() if v or k == "requestCount"}
        meta["state"] = state
        if batch.meta.get("priority") is not None:
            meta["priority"] = str(batch.meta["priority"])
        meta["name"] = name
        op: dict[str, Any] = {"name": name, "metadata": meta}
        if batch.terminal:
            op["done"] = True
            if output is not None:
                op["response"] = {"@type": OUTPUT_TYPE, **output}
            elif batch.end == "cancelled":
                op["error"] = rpc_status("CANCELLED", "The batch was cancelled.")
            elif batch.end == "expired":
                op["error"] = rpc_status(
                    "DEADLINE_EXCEEDED",
                    "The batch was pending or running for more than 48 hours and has expired.",
                )
            else:
                op["error"] = (batch.errors or [rpc_status("INTERNAL", "The batch failed.")])[0]
        return op

    def _output(self, batch: Batch) -> dict[str, Any] | None:
        if batch.end != "completed":
            return None
        if batch.meta["source"] == "file":
            return {"responsesFile": batch.outputs["responsesFile"]}
        items = [orjson.Fragment(line.result.data) for line in batch.lines if line.result]
        return {"inlinedResponses": {"inlinedResponses": items}}

    def file_json(self, file: StoredFile, base_url: str) -> dict[str, Any]:
        data = file.content()
        body: dict[str, Any] = {"name": f"files/{file.id}"}
        if file.meta.get("display_name"):
            body["displayName"] = file.meta["display_name"]
        body.update(
            mimeType=file.meta.get("mime_type", "application/octet-stream"),
            sizeBytes=str(len(data)),
            createTime=rfc3339(file.created_at, 6),
            updateTime=rfc3339(file.created_at, 6),
        )
        if file.expires_at is not None:
            body["expirationTime"] = rfc3339(file.expires_at, 6)
        body.update(
            sha256Hash=base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode(),
            uri=f"{base_url}v1beta/files/{file.id}",
        )
        if file.meta.get("source") == "GENERATED":
            body["downloadUri"] = f"{base_url}download/v1beta/files/{file.id}:download?alt=media"
        body.update(state="ACTIVE", source=file.meta.get("source", "UPLOADED"))
        return body

    # -- batches -----------------------------------------------------------------------------------------

    def _unregistered(self, request: Request) -> Response | None:
        if not request.headers.get("x-goog-api-key"):
            return reply_response(
                google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
            )
        return None

    def _no_batch(self, batch_id: str) -> Response:
        return reply_response(google_error(404, "NOT_FOUND", f"Batch batches/{batch_id} not found."))

    async def _create(self, request: Request) -> Response:
        self.paths.append(request.url.path)
        if (refused := self._unregistered(request)) is not None:
            return refused
        model = request.path_params["model"]
        if not model.startswith(MODELS):
            return reply_response(
                google_error(
                    404,
                    "NOT_FOUND",
                    f"models/{model} is not found for API version v1beta, or is not supported.",
                )
            )
        if (refusal := self.batches.pop_create_refusal()) is not None:
            status, body = refusal
            if body is None:
                name = HTTP_STATUS.get(status, "INTERNAL")
                body = google_error(
                    status, name, MESSAGES.get(name, "Request contains an invalid argument.")
                ).body
            return json_response(body, status)
        raw = await request.body()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return reply_response(google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."))
        spec = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            return reply_response(
                google_error(
                    400, "INVALID_ARGUMENT", "* BatchGenerateContentRequest.batch: batch is required"
                )
            )
        config = pick(spec, "inputConfig", "input_config") or {}
        requests = config.get("requests")
        file_name = pick(config, "fileName", "file_name")
        if (requests is None) == (file_name is None):
            return reply_response(
                google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "* GenerateContentBatch.input_config: exactly one of file_name or requests must be set",
                )
            )
        meta: dict[str, Any] = {
            "model": model,
            "display_name": pick(spec, "displayName", "display_name"),
            "priority": spec.get("priority"),
            "headers": dict(request.headers.items()),
            "line_metadata": {},
        }
        lines: list[Line] = []
        if requests is not None:
            if len(raw) > self.inline_limit:
                return reply_response(
                    google_error(
                        400,
                        "INVALID_ARGUMENT",
                        f"Request payload size exceeds the limit: {self.inline_limit} bytes.",
                    )
                )
            items = requests.get("requests") if isinstance(requests, dict) else None
            if not items:
                return reply_response(
                    google_error(
                        400,
                        "INVALID_ARGUMENT",
                        "* GenerateContentBatch.input_config.requests: requests is empty",
                    )
                )
            meta["source"] = "inline"
            for i, item in enumerate(items):
                request_body = item.get("request") if isinstance(item, dict) else None
                metadata = item.get("metadata") if isinstance(item, dict) else None
                if metadata is not None:
                    meta["line_metadata"][i] = metadata
                key = str((metadata or {}).get("key", i)) if isinstance(metadata, dict) else str(i)
                lines.append(Line(i, key, request_body))
        else:
            file_id = str(file_name).removeprefix("files/")
            file = self.files.get(file_id)
            if file is None:
                return reply_response(
                    google_error(
                        403,
                        "PERMISSION_DENIED",
                        f"You do not have permission to access the File {file_id} or it may not exist.",
                    )
                )
            meta.update(source="file", file_name=f"files/{file_id}")
            for i, raw_line in enumerate(r for r in file.content().split(b"\n") if r.strip()):
                try:
                    obj = orjson.loads(raw_line)
                except orjson.JSONDecodeError:
                    obj = None
                key = obj.get("key") if isinstance(obj, dict) else None
                request_body = obj.get("request") if isinstance(obj, dict) else None
                lines.append(Line(i, str(key if key is not None else i), request_body))
            if not lines:
                return reply_response(
                    google_error(400, "INVALID_ARGUMENT", f"File files/{file_id} has no requests.")
                )
        with self.batches.lock:
            batch = self.batches.create(token(36, LOWER_ALNUM), lines, expires_in=EXPIRY, meta=meta)
            return json_response(self.operation(batch))

    async def _get(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        with self.batches.lock:
            batch = self.batches.poll(batch_id)
            return json_response(self.operation(batch)) if batch else self._no_batch(batch_id)

    async def _list(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        try:
            size = int(request.query_params.get("pageSize", "50"))
            start = int(request.query_params.get("pageToken", "0") or 0)
        except ValueError:
            return reply_response(google_error(400, "INVALID_ARGUMENT", "Invalid page token or page size."))
        size = size if size > 0 else 50
        with self.batches.lock:
            batches = self.batches.all()
            page = batches[start : start + size]
            body: dict[str, Any] = {}
            if page:
                body["operations"] = [self.operation(b) for b in page]
            if start + size < len(batches):
                body["nextPageToken"] = str(start + size)
        return json_response(body)

    async def _cancel(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        with self.batches.lock:
            batch = self.batches.find(batch_id)
            if batch is None:
                return self._no_batch(batch_id)
            if batch.terminal:
                return reply_response(
                    google_error(
                        400, "FAILED_PRECONDITION", f"Batch batches/{batch_id} is not running or pending."
                    )
                )
            self.batches.request_cancel(batch)
        return json_response({})

    async def _delete(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        with self.batches.lock:
            if self.batches.batches.pop(batch_id, None) is None:
                return self._no_batch(batch_id)
        return json_response({})

    # -- files -------------------------------------------------------------------------------------------

    def _no_file(self, file_id: str) -> Response:
        return reply_response(
            google_error(
                403,
                "PERMISSION_DENIED",
                f"You do not have permission to access the File {file_id} or it may not exist.",
            )
        )

    async def _upload(self, request: Request) -> Response:
        upload_id = request.query_params.get("upload_id")
        command = request.headers.get("x-goog-upload-command", "")
        if upload_id is None:
            if (refused := self._unregistered(request)) is not None:
                return refused
            if request.headers.get("x-goog-upload-protocol") != "resumable" or command != "start":
                return reply_response(
                    google_error(400, "INVALID_ARGUMENT", "Only resumable uploads are supported.")
                )
            raw = await request.body()
            try:
                spec = (orjson.loads(raw) if raw else {}).get("file") or {}
            except (orjson.JSONDecodeError, AttributeError):
                return reply_response(google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."))
            upload_id = token(40)
            name = str(pick(spec, "name", "name") or "").removeprefix("files/")
            self._uploads[upload_id] = {
                "id": name or token(12, LOWER_ALNUM),
                "display_name": pick(spec, "displayName", "display_name"),
                "mime_type": request.headers.get("x-goog-upload-header-content-type")
                or pick(spec, "mimeType", "mime_type")
                or "application/octet-stream",
                "chunks": [],
            }
            url = f"{request.base_url}upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"
            return Response(
                b"",
                headers={
                    "x-goog-upload-url": url,
                    "x-goog-upload-status": "active",
                    "x-goog-upload-chunk-granularity": str(8 * 1024 * 1024),
                    "x-guploader-uploadid": upload_id,
                },
            )
        pending = self._uploads.get(upload_id)
        if pending is None:
            return reply_response(google_error(404, "NOT_FOUND", "Upload session not found."))
        pending["chunks"].append(await request.body())
        if "finalize" not in command:
            return Response(b"", headers={"x-goog-upload-status": "active"})
        del self._uploads[upload_id]
        with self.batches.lock:
            now = self.batches.clock.now()
            file = self.files.add(
                StoredFile(
                    pending["id"],
                    pending["id"],
                    "upload",
                    now,
                    pending["chunks"],
                    now + FILE_TTL,
                    meta={
                        "display_name": pending["display_name"],
                        "mime_type": pending["mime_type"],
                        "source": "UPLOADED",
                    },
                )
            )
            body = {"file": self.file_json(file, str(request.base_url))}
        return json_response(body, headers={"x-goog-upload-status": "final"})

    async def _file_get(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        file_id = request.path_params["file_id"]
        with self.batches.lock:
            file = self.files.get(file_id)
            return (
                json_response(self.file_json(file, str(request.base_url))) if file else self._no_file(file_id)
            )

    async def _file_delete(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        file_id = request.path_params["file_id"]
        with self.batches.lock:
            if not self.files.delete(file_id):
                return self._no_file(file_id)
        return json_response({})

    async def _files_list(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        with self.batches.lock:
            files = sorted(self.files.all(), key=lambda f: f.created_at, reverse=True)
            body = {"files": [self.file_json(f, str(request.base_url)) for f in files]} if files else {}
        return json_response(body)

    async def _download(self, request: Request) -> Response:
        if (refused := self._unregistered(request)) is not None:
            return refused
        file_id = request.path_params["file_id"]
        with self.batches.lock:
            file = self.files.get(file_id)
        if file is None:
            return self._no_file(file_id)
        if request.query_params.get("alt") != "media":
            return json_response(self.file_json(file, str(request.base_url)))
        if file.meta.get("source") != "GENERATED":
            return reply_response(
                google_error(400, "INVALID_ARGUMENT", "Only generated files can be downloaded.")
            )
        return stream_file(file, file.meta.get("mime_type", "application/octet-stream"))
