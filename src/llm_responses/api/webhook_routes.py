"""Webhook endpoints under ``/v3/appendix``: DataForSEO's ``webhook_resend``, plus what a self-hosted
service adds — every delivery attempt of a task, and the account's signing secret (read and rotate)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.api import render
from llm_responses.api.routes import Routes, caller, context, json_array
from llm_responses.errors import ApiError, StatusCode
from llm_responses.store.deliveries import MAX_DELIVERIES_PER_TASK
from llm_responses.store.records import DeliveryView, ResendResult, WebhookSecrets
from llm_responses.webhooks import signing
from llm_responses.wire import envelope

routes = Routes()
MAX_RESEND = 100

_RESEND_ERRORS = {
    ResendResult.NOT_FOUND: ApiError(StatusCode.TASK_NOT_FOUND),
    ResendResult.NOT_FINISHED: ApiError(StatusCode.TASK_IN_QUEUE),
    ResendResult.NO_WEBHOOK: ApiError(
        StatusCode.INVALID_FIELD, "Invalid Field: 'id'. The task has no postback_url or pingback_url."
    ),
    ResendResult.PENDING: ApiError(
        StatusCode.INVALID_FIELD, "Invalid Field: 'id'. A delivery of this task is still pending."
    ),
    ResendResult.LIMIT: ApiError(
        StatusCode.INVALID_FIELD,
        f"Invalid Field: 'id'. The task's webhooks were sent {MAX_DELIVERIES_PER_TASK} times already.",
    ),
}
DELIVERIES_PAGE = 20  # webhook_deliveries' default page (?limit=, at most MAX_DELIVERIES_PAGE; ?offset=)
MAX_DELIVERIES_PAGE = 100


def _task(
    function: str,
    request: Request,
    started: float,
    *,
    task_id: str | None = None,
    result: list[Any] | None,
    error: ApiError | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return envelope.task(  # cost 0: resending is free ("your account will not be double-charged")
        task_id=task_id,
        status=StatusCode.TASK_CREATED if function == "webhook_resend" else StatusCode.OK,
        error=error,
        started=started,
        path=envelope.path_of(request.url.path),
        data=envelope.appendix_data(function, **(extra or {})),
        result=result,
    )


@routes.add(envelope.APPENDIX + "/webhook_resend", "POST")
async def webhook_resend(request: Request) -> Response:
    started = time.perf_counter()
    ctx = context(request)
    account = await caller(request)
    body = await json_array(request, MAX_RESEND)
    tasks: list[dict[str, Any] | None] = [None] * len(body)
    wanted: list[tuple[int, str]] = []
    for i, item in enumerate(body):
        task_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(task_id, str) or not task_id or len(task_id) > 64:
            tasks[i] = _task(
                "webhook_resend", request, started, result=None, error=ApiError.invalid_field("id")
            )
        else:
            wanted.append((i, task_id))
    unique = list(dict.fromkeys(t for _, t in wanted))  # an id posted twice is resent once
    found = await ctx.store.resend_webhooks(account.id, unique, time.time()) if unique else []
    results = dict(zip(unique, found, strict=True))
    for i, task_id in wanted:
        tasks[i] = _task(
            "webhook_resend",
            request,
            started,
            task_id=task_id,
            result=None,
            error=_RESEND_ERRORS.get(results[task_id]),
            extra={"id": task_id},
        )
    if any(r is ResendResult.QUEUED for r in found):
        request.app.state.dispatcher.notify()
    return render.ok([t for t in tasks if t is not None], started)


@routes.add(envelope.APPENDIX + "/webhook_deliveries/{task_id}", "GET")
async def webhook_deliveries(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    started = time.perf_counter()
    ctx = context(request)
    account = await caller(request)
    limit = _query_int(request, "limit", DELIVERIES_PAGE, 1, MAX_DELIVERIES_PAGE)
    offset = _query_int(request, "offset", 0, 0, 1_000_000)
    views = await ctx.store.deliveries_of(account.id, task_id, limit=limit, offset=offset)
    if views is None:
        task = _task(
            "webhook_deliveries",
            request,
            started,
            task_id=task_id,
            result=None,
            error=ApiError(StatusCode.TASK_NOT_FOUND),
        )
    else:
        task = _task(
            "webhook_deliveries", request, started, task_id=task_id, result=[_delivery(v) for v in views]
        )
    return render.ok([task], started)


def _query_int(request: Request, name: str, default: int, lowest: int, highest: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lowest <= int(raw) <= highest:
        raise ApiError.invalid_field(name)
    return int(raw)


def _when(epoch: float | None) -> str | None:
    return envelope.format_datetime(epoch) if epoch is not None else None


def _delivery(v: DeliveryView) -> dict[str, Any]:
    return {
        "id": v.id,
        "kind": v.kind.value,
        "url": v.url,
        "status": v.status.value,
        "attempts": v.attempts,
        "next_attempt_at": _when(v.next_attempt_at),
        "created_at": _when(v.created_at),
        "finished_at": _when(v.finished_at),
        "history": [
            {
                "attempt": a.attempt,
                "datetime": _when(a.at),
                "url": a.url,
                "http_status": a.http_status,
                "error": a.error,
                "latency_ms": a.latency_ms,
            }
            for a in v.history
        ],
    }


def _secrets(s: WebhookSecrets) -> list[dict[str, Any]]:
    in_grace = (
        s.previous is not None
        and s.rotated_at is not None
        and time.time() - s.rotated_at < signing.ROTATION_GRACE_SECONDS
    )
    return [
        {
            "secret": s.current,
            "previous_secret": s.previous if in_grace else None,
            "rotated_at": _when(s.rotated_at),
            "signature_header": signing.HEADER,
        }
    ]


@routes.add(envelope.APPENDIX + "/webhook_secret", "GET")
async def webhook_secret(request: Request) -> Response:
    started = time.perf_counter()
    account = await caller(request)
    secrets = await context(request).store.webhook_secrets(account.id, signing.new_secret())
    return render.ok([_task("webhook_secret", request, started, result=_secrets(secrets))], started)


@routes.add(envelope.APPENDIX + "/webhook_secret/rotate", "POST")
async def webhook_secret_rotate(request: Request) -> Response:
    started = time.perf_counter()
    account = await caller(request)
    secrets = await context(request).store.rotate_webhook_secret(
        account.id, signing.new_secret(), time.time()
    )
    return render.ok([_task("webhook_secret", request, started, result=_secrets(secrets))], started)
