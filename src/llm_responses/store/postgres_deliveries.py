"""PostgreSQL: the webhook delivery queue (a mixin of ``PostgresStore``), as in ``sqlite_deliveries`` but
claimed with ``SKIP LOCKED`` by any number of dispatchers and announced with NOTIFY."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

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
from llm_responses.store.rows import DELIVERIES_PAGE_SQL, delivery_views, resend_verdict

DELIVERIES_CHANNEL = "llm_responses_deliveries"


async def enqueue_deliveries(
    c: asyncpg.Connection,
    task_id: str,
    account_id: int,
    postback_url: str | None,
    pingback_url: str | None,
    now: float,
) -> None:
    rows = [
        (task_id, account_id, kind.value, url, DeliveryStatus.PENDING.value, now, now)
        for kind, url in ((DeliveryKind.POSTBACK, postback_url), (DeliveryKind.PINGBACK, pingback_url))
        if url
    ]
    if not rows:
        return
    await c.executemany(
        "INSERT INTO deliveries (task_id, account_id, kind, url, status, attempts, next_attempt_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
        rows,
    )
    if postback_url:
        await c.execute(
            "UPDATE tasks SET postback_state = $1 WHERE id = $2", PostbackState.PENDING.value, task_id
        )
    await c.execute("SELECT pg_notify($1, '')", DELIVERIES_CHANNEL)


class PostgresDeliveries:
    _write: Callable[..., Awaitable[Any]]
    _read: Callable[..., Awaitable[Any]]

    async def claim_deliveries(
        self, owner: str, limit: int, lease_until: float, now: float
    ) -> list[ClaimedDelivery]:
        rows = await self._write(
            lambda c: c.fetch(
                "UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN ("
                "  SELECT id FROM deliveries WHERE status = $3 AND next_attempt_at <= $4 "
                "  AND (lease_until IS NULL OR lease_until < $4) ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED) "
                "RETURNING id, task_id, account_id, kind, url, attempts",
                owner,
                lease_until,
                DeliveryStatus.PENDING.value,
                now,
                limit,
            ),  # fmt: skip
            durable=False,  # a lost lease only makes the delivery due again
        )
        return [ClaimedDelivery(r[0], r[1], r[2], DeliveryKind(r[3]), r[4], r[5] + 1) for r in rows]

    async def record_delivery_attempt(
        self, delivery_id: int, attempt: DeliveryAttempt, *, delivered: bool, retry_at: float | None
    ) -> bool:
        async def tx(c: asyncpg.Connection) -> bool:
            row = await c.fetchrow(
                "SELECT task_id, kind FROM deliveries WHERE id = $1 AND status = $2 AND attempts = $3 FOR UPDATE",
                delivery_id, DeliveryStatus.PENDING.value, attempt.attempt - 1,
            )  # fmt: skip
            if row is None:
                return False
            task_id, kind = row
            await c.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at, url, http_status, error, latency_ms) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                delivery_id, attempt.attempt, attempt.at, attempt.url, attempt.http_status, attempt.error,
                attempt.latency_ms,
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
            await c.execute(
                "UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, finished_at = $4, "
                "lease_owner = NULL, lease_until = NULL WHERE id = $5",
                status.value, attempt.attempt, next_at, finished, delivery_id,
            )  # fmt: skip
            if kind == DeliveryKind.POSTBACK.value:
                await c.execute("UPDATE tasks SET postback_state = $1 WHERE id = $2", state.value, task_id)
            return True

        return await self._write(tx)

    async def resend_webhooks(self, account_id: int, task_ids: list[str], now: float) -> list[ResendResult]:
        async def tx(c: asyncpg.Connection) -> list[ResendResult]:
            out = []
            for task_id in task_ids:
                row = await c.fetchrow(
                    "SELECT status, postback_url, pingback_url FROM tasks "
                    "WHERE id = $1 AND account_id = $2 AND endpoint = 'task_post'",
                    task_id, account_id,
                )  # fmt: skip
                if row is None or row[0] == TaskStatus.PURGED.value:
                    out.append(ResendResult.NOT_FOUND)
                elif row[0] not in (TaskStatus.DONE.value, TaskStatus.FAILED.value):
                    out.append(ResendResult.NOT_FINISHED)
                elif not row[1] and not row[2]:
                    out.append(ResendResult.NO_WEBHOOK)
                else:
                    total, pending = await c.fetchrow(
                        "SELECT count(*), count(*) FILTER (WHERE status = $1) FROM deliveries WHERE task_id = $2",
                        DeliveryStatus.PENDING.value, task_id,
                    )  # fmt: skip
                    verdict = resend_verdict(total, pending)
                    if verdict is ResendResult.QUEUED:
                        await enqueue_deliveries(c, task_id, account_id, row[1], row[2], now)
                    out.append(verdict)
            return out

        return await self._write(tx)

    async def deliveries_of(
        self, account_id: int, task_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[DeliveryView] | None:
        async def q(c: asyncpg.Connection) -> list[DeliveryView] | None:
            return delivery_views(await c.fetch(DELIVERIES_PAGE_SQL, task_id, account_id, limit, offset))

        return await self._read(q)

    async def webhook_secrets(self, account_id: int, candidate: str) -> WebhookSecrets:
        async def tx(c: asyncpg.Connection) -> WebhookSecrets:
            await c.execute(
                "UPDATE accounts SET webhook_secret = $1 WHERE id = $2 AND webhook_secret IS NULL",
                candidate,
                account_id,
            )
            return await _secrets(c, account_id)

        return await self._write(tx)

    async def rotate_webhook_secret(self, account_id: int, new_secret: str, now: float) -> WebhookSecrets:
        async def tx(c: asyncpg.Connection) -> WebhookSecrets:
            await c.execute(
                "UPDATE accounts SET webhook_secret_previous = webhook_secret, webhook_secret = $1, "
                "webhook_secret_rotated_at = $2 WHERE id = $3",
                new_secret, now, account_id,
            )  # fmt: skip
            return await _secrets(c, account_id)

        return await self._write(tx)

    async def count_deliveries(self, status: DeliveryStatus | None = None) -> int:
        if status is None:
            return await self._read(lambda c: c.fetchval("SELECT COUNT(*) FROM deliveries"))
        return await self._read(
            lambda c: c.fetchval("SELECT COUNT(*) FROM deliveries WHERE status = $1", status.value)
        )


async def _secrets(c: asyncpg.Connection, account_id: int) -> WebhookSecrets:
    row = await c.fetchrow(
        "SELECT webhook_secret, webhook_secret_previous, webhook_secret_rotated_at FROM accounts WHERE id = $1",
        account_id,
    )
    return WebhookSecrets(current=row[0], previous=row[1], rotated_at=row[2])
