"""Claiming queued tasks fairly across accounts (the SQL: ``accounts_with_work``, ``claim_fair``).

FIFO over all tasks let one account's 20,000 queued tasks make another account's single task wait behind
all of them (74 s, measured on the landed code). A claim now takes tasks round-robin across the accounts
that have queued work: every such account's oldest due task before anyone's second. Accounts are visited
from a rotating cursor, so with more active accounts than one claim takes, the next claim starts where
the last one stopped instead of always at the lowest id. Accounts in debt (balance < 0) get nothing
claimed until topped up: their tasks wait (and fail, refunded, at the deadline), which bounds how far a
running account can overdraw.

The accounts with work are found by a loose index scan on ``tasks_fair (status, account_id, run_after)``
(a recursive query: one index probe per account, not a scan of the queue), so a claim costs about the same
with 20 or 20,000 tasks queued.
"""

from __future__ import annotations

from collections.abc import Sequence


class Rotation:
    """Where the next claim starts visiting accounts (per process: each worker rotates on its own)."""

    def __init__(self) -> None:
        self.after = 0

    def order(self, from_cursor: Sequence[int], from_start: Sequence[int]) -> list[int]:
        """The accounts to visit: those after the cursor, then (wrapping) those from the start."""
        seen = set(from_cursor)
        return [*from_cursor, *(a for a in from_start if a not in seen)]

    def advance(self, visited: Sequence[int], served: set[int]) -> None:
        """After a claim: continue after the last visited account that got a task."""
        for account in reversed(visited):
            if account in served:
                self.after = account
                return
        self.after = 0
