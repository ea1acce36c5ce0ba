"""uvicorn as ``serve`` runs it, with the limits a public socket needs and uvicorn's httptools parser lacks.

uvicorn's fast HTTP/1.1 protocol (httptools) has no cap on header size (a 100 MB header is buffered whole,
before any credential is looked at), no deadline for a request's headers or body (a client trickling one byte
a minute keeps a connection forever: data cancels the keep-alive timer), ``limit_concurrency`` counts idle
sockets only to answer requests with a plain-text 503, and a response to a request whose body is still
arriving is followed by a plain close, which the kernel turns into a reset: the client, still sending, never
reads the answer. ``GuardedHttpTools`` adds, per connection:

- a header cap (``http_max_header_bytes``): more before the headers end is answered 431 and closed;
- a header deadline (``http_header_timeout_seconds``) from the connection's start and from each request's
  first byte to its last header line: past it the connection is closed;
- a body deadline (``http_body_timeout_seconds``) from the last header line to the body's last byte: past it
  the request is answered 40503 (when nothing was answered yet) and the connection closed, so a request
  holds a connection for at most the two deadlines together;
- a connection cap (``http_max_connections``) and one per client address (``http_max_connections_per_address``,
  an IPv6 /64 counting as one address): a connection beyond either gets a 503 envelope and is closed at once,
  so idle or dripping sockets from one place cannot take the file descriptors everyone else needs;
- a lingering close (as nginx's ``lingering_close``): when a connection must close while the request's body
  is still arriving, the answer is sent, our side shut for writing, and what the client still sends is read
  and dropped, for at most ``http_linger_seconds`` and ``http_linger_bytes``, so the client reads the
  envelope instead of "connection reset by peer".

Body sizes are bounded in ``api/routes.py``. The same limits belong in a reverse proxy in front
(docs/deploy.md); these hold when there is none. Behind a proxy every connection comes from the proxy's
address: raise ``http_max_connections_per_address`` to ``http_max_connections`` there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from llm_responses.errors import ApiError, StatusCode
from llm_responses.wire import envelope


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The values, from ``Settings`` (``composition.server_config``): the defaults live there."""

    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int
    max_connections_per_address: int
    linger_seconds: float
    linger_bytes: int


def _refusal(http_status: int, reason: bytes, code: StatusCode, message: str, extra: bytes = b"") -> bytes:
    body = orjson.dumps(envelope.response([], started=time.perf_counter(), error=ApiError(code, message)))
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n%s\r\n"
        % (http_status, reason, len(body), extra)
    ) + body


def address_key(client: tuple[str, int] | None) -> str:
    """Whom a connection is counted against: its IPv4 address, or its IPv6 /64 (one host's usual share)."""
    if not client:
        return ""
    host = client[0]
    if ":" not in host:
        return host
    try:
        return str(ipaddress.IPv6Network((host, 64), strict=False))
    except ValueError:
        return host


class _Lingering:
    """The connection's transport as uvicorn sees it: a ``close()`` while the request body is still arriving
    becomes a lingering close (``GuardedHttpTools._linger``); everything else is the real transport's."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedHttpTools) -> None:
        self._transport = transport
        self._protocol = protocol

    def close(self) -> None:
        self._protocol._close()

    def is_closing(self) -> bool:
        return self._protocol._lingering or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines, connection caps and a lingering close."""

    limits: ClassVar[HttpLimits]
    addresses: ClassVar[dict[str, int]]  # open connections per address_key, per server

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True
        self._in_body = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._address = ""
        self._counted = False
        self._lingering = False
        self._lingered = 0
        self._raw: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._raw = transport
        super().connection_made(_Lingering(transport, self))  # type: ignore[arg-type]
        self._address = address_key(self.client)
        count = self.addresses.get(self._address, 0) + 1
        self.addresses[self._address] = count
        self._counted = True
        if len(self.connections) > self.limits.max_connections:
            self._refuse_connection("The server has too many open connections.")
        elif count > self.limits.max_connections_per_address:
            self._refuse_connection("Too many open connections from your address.")
        else:
            self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        if self._counted:
            self._counted = False
            left = self.addresses.get(self._address, 1) - 1
            if left > 0:
                self.addresses[self._address] = left
            else:
                self.addresses.pop(self._address, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:  # the answer is out: what the client still sends is read and dropped
            self._lingered += len(data)
            if self._lingered > self.limits.linger_bytes:
                self._hard_close()
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # what is still header after the parser had it: over the cap, refused (a body is not counted)
        if self._in_head and self._head_bytes > self.limits.max_header_bytes and not self._closed():
            self._refuse(
                _refusal(
                    431,
                    b"Request Header Fields Too Large",
                    StatusCode.POST_DATA_INVALID,
                    f"Request headers are larger than {self.limits.max_header_bytes} bytes.",
                )
            )

    def eof_received(self) -> None:
        if self._lingering:  # the client has sent everything it will: the lingering close is over
            self._hard_close()
        super().eof_received()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._in_body = False
        if self._head_timer is None:
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        self._head_bytes = 0
        self._stop_timers()
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # -- deadlines -------------------------------------------------------------------------------

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _stop_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self._closed():
            self._hard_close()

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if not self._in_body or self._closed():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:  # the application, still reading, then hears
            message = f"POST Data Is Invalid. The body did not arrive within {self.limits.body_timeout:g} s."
            self._refuse(_refusal(200, b"OK", StatusCode.POST_DATA_INVALID, message))  # a disconnect
        else:
            self._hard_close()

    # -- closing ---------------------------------------------------------------------------------

    def _closed(self) -> bool:
        return self._lingering or self._raw is None or self._raw.is_closing()

    def _close(self) -> None:
        """uvicorn closing the connection: at once, unless the request body is still arriving (linger)."""
        if self._lingering or self._raw is None:
            return
        if not self._in_body or not self._raw.can_write_eof():
            self._hard_close()
            return
        self._lingering = True
        self._stop_timers()
        self._raw.write_eof()  # the answer is flushed, then our FIN: the client reads it when it is done
        self.flow.resume_reading()  # uvicorn paused reading while the body waited for the application
        self.loop.call_later(self.limits.linger_seconds, self._hard_close)

    def _hard_close(self) -> None:
        self._stop_timers()
        if self._raw is not None and not self._raw.is_closing():
            self._raw.close()

    def _refuse_connection(self, why: str) -> None:
        self._refuse(
            _refusal(
                503,
                b"Service Unavailable",
                StatusCode.TOO_MANY_SIMULTANEOUS,
                f"Too many simultaneous queries. {why}",
                b"retry-after: 1\r\n",
            )
        )

    def _refuse(self, response: bytes) -> None:
        assert self._raw is not None
        self._raw.write(response)
        self._hard_close()
