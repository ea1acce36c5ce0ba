"""What both stores share: the column lists they read, the row a new task becomes, and the settlement
arithmetic (kept in one place so SQLite and PostgreSQL can never charge differently)."""

from __future__ import annotations

from llm_responses.store.base import NewTask, Outcome, TaskStatus

ACCOUNT_COLUMNS = "id, login, password_hash, token_hash, balance, created_at, timezone"
TASK_COLUMNS = (
    "id, account_id, se, endpoint, status, status_code, status_message, data_json, result_json, tag, "
    "cost, created_at, finished_at, collected_at"
)


def task_row(account_id: int, t: NewTask, status: TaskStatus, now: float, owner: str | None, lease: float | None) -> tuple:
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
