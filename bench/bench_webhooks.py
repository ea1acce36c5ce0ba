"""Webhook delivery under load, with real processes on loopback.

1. Deliveries per second: tasks with a postback_url keep completing (fake upstream answering at once) while
   their postbacks go to a receiver that answers at once.
2. Isolation: task throughput with 1,000 postbacks stuck on a receiver that never answers, against the
   same run with no deliveries at all. Target (issue 4): within 10%.

Run: ./dev bench   (or .venv/bin/python bench/bench_webhooks.py [tasks])
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import PY, ROOT, FakeUpstream, Service  # noqa: E402

POST = "/v3/ai_optimization/chat_gpt/llm_responses/task_post"


class Receiver:
    def __init__(self, delay: float) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "tests.fakes.webhook_receiver", str(delay)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.proc.stdout.readline().strip()}/hook?id=$id"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def post_tasks(service: Service, count: int, postback: str | None) -> None:
    task = {
        "model_name": "gpt-4.1-mini",
        "user_prompt": "hello",
        **({"postback_url": postback} if postback else {}),
    }
    with httpx.Client(auth=service.auth, timeout=60) as http:
        for start in range(0, count, 100):
            body = http.post(service.url + POST, json=[task] * min(100, count - start)).json()
            assert all(t["status_code"] == 20100 for t in body["tasks"]), body["tasks"][0]


def wait_count(db: Path, sql: str, target: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        while conn.execute(sql).fetchone()[0] < target:
            if time.monotonic() > deadline:
                raise TimeoutError(sql)
            time.sleep(0.02)
    return time.monotonic()


def throughput(upstream: FakeUpstream, tasks: int, stuck: int) -> float:
    """Tasks/s for ``tasks`` plain tasks, with ``stuck`` postbacks hanging on a silent receiver meanwhile."""
    silent = Receiver(delay=3600) if stuck else None
    service = Service(
        upstream.base_url,
        LLM_RESPONSES_WEBHOOK_ALLOWLIST="127.0.0.1/32",
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.05",
        LLM_RESPONSES_SQLITE_SYNCHRONOUS="NORMAL",
    )
    db = Path(service.dir) / "bench.db"
    try:
        if silent:
            post_tasks(service, stuck, silent.url)
            wait_count(db, "SELECT COUNT(*) FROM tasks WHERE status = 'done'", stuck)
            wait_count(db, "SELECT COUNT(*) FROM deliveries WHERE lease_owner IS NOT NULL", min(stuck, 256))
        t0 = time.monotonic()
        post_tasks(service, tasks, None)
        t1 = wait_count(db, "SELECT COUNT(*) FROM tasks WHERE status = 'done'", tasks + stuck)
        return tasks / (t1 - t0)
    finally:
        service.stop()
        if silent:
            silent.stop()


def main(tasks: int = 2000) -> None:
    upstream = FakeUpstream()
    fast = Receiver(delay=0)
    try:
        service = Service(
            upstream.base_url,
            LLM_RESPONSES_WEBHOOK_ALLOWLIST="127.0.0.1/32",
            LLM_RESPONSES_WORKER_POLL_SECONDS="0.05",
            LLM_RESPONSES_SQLITE_SYNCHRONOUS="NORMAL",
        )
        db = Path(service.dir) / "bench.db"
        try:
            t0 = time.monotonic()
            post_tasks(service, tasks, fast.url)
            done = wait_count(db, "SELECT COUNT(*) FROM tasks WHERE status = 'done'", tasks)
            delivered = wait_count(db, "SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'", tasks)
        finally:
            service.stop()
        print(f"webhooks: {tasks} tasks with a postback_url, fake upstream and receiver answering at once")
        print(
            f"  tasks completed: {tasks / (done - t0):.0f} tasks/s; postbacks delivered: {tasks / (delivered - t0):.0f} deliveries/s "
            f"(all delivered {delivered - done:.2f}s after the last task finished)"
        )
        base = throughput(upstream, tasks, stuck=0)
        stuck = throughput(upstream, tasks, stuck=1000)
        ratio = stuck / base
        print(f"  task throughput, no deliveries:                      {base:.0f} tasks/s")
        print(f"  task throughput, 1000 postbacks stuck on a silent receiver: {stuck:.0f} tasks/s")
        print(f"  ratio {ratio:.3f}  (target >= 0.9: {'OK' if ratio >= 0.9 else 'MISSED'})")
    finally:
        fast.stop()
        upstream.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2000)
