"""/metrics across processes on PostgreSQL: an API process (``serve --no-worker``) and a ``worker`` sharing
``PROMETHEUS_MULTIPROC_DIR``. The API's scrape counts the upstream calls of both: its own live call and the
task_post the worker ran; the queue and the worker's heartbeat come from the database."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import asyncpg
import httpx

from llm_responses.observability.scrape import CACHE_SECONDS
from tests import pg
from tests.e2e.processes import Proc, base_env, cli, free_port
from tests.metrics_text import Exposition

LLM = "/v3/ai_optimization/chat_gpt/llm_responses"
TASK = {"model_name": "gpt-4.1-mini", "user_prompt": "hello"}
UPSTREAM = "llm_responses_upstream_duration_seconds_count"
OK = {"vendor": "openai", "model": "gpt-4.1-mini", "outcome": "ok"}


async def test_an_api_process_and_a_worker_add_up(pg_databases, fake_openai, tmp_path):
    await pg.require()
    dsn = await pg_databases.new()
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = base_env(
        LLM_RESPONSES_DATABASE_URL=dsn,
        LLM_RESPONSES_SECRET_KEY_FILE=str(tmp_path / "k.key"),
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=fake_openai.base_url,
        LLM_RESPONSES_OPENAI_MAX_RETRIES="0",
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.2",
        LLM_RESPONSES_WORKER_HEARTBEAT_SECONDS="1",
        PROMETHEUS_MULTIPROC_DIR=str(shared),
    )
    creds = json.loads(cli(env, "accounts", "create", "two", "--balance", "10", "--json"))
    port = free_port()
    api = Proc(["serve", "--no-worker", "--port", str(port)], env, port)
    worker = Proc(["worker"], env)
    try:
        api.start()
        async with httpx.AsyncClient(
            base_url=api.url, auth=(creds["login"], creds["password"]), timeout=30
        ) as http:
            unready = await http.get("/readyz")
            assert (
                unready.status_code == 503 and "start `llm-responses worker`" in unready.json()["reasons"][0]
            )
            # a queued task, seen in the queue at scrape time (no worker yet)
            posted = (await http.post(f"{LLM}/task_post", json=[TASK])).json()["tasks"][0]["id"]
            queued = await scrape(http)
            assert queued.value("llm_responses_queue_tasks", engine="chat_gpt", status="queued") == 1
            assert queued.value("llm_responses_workers_alive") == 0
            # the API's own live call
            assert (await http.post(f"{LLM}/live", json=[TASK])).json()["tasks"][0]["status_code"] == 20000
            worker.start()
            await finished(dsn, posted)
            await asyncio.sleep(CACHE_SECONDS)
            both = await scrape(http)
            assert both.value(UPSTREAM, **OK) == 2  # one in each process
            assert both.value("llm_responses_tokens_total", type="output", vendor="openai") > queued.value(
                "llm_responses_tokens_total", type="output", vendor="openai"
            )
            assert both.value("llm_responses_queue_tasks", engine="chat_gpt", status="queued") == 0
            assert both.value("llm_responses_workers_alive") == 1
            assert (await http.get("/readyz")).status_code == 200
            # a worker that stops is no longer counted alive, and its counts stay in the totals
            assert worker.kill(signal.SIGTERM) == 0
            await asyncio.sleep(CACHE_SECONDS)
            after = await scrape(http)
            assert after.value("llm_responses_workers_alive") == 0
            assert after.value(UPSTREAM, **OK) == 2
    finally:
        worker.stop()
        api.stop()


async def scrape(http: httpx.AsyncClient) -> Exposition:
    r = await http.get("/metrics")
    assert r.status_code == 200, r.text
    return Exposition(r.text)


async def finished(dsn: str, task_id: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + 30
        while await conn.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) != "done":
            assert time.monotonic() < deadline, "the worker did not run the task"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
