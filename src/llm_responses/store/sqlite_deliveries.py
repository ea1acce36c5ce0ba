"""SQLite: the webhook delivery queue (a mixin of ``SqliteStore``; same writer thread, same transactions).

Deliveries are enqueued by ``enqueue_deliveries`` inside the transaction that finishes their task, so a
finished task's webhook survives any crash. A dispatcher claims due rows under a lease; an attempt is
recorded once, conditionally on the attempt count, together with the delivery's and the task's new state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from llm_responses.store.base import (
    ClaimedDelivery,
    DeliveryAttempt,
    DeliveryKind,
    DeliveryStatus,
    DeliveryView,
    PostbackState,
    ResendResult,
    TaskStatus,
    WebhookSecrets,
)
from llm_responses.store.rows import DELIVERIES_PAGE_SQL, delivery_views, resend_verdict, sqlite_sql

T = TypeVar("T")


def enqueue_deliveries(
    c: sqlite3.Connection,
    task_id: str,
    account_id: int,
    postback_url: str | None,
    pingback_url: str | None,
    now: float,
) -> None:
    for kind, url in ((DeliveryKind.POSTBACK, postback_url), (DeliveryKind.PINGBACK, pingback_url)):
        if url:
            c.execute(
                "INSERT INTO deliveries (task_id, account_id, kind, url, status, attempts, next_attempt_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                (task_id, account_id, kind.value, url, DeliveryStatus.PENDING.value, now, now),
            )
    if postback_url:
        c.execute("UPDATE tasks SET postback_state = ? WHERE id = ?", (PostbackState.PENDING.value, task_id))


class SqliteDeliveries:
    _write: Callable[..., Awaitable[Any]]
    _read: Callable[..., Awaitable[Any]]

    async def claim_deliveries(
        self, owner: str, limit: int, lease_until: float, now: float
    ) -> list[ClaimedDelivery]:
        def tx(c: sqlite3.Connection) -> list[ClaimedDelivery]:
            rows = c.execute(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ("
                "  SELECT id FROM deliveries WHERE status = ? AND next_attempt_at <= ? "
                "  AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at LIMIT ?) "
                "RETURNING id, task_id, account_id, kind, url, attempts",
                (owner, lease_until, DeliveryStatus.PENDING.value, now, now, limit),
            ).fetchall()
            return [ClaimedDelivery(r[0], r[1], r[2], DeliveryKind(r[3]), r[4], r[5] + 1) for r in rows]

        return await self._write(tx)

    async def record_delivery_attempt(
        self, delivery_id: int, attempt: DeliveryAttempt, *, delivered: bool, retry_at: float | None
    ) -> bool:
        def tx(c: sqlite3.Connection) -> bool:
            row = c.execute(
                "SELECT task_id, kind FROM deliveries WHERE id = ? AND status = ? AND attempts = ?",
                (delivery_id, DeliveryStatus.PENDING.value, attempt.attempt - 1),
            ).fetchone()
            if row is None:
                return False
            task_id, kind = row
            c.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at, url, http_status, error, latency_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, attempt.attempt, attempt.at, attempt.url, attempt.http_status, attempt.error,
                 attempt.latency_ms),
            )  # fmt: skip
            if delivered:
                status, state, next_at, finished = (
                    DeliveryStatus.DELIVERED,
                    PostbackState.DELIVERED,
                    attempt.at,
                    attempt.at,
                )
            elif retry_at is not None:
                status, state, next_at, finished = (
                    DeliveryStatus.PENDING,
                    PostbackState.FAILING,
                    retry_at,
                    None,
                )
            else:
                status, state, next_at, finished = (
                    DeliveryStatus.FAILED,
                    PostbackState.FAILED,
                    attempt.at,
                    attempt.at,
                )
            c.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, finished_at = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ?",
                (status.value, attempt.attempt, next_at, finished, delivery_id),
            )
            if kind == DeliveryKind.POSTBACK.value:
                c.execute("UPDATE tasks SET postback_state = ? WHERE id = ?", (state.value, task_id))
            return True

        return await self._write(tx)

    async def resend_webhooks(self, account_id: int, task_ids: list[str], now: float) -> list[ResendResult]:
        def tx(c: sqlite3.Connection) -> list[ResendResult]:
            out = []
            for task_id in task_ids:
                row = c.execute(
                    "SELECT status, postback_url, pingback_url FROM tasks "
                    "WHERE id = ? AND account_id = ? AND endpoint = 'task_post'",
                    (task_id, account_id),
                ).fetchone()
                if row is None or row[0] == TaskStatus.PURGED.value:
                    out.append(ResendResult.NOT_FOUND)
                elif row[0] not in (TaskStatus.DONE.value, TaskStatus.FAILED.value):
                    out.append(ResendResult.NOT_FINISHED)
                elif not row[1] and not row[2]:
                    out.append(ResendResult.NO_WEBHOOK)
                else:
                    total, pending = c.execute(
                        "SELECT count(*), count(CASE WHEN status = ? THEN 1 END) FROM deliveries WHERE task_id = ?",
                        (DeliveryStatus.PENDING.value, task_id),
                    ).fetchone()
                    verdict = resend_verdict(total, pending)
                    if verdict is ResendResult.QUEUED:
                        enqueue_deliveries(c, task_id, account_id, row[1], row[2], now)
                    out.append(verdict)
            return out

        return await self._write(tx)

    async def deliveries_of(
        self, account_id: int, task_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[DeliveryView] | None:
        def q(c: sqlite3.Connection) -> list[DeliveryView] | None:
            rows = c.execute(sqlite_sql(DELIVERIES_PAGE_SQL), (task_id, account_id, limit, offset)).fetchall()
            return delivery_views(rows)

        return await self._read(q)

    async def webhook_secrets(self, account_id: int, candidate: str) -> WebhookSecrets:
        def tx(c: sqlite3.Connection) -> WebhookSecrets:
            c.execute(
                "UPDATE accounts SET webhook_secret = ? WHERE id = ? AND webhook_secret IS NULL",
                (candidate, account_id),
            )
            return _secrets(c, account_id)

        return await self._write(tx)

    async def rotate_webhook_secret(self, account_id: int, new_secret: str, now: float) -> WebhookSecrets:
        def tx(c: sqlite3.Connection) -> WebhookSecrets:
            c.execute(
                "UPDATE accounts SET webhook_secret_previous = webhook_secret, webhook_secret = ?, "
                "webhook_secret_rotated_at = ? WHERE id = ?",
                (new_secret, now, account_id),
            )
            return _secrets(c, account_id)

        return await self._write(tx, durable=True)

    async def count_deliveries(self, status: DeliveryStatus | None = None) -> int:
        if status is None:
            return await self._read(lambda c: c.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])
        return await self._read(
            lambda c: c.execute(
                "SELECT COUNT(*) FROM deliveries WHERE status = ?", (status.value,)
            ).fetchone()[0]
        )


def _secrets(c: sqlite3.Connection, account_id: int) -> WebhookSecrets:
    row = c.execute(
        "SELECT webhook_secret, webhook_secret_previous, webhook_secret_rotated_at FROM accounts WHERE id = ?",
        (account_id,),
    ).fetchone()
    return WebhookSecrets(current=row[0], previous=row[1], rotated_at=row[2])
