"""Runs: each period of a project's schedule runs exactly once whatever the number of schedulers, a
period missed while nothing ran runs once, a run posts through the task queue and finishes when its
answers are in; the monthly budget stops a run before it posts, and a run refused for the balance resumes.
The scheduler's ``tick`` is driven with the times each case needs, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time

from llm_responses.billing.money import to_nanos
from tests.conftest import LLM, Harness, running
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.tracking.conftest import spec

T = "/v3/tracking"


async def _project(h: Harness, creds, **changes):
    body = await h.post(f"{T}/projects", creds, [spec(**changes)])
    assert body["tasks"][0]["status_code"] == 20100, body
    return await h.store.tracking.project(creds.account_id, changes.get("name", "parks"))


async def _settled(h: Harness, run_id: int, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        progress = await h.store.tracking.run_progress(run_id)
        if not any(progress.get(s, (0, 0))[0] for s in ("queued", "running", "batched")):
            await h.indexed()  # a run finishes once its answers are in the mentions index too
            return
        assert time.monotonic() < deadline, progress
        await asyncio.sleep(0.05)


async def test_a_due_period_runs_once_with_two_schedulers_racing(on_both, settings, database_url):
    h = on_both
    alice = await h.account(balance="10")
    project = await _project(h, alice)
    due = project.next_run_at + 1
    async with running(
        settings.updated({"database_url": database_url, "tracking_poll_seconds": 3600})
    ) as other:
        first, second = h.app.state.scheduler, other.app.state.scheduler
        await asyncio.gather(*(s.tick(due) for s in (first, second, first, second)))
    runs = await h.store.tracking.runs(project.id)
    assert [(r.trigger, r.tasks) for r in runs] == [("schedule", 3)]
    assert runs[0].period.startswith(time.strftime("%Y-%m-%d", time.gmtime(project.next_run_at))[:8])
    after = await h.store.tracking.project(alice.account_id, "parks")
    assert after.next_run_at - project.next_run_at in (
        23 * 3600,
        24 * 3600,
        25 * 3600,
    )  # the next day's 09:00
    await h.app.state.scheduler.tick(due + 60)  # the same period again: nothing
    assert len(await h.store.tracking.runs(project.id)) == 1


async def test_missed_periods_run_once_for_the_latest(on_both):
    h = on_both
    alice = await h.account(balance="10")
    project = await _project(h, alice)
    three_days_late = project.next_run_at + 3 * 86400 + 3600
    await h.app.state.scheduler.tick(three_days_late)
    runs = await h.store.tracking.runs(project.id)
    assert len(runs) == 1
    assert runs[0].scheduled_for == project.next_run_at + 3 * 86400  # the latest 09:00, not the first
    after = await h.store.tracking.project(alice.account_id, "parks")
    assert after.next_run_at == project.next_run_at + 4 * 86400


async def test_a_run_posts_tasks_that_answer_and_it_finishes_with_their_cost(on_both):
    h = on_both
    alice = await h.account(balance="10")
    before = await h.balance(alice)
    await _project(h, alice)
    started = await h.post(f"{T}/projects/parks/run", alice, None)
    run = started["tasks"][0]["result"][0]
    assert (started["tasks"][0]["status_code"], run["trigger"], run["status"], run["tasks"]) == (
        20100,
        "manual",
        "running",
        3,
    )
    await _settled(h, run["id"])
    await h.app.state.scheduler.tick(time.time())
    got = (await h.get(f"{T}/projects/parks/runs/{run['id']}", alice))["tasks"][0]["result"][0]
    assert got["status"] == "done" and got["progress"] == {"done": 3} and got["finished_at"]
    spent = before - await h.balance(alice)
    assert to_nanos(str(got["cost"])) == spent  # the run's cost is what the ledger moved
    record = await h.store.tracking.run(run["id"])
    assert record.cost == spent and record.estimate >= spent


async def test_the_monthly_budget_stops_a_run_before_it_posts(on_both):
    h = on_both
    alice = await h.account(balance="10")
    project = await _project(h, alice, budget_usd_monthly="0.02")  # three tasks hold 3 x $0.0102
    await h.app.state.scheduler.tick(project.next_run_at + 1)
    runs = await h.store.tracking.runs(project.id)
    assert [(r.status, r.tasks) for r in runs] == [("over_budget", 0)]
    assert "monthly budget is $0.02" in runs[0].error
    assert await h.balance(alice) == to_nanos("10")
    alerts = await h.store.tracking.alerts(alice.account_id)
    assert [a.kind for a in alerts] == ["over_budget"] and alerts[0].run_id == runs[0].id
    await h.app.state.scheduler.tick(project.next_run_at + 2)  # the period is spent: no second try
    assert len(await h.store.tracking.runs(project.id)) == 1


async def test_a_run_the_balance_could_not_cover_resumes_after_a_top_up(on_both):
    h = on_both
    task = {"user_prompt": "x", "model_name": "gpt-4.1-mini", "web_search": True, "tag": "parks"}
    held = h.api.service.prepare("chat_gpt", task)
    per_task = held.base_price + held.prepayment
    alice = await h.account(balance=str((per_task * 5 // 2) / 1e9))  # two of three tasks
    await _project(h, alice)
    started = (await h.post(f"{T}/projects/parks/run", alice, None))["tasks"][0]["result"][0]
    assert started["tasks"] == 2 and "covered 2 of 3" in started["error"]
    await _settled(h, started["id"])
    await h.store.top_up("alice", to_nanos("1"))
    resumed = await h.post(f"{T}/projects/parks/runs/{started['id']}/resume", alice, None)
    view = resumed["tasks"][0]["result"][0]
    assert (resumed["tasks"][0]["status_code"], view["posted"], view["tasks"], view["error"]) == (
        20100,
        1,
        3,
        None,
    )
    await _settled(h, started["id"])
    await h.app.state.scheduler.tick(time.time())
    assert (await h.store.tracking.run(started["id"])).status == "done"
    again = await h.post(f"{T}/projects/parks/runs/{started['id']}/resume", alice, None)
    assert again["tasks"][0]["status_code"] == 40501  # nothing left to post


async def test_a_background_project_never_delays_a_users_task(harness, fake_openai):
    h = harness
    fake_openai.latency = 0.2
    alice = await h.account(balance="10")
    prompts = [{"text": f"Theme park question number {i}?"} for i in range(12)]
    await _project(h, alice, prompts=prompts, background=True)
    run = (await h.post(f"{T}/projects/parks/run", alice, None))["tasks"][0]["result"][0]
    await asyncio.sleep(0.1)  # the worker has taken its one idle-lane task
    posted = await h.post(f"{LLM}/task_post", alice, [{"user_prompt": "mine", "model_name": "gpt-4.1-mini"}])
    mine = posted["tasks"][0]["id"]
    began = time.monotonic()
    await h.wait_finished(alice, mine)
    waited = time.monotonic() - began
    progress = await h.store.tracking.run_progress(run["id"])
    # mine ran beside the one idle task in flight (one upstream latency), not behind the other eleven
    assert waited < 0.2 * 3, waited
    assert progress.get("done", (0, 0))[0] <= 2, progress
    await _settled(h, run["id"], within=30)
    assert (await h.store.tracking.run_progress(run["id"]))["done"][0] == 12


async def test_with_batching_on_a_run_goes_through_the_vendors_batch_api_at_half_price(
    settings, fake_openai_batch
):
    batched = settings.updated({
        "openai_base_url": fake_openai_batch.base_url, "task_post_batch": "on", "batch_max_age_seconds": 0.2,
        "batch_poll_seconds": 0.05, "batch_lease_seconds": 1.0, "tracking_poll_seconds": 3600,
    })  # fmt: skip
    async with running(batched) as h:
        alice = await h.account(balance="10")
        await _project(h, alice, web_search=False)
        run = (await h.post(f"{T}/projects/parks/run", alice, None))["tasks"][0]["result"][0]
        await _settled(h, run["id"])
        lanes = await h.store.db.read(
            lambda c: c.fetch_composed(
                "SELECT lane, batch_id IS NOT NULL, batch_saved FROM tasks WHERE run_id = $1", [run["id"]], 5
            )
        )
        assert len(lanes) == 3 and all(
            lane == "batch" and in_batch and saved > 0 for lane, in_batch, saved in lanes
        )
        await h.app.state.scheduler.tick(time.time())
        assert (await h.store.tracking.run(run["id"])).status == "done"


async def test_a_runs_alert_reaches_the_projects_webhook_signed(settings):
    receiver = WebhookReceiver().start()
    try:
        changes = {
            "webhook_allowlist": "127.0.0.1/32",
            "webhook_poll_seconds": 0.05,
            "tracking_poll_seconds": 3600,
        }
        async with running(settings.updated(changes)) as h:
            alice = await h.account(balance="10")
            hooks = [{"url": receiver.url("/alerts"), "format": "slack"}]
            await _project(h, alice, budget_usd_monthly="0.01", alerts={"webhooks": hooks})
            run = (await h.post(f"{T}/projects/parks/run", alice, None))["tasks"][0]["result"][0]
            assert run["status"] == "over_budget"
            deadline = time.monotonic() + 10
            while not receiver.received:
                assert time.monotonic() < deadline, "the alert never arrived"
                await asyncio.sleep(0.05)
            got = receiver.received[0]
            body = json.loads(got.body)
            assert "monthly budget" in body["text"] and got.headers["x-llmr-alert-id"]
    finally:
        receiver.stop()
