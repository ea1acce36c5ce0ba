"""Tracking with real processes on PostgreSQL, projects applied with the CLI: a worker killed with SIGKILL
in the middle of a run loses nothing, answers no cell twice and charges every task once; a project on four
engines with a one-minute schedule runs exactly once a minute on two workers, and what changed between
its runs reaches a webhook receiver as alerts."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time

import asyncpg
import pytest

from tests import pg
from tests.e2e.processes import CLI, Proc, cli, free_port
from tests.e2e.test_scale_out import cluster_env
from tests.fakes.openai_replies import Reply, error_reply
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.redisdb import flushed_or_skip

pytestmark = pytest.mark.e2e

PROJECT = """
name = "parks"
engines = ["chat_gpt"]
repeats = 2
web_search = false

[models]
chat_gpt = "gpt-4.1-mini"

[[brands]]
name = "Disneyland Paris"
own = true
"""


def track(env: dict[str, str], url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "track", *args, "--url", url], env=env, capture_output=True, text=True, timeout=120
    )


async def test_a_worker_killed_mid_run_loses_nothing_and_answers_nothing_twice(
    pg_databases, fake_openai, tmp_path
):
    await pg.require()
    await flushed_or_skip()
    dsn = await pg_databases.new()
    env = cluster_env(dsn, tmp_path, fake_openai.base_url, LLM_RESPONSES_TRACKING_POLL_SECONDS="0.5")
    fake_openai.latency = 0.2
    creds = json.loads(cli(env, "accounts", "create", "tracker", "--balance", "50", "--json"))
    env |= {"LLM_RESPONSES_LOGIN": creds["login"], "LLM_RESPONSES_PASSWORD": creds["password"]}
    prompts = "".join(f'\n[[prompts]]\ntext = "Theme park question {i}?"\n' for i in range(30))
    (tmp_path / "parks.toml").write_text(PROJECT + prompts)
    api = Proc(["serve", "--no-worker", "--port", str(port := free_port())], env, port)
    workers = [Proc(["worker", "--concurrency", "8"], env) for _ in range(2)]
    try:
        for p in (api, *workers):
            p.start()
        applied = track(env, api.url, "apply", str(tmp_path / "parks.toml"))
        assert applied.returncode == 0, applied.stderr
        assert "parks: created; 60 tasks a run; next run only when run by hand" in applied.stdout
        started = track(env, api.url, "run", "parks")
        assert started.returncode == 0 and "60 tasks posted" in started.stdout, started.stderr
        await asyncio.sleep(0.8)
        workers[0].kill(signal.SIGKILL)  # mid-run: some tasks of it running under its leases
        await asyncio.sleep(0.5)
        await asyncio.to_thread(workers[0].start)
        conn = await asyncpg.connect(dsn)
        try:
            deadline = time.monotonic() + 120
            while (status := await conn.fetchval("SELECT status FROM project_runs")) != "done":
                assert time.monotonic() < deadline, f"the run is still {status}"
                await asyncio.sleep(0.3)
            assert await conn.fetchval("SELECT COUNT(*) FROM project_runs") == 1
            cells = await conn.fetch("SELECT prompt_key, status FROM tasks WHERE run_id IS NOT NULL")
            assert len(cells) == 60 and {c["status"] for c in cells} == {"done"}
            assert len({c["prompt_key"] for c in cells}) == 60  # every cell once: none answered twice
            per_task = await conn.fetch(
                "SELECT task_id, COUNT(*) FILTER (WHERE kind = 'base') AS base, COUNT(*) FILTER (WHERE kind = 'prepay') AS prepay, "
                "COUNT(*) FILTER (WHERE kind IN ('refund', 'overage')) AS settle FROM ledger WHERE task_id IS NOT NULL GROUP BY task_id"
            )
            assert len(per_task) == 60 and all(
                (r["base"], r["prepay"], r["settle"]) == (1, 1, 1) for r in per_task
            )
            cost, spent = await conn.fetchrow(
                "SELECT cost, (SELECT -SUM(amount) FROM ledger WHERE task_id IS NOT NULL) FROM project_runs"
            )
            assert cost == spent
        finally:
            await conn.close()
        shown = track(env, api.url, "runs", "parks")
        assert shown.returncode == 0 and "\tdone\t60 tasks\t$" in shown.stdout, shown.stdout
    finally:
        for p in (api, *workers):
            p.stop()


MINUTELY = """
name = "minutely"
engines = ["chat_gpt", "claude", "gemini", "perplexity"]
web_search = false

[models]
chat_gpt = "gpt-4.1-mini"
claude = "claude-haiku-4-5"
gemini = "gemini-2.5-flash"
perplexity = "sonar"

[schedule]
every = "cron"
cron = "* * * * *"
timezone = "Europe/Paris"

[[prompts]]
text = "Is Disneyland Paris worth a weekend?"

[[prompts]]
text = "Disneyland Paris for teenagers: yes or no?"

[[prompts]]
text = "How crowded is Disneyland Paris in winter?"

