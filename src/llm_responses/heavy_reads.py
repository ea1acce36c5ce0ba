"""A cap on one account's heavy reads at once (LLM Mentions, the dashboard's aggregates, MCP metrics).

A heavy read can take seconds of a database connection. Unbounded, forty of one account's would take every
connection for heavy reads and keep every other account's waiting; capped, the account past its share is
told at once (40209 "Too many simultaneous queries"), and the others' reads get the connections. Counted
in this process (each API process has its own share), as the live slots are without Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from llm_responses.errors import ApiError, StatusCode


class HeavyReads:
    def __init__(self, per_account: int) -> None:
        self.per_account = per_account
        self._running: dict[int, int] = {}

    @asynccontextmanager
    async def slot(self, account_id: int) -> AsyncIterator[None]:
        """One of the account's slots for the block; ``ApiError(40209)`` when all are taken."""
        running = self._running.get(account_id, 0)
        if running >= self.per_account:
            raise ApiError(
                StatusCode.TOO_MANY_SIMULTANEOUS,
                f"Too many simultaneous queries. At most {self.per_account} LLM Mentions or dashboard "
                "reads run at once per account.",
            )
        self._running[account_id] = running + 1
        try:
            yield
        finally:
            left = self._running[account_id] - 1
            if left:
                self._running[account_id] = left
            else:
                del self._running[account_id]
