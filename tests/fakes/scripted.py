"""What every vendor fake shares: scripted replies (``enqueue``), recorded requests and headers, a latency,
and a loopback server started from the fake's routes."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.loopback import LoopbackServer
from tests.fakes.openai_replies import Reply


class ScriptedFake:
    def __init__(self) -> None:
        self.latency = 0.0
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._script: deque[Reply] = deque()
        self._server: LoopbackServer | None = None
        self.port = 0

    def enqueue(self, *replies: Reply) -> None:
        self._script.extend(replies)

    def reset(self) -> None:
        self._script.clear()
        self.requests.clear()
        self.headers.clear()
        self.latency = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self) -> list[Route]:
        raise NotImplementedError

    async def answer(self, request: Request, default) -> Response:
        """Record the request, then the next scripted reply or ``default(body, headers)``, after the latency."""
        body = orjson.loads(await request.body())
        headers = dict(request.headers.items())
        self.requests.append(body)
        self.headers.append(headers)
        reply = self._script.popleft() if self._script else default(body, headers)
        if reply.delay or self.latency:
            await asyncio.sleep(reply.delay or self.latency)
        return Response(
            orjson.dumps(reply.body),
            status_code=reply.status,
            media_type="application/json",
            headers=reply.headers,
        )

    def start(self):
        self._server = LoopbackServer(Starlette(routes=self.routes()))
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
