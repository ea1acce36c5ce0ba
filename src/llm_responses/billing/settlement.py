"""How a task's money settles, and how many of a batch the balance covers: the rules the store applies
inside its transactions (kept here so there is one place that decides what a task costs).

DataForSEO's documented flow: task_post charges the base price and holds a prepayment; when the task
finishes, success keeps the base plus what the model really cost (the rest of the prepayment back, or the
overage charged), failure refunds the prepayment, and a failed live call costs nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Settlement(NamedTuple):
    refund: int  # nano-dollars back to the balance (negative: an overage charged)
    cost: int  # the task's final cost, as task_get reports it


def settle(
    *, success: bool, money_spent: int, refund_base: bool, base_price: int, prepayment: int
) -> Settlement:
    if success:
        return Settlement(prepayment - money_spent, base_price + money_spent)
    if refund_base:
        return Settlement(prepayment + base_price, 0)
    return Settlement(prepayment, base_price)


def affordable(balance: int, charges: Sequence[int]) -> tuple[list[bool], int]:
    """Which charges the balance covers, taken in order (a refused one does not stop later, cheaper ones),
    and their total."""
    accepted: list[bool] = []
    total = 0
    for charge in charges:
        ok = balance - total >= charge
        accepted.append(ok)
        if ok:
            total += charge
    return accepted, total
