"""OpenAI's Batch API, and the APIs shaped like it (Perplexity's), through the official ``openai`` SDK: a
``core.BatchClient``.

The flow (platform.openai.com/docs/guides/batch): the lines go up as one ``.jsonl`` file (``POST /v1/files``,
``purpose=batch``), a batch reads it (``POST /v1/batches``, endpoint ``/v1/responses``, window ``24h``),
polls read the batch (``GET /v1/batches/{id}``), and once it has ended its output file (the answered lines)
and its error file (the refused, expired and cancelled lines) are read as streams
(``GET /v1/files/{id}/content``), in no particular order.

Each line of those files becomes a ``LineResult``:

- ``response.status_code`` 200: the body, parsed as the direct provider parses it, with ``batched``; a body
  the direct provider refuses (``status: failed``, no text) is that same ``ProviderError``, as ``error``;
- another status: the error a direct call answered with it would raise (``openai_client.status_error``);
- ``response: null`` with ``error.code`` ``batch_expired`` or ``batch_cancelled``: ``direct`` (never ran);
- ``response: null`` with another code (``request_timeout``, ...): a retryable error.

A vendor adjusts a line's error as its direct provider does (``line_error``; ``None``: the direct path
recovers from it by itself, so the line goes ``direct``).

The batch: ``validating``, ``in_progress``, ``finalizing``, ``cancelling`` run; ``completed``, ``expired``
and ``cancelled`` have ended (results readable); ``failed`` (the file failed validation, or the enqueued-token
limit) has ended with its reason and every line goes the direct way.

Finding a batch after a crash: OpenAI labels each batch with ``metadata`` (``llmr_batch``: the key) and
``find`` lists the batches created since then; Perplexity takes an ``Idempotency-Key`` (the key), so ``find``
answers None and ``submit`` is simply repeated: "a repeat with the same key returns the original batch"
(docs.perplexity.ai/api-reference/batches-create-post).

Every call's failure is raised as a classified ``ProviderError``, as a direct call's would be.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any, Final, Literal, Protocol

import openai
import orjson

from llm_responses.core import BatchHandle, BatchPoll, LineResult, LlmRequest, LlmResult
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.batch_io import SKEW, check_size, json_lines, spool
from llm_responses.providers.checks import require_answer
from llm_responses.providers.openai_client import ClientPool, sdk_errors, status_error

log = logging.getLogger(__name__)

ENDPOINT: Final[Literal["/v1/responses"]] = "/v1/responses"
LABEL = "llmr_batch"  # the metadata key that carries our batch key (OpenAI)
# "The file can contain up to 50,000 requests, and can be up to 200 MB in size" (openai batches.create): MB
# or MiB is not said, so the smaller, less a megabyte for the line breaks (50 kB at most) and the headroom
MAX_REQUESTS = 50_000
MAX_BYTES = 199_000_000
RUNNING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
NEVER_RAN = frozenset({"batch_expired", "batch_cancelled"})


class ParseBody(Protocol):
    def __call__(self, body: dict[str, Any], *, fallback_model: str) -> LlmResult: ...


def _everything(request: LlmRequest) -> bool:
    return True


def _one_group(request: LlmRequest) -> str:
    return ""


def _as_is(error: ProviderError) -> ProviderError | None:
    return error


class OpenAIShapedBatch:
    """One vendor's Files + Batches API. ``build`` makes a line's body (the direct provider's request),
    ``parse`` reads an answered body (the direct provider's parser); ``idempotent``: the vendor takes an
    ``Idempotency-Key`` (Perplexity), else batches are labelled for ``find`` (OpenAI)."""

    def __init__(
        self,
        clients: ClientPool,
        *,
        name: str,
        build: Callable[[LlmRequest], dict[str, Any]],
        parse: ParseBody,
        idempotent: bool = False,
        accepts: Callable[[LlmRequest], bool] = _everything,
        group: Callable[[LlmRequest], str] = _one_group,
        line_error: Callable[[ProviderError], ProviderError | None] = _as_is,
        max_requests: int = MAX_REQUESTS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.name = name
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self._clients = clients
        self._build = build
        self._parse = parse
        self._idempotent = idempotent
        self._accepts = accepts
        self._group = group
        self._line_error = line_error

    def accepts(self, request: LlmRequest) -> bool:
        return self._accepts(request)

    def group(self, request: LlmRequest) -> str:
        return self._group(request)

    def encode(self, custom_id: str, request: LlmRequest) -> bytes:
        return orjson.dumps(
            {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": self._build(request)}
        )

    async def submit(self, key: str, lines: Sequence[bytes]) -> BatchHandle:
        """Upload the lines as a file, then create the batch that reads it. Perplexity: repeating this with the
        same ``key`` returns the batch the first call created (its ``Idempotency-Key``); the file this call
        uploaded is then deleted."""
        check_size(lines, self.max_requests, self.max_bytes)
        body = await asyncio.to_thread(spool, lines)
        try:
            async with self._clients.client() as client:
                with sdk_errors(self.name):
                    uploaded = await client.files.create(
                        file=(f"{_file_stem(key)}.jsonl", body), purpose="batch"
                    )
                try:
                    with sdk_errors(self.name):
                        batch = await client.batches.create(
                            input_file_id=uploaded.id,
                            endpoint=ENDPOINT,
                            completion_window="24h",
                            metadata={LABEL: key},
                            extra_headers={"Idempotency-Key": key} if self._idempotent else None,
                        )
                except ProviderError as exc:
                    if exc.kind in (ErrorKind.INVALID_REQUEST, ErrorKind.FATAL):  # refused: no batch reads it
                        await self._delete(client, uploaded.id)
                    raise
                if batch.input_file_id != uploaded.id:  # the key's original batch, reading its own file
                    await self._delete(client, uploaded.id)
        finally:
            body.close()
        return BatchHandle(batch.id, batch.input_file_id)

    async def find(self, key: str, since: float, count: int | None = None) -> BatchHandle | None:
        """The batch labelled ``key`` among those created since ``since`` (less ``SKEW``), newest first.
        Perplexity: None, since ``submit`` with the same key is safe to repeat."""
        if self._idempotent:
            return None
        async with self._clients.client() as client:
            with sdk_errors(self.name):
                async for batch in client.batches.list(limit=100):
                    if batch.created_at < since - SKEW:
                        break
                    if (batch.metadata or {}).get(LABEL) == key:
                        return BatchHandle(batch.id, batch.input_file_id)
        return None

    async def poll(self, handle: BatchHandle) -> BatchPoll:
        async with self._clients.client() as client:
            with sdk_errors(self.name):
                batch = await client.batches.retrieve(handle.vendor_id)
        if batch.status in RUNNING:
            return BatchPoll(ended=False)
        if batch.status == "failed":
            return BatchPoll(ended=True, failed=f"{self.name}: batch failed: {_reasons(batch)}")
        if batch.output_file_id is None and batch.error_file_id is None:
            return BatchPoll(
                ended=True, failed=f"{self.name}: batch {batch.status} without output or error file"
            )
        return BatchPoll(ended=True)

    async def results(self, handle: BatchHandle) -> AsyncIterator[LineResult]:
        """Every line of the ended batch's output file, then of its error file, read as a stream."""
        async with self._clients.client() as client:
            with sdk_errors(self.name):
                batch = await client.batches.retrieve(handle.vendor_id)
            fallback = batch.model or ""
            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                with sdk_errors(self.name):
                    async with client.files.with_streaming_response.content(file_id) as response:
                        async for raw in json_lines(response.iter_bytes()):
                            line = self._line(raw, fallback)
                            if line is not None:
                                yield line

    async def cancel(self, handle: BatchHandle) -> None:
        """Ask the vendor to stop: the batch goes ``cancelling``, then ``cancelled`` with what had run. A batch
        that has already ended is left as it is."""
        async with self._clients.client() as client:
            try:
                with sdk_errors(self.name):
                    await client.batches.cancel(handle.vendor_id)
            except ProviderError:
                with sdk_errors(self.name):
                    batch = await client.batches.retrieve(handle.vendor_id)
                if batch.status in RUNNING and batch.status != "cancelling":
                    raise

    # -- lines ---------------------------------------------------------------------------------------------

    def _line(self, raw: bytes, fallback: str) -> LineResult | None:
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("%s: an unreadable batch result line was skipped (%d bytes)", self.name, len(raw))
            return None
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str):
            log.warning("%s: a batch result line without custom_id was skipped", self.name)
            return None
        response = line.get("response")
        if isinstance(response, dict):
            status = response.get("status_code")
            body = response.get("body")
            if status == 200:
                return self._answer(custom_id, body, fallback)
            http = status if isinstance(status, int) and not isinstance(status, bool) else 500
            return self._refused(custom_id, status_error(http, body))
        error = line.get("error") if isinstance(line.get("error"), dict) else {}
        code = error.get("code")
        if code in NEVER_RAN:
            return LineResult(custom_id, direct=True)
        kind = ErrorKind.TIMEOUT if code == "request_timeout" else ErrorKind.UNAVAILABLE
        text = f"{self.name}: batch line {code or 'error'}: {error.get('message') or ''}".rstrip(": ")
        return LineResult(
            custom_id, error=ProviderError(kind, text, code=code if isinstance(code, str) else None)
        )

    def _answer(self, custom_id: str, body: Any, fallback: str) -> LineResult:
        try:
            if not isinstance(body, dict):
                raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: response body is not a JSON object")
            result = require_answer(self._parse(body, fallback_model=fallback), self.name)
        except ProviderError as exc:
            return self._refused(custom_id, exc)
        return LineResult(custom_id, result=replace(result, batched=True))

    def _refused(self, custom_id: str, error: ProviderError) -> LineResult:
        adjusted = self._line_error(error)
        return (
            LineResult(custom_id, direct=True) if adjusted is None else LineResult(custom_id, error=adjusted)
        )

    # -- calls ---------------------------------------------------------------------------------------------

    async def _delete(self, client: openai.AsyncOpenAI, file_id: str) -> None:
        """Best effort: an input file nothing reads (it would expire after 30 days anyway)."""
        try:
            await client.files.delete(file_id)
        except openai.OpenAIError as exc:
            log.info("%s: could not delete the unused batch input file %s: %s", self.name, file_id, exc)


def _reasons(batch: Any) -> str:
    errors = getattr(batch.errors, "data", None) or []
    texts = [f"{e.code or 'error'}: {e.message or ''}".rstrip(": ") for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(texts) + more if texts else "the batch failed"


def _file_stem(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:100] or "batch"
