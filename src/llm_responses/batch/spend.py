"""What a run has spent: the money the server's ledger moved for each task, in nano-dollars.

task_get's ``cost`` is 0 (results are free to collect), so adding it up reports nothing. What moves the
balance: task_post charges the base price and a prepayment when a task is posted (task_post's ``cost``);
when the task finishes the prepayment is refunded down to the model's charge (the result's
``money_spent``) or the overage charged, so a finished task costs base + money_spent, and a failed one its
base price at most (the prepayment comes back; this server also refunds the base when the failure was not
the caller's doing). A task still running has moved its whole charge (held until it settles). The API
shows the base only inside the charge, so it is DataForSEO's published $0.0002. A live task's ``cost`` is
its final price (0 when it failed).
"""

from __future__ import annotations

from typing import Any

from llm_responses.batch.estimate import TASK_POST, TASK_POST_BASE
from llm_responses.billing.money import to_nanos

BASE = to_nanos(TASK_POST_BASE)
FLAT_CHARGE = to_nanos(TASK_POST)  # a posted task recorded before charges were kept: DataForSEO's flat charge


def nanos(usd: Any) -> int:
    """A ``cost`` or ``money_spent`` from the wire (a JSON number) in nano-dollars; 0 for anything else."""
    if isinstance(usd, bool) or not isinstance(usd, int | float):
        return 0
    try:
        return to_nanos(usd)
    except ArithmeticError:  # NaN or infinity from a broken server
        return 0


def settled(task: dict[str, Any], charge: int | None) -> int:
    """What a finished task cost: ``charge`` is what task_post charged for it, None when it was never
    queued (a live task, or one task_post refused at once: its own ``cost`` is then the truth)."""
    if charge is None:
        return nanos(task.get("cost"))
    base = min(BASE, charge)
    if task.get("status_code") != 20000:
        return base
    results = task.get("result")
    result = results[0] if isinstance(results, list) and results else None
    return base + (nanos(result.get("money_spent")) if isinstance(result, dict) else 0)
