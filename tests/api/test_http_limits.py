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

from llm_responses.composition import server_config
from llm_responses.config import Settings


async def hello(request):
    if request.method == "POST":
        return PlainTextResponse("early")  # answered without reading the body
    return PlainTextResponse("hello")


async def echo_size(request):
    return PlainTextResponse(str(len(await request.body())))


@pytest.fixture
def server(tmp_path):
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**limits) -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", **limits)
        config = server_config(
            Starlette(
                routes=[
                    Route("/", hello, methods=["GET", "POST"]),
                    Route("/read", echo_size, methods=["POST"]),
                ]
            ),
            settings,
            lifespan="off",
        )
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


def test_connections_beyond_the_per_address_cap_are_refused_and_other_addresses_are_not(server):
    port = server(http_max_connections_per_address=3, http_header_timeout_seconds=5)
    idle = [connect(port) for _ in range(3)]
    time.sleep(0.1)
    reply = read_all(connect(port))
    assert reply.startswith(b"HTTP/1.1 503")
    assert envelope_of(reply)["status_code"] == 40209
    assert b"from your address" in reply
    other = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0))
    OPEN.append(other)
    other.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_all(other).startswith(b"HTTP/1.1 200")  # another address still gets in
    for s in idle:
        s.close()
    time.sleep(0.2)
    again = connect(port)  # the closed ones no longer count
    again.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_all(again).startswith(b"HTTP/1.1 200")


def test_a_body_that_drips_in_is_answered_and_the_connection_closed_at_the_deadline(server):
    port = server(http_body_timeout_seconds=0.6)
    s = connect(port)
    started = time.monotonic()
    s.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    try:
        for _ in range(30):
            time.sleep(0.1)
            s.sendall(b" ")  # one byte at a time: data keeps arriving, the body never ends
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = read_all(s, 3)
    assert time.monotonic() - started < 2.5
    assert envelope_of(reply)["status_code"] == 40503
    assert b"did not arrive within 0.6 s" in reply


def test_an_answer_before_the_body_is_read_by_a_client_still_sending(server):
    """A client that sends its whole body before reading (urllib, with ``Connection: close``) reads the
    answer: the rest of its body is read and dropped (a lingering close), not answered with a reset."""
    import urllib.request

    port = server()
    body = b"x" * (40 << 20)  # far more than the socket buffers hold: still sending when we answer
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=20) as r:
        assert r.read() == b"early"


def test_lingering_is_bounded_in_bytes(server):
    port = server(http_linger_bytes=1 << 20)
    s = connect(port)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1000000000\r\n\r\n")
    sent = 0
    try:
        while sent < 1 << 30:
            s.sendall(b"x" * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert sent < 200 << 20  # the server stopped reading after about a mebibyte more
