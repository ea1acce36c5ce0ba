"""Transactions on the task queue: accepting tasks with their charges, claiming, leases, housekeeping.

The database is the queue: a task is claimed under a lease and finished by a conditional update keyed by
(task, attempt) (``settle.py``), so a task re-run after a crash can never settle its money twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_responses.billing.settlement import affordable
from llm_responses.store.connection import Connection, Row
from llm_responses.store.fair_claim import Rotation
from llm_responses.store.records import LedgerKind, NewTask, Outcome, TaskStatus
from llm_responses.store.rows import ledger_row
from llm_responses.store.settle import finish

TASKS_CHANNEL = "llm_responses_tasks"  # NOTIFY'd when tasks become claimable (PostgreSQL)


def task_row(
    account_id: int, t: NewTask, status: TaskStatus, now: float, owner: str | None, lease: float | None
) -> dict[str, Any]:
    """A new task's row for ``insert_task``, by column."""
    return {
        "id": t.id, "account_id": account_id, "se": t.se, "endpoint": t.endpoint, "status": status.value,
        "request_json": t.request_json, "data_json": t.data_json, "tag": t.tag, "postback_url": t.postback_url,
        "pingback_url": t.pingback_url, "base_price": t.base_price, "prepayment": t.prepayment,
        "cost": t.base_price + t.prepayment, "attempts": 1 if status is TaskStatus.RUNNING else 0,
        "lease_owner": owner, "lease_until": lease, "run_after": now + t.run_after_delay, "created_at": now,
        "lane": t.lane, "project_id": t.project_id, "run_id": t.run_id, "prompt_key": t.prompt_key,
    }  # fmt: skip


def _charges(account_id: int, tasks: Sequence[NewTask], now: float) -> list[dict[str, Any]]:
    """The ledger rows of charging ``tasks``: base price and prepayment, each where not zero."""
    return [
        ledger_row(account_id, t.id, kind, -amount, now)
        for t in tasks
        for kind, amount in ((LedgerKind.BASE, t.base_price), (LedgerKind.PREPAY, t.prepayment))
        if amount != 0
    ]


async def create_tasks(c: Connection, account_id: int, tasks: list[NewTask], now: float) -> list[bool]:
    # The rows go in first and the account's row lock is taken last, so on PostgreSQL the lock that
    # serializes every money movement of the account is held for three short statements and the commit, not
    # for the whole batch's inserts: concurrent posts for one account overlap their inserts
    # (docs/benchmarks.md, ingest). In the rare batch the balance cannot cover, the refused tasks' rows are
    # deleted again before commit, so nobody ever sees them.
    await c.bulk(
        "insert_tasks_bulk", [task_row(account_id, t, TaskStatus.QUEUED, now, None, None) for t in tasks]
    )
    await c.bulk("copy_ledger_bulk", _charges(account_id, tasks, now))
    balance = await c.fetchval("balance_for_update", account_id=account_id)
    accepted, total = affordable(balance, [t.base_price + t.prepayment for t in tasks])
    refused = [t.id for t, ok in zip(tasks, accepted, strict=True) if not ok]
    if refused:
        await c.execute("delete_ledger_of_tasks", task_ids=refused)
        await c.execute("delete_tasks", ids=refused)
    if total:
        await c.execute("add_to_balance", account_id=account_id, amount=-total)
        await c.notify(TASKS_CHANNEL)
    return accepted


async def start_live(
    c: Connection, account_id: int, task: NewTask, owner: str, lease_until: float, now: float
) -> bool:
    balance = await c.fetchval("balance_for_update", account_id=account_id)
    hold = task.base_price + task.prepayment
    if not affordable(balance, [hold])[0][0]:
        return False
    await c.execute("insert_task", **task_row(account_id, task, TaskStatus.RUNNING, now, owner, lease_until))
    await c.bulk("insert_ledger_bulk", _charges(account_id, [task], now))
    await c.execute("add_to_balance", account_id=account_id, amount=-hold)
    return True


async def claim(
    c: Connection, rotation: Rotation, owner: str, limit: int, lease_until: float, now: float
) -> tuple[list[int], list[Row]]:
    """Round-robin across accounts not in debt (``fair_claim``): (the accounts visited, the claimed rows)."""
    queued = TaskStatus.QUEUED.value

    async def with_work(after: int) -> list[int]:
        return [r["id"] for r in await c.fetch("accounts_with_work", queued=queued, after=after, limit=limit)]

    after = await with_work(rotation.after)
    start = await with_work(0) if len(after) < limit else []
    order = rotation.order(after, start)
    if not order:
        return order, []
    rows = await c.fetch(
        "claim_fair", accounts=order, queued=queued, now=now, limit=limit, running=TaskStatus.RUNNING.value,
        owner=owner, lease_until=lease_until,
    )  # fmt: skip
    return order, rows


async def retry_later(c: Connection, task_id: str, attempt: int, run_after: float, error: str) -> bool:
    changed = await c.execute(
        "retry_later", queued=TaskStatus.QUEUED.value, run_after=run_after, error=error, id=task_id,
        running=TaskStatus.RUNNING.value, attempt=attempt,
    )  # fmt: skip
    if changed:
        await c.notify(TASKS_CHANNEL)
    return changed == 1


async def recover_expired_leases(c: Connection, now: float, abandoned: Outcome) -> tuple[int, int]:
    """Requeue task_post tasks whose worker vanished; end abandoned live calls with ``abandoned``."""
    queued, running = TaskStatus.QUEUED.value, TaskStatus.RUNNING.value
    requeued = await c.execute("requeue_expired", queued=queued, running=running, now=now)
    rows = await c.fetch("abandoned_live", running=running, now=now)
    failed = await finish(c, [(r["id"], r["attempts"], abandoned) for r in rows], now)
    if requeued:
        await c.notify(TASKS_CHANNEL)
    return requeued, sum(failed)


async def expire_overdue(c: Connection, created_before: float, now: float, outcome: Outcome) -> int:
    """End task_post tasks created before ``created_before`` and still queued, running or in a vendor batch
    with ``outcome`` (a batch's late answer for one of them then settles nothing)."""
    queued, running, batched = TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, TaskStatus.BATCHED.value
    rows = await c.fetch(
        "overdue", queued=queued, running=running, batched=batched, created_before=created_before
    )
    items = [(r["id"], r["attempts"], outcome) for r in rows]
    return sum(await finish(c, items, now, from_statuses=(queued, running, batched)))
