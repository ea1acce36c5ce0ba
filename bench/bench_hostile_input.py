"""What hostile input costs the server, and how long one account's backlog delays another account.

Against ``serve`` on SQLite with the fake OpenAI (its own process):

1. a 3 MB body of a million ``{}`` to task_post: answer size, time, the server's peak RSS growth, and the
   worst latency of a small request sent meanwhile by another client (the freeze);
2. a 10 MB ``user_prompt`` to live: answer size;
3. fairness: account A queues ``backlog`` tasks, then account B posts one; seconds until B's task is done;
4. slow bodies (``--case slow-body``): 4,200 connections from 127.0.0.1 send their headers, then one body byte
   every 5 s; meanwhile a client on 127.0.0.2 opens a new connection every 100 ms: how many of its requests
   were refused, and its worst wait;
5. Mentions contention (``--case contention``, SQLite and PostgreSQL): account A's 20,000 indexed answers;
   A runs its heaviest allowed reads (``multi_target_metrics``, 10 targets x 10 common words, as many at once
   as its share of heavy reads allows) for 20 s, then 40 clients of A send them (and a two-letter
   ``partial_match``, the scan it used to be) at the default rate limit; meanwhile account B's
   ``user_data`` every 50 ms (within its rate limit): its wait.

Run: .venv/bin/python bench/bench_hostile_input.py [--case body|slow-body|contention|all] [--backlog N]
(run it on an older checkout for the baseline: the script only speaks HTTP, so it measures any version of
the server)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench.bench_llm_mentions as corpus_data  # noqa: E402
from bench.bench_llm_mentions import ADMIN, Corpus, load_postgres, load_sqlite  # noqa: E402
from bench.harness import FakeUpstream, Service, pct  # noqa: E402

LLM = "/v3/ai_optimization/chat_gpt/llm_responses"
TASK = {"model_name": "gpt-4.1-mini", "user_prompt": "provide information on amusement parks in France"}


def bodies_and_fairness(backlog: int = 5000) -> None:
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


async def _drip(port: int, connections: int, seconds: float) -> int:
    """``connections`` sockets that send a POST's headers, then one body byte every 5 s; how many opened."""
    head = (
        f"POST {LLM}/task_post HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    writers: list[asyncio.StreamWriter] = []
    for _ in range(connections):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(head)
            writers.append(w)
        except OSError:
            break
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(5)
        for w in writers:
            if not w.is_closing():
                w.write(b" ")
    for w in writers:
        w.close()
    return len(writers)


def slow_bodies(connections: int = 4200, seconds: float = 30.0) -> None:
    service = Service(None, LLM_RESPONSES_LOCAL_MODEL="off")
    try:
        opened = [0]
        attacker = threading.Thread(
            target=lambda: opened.__setitem__(0, asyncio.run(_drip(service.port, connections, seconds)))
        )
        attacker.start()
        time.sleep(3)  # the connections are open and dripping
        waits, refused, total = [], 0, 0
        transport = httpx.HTTPTransport(local_address="127.0.0.2", retries=0)
        with httpx.Client(transport=transport, auth=service.auth, timeout=30) as other:
            end = time.monotonic() + seconds - 5
            while time.monotonic() < end:
                t0 = time.perf_counter()
                try:
                    r = other.get(
                        f"http://127.0.0.1:{service.port}/v3/appendix/user_data",
                        headers={"Connection": "close"},
                    )
                    ok = r.status_code == 200 and r.json()["status_code"] == 20000
                except httpx.TransportError:
                    ok = False
                waits.append(time.perf_counter() - t0)
                total += 1
                refused += not ok
                time.sleep(0.1)
        attacker.join()
        print(
            f"slow bodies: {opened[0]} connections from 127.0.0.1 dripping a byte every 5 s; another address's "
            f"requests refused {refused} of {total}, its wait p50 {pct(waits, 50) * 1000:.0f} ms, "
            f"worst {max(waits) * 1000:.0f} ms"
        )
    finally:
        service.stop()


def _heaviest(corpus: Corpus, short: bool) -> list[tuple[str, list[dict]]]:
    """Account A's heaviest reads: 10 targets of 10 common words each; with ``short``, a two-letter substring
    too (a scan of every text, before it was refused)."""
    words = corpus.words[:100]
    groups = [
        {"key": f"g{i}", "target": [{"keyword": w} for w in words[i * 10 : i * 10 + 10]]} for i in range(10)
    ]
    reads = [("multi_target_metrics", [{"targets": groups, "internal_list_limit": 10}])]
    if short:
        substring = [{"keyword": "ka", "match_type": "partial_match", "search_scope": ["answer"]}]
        reads.append(("target_metrics", [{"target": substring, "internal_list_limit": 10}]))
    return reads


def contention(dialect: str, clients: int, *, answers: int = 20_000, seconds: float = 20.0) -> None:
    """``clients`` of account A sending its heaviest reads, one after another each, while B reads; with more
    clients than A's share of heavy reads the rest are refused, so A's load is what it is allowed."""
    pg_name = f"llmr_contention_{uuid.uuid4().hex[:8]}"
    # DataForSEO's rate limit (2,000 calls a minute per account), not the harness's unlimited one
    env = {"LLM_RESPONSES_LOCAL_MODEL": "off", "LLM_RESPONSES_RATE_LIMIT_PER_MINUTE": "2000"}
    if dialect == "postgres":
        asyncio.run(_admin(f'CREATE DATABASE "{pg_name}"'))
        env["LLM_RESPONSES_DATABASE_URL"] = ADMIN.rsplit("/", 1)[0] + "/" + pg_name
    service = Service(None, **env)
    corpus_data.DAYS = 25  # answers from the last 25 days: none is past the 30-day retention and purged
    try:
        corpus = Corpus(random.Random(7))
        if dialect == "sqlite":
            load_sqlite(service.env["LLM_RESPONSES_DATABASE_URL"][len("sqlite:///") :], corpus, answers, 1)
        else:
            asyncio.run(load_postgres(env["LLM_RESPONSES_DATABASE_URL"], corpus, answers, 1))
        light = service.create_account("light", "10")
        heavy_reads = _heaviest(corpus, short=clients > 2)
        codes: dict[int, int] = {}
        stop = threading.Event()

        def heavy(i: int) -> None:
            with httpx.Client(base_url=service.url, auth=service.auth, timeout=120) as http:
                while not stop.is_set():
                    function, body = heavy_reads[i % len(heavy_reads)]
                    try:
                        r = http.post(f"/v3/ai_optimization/llm_mentions/{function}/live", json=body)
                        out = r.json()
                        code = (out.get("tasks") or [{}])[0].get("status_code") or out["status_code"]
                    except httpx.TransportError:
                        code = 0  # the connection failed
                    except (ValueError, KeyError):
                        code = -r.status_code  # no envelope: the HTTP status, negated
                    codes[code] = codes.get(code, 0) + 1

        threads = [threading.Thread(target=heavy, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        time.sleep(1)
        waits, failed = [], 0
        with httpx.Client(base_url=service.url, auth=light, timeout=120) as b:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                t0 = time.perf_counter()
                try:
                    r = b.get("/v3/appendix/user_data")
                    failed += not (r.status_code == 200 and r.json()["status_code"] == 20000)
                except httpx.TransportError:
                    failed += 1
                waits.append(time.perf_counter() - t0)
                time.sleep(0.05)  # B within its own rate limit (2,000 a minute)
        stop.set()
        for t in threads:
            t.join()
        print(
            f"contention ({dialect}, {answers:,} answers, {clients} clients of A): B's user_data p50 "
            f"{pct(waits, 50) * 1000:.0f} ms, p99 {pct(waits, 99) * 1000:.0f} ms, worst {max(waits) * 1000:.0f} ms, "
            f"{failed} of {len(waits)} failed; A's reads by status {dict(sorted(codes.items()))}"
        )
    finally:
        service.stop()
        if dialect == "postgres":
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=["body", "slow-body", "contention", "all"], default="all")
    ap.add_argument("--backlog", type=int, default=5000)
    args = ap.parse_args()
    if args.case in ("body", "all"):
        bodies_and_fairness(args.backlog)
    if args.case in ("slow-body", "all"):
        slow_bodies()
    if args.case in ("contention", "all"):
        for dialect in ("sqlite", "postgres"):
            for clients in (2, 40):
                contention(dialect, clients)


if __name__ == "__main__":
    main()
