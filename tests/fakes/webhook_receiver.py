"""A webhook receiver on loopback that records every request and answers as scripted (status, delay,
redirect), so delivery is tested over real HTTP."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.loopback import LoopbackServer


@dataclass
class Received:
    method: str
    path: str
    query: str  # raw, as sent
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body_bytes: int = 0  # a reply body this large, streamed (a receiver that answers with a gigabyte)
    body: bytes = b"ok"  # the reply body otherwise (Discord's 429 says retry_after in a JSON body)


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Answer] = deque()
        self.default = Answer()
        self.reply_bytes_sent = 0  # of streamed reply bodies, as far as the sender read them
        self._server: LoopbackServer | None = None

    async def _any(self, request: Request) -> Response:
        self.received.append(
            Received(
                request.method,
                request.url.path,
                request.scope["query_string"].decode(),
                dict(request.headers),
                await request.body(),
            )
        )
        answer = self.script.popleft() if self.script else self.default
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.body_bytes:
            return StreamingResponse(
                self._stream(answer.body_bytes), status_code=answer.status, headers=answer.headers
            )
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    async def _stream(self, size: int):
        chunk = b"x" * 65536
        while self.reply_bytes_sent < size:
            self.reply_bytes_sent += len(chunk)
            yield chunk

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + within
        while len(self.received) < count:
            assert asyncio.get_running_loop().time() < deadline, (
                f"got {len(self.received)} of {count} webhook requests"
            )
            await asyncio.sleep(0.02)
        return self.received

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        self._server = LoopbackServer(
            Starlette(routes=[Route("/{path:path}", self._any, methods=["GET", "POST"])])
        )
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


def main() -> (
    None
):  # pragma: no cover - for benchmarks: python -m tests.fakes.webhook_receiver [delay seconds]
    import sys
    import time

    receiver = WebhookReceiver()
    receiver.default = Answer(delay=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
    receiver.start()
    print(receiver.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
