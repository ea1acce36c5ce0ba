"""Periodic housekeeping: recover tasks of dead workers, fail overdue tasks, purge old results.

Each step is one idempotent transaction, so any number of processes may run it at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from llm_responses.errors import StatusCode
from llm_responses.store import Store
from llm_responses.store.records import Outcome

log = logging.getLogger(__name__)

# How housekeeping ends a task (policy, not storage): a live call whose process died is an internal error
# and costs nothing; a task_post task past its deadline failed, its prepayment refunded
ABANDONED_LIVE = Outcome(
    success=False,
    status_code=StatusCode.INTERNAL_ERROR,
    status_message=StatusCode.INTERNAL_ERROR.message,
    refund_base=True,
    error_detail="live call abandoned: the process serving it stopped",
)
OVERDUE = Outcome(
    success=False,
    status_code=StatusCode.TASK_EXECUTION_FAILED,
    status_message=StatusCode.TASK_EXECUTION_FAILED.message,
    error_detail="not completed within the task deadline",
)


@dataclass(frozen=True, slots=True)
class Windows:
    deadline_seconds: float = 72 * 3600  # task_post tasks not finished by then fail, prepayment refunded
    retention_seconds: float = 30 * 86400  # results older than this answer 40403


async def sweep(store: Store, windows: Windows, now: float | None = None) -> dict[str, int]:
    now = time.time() if now is None else now
    requeued, abandoned = await store.recover_expired_leases(now, ABANDONED_LIVE)
    expired = await store.expire_overdue(now - windows.deadline_seconds, now, OVERDUE)
    purged = await store.purge_results(now - windows.retention_seconds)
    counts = {"requeued": requeued, "abandoned_live": abandoned, "expired": expired, "purged": purged}
    if any(counts.values()):
        log.info("maintenance: %s", counts)
    return counts


async def run_periodically(store: Store, windows: Windows, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sweep(store, windows)
        except Exception:
            log.exception("maintenance sweep failed; trying again next interval")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
