"""What both stores share: the column lists they read, the row a new task becomes, and the settlement
arithmetic (kept in one place so SQLite and PostgreSQL can never charge differently)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_responses.store.base import (
    DeliveryAttempt,
    DeliveryKind,
    DeliveryStatus,
    DeliveryView,
    NewTask,
    Outcome,
    ResendResult,
    TaskStatus,
)

ACCOUNT_COLUMNS = "id, login, password_hash, token_hash, balance, created_at, timezone"
TASK_COLUMNS = (
    "id, account_id, se, endpoint, status, status_code, status_message, data_json, result_json, tag, "
    "cost, created_at, finished_at, collected_at"
)


def task_row(
    account_id: int, t: NewTask, status: TaskStatus, now: float, owner: str | None, lease: float | None
) -> tuple:
    """Values for the tasks insert, in the column order both stores use."""
    attempts = 1 if status is TaskStatus.RUNNING else 0
    return (
        t.id, account_id, t.se, t.endpoint, status.value, t.request_json, t.data_json, t.tag, t.postback_url,
        t.pingback_url, t.base_price, t.prepayment, t.base_price + t.prepayment, attempts, owner, lease, now, now,
    )  # fmt: skip


def settlement(o: Outcome, base_price: int, prepayment: int) -> tuple[int, int]:
    """(amount back to the balance, the task's final cost): success keeps base + money_spent (the rest of
    the prepayment back, or the overage charged); failure refunds the prepayment, and the base for live."""
    if o.success:
        return prepayment - o.money_spent, base_price + o.money_spent
    return prepayment + (base_price if o.refund_base else 0), 0 if o.refund_base else base_price


# Resending is bounded: one delivery per kind at a time, and a task's webhooks can be resent only so often
MAX_DELIVERIES_PER_TASK = 50


def resend_verdict(deliveries: int, pending: int) -> ResendResult:
    """Whether a finished task with webhooks may get another delivery now."""
    if pending:
        return ResendResult.PENDING
    if deliveries >= MAX_DELIVERIES_PER_TASK:
        return ResendResult.LIMIT
    return ResendResult.QUEUED


# One page of a task's deliveries with their attempts, in one statement: no row when the task is not the
# account's, one row with NULL delivery columns when it has none. ``$n`` is PostgreSQL's placeholder;
# SQLite reads the same statement with ``?n`` (``sqlite_sql``).
DELIVERIES_PAGE_SQL = """
WITH owned AS (SELECT id FROM tasks WHERE id = $1 AND account_id = $2),
page AS (
    SELECT d.id, d.task_id, d.kind, d.url, d.status, d.attempts, d.next_attempt_at, d.created_at, d.finished_at
    FROM deliveries d JOIN owned ON d.task_id = owned.id ORDER BY d.id LIMIT $3 OFFSET $4
)
SELECT p.id, p.task_id, p.kind, p.url, p.status, p.attempts, p.next_attempt_at, p.created_at, p.finished_at,
       a.attempt, a.at, a.url, a.http_status, a.error, a.latency_ms
FROM owned LEFT JOIN page p ON 1 = 1 LEFT JOIN delivery_attempts a ON a.delivery_id = p.id
ORDER BY p.id, a.attempt
"""


def sqlite_sql(statement: str) -> str:
    """A statement written with PostgreSQL's ``$n`` placeholders, for SQLite (``?n``)."""
    return statement.replace("$", "?")


def delivery_views(rows: Sequence[Sequence[Any]]) -> list[DeliveryView] | None:
    """``DELIVERIES_PAGE_SQL``'s rows → views (None: the task is not the account's)."""
    if not rows:
        return None
    views: dict[int, tuple[Sequence[Any], list[DeliveryAttempt]]] = {}
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
            finished_at=r[8], history=tuple(history),
        ))  # fmt: skip
    return out
