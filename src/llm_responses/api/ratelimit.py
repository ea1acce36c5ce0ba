"""Per-account request rate limit (DataForSEO: 2,000 calls a minute), via the ``limits`` library.

The asyncio flavour of ``limits``: its in-process memory storage expires keys with an asyncio task, where
the threaded flavour starts a timer thread on almost every hit (measured: the largest single cost of a
live call). The same limiter takes an ``async+redis://`` storage URI when several API processes share the load.
"""

from __future__ import annotations

from limits import RateLimitItemPerMinute, storage
from limits.aio import strategies


class RateLimiter:
    def __init__(self, per_minute: int, storage_uri: str = "async+memory://") -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        self._limiter = strategies.SlidingWindowCounterRateLimiter(storage.storage_from_string(storage_uri))

    async def hit(self, account_id: int) -> bool:
        """Count one call; False when the account is over its limit."""
        return await self._limiter.hit(self.item, str(account_id))

    async def used(self, account_id: int) -> int:
        stats = await self._limiter.get_window_stats(self.item, str(account_id))
        return self.item.amount - stats.remaining
