"""At most ``limit`` live calls in flight per account (DataForSEO: 30 per account and platform).

In one process a counter does it. With several API processes the count must be shared: ``RedisLiveSlots``
keeps each call as a member of a per-account sorted set, scored with the moment it stops counting, and
takes or refuses a slot in one Lua script (atomic in Redis). A process that dies mid-call cannot leak its
slot for longer than the live time limit: expired members are dropped on every take. A Redis that hangs or
is gone does not fail live calls: the slots are then counted in this process only (``fail_open``).
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from llm_responses.errors import ApiError, StatusCode
from llm_responses.fail_open import FailOpen


class LiveSlots(Protocol):
    limit: int
    in_use: int  # this process's live calls holding a slot now (metrics sample it)

    def take(self, account_id: int) -> AbstractAsyncContextManager[None]:
        """Held while a live call runs; ``ApiError`` (40209) when the account's slots are all taken."""
        ...


class InProcessLiveSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._in_flight: dict[int, int] = defaultdict(int)

    @asynccontextmanager
    async def take(self, account_id: int) -> AsyncIterator[None]:
        if self._in_flight[account_id] >= self.limit:
            raise ApiError(StatusCode.TOO_MANY_SIMULTANEOUS)
        self._in_flight[account_id] += 1
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            self._in_flight[account_id] -= 1
            if not self._in_flight[account_id]:
                del self._in_flight[account_id]


_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisLiveSlots:
    def __init__(
        self,
        redis_url: str,
        limit: int,
        *,
        hold_seconds: float,
        prefix: str = "llmr:live:",
        redis_timeout: float = 0.5,
    ) -> None:
        import redis.asyncio as redis

        self.limit = limit
        self.in_use = 0
        self.hold_seconds = hold_seconds  # the live time limit plus a margin: how long a slot can be held
        self.prefix = prefix
        self._redis = redis.Redis.from_url(
            redis_url, socket_timeout=redis_timeout, socket_connect_timeout=redis_timeout
        )
        self._take = self._redis.register_script(_TAKE)
        self._guard = FailOpen("Redis (live slots)", timeout=redis_timeout)
        self._local = InProcessLiveSlots(limit)  # while Redis is unavailable

    @asynccontextmanager
    async def take(self, account_id: int) -> AsyncIterator[None]:
        key = f"{self.prefix}{account_id}"
        member = secrets.token_hex(8)
        now = time.time()
        args: list[str | int | float] = [
            now,
            self.limit,
            now + self.hold_seconds,
            member,
            int(self.hold_seconds) + 1,
        ]
        taken = await self._guard.call(self._take(keys=[key], args=args), None)
        if taken is None:  # Redis failed: this process's own count, until it answers again
            async with self._local.take(account_id):
                self.in_use += 1
                try:
                    yield
                finally:
                    self.in_use -= 1
            return
        if not taken:
            raise ApiError(StatusCode.TOO_MANY_SIMULTANEOUS)
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            await self._guard.call(self._redis.zrem(key, member), 0)  # left behind, it expires with the hold

    async def aclose(self) -> None:
        await self._redis.aclose()
