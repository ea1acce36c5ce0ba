"""task_post through the vendors' batch APIs (``TASK_POST_BATCH=on``), on each vendor's batch fake.

``serve`` on SQLite with a worker (its batcher), every vendor's batch fake in its own process:

1. 10,000 tasks on OpenAI (gpt-4.1-mini) and 1,000 on each of Anthropic (claude-haiku-4-5), Google
   (gemini-2.5-flash) and Perplexity (perplexity/sonar, served on the chat_gpt path through a [[models]]
   entry: Perplexity's own engine has no task_post) posted, then waited for until every one is settled:
   the submit throughput (tasks posted to tasks inside vendor batches) and the whole run's;
2. cost per 1,000 prompts, batched against direct, per vendor, in the same run: each settled task's
   ``money_spent`` against what the same answer costs direct (``money_spent + batch_saved``; Perplexity
   reports its own cost, so its direct figure is the same), without and with web search (Claude, Gemini:
   their search fees are not discounted);
3. peak memory while the production client reads one ended batch's 50,000-line output file (tracemalloc,
   the reading process).

Run: .venv/bin/python bench/bench_batch.py
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import PY, ROOT, Service  # noqa: E402

PROMPT = "provide information on how relevant the amusement park business is in France now"
PERPLEXITY_MODEL = [
    {"name": "sonar-batch", "upstream": "perplexity/sonar", "provider": "perplexity", "se": "chat_gpt",
     "web_search": True, "input_price": 0.25, "output_price": 2.5}
]  # fmt: skip
RUNS = [  # (label, engine, model, tasks, web search)
    ("OpenAI", "chat_gpt", "gpt-4.1-mini", 10_000, False),
    ("Anthropic", "claude", "claude-haiku-4-5", 1_000, False),
    ("Anthropic, web search", "claude", "claude-haiku-4-5", 1_000, True),
    ("Google", "gemini", "gemini-2.5-flash", 1_000, False),
    ("Google, web search", "gemini", "gemini-2.5-flash", 1_000, True),
    ("Perplexity", "chat_gpt", "sonar-batch", 1_000, False),
]


class Fake:
    def __init__(self, vendor: str) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "tests.fakes.serve", f"{vendor}-batch"], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        self.base_url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def main() -> None:
    fakes = {v: Fake(v) for v in ("openai", "anthropic", "gemini", "perplexity")}
    service = Service(
        fakes["openai"].base_url,
        LLM_RESPONSES_LOCAL_MODEL="off",
        ANTHROPIC_API_KEY="sk-ant-bench", ANTHROPIC_BASE_URL=fakes["anthropic"].base_url,
        GEMINI_API_KEY="AIza-bench", GEMINI_BASE_URL=fakes["gemini"].base_url,
        PERPLEXITY_API_KEY="pplx-bench", PERPLEXITY_BASE_URL=fakes["perplexity"].base_url,
        LLM_RESPONSES_MODELS=json.dumps(PERPLEXITY_MODEL),
        LLM_RESPONSES_TASK_POST_BATCH="on", LLM_RESPONSES_BATCH_MAX_AGE_SECONDS="2",
        LLM_RESPONSES_BATCH_POLL_SECONDS="0.5", LLM_RESPONSES_SQLITE_SYNCHRONOUS="NORMAL",
    )  # fmt: skip
    db = Path(service.dir) / "bench.db"
    try:
        ids: dict[str, list[str]] = {}
        started = time.perf_counter()
        with httpx.Client(base_url=service.url, auth=service.auth, timeout=120) as http:
            for label, engine, model, n, search in RUNS:
                task = {
                    "user_prompt": PROMPT,
                    "model_name": model,
                    "max_output_tokens": 512,
                    "web_search": search,
                }
                ids[label] = []
                for _ in range(n // 100):
                    r = http.post(f"/v3/ai_optimization/{engine}/llm_responses/task_post", json=[task] * 100)
                    ids[label] += [t["id"] for t in r.json()["tasks"] if t["status_code"] == 20100]
        posted = time.perf_counter() - started
        total = sum(len(v) for v in ids.values())
        submitted_at = settled_at = None
        while True:
            with sqlite3.connect(db) as conn:
                waiting = conn.execute(
                    "SELECT COUNT(*) FROM tasks WHERE lane = 'batch' AND status = 'queued'"
                ).fetchone()[0]
                done = conn.execute(
                    "SELECT COUNT(*) FROM tasks WHERE status IN ('done', 'failed')"
                ).fetchone()[0]
            if waiting == 0 and submitted_at is None:
                submitted_at = time.perf_counter() - started
            if done >= total:
                settled_at = time.perf_counter() - started
                break
            if time.perf_counter() - started > 900:
                raise SystemExit(f"only {done} of {total} settled after 15 minutes")
            time.sleep(0.5)
        print(f"batch API on the fakes: {total:,} tasks posted in {posted:.1f} s, all inside vendor batches "
              f"after {submitted_at:.1f} s ({total / submitted_at:,.0f} tasks/s), all settled after {settled_at:.1f} s")  # fmt: skip
        print("cost per 1,000 prompts, batched vs direct (same answers, same run):")
        with sqlite3.connect(db) as conn:
            for label, *_ in RUNS:
                rows = conn.execute(
                    f"SELECT status, money_spent, batch_saved, lane FROM tasks WHERE id IN ({','.join('?' * len(ids[label]))})",
                    ids[label],
                ).fetchall()
                done = [r for r in rows if r[0] == "done"]
                paid = sum(r[1] for r in done)
                direct = sum(r[1] + r[2] for r in done)
                per = 1000 / max(len(done), 1)
                batched = sum(1 for r in done if r[2] > 0 or label.startswith("Perplexity"))
                print(f"  {label:<22} ${paid * per / 1e9:8.4f} vs ${direct * per / 1e9:8.4f} direct: "
                      f"{paid / direct if direct else 0:.2f}x ({len(done)} answered, {batched} through a batch)")  # fmt: skip
    finally:
        service.stop()
    asyncio.run(read_memory(fakes["openai"].base_url))
    for fake in fakes.values():
        fake.stop()


async def read_memory(base_url: str, lines: int = 50_000) -> None:
    """The production client reads one ended 50,000-line batch (its output file) as a stream."""
    from llm_responses.core import LlmRequest
    from llm_responses.vendors.openai import OpenAISettings, build

    provider = build(OpenAISettings(openai_api_key="sk-bench", openai_base_url=base_url))
    client = provider.batch
    request = LlmRequest(model="gpt-4.1-mini-2025-04-14", user_prompt=PROMPT, max_output_tokens=512)
    handle = await client.submit("memory", [client.encode(f"t{i}", request) for i in range(lines)])
    while not (await client.poll(handle)).ended:  # noqa: ASYNC110 - polling a remote API, as the batcher does
        await asyncio.sleep(0.2)
    tracemalloc.start()
    read = 0
    started = time.perf_counter()
    async for line in client.results(handle):
        read += line.result is not None
    took = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await provider.aclose()
    verdict = "OK" if peak < 200 * 2**20 else "MISSED"
    print(f"reading a {lines:,}-line output file: {read:,} answers in {took:.1f} s, peak {peak / 2**20:.1f} MiB "
          f"of Python allocations (target <= 200 MB: {verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