[[brands]]
name = "Disneyland Paris"
own = true

[[brands]]
name = "Parc Astérix"

[[brands]]
name = "Futuroscope"

[alerts]
visibility_drop_points = 10

[[alerts.webhooks]]
url = "{hook}"
format = "json"
"""


async def test_a_minute_schedule_runs_twice_in_two_minutes_on_two_workers_and_its_alerts_arrive(
    pg_databases, fake_openai, fake_anthropic, fake_gemini, fake_perplexity, tmp_path
):
    await pg.require()
    await flushed_or_skip()
    dsn = await pg_databases.new()
    env = cluster_env(
        dsn, tmp_path, fake_openai.base_url, LLM_RESPONSES_TRACKING_POLL_SECONDS="1",
        ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=fake_anthropic.base_url,
        GEMINI_API_KEY="AIza-test", LLM_RESPONSES_GEMINI_BASE_URL=fake_gemini.base_url,
        PERPLEXITY_API_KEY="pplx-test", PERPLEXITY_BASE_URL=fake_perplexity.base_url,
    )  # fmt: skip
    creds = json.loads(cli(env, "accounts", "create", "geo", "--balance", "50", "--json"))
    env |= {"LLM_RESPONSES_LOGIN": creds["login"], "LLM_RESPONSES_PASSWORD": creds["password"]}
    receiver = WebhookReceiver().start()
    (tmp_path / "minutely.toml").write_text(MINUTELY.replace("{hook}", receiver.url("/alerts")))
    api = Proc(["serve", "--no-worker", "--port", str(port := free_port())], env, port)
    workers = [Proc(["worker", "--concurrency", "8"], env) for _ in range(2)]
    conn = await asyncpg.connect(dsn)
    try:
        for p in (api, *workers):
            p.start()
        applied = track(env, api.url, "apply", str(tmp_path / "minutely.toml"))
        assert applied.returncode == 0 and "12 tasks a run" in applied.stdout, applied.stderr
        t0 = time.time()
        # the first run answers as the fakes do; the second hears another story: OpenAI's answers name two
        # competitors (one never named before) instead of the own brand, and Perplexity fails every call
        first = await _run_done(conn, 1, deadline=t0 + 90)
        other = "Parc Astérix or Futuroscope are the better choices this winter."  # Futuroscope: named anew
        fake_openai.enqueue(
            *(
                Reply(body=fake_openai.build_response({"model": "gpt-4.1-mini", "input": "x"}, text=other))
                for _ in range(3)
            )
        )
        fake_perplexity.enqueue(*(error_reply(400, "Invalid model", param="model") for _ in range(3)))
        second = await _run_done(conn, 2, deadline=t0 + 150)
        assert first["scheduled_for"] < second["scheduled_for"] <= t0 + 120
        assert second["scheduled_for"] - first["scheduled_for"] == 60
        await asyncio.sleep(max(0.0, t0 + 120 - time.time()))
        runs = await conn.fetch("SELECT period, scheduled_for, tasks, status FROM project_runs ORDER BY id")
        in_window = [r for r in runs if r["scheduled_for"] <= t0 + 120]
        assert len(in_window) == 2 and len({r["period"] for r in runs}) == len(
            runs
        )  # twice, each period once
        assert [(r["tasks"], r["status"]) for r in in_window] == [(12, "done"), (12, "partial")]
        assert await conn.fetchval("SELECT COUNT(*) FROM tasks WHERE run_id IS NOT NULL") == 12 * len(runs)
        kinds = {
            r["kind"] for r in await conn.fetch("SELECT kind FROM alerts WHERE run_id = $1", second["id"])
        }
        assert {"run_failed", "visibility_drop", "new_mention"} <= kinds, kinds
        deadline = time.monotonic() + 30
        while {json.loads(r.body)["kind"] for r in receiver.received} < kinds:
            assert time.monotonic() < deadline, [r.body for r in receiver.received]
            await asyncio.sleep(0.2)
        drop = next(
            json.loads(r.body) for r in receiver.received if json.loads(r.body)["kind"] == "visibility_drop"
        )
        assert drop["brand"] == "Disneyland Paris" and drop["project"] == "minutely"
        assert all(r.headers["x-llmr-alert-id"] for r in receiver.received)
        listed = track(env, api.url, "alerts", "minutely")
        assert listed.returncode == 0 and "visibility_drop" in listed.stdout
    finally:
        await conn.close()
        for p in (api, *workers):
            p.stop()
        receiver.stop()


async def _run_done(conn: asyncpg.Connection, n: int, *, deadline: float) -> asyncpg.Record:
    """The project's n-th run, once it has finished (its alerts evaluated)."""
    while True:
        rows = await conn.fetch("SELECT id, scheduled_for, status FROM project_runs ORDER BY id")
        if len(rows) >= n and rows[n - 1]["status"] not in ("running", "posting"):
            return rows[n - 1]
        assert time.time() < deadline, f"run {n} not finished: {[dict(r) for r in rows]}"
        await asyncio.sleep(0.3)
