"""What the mentions index costs a live call, measured side by side in one run: the same live request through
several servers at once, each running its own source tree (``--src LABEL=PATH``, e.g. a worktree of the code
before indexing, one of the code indexing in the settling transaction, and this checkout), called in turn so
every server sees the same moment of this noisy machine.

Prints, per server: the live call's p50 and p99 at concurrency 1 (interleaved, one call to each in turn), and
the server process's CPU per call (user + system from /proc) over a concurrency-32 phase, each server's phase
in alternating chunks; and each server's numbers against the first's. Every server tracks the same three
brands (``[[brands]]``), so the index finds and writes brand rows as it would for a user.

Run: .venv/bin/python bench/bench_index_cost.py [requests] --src before=../before/src --src now=src
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import FakeUpstream, Service, pct  # noqa: E402

PROMPT = "provide information on how relevant the amusement park business is in France now"
BRANDS = '[[brands]]\nname = "Disneyland Paris"\n[[brands]]\nname = "Parc Asterix"\ncompetitor = true\n' \
    '[[brands]]\nname = "Futuroscope"\ncompetitor = true\n'  # fmt: skip
CHUNK = 250  # calls per server per turn in the concurrent phase


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(requests: int, sources: list[tuple[str, str]]) -> None:
    upstream = FakeUpstream()
    config = Path(tempfile.mkdtemp(prefix="llmr-brands-")) / "brands.toml"
    config.write_text(BRANDS)
    services = []
    try:
        for _, src in sources:
            services.append(Service(upstream.base_url, PYTHONPATH=src, LLM_RESPONSES_CONFIG=str(config)))
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30)
        clients = [httpx.AsyncClient(auth=s.auth, timeout=60, limits=limits) for s in services]

        def caller(i: int):
            async def live() -> float:
                t0 = time.perf_counter()
                r = await clients[i].post(
                    f"{services[i].url}/v3/ai_optimization/chat_gpt/llm_responses/live",
                    json=[{"model_name": "gpt-4.1-mini", "user_prompt": PROMPT}],
                )
                assert r.json()["tasks"][0]["status_code"] == 20000, r.text
                return time.perf_counter() - t0

            return live

        calls = [caller(i) for i in range(len(services))]
        for call in calls:  # warm-up
            await asyncio.gather(*(call() for _ in range(30)))
        one: list[list[float]] = [[] for _ in services]
        for _ in range(requests):
            for i, call in enumerate(calls):
                one[i].append(await call())
        cpu = [0.0] * len(services)
        done = [0] * len(services)
        for _ in range(max(1, requests * 4 // CHUNK)):
            for i, call in enumerate(calls):
                before = cpu_seconds(services[i].proc.pid)
                sem = asyncio.Semaphore(32)

                async def bounded(call=call, sem=sem) -> float:
                    async with sem:
                        return await call()

                await asyncio.gather(*(bounded() for _ in range(CHUNK)))
                await asyncio.sleep(0.5)  # what the call left behind (an indexer's batch) is counted too
                cpu[i] += cpu_seconds(services[i].proc.pid) - before
                done[i] += CHUNK
        for client in clients:
            await client.aclose()
        print(f"live calls through {len(services)} servers side by side ({requests} each at concurrency 1, "
              f"{done[0]} each at 32)")  # fmt: skip
        base = (pct(one[0], 50), pct(one[0], 99), cpu[0] / done[0])
        for (label, _), lat, c, n in zip(sources, one, cpu, done, strict=True):
            p50, p99, per = pct(lat, 50), pct(lat, 99), c / n
            print(
                f"  {label:<10} p50 {p50 * 1000:6.2f} ms ({(p50 - base[0]) * 1000:+.2f}), "
                f"p99 {p99 * 1000:6.2f} ms ({(p99 - base[1]) * 1000:+.2f}), "
                f"server CPU per call {per * 1000:5.2f} ms ({per / base[2]:.2f}x)"
            )
    finally:
        for s in services:
            s.stop()
        upstream.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("requests", nargs="?", type=int, default=500)
    parser.add_argument("--src", action="append", default=[], help="LABEL=PATH to a source tree's src/")
    args = parser.parse_args()
    srcs = [(label, str(Path(path).resolve())) for label, path in (s.split("=", 1) for s in args.src)]
    asyncio.run(run(args.requests, srcs or [("now", str(Path("src").resolve()))]))
