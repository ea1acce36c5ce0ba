"""uvicorn as ``serve`` runs it, with the limits a public socket needs and uvicorn's httptools parser lacks.

uvicorn's fast HTTP/1.1 protocol (httptools) has no cap on header size (a 100 MB header is buffered whole,
before any credential is looked at), no deadline for a request's headers (a client trickling one byte a
minute keeps a connection forever: data cancels the keep-alive timer), and ``limit_concurrency`` counts idle
sockets only to answer requests with a plain-text 503. ``GuardedHttpTools`` adds, per connection:

- a header cap (``http_max_header_bytes``): more before the headers end is answered 431 and closed;
- a header deadline (``http_header_timeout_seconds``) from the connection's start and from each request's
  first byte to its last header line: past it the connection is closed;
- a connection cap (``http_max_connections``): a connection beyond it gets a 503 envelope and is closed at
  once, so idle sockets cannot take the file descriptors everyone else needs.

Bodies are bounded in ``api/routes.py`` (size and ``http_body_timeout_seconds``). The same limits belong in a
reverse proxy in front (docs/deploy.md); these hold when there is none.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from llm_responses.config import Settings
from llm_responses.errors import ApiError, StatusCode
from llm_responses.wire import envelope


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int = 64 * 1024
    header_timeout: float = 10.0
    max_connections: int = 4096


def _refusal(http_status: int, reason: bytes, code: StatusCode, message: str, extra: bytes = b"") -> bytes:
    body = orjson.dumps(envelope.response([], started=time.perf_counter(), error=ApiError(code, message)))
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n%s\r\n"
        % (http_status, reason, len(body), extra)
    ) + body


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header cap, a header deadline and a connection cap."""

    limits = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(
                _refusal(
                    503,
                    b"Service Unavailable",
                    StatusCode.TOO_MANY_SIMULTANEOUS,
                    "Too many simultaneous queries. The server has too many open connections.",
                    b"retry-after: 1\r\n",
                )
            )
            return
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # what is still header after the parser had it: over the cap, refused (a body is not counted)
        if (
            self._in_head
            and self._head_bytes > self.limits.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(
                _refusal(
                    431,
                    b"Request Header Fields Too Large",
                    StatusCode.POST_DATA_INVALID,
                    f"Request headers are larger than {self.limits.max_header_bytes} bytes.",
                )
            )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._head_timer is None:
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, response: bytes) -> None:
        self._stop_head_timer()
        self.transport.write(response)
        self.transport.close()


def limits_of(settings: Settings) -> HttpLimits:
    return HttpLimits(
        max_header_bytes=settings.http_max_header_bytes,
        header_timeout=settings.http_header_timeout_seconds,
        max_connections=settings.http_max_connections,
    )


def server_config(app: Any, settings: Settings, **extra: Any) -> uvicorn.Config:
    """The uvicorn configuration ``serve`` runs: our protocol with the settings' limits."""
    protocol = type("ConfiguredHttpTools", (GuardedHttpTools,), {"limits": limits_of(settings)})
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=int(settings.http_keep_alive_seconds),
        **extra,
    )
