"""What observability adds to one live request, in-process and without the network, so that a shared and
noisy machine still gives a steady figure (the end-to-end one is bench/bench_live_overhead.py):

- the HTTP layer: a Starlette app with one trivial route, bare against with ``RequestObserver`` recording
  the request's histogram, context and added latency (the access log off). Issue 25 measured it under
  FastAPI, whose own per-request telemetry check it turned off (docs/benchmarks.md); the app has been plain
  Starlette since, so there is no such check to compare with;
- the runner's part: timing one upstream call and recording it (``upstream_call``, ``usage``,
  ``add_upstream``).

Each is the best of several rounds of many calls (the minimum is the least disturbed by other processes),
in this process and again in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``: values in files).

Run: .venv/bin/python bench/bench_observability.py
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

ROUNDS = 7
CALLS = 5000


async def per_call(call, calls: int = CALLS, rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def apps():
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from llm_responses.api.request_observer import RequestObserver, route_templates
    from llm_responses.observability.metrics import Metrics

    async def live(request):
        return Response(b"{}", media_type="application/json")

    routes = [Route("/v3/x/{se}/live", live, methods=["POST"])]
    bare = Starlette(routes=routes)
    after = Starlette(routes=routes)
    after.add_middleware(
        RequestObserver, metrics=Metrics(), templates=route_templates(routes), access_log=False
    )
    return bare, after


def caller(app):
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def call():
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v3/x/chat_gpt/live",
            "raw_path": b"/v3/x/chat_gpt/live",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await app(scope, receive, send)

    return call


async def measure() -> dict[str, float]:
    from llm_responses.core import LlmResult
    from llm_responses.observability.context import add_upstream
    from llm_responses.observability.metrics import Metrics

    bare, after = apps()
    for app in (bare, after):  # build the middleware stacks
        await caller(app)()
    http_bare = await per_call(caller(bare))
    http_after = await per_call(caller(after))
    metrics = Metrics()
    result = LlmResult(model="m", input_tokens=120, output_tokens=480, reasoning_tokens=64)

    async def runner_part() -> None:
        started = time.perf_counter()
        seconds = time.perf_counter() - started
        add_upstream(seconds)
        metrics.upstream_call("openai", "gpt-4.1-mini", "ok", seconds)
        metrics.usage("openai", "gpt-4.1-mini", result, 1234)

    async def nothing() -> None:
        pass

    runner = await per_call(runner_part) - await per_call(nothing)
    return {"http_bare": http_bare, "http_after": http_after, "runner": runner}


def report(label: str, r: dict[str, float]) -> None:
    added = r["http_after"] - r["http_bare"] + r["runner"]
    print(f"{label}:")
    print(
        f"  HTTP layer per request: bare {r['http_bare'] * 1e6:.1f} us, with RequestObserver "
        f"{r['http_after'] * 1e6:.1f} us: the observer itself {(r['http_after'] - r['http_bare']) * 1e6:.1f} us"
    )
    print(f"  runner's recording of one upstream call: {r['runner'] * 1e6:.1f} us")
    print(f"  added per live request: {added * 1e6:.1f} us (budget 50 us)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        r = asyncio.run(measure())
        print(repr(r))
        return
    report("one process", asyncio.run(measure()))
    with tempfile.TemporaryDirectory() as shared:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": shared}
        out = subprocess.run(
            [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True
        )
        report("multiprocess mode (PROMETHEUS_MULTIPROC_DIR)", eval(out.stdout.strip().splitlines()[-1]))  # noqa: S307


if __name__ == "__main__":
    main()
