"""Transactions of the vendor batches (``batching/``), written once for both databases.

A batch's row and its tasks' ``batched`` status are written in one transaction, before the vendor is
called: a process that dies mid-submit leaves a ``submitting`` row whose lease runs out and which another
process recovers (the vendor's idempotency key or label says whether the batch exists). Each line settles
through ``settle.finish`` like a direct attempt, conditional on the task still being in this batch; lines
that did not run go back to the queue on the direct lane.
"""

from __future__ import annotations

from collections.abc import Sequence

from llm_responses.store.connection import Connection, Row
from llm_responses.store.records import BatchRow, Outcome, TaskStatus
from llm_responses.store.settle import finish
from llm_responses.store.tasks import TASKS_CHANNEL


async def open_batch(
    c: Connection,
    batch_id: str,
    provider: str,
    group: str,
    task_ids: Sequence[str],
    owner: str,
    lease_until: float,
    now: float,
) -> list[str]:
    """The tasks of ``task_ids`` still queued in the batch lane, now in batch ``batch_id`` (none: no batch)."""
    await c.execute("insert_batch", batch_id, provider, group, len(task_ids), now, owner, lease_until)
    marked = [r[0] for r in await c.fetch("mark_batched", batch_id, list(task_ids))]
    if not marked:
        await c.execute("delete_batch", batch_id)
    elif len(marked) != len(task_ids):
        await c.execute("set_batch_size", batch_id, len(marked))
    return marked


async def settle_lines(
    c: Connection, batch_id: str, items: Sequence[tuple[str, Outcome]], now: float
) -> list[bool]:
    """Settle answered (or failed) lines of the batch, each only if its task is still in the batch."""
    ids = [task_id for task_id, _ in items]
    attempts = {r[0]: r[2] for r in await c.fetch("batch_requests", batch_id, ids)}
    owned = [(task_id, attempts[task_id], o) for task_id, o in items if task_id in attempts]
    settled = iter(await finish(c, owned, now, from_statuses=(TaskStatus.BATCHED.value,)))
    return [next(settled) if task_id in attempts else False for task_id, _ in items]


async def requeue(c: Connection, batch_id: str, task_ids: Sequence[str], now: float) -> int:
    """Lines that did not run: queued again on the direct lane, due now."""
    changed = await c.execute("requeue_from_batch", batch_id, list(task_ids), now)
    if changed:
        await c.notify(TASKS_CHANNEL)
    return changed


def batch_row(r: Row) -> BatchRow:
    return BatchRow(*r)
