"""The per-account rate limiter: the limit holds and decays in memory and in Redis, and ``used`` counts
every call, also across a window boundary."""

from __future__ import annotations

import asyncio
import time

import pytest

from llm_responses.api.ratelimit import RateLimiter
from tests.redisdb import REDIS_URL, flushed_or_skip


@pytest.fixture(params=["memory", "redis"])
async def limiter(request):
    if request.param == "memory":
        yield RateLimiter(3, window_seconds=1)
        return
    await flushed_or_skip()
    limiter = RateLimiter(3, REDIS_URL, window_seconds=1)
    yield limiter
    await limiter.aclose()


async def sleep_until_window_edge(offset: float) -> None:
    """Sleep until ``offset`` seconds past a whole second (negative: before one)."""
    now = time.time()
    target = int(now) + 1 + offset
    if target - now < 0.05:
        target += 1
    await asyncio.sleep(target - now)


async def test_two_calls_across_a_window_boundary_count_as_two():
    # in memory, where a single process counts: its windows are epoch-aligned, so the boundary can be placed
    # (Redis starts a window at a key's first hit and shifts it inside a Lua script)
    limiter = RateLimiter(3, window_seconds=1)
    await sleep_until_window_edge(-0.04)
    assert await limiter.hit(7)
    await sleep_until_window_edge(0.04)
    assert await limiter.hit(7)
    assert await limiter.used(7) == 2
    assert await limiter.used(8) == 0  # per account


@pytest.mark.slow
async def test_the_limit_holds_then_decays(limiter):
    await sleep_until_window_edge(0.05)
    assert [await limiter.hit(9) for _ in range(4)] == [True, True, True, False]
    assert await limiter.used(9) == 3
    await asyncio.sleep(2.1)  # two whole windows later nothing is left
    assert await limiter.used(9) == 0
    assert await limiter.hit(9)
