"""Which request and which task the running code serves, for log lines and for the time spent upstream.

Two context variables, set once per request (``api/request_log.py``) and once per task (the worker, the
live endpoint); asyncio copies them into the tasks a request starts, and ``RequestContext`` is one mutable
object, so upstream time measured in such a task still reaches the request that started it. The request id
is made only when something reads it (a JSON log line): an unlogged request costs no id.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from typing import Any

_CLIENT_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


class RequestContext:
    __slots__ = ("_id", "scope", "trace_id", "upstream")

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.upstream = 0.0  # seconds spent in upstream calls on behalf of this request
        self.trace_id: str | None = None  # set when tracing is on
        self._id: str | None = None

    @property
    def request_id(self) -> str:
        """The client's ``X-Request-Id`` when it is a plain token, else a random one (made once)."""
        if self._id is None:
            given = next((v for k, v in self.scope.get("headers", ()) if k == b"x-request-id"), None)
            self._id = given.decode() if given and _CLIENT_ID.fullmatch(given) else os.urandom(8).hex()
        return self._id

    @property
    def account(self) -> str | None:
        """The login, once authentication has set it (``api/routes.caller``)."""
        state = self.scope.get("state")
        return state.get("account") if state else None


request: ContextVar[RequestContext | None] = ContextVar("llm_responses_request", default=None)
task_id: ContextVar[str | None] = ContextVar("llm_responses_task", default=None)


def add_upstream(seconds: float) -> None:
    """Count ``seconds`` of upstream time against the current request, if there is one."""
    current = request.get()
    if current is not None:
        current.upstream += seconds
