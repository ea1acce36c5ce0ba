"""What a run may cost before it spends anything, from DataForSEO's published prices.

task_post holds $0.0002 + $0.01 per task (refunded down to the model's real charge when it finishes; a
pricey model may hold more); live charges $0.0006 + the model's charge, which is not known before the
answer: it is estimated at the same $0.01 a task_post would hold. The estimate is an upper bound for
cheap models and a guide for others; the server's own ``cost`` fields are the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llm_responses.batch.plan import Job
from llm_responses.wire.engines import ENGINES

TASK_POST_BASE = Decimal("0.0002")
PREPAYMENT = Decimal("0.01")
TASK_POST = TASK_POST_BASE + PREPAYMENT
LIVE = Decimal("0.0006") + PREPAYMENT


@dataclass(frozen=True, slots=True)
class Estimate:
    tasks: int
    queued: int  # through task_post
    live: int  # engines without task_post
    usd: Decimal


def uses_task_post(job: Job) -> bool:
    return "task_post" in ENGINES[job.engine].functions


def estimate(jobs: list[Job]) -> Estimate:
    queued = sum(1 for j in jobs if uses_task_post(j))
    live = len(jobs) - queued
    return Estimate(len(jobs), queued, live, queued * TASK_POST + live * LIVE)
