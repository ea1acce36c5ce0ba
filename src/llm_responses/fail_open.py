"""Calls to a shared helper service (Redis) that must never take the API down with them.

Redis holds the shared rate and live-call counts. When it hangs or is gone, every request waiting on it
would turn into an error, so each call is bounded by a timeout and, on failure, the caller falls back
(rate limits: the call is let through; live slots: counted in this process only) with a warning, and Redis
is left alone for ``cooldown`` seconds so that a hung server costs one timeout per cooldown, not one per
request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class FailOpen:
    def __init__(self, what: str, *, timeout: float = 0.5, cooldown: float = 5.0) -> None:
        self.what = what
        self.timeout = timeout
        self.cooldown = cooldown
        self._down_until = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    async def call(self, operation: Awaitable[T], fallback: T) -> T:
        """``operation``'s result, or ``fallback`` when it fails, times out, or the service is cooling down."""
        if self.down:
            if asyncio.iscoroutine(operation):
                operation.close()
            return fallback
        try:
            async with asyncio.timeout(self.timeout):
                return await operation
        except Exception as exc:  # noqa: BLE001 - any failure of the helper service means "fall back"
            self._down_until = time.monotonic() + self.cooldown
            log.warning(
                "%s unavailable (%s: %s): failing open for %gs",
                self.what,
                type(exc).__name__,
                exc,
                self.cooldown,
            )
            return fallback
