"""Finishing attempts: the status change, the money, the task's webhooks and its mentions-index outbox row
move together, or not at all (the worker's indexer reads the answer into the index later, in batches: a
settlement pays one small insert for it, and an answer can never be left unindexed).

Set-based, so a batch of settlements (the settler's group commit) is a handful of statements however large
it is. Each finish is conditional on (task, status, attempt): an attempt that no longer owns its task (its
lease ran out and another attempt took it) settles nothing, and a task twice in one batch settles once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_responses.billing.settlement import settle
from llm_responses.store.connection import Connection
from llm_responses.store.deliveries import enqueue_deliveries
from llm_responses.store.records import LedgerKind, Outcome, TaskStatus
from llm_responses.store.rows import columns, ledger_row

_SETTLING = (
    "account_id", "base_price", "prepayment", "endpoint", "postback_url", "pingback_url", "status", "attempts",
)  # fmt: skip


async def finish(
    c: Connection,
    items: Sequence[tuple[str, int, Outcome]],
    now: float,
    *,
    from_statuses: Sequence[str] = (TaskStatus.RUNNING.value,),
) -> list[bool]:
    """Settle each (task id, attempt, outcome); which of them did."""
    if not items:
        return []
    rows = await c.fetch("tasks_to_settle", ids=[task_id for task_id, _, _ in items])
    by_id = {r["id"]: r for r in rows}
    done: list[bool] = []
    updates: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    hooks: list[tuple[str, int, str | None, str | None]] = []
    indexed: list[tuple[str, float, bool]] = []
    balances: dict[int, int] = {}
    for task_id, attempt, o in items:
        r = by_id.get(task_id)
        if r is None:
            done.append(False)
            continue
        account_id, base_price, prepayment, endpoint, postback_url, pingback_url, status, attempts = columns(
            r, _SETTLING
        )
        if status not in from_statuses or attempts != attempt:
            done.append(False)
            continue
        del by_id[task_id]  # a task twice in one batch settles once
        done.append(True)
        refund, cost = settle(
            success=o.success, money_spent=o.money_spent, refund_base=o.refund_base,
            base_price=base_price, prepayment=prepayment,
        )  # fmt: skip
        updates.append({
            "id": task_id, "status": TaskStatus.DONE.value if o.success else TaskStatus.FAILED.value,
            "status_code": o.status_code, "status_message": o.status_message, "result_json": o.result_json,
            "money_spent": o.money_spent, "cost": cost, "input_tokens": o.input_tokens,
            "output_tokens": o.output_tokens, "reasoning_tokens": o.reasoning_tokens,
            "web_search_calls": o.web_search_calls, "error_detail": o.error_detail, "finished_at": now,
            "batch_saved": o.batch_saved,
        })  # fmt: skip
        if o.success and o.result_json:
            indexed.append((task_id, now, False))
        if refund:
            kind = LedgerKind.REFUND if refund > 0 else LedgerKind.OVERAGE
            ledger.append(ledger_row(account_id, task_id, kind, refund, now))
            balances[account_id] = balances.get(account_id, 0) + refund
        if endpoint == "task_post" and (postback_url or pingback_url):
            hooks.append((task_id, account_id, postback_url, pingback_url))
    await c.bulk("settle_tasks_bulk", updates)
    await c.bulk("insert_ledger_bulk", ledger)
    await enqueue_deliveries(c, hooks, now)
    await c.bulk("insert_mention_outbox_bulk", indexed)
    if balances:
        ids = sorted(balances)
        # The accounts' row locks come last, so they are held for two statements and the commit, not for
        # the batch's writes and deliveries (measured: four workers x 1,000 in flight on one account queued
        # behind each other's settlements at ~190 tasks/s). One account (a live call, most batches): its
        # UPDATE takes the same lock itself.
        if len(ids) > 1:
            await c.execute("lock_accounts", ids=ids)
        await c.bulk("add_to_balances_bulk", [{"account_id": i, "amount": balances[i]} for i in ids])
    return done
