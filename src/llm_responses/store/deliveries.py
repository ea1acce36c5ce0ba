"""Transactions on the webhook delivery queue.

Deliveries are enqueued inside the transaction that finishes their task (``settle.finish``), so a finished
task's webhook survives any crash. A dispatcher claims due rows under a lease; an attempt is recorded once,
conditionally on the attempt count, together with the delivery's and the task's new state.
"""

from __future__ import annotations

from collections.abc import Sequence

from llm_responses.store.connection import Connection, Row
from llm_responses.store.records import (
    AlertFormat,
    DeliveryAttempt,
    DeliveryKind,
    DeliveryStatus,
    DeliveryView,
    PostbackState,
    ResendResult,
    TaskStatus,
    WebhookSecrets,
)

DELIVERIES_CHANNEL = "llm_responses_deliveries"  # NOTIFY'd when deliveries are queued (PostgreSQL)
# Resending is bounded: one delivery per kind at a time, and a task's webhooks can be resent only so often
MAX_DELIVERIES_PER_TASK = 50


async def enqueue_deliveries(
    c: Connection, hooks: Sequence[tuple[str, int, str | None, str | None]], now: float
) -> None:
    """For each (task id, account id, postback url, pingback url): a pending delivery per URL given."""
    rows = [
        (task_id, account_id, kind.value, url, DeliveryStatus.PENDING.value, now)
        for task_id, account_id, postback_url, pingback_url in hooks
        for kind, url in ((DeliveryKind.POSTBACK, postback_url), (DeliveryKind.PINGBACK, pingback_url))
        if url
    ]
    if not rows:
        return
    await c.bulk("insert_deliveries_bulk", rows)
    postbacks = [task_id for task_id, _, postback_url, _ in hooks if postback_url]
    if postbacks:
        await c.execute("set_postback_states", PostbackState.PENDING.value, postbacks)
    await c.notify(DELIVERIES_CHANNEL)


async def record_attempt(
    c: Connection, delivery_id: int, attempt: DeliveryAttempt, *, delivered: bool, retry_at: float | None
) -> bool:
    row = await c.fetchrow(
        "delivery_to_record", delivery_id, DeliveryStatus.PENDING.value, attempt.attempt - 1
    )
    if row is None:
        return False
    task_id, kind = row
    await c.execute(
        "insert_delivery_attempt", delivery_id, attempt.attempt, attempt.at, attempt.url, attempt.http_status,
        attempt.error, attempt.latency_ms,
    )  # fmt: skip
    if delivered:
        status, state, next_at, finished = (
            DeliveryStatus.DELIVERED,
            PostbackState.DELIVERED,
            attempt.at,
            attempt.at,
        )
    elif retry_at is not None:
        status, state, next_at, finished = DeliveryStatus.PENDING, PostbackState.FAILING, retry_at, None
    else:
        status, state, next_at, finished = DeliveryStatus.FAILED, PostbackState.FAILED, attempt.at, attempt.at
    await c.execute("update_delivery", delivery_id, status.value, attempt.attempt, next_at, finished)
    if kind == DeliveryKind.POSTBACK.value:
        await c.execute("set_postback_states", state.value, [task_id])
    return True


def resend_verdict(deliveries: int, pending: int) -> ResendResult:
    """Whether a finished task with webhooks may get another delivery now."""
    if pending:
        return ResendResult.PENDING
    if deliveries >= MAX_DELIVERIES_PER_TASK:
        return ResendResult.LIMIT
    return ResendResult.QUEUED


async def resend(c: Connection, account_id: int, task_ids: list[str], now: float) -> list[ResendResult]:
    out = []
    for task_id in task_ids:
        row = await c.fetchrow("task_for_resend", task_id, account_id)
        if row is None or row[0] == TaskStatus.PURGED.value:
            out.append(ResendResult.NOT_FOUND)
        elif row[0] not in (TaskStatus.DONE.value, TaskStatus.FAILED.value):
            out.append(ResendResult.NOT_FINISHED)
        elif not row[1] and not row[2]:
            out.append(ResendResult.NO_WEBHOOK)
        else:
            counts = await c.fetchrow("delivery_counts", task_id, DeliveryStatus.PENDING.value)
            verdict = resend_verdict(*counts) if counts else ResendResult.QUEUED
            if verdict is ResendResult.QUEUED:
                await enqueue_deliveries(c, [(task_id, account_id, row[1], row[2])], now)
            out.append(verdict)
    return out


async def page(
    c: Connection, account_id: int, task_id: str, limit: int, offset: int
) -> list[DeliveryView] | None:
    """A page of the task's deliveries (oldest first) with every attempt; None: not the account's task."""
    return delivery_views(await c.fetch("deliveries_page", task_id, account_id, limit, offset))


def delivery_views(rows: Sequence[Row]) -> list[DeliveryView] | None:
    """``deliveries_page`` (or ``alert_deliveries``) rows → views (no row: not the account's task or alert)."""
    if not rows:
        return None
    views: dict[int, tuple[Row, list[DeliveryAttempt]]] = {}
    for r in rows:
        if r[0] is None:
            continue
        _, history = views.setdefault(r[0], (r, []))
        if r[9] is not None:
            history.append(DeliveryAttempt(*r[9:15]))
    out = []
    for r, history in views.values():
        status = DeliveryStatus(r[4])
        out.append(DeliveryView(
            id=r[0], task_id=r[1], kind=DeliveryKind(r[2]), url=r[3], status=status, attempts=r[5],
            next_attempt_at=r[6] if status is DeliveryStatus.PENDING else None, created_at=r[7],
            finished_at=r[8], history=tuple(history), alert_id=r[15], format=AlertFormat(r[16]) if r[16] else None,
        ))  # fmt: skip
    return out


async def secrets(c: Connection, account_id: int) -> WebhookSecrets:
    row = await c.fetchrow("secrets", account_id=account_id)
    assert row is not None, "the account's secrets are read in the transaction that wrote them"
    return WebhookSecrets(current=row[0], previous=row[1], rotated_at=row[2])
