"""task_post of 100 tasks on SQLite: server-side p50/p99 (the envelope's own ``time``), client latency,
and tasks/s sustained. API only (``--no-worker``), so the numbers are the ingest path alone.

Run: ./dev bench   (or .venv/bin/python bench/bench_task_post.py [requests])
Target (issue 2): p50 ≤ 20 ms server-side for 100 tasks.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Service, ms, pct  # noqa: E402

TASK = {
    "system_message": "communicate as if we are in a business meeting",
    "model_name": "gpt-4.1-mini",
    "user_prompt": "provide information on how relevant the amusement park business is in France now",
    "max_output_tokens": 1024,
    "web_search": True,
    "web_search_country_iso_code": "FR",
}


def main(requests: int = 200) -> None:
    service = Service("http://127.0.0.1:9/v1", "--no-worker")
    try:
        server, client = [], []
        body = [TASK] * 100
        with httpx.Client(auth=service.auth, timeout=30) as http:
            for _ in range(20):  # warm-up
                http.post(f"{service.url}/v3/ai_optimization/chat_gpt/llm_responses/task_post", json=body)
            started = time.perf_counter()
            for _ in range(requests):
                t0 = time.perf_counter()
                r = http.post(f"{service.url}/v3/ai_optimization/chat_gpt/llm_responses/task_post", json=body)
                client.append(time.perf_counter() - t0)
                payload = r.json()
                assert payload["tasks_error"] == 0, payload["tasks"][0]
                server.append(float(payload["time"].split()[0]))
            elapsed = time.perf_counter() - started
        print("task_post, 100 tasks per call, SQLite (synchronous=FULL), 1 client")
        print(f"  server-side time: {ms(server)}")
        print(f"  client latency:   {ms(client)}")
        print(f"  sustained:        {requests * 100 / elapsed:,.0f} tasks/s")
        verdict = "OK" if pct(server, 50) <= 0.020 else "MISSED"
        print(f"  target p50 <= 20 ms server-side: {verdict}")
    finally:
        service.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 200)
