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
    rows = await c.fetch("tasks_to_settle", [task_id for task_id, _, _ in items])
    by_id = {r[0]: r for r in rows}
    done: list[bool] = []
    updates: list[tuple[Any, ...]] = []
    ledger: list[tuple[Any, ...]] = []
    hooks: list[tuple[str, int, str | None, str | None]] = []
    indexed: list[tuple[str, float, bool]] = []
    balances: dict[int, int] = {}
    for task_id, attempt, o in items:
        r = by_id.get(task_id)
        if r is None or r[7] not in from_statuses or r[8] != attempt:
            done.append(False)
            continue
        del by_id[task_id]  # a task twice in one batch settles once
        done.append(True)
        _, account_id, base_price, prepayment, endpoint, postback_url, pingback_url, _, _ = r
        refund, cost = settle(
            success=o.success, money_spent=o.money_spent, refund_base=o.refund_base,
            base_price=base_price, prepayment=prepayment,
        )  # fmt: skip
        updates.append((
            task_id, TaskStatus.DONE.value if o.success else TaskStatus.FAILED.value, o.status_code, o.status_message,
            o.result_json, o.money_spent, cost, o.input_tokens, o.output_tokens, o.reasoning_tokens,
            o.web_search_calls, o.error_detail, now, o.batch_saved,
        ))  # fmt: skip
        if o.success and o.result_json:
            indexed.append((task_id, now, False))
        if refund:
            kind = LedgerKind.REFUND if refund > 0 else LedgerKind.OVERAGE
            ledger.append((account_id, task_id, kind.value, refund, now))
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
            await c.execute("lock_accounts", ids)
        await c.bulk("add_to_balances_bulk", [(i, balances[i]) for i in ids])
    return done
