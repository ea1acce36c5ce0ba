"""The real Redis at 127.0.0.1:6379 for tests: database 14, or one database per pytest-xdist worker
(14, 13, ... for gw0, gw1, ...), flushed before use.

Where none answers the Redis tests skip with the reason, except under CI (``CI=true``), where a missing
server is a failure.
"""

from __future__ import annotations

import os

import redis.asyncio as redis

from tests.ci import missing

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # set in each worker process by pytest-xdist
REDIS_URL = f"redis://127.0.0.1:6379/{14 - int(_WORKER.removeprefix('gw'))}"


async def flushed_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    except Exception as exc:  # noqa: BLE001
        missing("Redis", f"no Redis at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
