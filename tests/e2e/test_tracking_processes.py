"""Tracking with real processes on PostgreSQL: a project applied with the CLI, its run started and a
worker killed with SIGKILL in the middle of it; nothing is lost, no cell is answered twice, every task is
charged once, and the run finishes with what the ledger moved."""

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
