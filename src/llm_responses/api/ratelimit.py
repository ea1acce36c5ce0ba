"""Per-account request rate limit (DataForSEO: 2,000 calls a minute), via the ``limits`` library.

The asyncio flavour of ``limits``: its in-process memory storage expires keys with an asyncio task, where
the threaded flavour starts a timer thread on almost every hit (measured: the largest single cost of a
live call). With ``LLM_RESPONSES_REDIS_URL`` the count lives in Redis, shared by every API process; a
Redis that hangs or is gone lets calls through (``fail_open``) rather than failing them.
"""

from __future__ import annotations

import math

from limits import RateLimitItemPerSecond, storage
from limits.aio import strategies
from limits.aio.storage import SlidingWindowCounterSupport

from llm_responses.fail_open import FailOpen


class RateLimiter:
    def __init__(
        self,
        limit: int,
        redis_url: str | None = None,
        *,
        window_seconds: int = 60,
        redis_timeout: float = 0.5,
    ) -> None:
        self.item = RateLimitItemPerSecond(limit, window_seconds)
        self._guard: FailOpen | None = None
        self._storage: SlidingWindowCounterSupport
        if redis_url:  # shared by every API process; redis-py, the client the live slots use too
            self._storage = storage.storage_from_string(  # type: ignore[assignment]  # an aio sliding-window storage
                f"async+{redis_url}", implementation="redispy",
                socket_timeout=redis_timeout, socket_connect_timeout=redis_timeout,
            )  # fmt: skip
            self._guard = FailOpen("Redis (rate limits)", timeout=redis_timeout)
        else:
            self._storage = storage.storage_from_string("async+memory://")  # type: ignore[assignment]
        self._limiter = strategies.SlidingWindowCounterRateLimiter(self._storage)  # type: ignore[arg-type]

    async def hit(self, account_id: int) -> bool:
        """Count one call; False when the account is over its limit (True, uncounted, when Redis fails)."""
        if self._guard is None:
            return await self._limiter.hit(self.item, str(account_id))
        return await self._guard.call(self._limiter.hit(self.item, str(account_id)), True)

    async def aclose(self) -> None:
        """Close the Redis connections (limits has no public close; its redis-py client is ``bridge.storage``)."""
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()

    async def used(self, account_id: int) -> int:
        """Calls counted against the limit now: the sliding window's weighted count, rounded up.

        ``limits``' own ``get_window_stats`` rounds it down, so just after a window boundary two calls a
        moment apart read as one (the previous window's call weighs 0.99).
        """
        read = self._storage.get_sliding_window(self.item.key_for(str(account_id)), self.item.get_expiry())
        window = await (self._guard.call(read, None) if self._guard else read)
        if window is None:
            return 0
        previous, previous_ttl, current, _ = window
        weighted = previous * previous_ttl / self.item.get_expiry() + current
        return math.ceil(round(weighted, 9))
