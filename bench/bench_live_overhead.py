"""Latency our live endpoint adds on top of the upstream: the same request sent (a) straight to the fake
OpenAI server with the official SDK and (b) through ``POST .../live``, at concurrency 1 and 64.
The fake answers at once, so the difference is our overhead (auth, validation, two SQLite transactions
for the hold and the settlement, rendering).

Run: ./dev bench   (or .venv/bin/python bench/bench_live_overhead.py [requests])
Target (issue 2): added p50 ≤ 2 ms at concurrency 1.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
from openai import AsyncOpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import FakeUpstream, Service, ms, pct  # noqa: E402

PROMPT = "provide information on how relevant the amusement park business is in France now"


async def timed(n: int, concurrency: int, call) -> list[float]:
    sem = asyncio.Semaphore(concurrency)
    out: list[float] = []

    async def one() -> None:
        async with sem:
            t0 = time.perf_counter()
            await call()
            out.append(time.perf_counter() - t0)

    await asyncio.gather(*(one() for _ in range(n)))
    return out


async def interleaved(n: int, first, second) -> tuple[list[float], list[float]]:
    """One call of each in turn, so both see the same moment of this noisy machine."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        for call, out in ((first, a), (second, b)):
            t0 = time.perf_counter()
            await call()
            out.append(time.perf_counter() - t0)
    return a, b


async def run(requests: int) -> None:
    upstream = FakeUpstream()
    service = Service(upstream.base_url)
    try:
        sdk = AsyncOpenAI(api_key="sk-bench", base_url=upstream.base_url, max_retries=0)
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128, keepalive_expiry=30)
        async with httpx.AsyncClient(auth=service.auth, timeout=60, limits=limits) as http:

            async def direct() -> None:
                await sdk.responses.create(
                    model="gpt-4.1-mini",
                    input=PROMPT,
                    max_output_tokens=2048,
                    temperature=0.94,
                    top_p=0.92,
                    store=False,
                )

            async def live() -> None:
                r = await http.post(
                    f"{service.url}/v3/ai_optimization/chat_gpt/llm_responses/live",
                    json=[{"model_name": "gpt-4.1-mini", "user_prompt": PROMPT}],
                )
                assert r.json()["tasks"][0]["status_code"] == 20000, r.text

            for call in (direct, live):  # warm-up both paths
                await timed(30, 4, call)
            print("live added latency vs the fake upstream called directly (same run, loopback)")
            for concurrency in (1, 64):
                n = requests if concurrency == 1 else requests * 4
                if concurrency == 1:
                    base, ours = await interleaved(n, direct, live)
                else:
                    base = await timed(n, concurrency, direct)
                    ours = await timed(n, concurrency, live)
                added = pct(ours, 50) - pct(base, 50)
                print(f"  concurrency {concurrency:>2}: direct {ms(base)}")
                print(f"                  live   {ms(ours)}")
                print(
                    f"                  added p50 {added * 1000:.2f} ms, added p99 {(pct(ours, 99) - pct(base, 99)) * 1000:.2f} ms, "
                    f"ratio p50 {pct(ours, 50) / pct(base, 50):.2f}x"
                )
                if concurrency == 1:
                    print(
                        f"  target added p50 <= 2 ms at concurrency 1: {'OK' if added <= 0.002 else 'MISSED'}"
                    )
        await sdk.close()
    finally:
        service.stop()
        upstream.stop()


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300))
