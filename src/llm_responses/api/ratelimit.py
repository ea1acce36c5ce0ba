"""Per-account request rate limit (DataForSEO: 2,000 calls a minute), via the ``limits`` library.

The asyncio flavour of ``limits``: its in-process memory storage expires keys with an asyncio task, where
the threaded flavour starts a timer thread on almost every hit (measured: the largest single cost of a
live call). With ``LLM_RESPONSES_REDIS_URL`` the count lives in Redis, shared by every API process.
"""

from __future__ import annotations

from limits import RateLimitItemPerMinute, storage
from limits.aio import strategies


class RateLimiter:
    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        if redis_url:  # shared by every API process; redis-py, the client the live slots use too
            backend = storage.storage_from_string(f"async+{redis_url}", implementation="redispy")
        else:
            backend = storage.storage_from_string("async+memory://")
        self._limiter = strategies.SlidingWindowCounterRateLimiter(backend)

    async def hit(self, account_id: int) -> bool:
        """Count one call; False when the account is over its limit."""
        return await self._limiter.hit(self.item, str(account_id))

    async def used(self, account_id: int) -> int:
        stats = await self._limiter.get_window_stats(self.item, str(account_id))
        return self.item.amount - stats.remaining
