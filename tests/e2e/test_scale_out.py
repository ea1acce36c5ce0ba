"""Scale-out on PostgreSQL with real processes: 2 API processes, 3 workers, Redis for shared limits, the
fake OpenAI over HTTP. Workers are killed with SIGKILL mid-run and restarted; nothing is lost, nothing is
settled twice, every ledger sums to its balance; concurrent posts never overspend an account."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter

import asyncpg
import httpx
import pytest

from tests import pg
from tests.e2e.processes import Proc, base_env, cli, free_port
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.redisdb import REDIS_URL, flushed_or_skip

POST = "/v3/ai_optimization/chat_gpt/llm_responses/task_post"


def cluster_env(dsn: str, tmp_path, openai_url: str, **extra: str) -> dict[str, str]:
    return base_env(
        LLM_RESPONSES_DATABASE_URL=dsn,
        LLM_RESPONSES_SECRET_KEY_FILE=str(tmp_path / "cluster.key"),
        LLM_RESPONSES_REDIS_URL=REDIS_URL,
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=openai_url,
        LLM_RESPONSES_OPENAI_MAX_RETRIES="0",
        LLM_RESPONSES_WORKER_LEASE_SECONDS="2",
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.5",
        LLM_RESPONSES_MAINTENANCE_INTERVAL_SECONDS="0.5",
        LLM_RESPONSES_WEBHOOK_ALLOWLIST="127.0.0.1/32",
        LLM_RESPONSES_WEBHOOK_POLL_SECONDS="0.5",
        LLM_RESPONSES_RATE_LIMIT_PER_MINUTE="100000",
        LLM_RESPONSES_POSTGRES_POOL_SIZE="5",
        **extra,
    )


@pytest.fixture
async def cluster(pg_databases, fake_openai, tmp_path):
    await pg.require()
    await flushed_or_skip()
    dsn = await pg_databases.new()
    env = cluster_env(dsn, tmp_path, fake_openai.base_url)
    apis = [
        Proc(["serve", "--no-worker", "--port", str(port)], env, port) for port in (free_port(), free_port())
    ]
    workers = [Proc(["worker", "--concurrency", "32"], env) for _ in range(3)]
    yield dsn, env, apis, workers
    for p in apis + workers:
        p.stop()


async def test_killed_workers_lose_nothing_and_settle_everything_once(cluster, fake_openai, rng):
    dsn, env, apis, workers = cluster
    creds = json.loads(cli(env, "accounts", "create", "load", "--balance", "1000", "--json"))
    receiver = WebhookReceiver().start()
    fake_openai.latency = 0.05
    try:
        for p in apis + workers:
            p.start()
        task = {
            "model_name": "gpt-4.1-mini",
            "user_prompt": "hello",
            "pingback_url": receiver.url("/ping?id=$id"),
        }
        async with httpx.AsyncClient(auth=(creds["login"], creds["password"]), timeout=60) as http:
            posts = [http.post(apis[i % 2].url + POST, json=[task] * 100) for i in range(20)]

            async def chaos() -> None:
                for victim in rng.sample(workers, 2):
                    await asyncio.sleep(rng.uniform(0.2, 1.5))
                    victim.kill(signal.SIGKILL)
                    await asyncio.sleep(0.3)
                    await asyncio.to_thread(victim.start)

            answers, _ = await asyncio.gather(asyncio.gather(*posts), chaos())
        ids = [t["id"] for r in answers for t in r.json()["tasks"]]
        assert len(ids) == len(set(ids)) == 2000
        conn = await asyncpg.connect(dsn)
        try:
            deadline = time.monotonic() + 180
            while await conn.fetchval("SELECT COUNT(*) FROM tasks WHERE status = 'done'") < 2000:
                assert time.monotonic() < deadline, "tasks lost after the workers were killed"
                await asyncio.sleep(0.2)
            per_task = await conn.fetch(
                "SELECT task_id, COUNT(*) FILTER (WHERE kind = 'base') AS base, COUNT(*) FILTER (WHERE kind = 'prepay') AS prepay, "
                "COUNT(*) FILTER (WHERE kind IN ('refund', 'overage')) AS settle FROM ledger WHERE task_id IS NOT NULL GROUP BY task_id"
            )
            assert len(per_task) == 2000
            assert all((r["base"], r["prepay"], r["settle"]) == (1, 1, 1) for r in per_task), (
                "a task was charged twice"
            )
            balance, ledger = await conn.fetchrow(
                "SELECT balance, (SELECT SUM(amount) FROM ledger WHERE account_id = accounts.id) FROM accounts"
            )
            assert balance == ledger
            assert (
                await conn.fetchval(
                    "SELECT COUNT(*) FROM tasks WHERE status = 'running' OR lease_owner IS NOT NULL"
                )
                == 0
            )
            # webhooks: exactly one delivery per task succeeded in the database ...
            while await conn.fetchval("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'") < 2000:
                assert time.monotonic() < deadline, "deliveries lost after the workers were killed"
                await asyncio.sleep(0.2)
            assert await conn.fetchval("SELECT COUNT(*) FROM deliveries") == 2000
        finally:
            await conn.close()
        # ... and the receiver saw every task; a delivery interrupted by SIGKILL between the receiver's answer
        # and its record may arrive again, with the same X-LLMR-Delivery-Id (at least once, documented)
        seen = Counter(r.query.removeprefix("id=") for r in receiver.received)
        assert set(seen) == set(ids)
        repeated = {
            r.headers["x-llmr-delivery-id"]
            for r in receiver.received
            if seen[r.query.removeprefix("id=")] > 1
        }
        assert len(repeated) == sum(1 for n in seen.values() if n > 1)  # repeats are the same delivery again
    finally:
        receiver.stop()


async def test_killed_workers_with_batching_lose_nothing_and_send_nothing_twice(
    pg_databases, fake_openai_batch, tmp_path, rng
):
    """TASK_POST_BATCH on: workers gather queued tasks into vendor batches, and are killed with SIGKILL
    while they gather, submit, poll and settle. Every task settles once, none is sent in two batches."""
    await pg.require()
    await flushed_or_skip()
    dsn = await pg_databases.new()
    env = cluster_env(
        dsn, tmp_path, fake_openai_batch.base_url,
        LLM_RESPONSES_TASK_POST_BATCH="on", LLM_RESPONSES_BATCH_MAX_AGE_SECONDS="0.5",
        LLM_RESPONSES_BATCH_POLL_SECONDS="0.2", LLM_RESPONSES_BATCH_LEASE_SECONDS="2",
    )  # fmt: skip
    fake_openai_batch.batches.polls_to_finish = 3
    api = Proc(["serve", "--no-worker", "--port", str(port := free_port())], env, port)
    workers = [Proc(["worker", "--concurrency", "32"], env) for _ in range(3)]
    creds = json.loads(cli(env, "accounts", "create", "load", "--balance", "1000", "--json"))
    try:
        for p in [api, *workers]:
            p.start()
        task = {"model_name": "gpt-4.1-mini", "user_prompt": "hello"}
        async with httpx.AsyncClient(auth=(creds["login"], creds["password"]), timeout=60) as http:

            async def posts() -> list[str]:
                out = []
                for _ in range(10):
                    r = await http.post(api.url + POST, json=[task] * 100)
                    out += [t["id"] for t in r.json()["tasks"]]
                    await asyncio.sleep(0.1)
                return out

            async def chaos() -> None:
                for _ in range(4):
                    await asyncio.sleep(rng.uniform(0.3, 1.2))
                    victim = rng.choice(workers)
                    victim.kill(signal.SIGKILL)
                    await asyncio.sleep(0.2)
                    await asyncio.to_thread(victim.start)

            ids, _ = await asyncio.gather(posts(), chaos())
        assert len(set(ids)) == 1000
        conn = await asyncpg.connect(dsn)
        try:
            deadline = time.monotonic() + 180
            while await conn.fetchval("SELECT COUNT(*) FROM tasks WHERE status = 'done'") < 1000:
                assert time.monotonic() < deadline, "tasks lost after the workers were killed"
                await asyncio.sleep(0.2)
            per_task = await conn.fetch(
                "SELECT task_id, COUNT(*) FILTER (WHERE kind = 'base') AS base, COUNT(*) FILTER (WHERE kind = 'prepay') AS prepay, "
                "COUNT(*) FILTER (WHERE kind IN ('refund', 'overage')) AS settle FROM ledger WHERE task_id IS NOT NULL GROUP BY task_id"
            )
            assert all((r["base"], r["prepay"], r["settle"]) == (1, 1, 1) for r in per_task), "charged twice"
            balance, ledger = await conn.fetchrow(
                "SELECT balance, (SELECT SUM(amount) FROM ledger WHERE account_id = accounts.id) FROM accounts"
            )
            assert balance == ledger
            batched = await conn.fetchval("SELECT COUNT(*) FROM tasks WHERE batch_saved > 0")
        finally:
            await conn.close()
        sent = Counter(line.custom_id for b in fake_openai_batch.batches.batches.values() for line in b.lines)
        assert max(sent.values()) == 1, "a task was sent in two vendor batches"
        assert batched == len(sent) > 0  # what went through a batch settled at its price; the rest direct
    finally:
        for p in [api, *workers]:
            p.stop()


async def test_parallel_posts_through_two_api_processes_never_overspend(cluster):
    dsn, env, apis, _ = cluster
    charge = 0.0102
    creds = json.loads(
        cli(env, "accounts", "create", "tight", "--balance", f"{17 * charge + 0.005:.4f}", "--json")
    )
    for p in apis:
        p.start()
    task = {"model_name": "gpt-4.1-mini", "user_prompt": "hello"}
    async with httpx.AsyncClient(auth=(creds["login"], creds["password"]), timeout=60) as http:
        answers = await asyncio.gather(*(http.post(apis[i % 2].url + POST, json=[task]) for i in range(50)))
    codes = Counter(r.json()["tasks"][0]["status_code"] for r in answers)
    assert codes == {20100: 17, 40210: 33}
    shown = json.loads(cli(env, "accounts", "show", "tight", "--json"))
    assert shown["balance"] == "0.005" and shown["ledger_sum"] == shown["balance"]


async def test_the_live_limit_is_shared_across_api_processes(cluster, fake_openai):
    dsn, env, apis, _ = cluster
    env["LLM_RESPONSES_LIVE_MAX_CONCURRENT"] = "3"
    creds = json.loads(cli(env, "accounts", "create", "lively", "--balance", "10", "--json"))
    for p in apis:
        p.start()
    fake_openai.latency = 1.0
    task = {"model_name": "gpt-4.1-mini", "user_prompt": "hello"}
    async with httpx.AsyncClient(auth=(creds["login"], creds["password"]), timeout=60) as http:
        live = "/v3/ai_optimization/chat_gpt/llm_responses/live"
        answers = await asyncio.gather(*(http.post(apis[i % 2].url + live, json=[task]) for i in range(8)))
    codes = Counter(r.json()["tasks"][0]["status_code"] for r in answers)
    assert codes == {20000: 3, 40209: 5}


async def test_sigterm_stops_claiming_and_hands_running_tasks_back_within_the_grace(cluster, fake_openai):
    dsn, env, apis, workers = cluster
    env["LLM_RESPONSES_SHUTDOWN_GRACE_SECONDS"] = "0.5"
    creds = json.loads(cli(env, "accounts", "create", "calm", "--balance", "10", "--json"))
    fake_openai.latency = 3.0  # nothing finishes within the grace
    apis[0].start()
    first = workers[0].start()
    async with httpx.AsyncClient(auth=(creds["login"], creds["password"]), timeout=60) as http:
        await http.post(apis[0].url + POST, json=[{"model_name": "gpt-4.1-mini", "user_prompt": "hi"}] * 5)
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + 20
        while await conn.fetchval("SELECT COUNT(*) FROM tasks WHERE status = 'running'") < 5:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        started = time.monotonic()
        assert first.kill(signal.SIGTERM) == 0
        assert time.monotonic() - started < 5
        assert (
            await conn.fetchval("SELECT COUNT(*) FROM tasks WHERE status = 'queued' AND lease_owner IS NULL")
            == 5
        )
        fake_openai.latency = 0.0
        workers[1].start()
        while await conn.fetchval("SELECT COUNT(*) FROM tasks WHERE status = 'done'") < 5:
            assert time.monotonic() < deadline + 20
            await asyncio.sleep(0.1)
        assert await conn.fetchval("SELECT SUM(amount) FROM ledger") == await conn.fetchval(
            "SELECT SUM(balance) FROM accounts"
        )
    finally:
        await conn.close()
    async with httpx.AsyncClient() as http:
        # the first worker said goodbye when it stopped; the second one's heartbeat makes the API ready
        ready = await http.get(apis[0].url + "/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "database": "ok", "migrations": "current", "workers": 1}
