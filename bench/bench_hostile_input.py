"""What hostile input costs the server, and how long one account's backlog delays another account.

Against ``serve`` on SQLite with the fake OpenAI (its own process):

1. a 3 MB body of a million ``{}`` to task_post: answer size, time, the server's peak RSS growth, and the
   worst latency of a small request sent meanwhile by another client (the freeze);
2. a 10 MB ``user_prompt`` to live: answer size;
3. fairness: account A queues ``backlog`` tasks, then account B posts one; seconds until B's task is done.

Run: .venv/bin/python bench/bench_hostile_input.py [backlog]   (run it on an older checkout for the baseline:
the script only speaks HTTP, so it measures any version of the server)
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import FakeUpstream, Service  # noqa: E402

LLM = "/v3/ai_optimization/chat_gpt/llm_responses"
TASK = {"model_name": "gpt-4.1-mini", "user_prompt": "provide information on amusement parks in France"}


def main(backlog: int = 5000) -> None:
    upstream = FakeUpstream(latency=0.05)
    service = Service(upstream.base_url, LLM_RESPONSES_MAX_BODY_BYTES=str(4 << 20))
    try:
        with httpx.Client(base_url=service.url, auth=service.auth, timeout=300) as http:
            http.get(f"{LLM}/models")
            rss_before = service.peak_rss_mb()
            worst = [0.0]
            done = threading.Event()

            def probe() -> None:  # another client's small request, over and over, while the big one runs
                with httpx.Client(base_url=service.url, auth=service.auth, timeout=300) as other:
                    while not done.is_set():
                        t0 = time.perf_counter()
                        other.get("/healthz")
                        worst[0] = max(worst[0], time.perf_counter() - t0)
                        time.sleep(0.01)

            prober = threading.Thread(target=probe)
            prober.start()
            body = b"[" + b",".join([b"{}"] * 1_000_000) + b"]"
            t0 = time.perf_counter()
            r = http.post(f"{LLM}/task_post", content=body)
            took = time.perf_counter() - t0
            done.set()
            prober.join()
            print(
                f"a million {{}} ({len(body) / 1e6:.1f} MB): answer {len(r.content) / 1e6:.3f} MB in {took:.2f} s, "
                f"status {r.json().get('status_code')}, server peak RSS +{service.peak_rss_mb() - rss_before:.0f} MB, "
                f"another client's worst wait {worst[0] * 1000:.0f} ms"
            )
            big = {**TASK, "user_prompt": "p" * 10_000_000}
            r = http.post(f"{LLM}/live", content=json.dumps([big]).encode())
            print(
                f"a 10 MB prompt to live: answer {len(r.content) / 1e3:.1f} kB, code "
                f"{(r.json().get('tasks') or [{}])[0].get('status_code', r.json().get('status_code'))}"
            )

            other = service.create_account("other", "100")
            t0 = time.perf_counter()
            for _ in range(backlog // 100):
                http.post(f"{LLM}/task_post", json=[TASK] * 100)
            queued = time.perf_counter() - t0
            with httpx.Client(base_url=service.url, auth=other, timeout=60) as b:
                t0 = time.perf_counter()
                task_id = b.post(f"{LLM}/task_post", json=[TASK]).json()["tasks"][0]["id"]
                while b.get(f"{LLM}/task_get/{task_id}").json()["tasks"][0]["status_code"] in (40601, 40602):
                    time.sleep(0.05)
                waited = time.perf_counter() - t0
            print(
                f"fairness: {backlog} tasks of account A queued in {queued:.1f} s; account B's one task done "
                f"{waited:.2f} s after it was posted"
            )
    finally:
        service.stop()
        upstream.stop()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
