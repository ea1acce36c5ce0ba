"""The HTTP server ``serve`` runs (uvicorn with ``GuardedHttpTools``), over real sockets on loopback:
oversized headers, slow headers, idle sockets and too many connections are refused without credentials."""

import socket
import threading
import time

import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from llm_responses.api.http_server import server_config
from llm_responses.config import Settings


async def hello(request):
    return PlainTextResponse("hello")


@pytest.fixture
def server(tmp_path):
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**limits) -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", **limits)
        config = server_config(Starlette(routes=[Route("/", hello)]), settings, lifespan="off")
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.time() + 10
        while not srv.started:
            assert time.time() < deadline
            time.sleep(0.01)
        started.append((srv, thread))
        return sock.getsockname()[1]

    yield start
    for srv, thread in started:
        srv.should_exit = True
        thread.join(timeout=10)


OPEN: list[socket.socket] = []


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    OPEN.append(s)  # closed after each test (an unclosed socket is a ResourceWarning, an error here)
    return s


@pytest.fixture(autouse=True)
def close_sockets():
    yield
    while OPEN:
        OPEN.pop().close()


def read_all(s: socket.socket, limit: float = 5.0) -> bytes:
    s.settimeout(limit)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        out += chunk
    return out


def envelope_of(raw: bytes) -> dict:
    head, _, body = raw.partition(b"\r\n\r\n")
    return orjson.loads(body)


def test_plain_requests_still_work(server):
    port = server()
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_all(s).startswith(b"HTTP/1.1 200")


def test_oversized_headers_are_431_before_they_are_all_read(server):
    port = server(http_max_header_bytes=16 * 1024)
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent = 0
    try:
        while sent < 100 << 20:  # 100 MB offered; the server answers and closes long before
            s.sendall(b"a" * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = read_all(s)
    assert reply.startswith(b"HTTP/1.1 431")
    assert envelope_of(reply)["status_code"] == 40503
    assert sent < 50 << 20


def test_headers_that_trickle_in_are_cut_off(server):
    port = server(http_header_timeout_seconds=0.5)
    s = connect(port)
    started = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    for _ in range(20):
        time.sleep(0.1)
        try:
            s.sendall(b"X-A: b\r\n")  # data keeps arriving, but the headers never end
        except (BrokenPipeError, ConnectionResetError):
            break
    read_all(s, 3)
    assert time.monotonic() - started < 2.5


def test_an_idle_socket_that_never_sends_is_closed(server):
    port = server(http_header_timeout_seconds=0.3)
    s = connect(port)
    started = time.monotonic()
    assert read_all(s, 3) == b""
    assert time.monotonic() - started < 2


def test_connections_beyond_the_cap_get_a_503_envelope(server):
    port = server(http_max_connections=5, http_header_timeout_seconds=5)
    idle = [connect(port) for _ in range(5)]
    time.sleep(0.1)
    extra = connect(port)
    reply = read_all(extra)
    assert reply.startswith(b"HTTP/1.1 503")
    assert envelope_of(reply)["status_code"] == 40209
    for s in idle:
        s.close()
    time.sleep(0.2)
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_all(s).startswith(b"HTTP/1.1 200")  # room again once they are gone
