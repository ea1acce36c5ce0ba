"""Per-account request rate limit (DataForSEO: 2,000 calls a minute), via the ``limits`` library.

In-process memory storage for a single process; the same limiter takes a Redis storage URI when several
API processes share the load.
"""

from __future__ import annotations

from limits import RateLimitItemPerMinute, storage, strategies


class RateLimiter:
    def __init__(self, per_minute: int, storage_uri: str = "memory://") -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        self._limiter = strategies.SlidingWindowCounterRateLimiter(storage.storage_from_string(storage_uri))

    def hit(self, account_id: int) -> bool:
        """Count one call; False when the account is over its limit."""
        return self._limiter.hit(self.item, str(account_id))

    def used(self, account_id: int) -> int:
        stats = self._limiter.get_window_stats(self.item, str(account_id))
        return self.item.amount - stats.remaining
