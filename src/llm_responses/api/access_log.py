"""One log line per request: method, path, HTTP status, milliseconds and the account (when known).

A pure ASGI middleware (no per-request objects beyond the line itself): the live path's overhead is
measured in microseconds. ``LLM_RESPONSES_ACCESS_LOG=false`` turns it off; the account comes from the
request state that authentication sets (``routes.caller``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("llm_responses.access")


class AccessLog:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            account = (scope.get("state") or {}).get("account", "-")
            log.info(
                "%s %s %d %.1fms account=%s",
                scope["method"], scope["path"], status[0], (time.perf_counter() - started) * 1000, account,
            )  # fmt: skip
