"""The demo project: a tracking project whose past days are answered for real, once per database, with
its money and dates on those days; the mentions index and the LLM Mentions endpoints then show it day by
day, and its own schedule goes on from tomorrow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llm_responses.cli.demo_data import DEMO_BRANDS, PROJECT, seed

MENTIONS = "/v3/ai_optimization/llm_mentions"


async def test_seed_answers_prompts_on_past_days_once(running_with):
    async with running_with(brands=[b.model_dump() for b in DEMO_BRANDS]) as h:
        alice = await h.account()
        prompts = [("Disneyland Paris or Parc Astérix?", ("comparison",)), ("Is Futuroscope fun?", ())]
        # the fake OpenAI stands in for the embedded model here: gpt-4.1-mini is served on chat_gpt only
        stored = await seed(h.api, login="alice", days=3, prompts=prompts, model="gpt-4.1-mini")
        assert stored == 3 * len(prompts)
        assert await seed(h.api, login="alice", days=3, prompts=prompts, model="gpt-4.1-mini") == 0  # once
        assert await seed(h.api, login="alice", days=3, prompts=prompts, model="no-such-model") == 0

        today = datetime.now(UTC).date()
        body = await h.post(
            f"{MENTIONS}/timeseries_delta/live",
            alice,
            [
                {
                    "target": [{"keyword": "Disneyland"}],
                    "platform": "chat_gpt",
                    "date_from": (today - timedelta(days=3)).isoformat(),
                    "date_to": today.isoformat(),
                    "group_range": "day",
                }
            ],
        )
        items = body["tasks"][0]["result"][0]["items"]
        by_day = {i["date"]: i["delta_mentions"] for i in items}
        # one answer naming Disneyland on each of the three past days (the fake echoes the prompt), none today
        assert by_day[(today - timedelta(days=3)).isoformat()] == 1
        assert by_day[(today - timedelta(days=2)).isoformat()] == 0
        assert by_day[today.isoformat()] == -1
        brands = await h.post(
            f"{MENTIONS}/top_mentioned_brands/live",
            alice,
            [{"target": [{"keyword": "answer"}], "platform": "chat_gpt"}],
        )
        names = {i["brand"]: i["total"]["mentions"] for i in brands["tasks"][0]["result"][0]["items"]}
        assert names == {"Disneyland Paris": 3, "Parc Astérix": 3, "Futuroscope": 3}


async def test_the_demo_is_a_scheduled_project_whose_history_is_dated_on_its_days(harness):
    alice = await harness.account()
    prompts = [("Disneyland Paris or Parc Astérix?", ())]
    assert await seed(harness.api, login="alice", days=2, prompts=prompts, model="gpt-4.1-mini") == 2
    project = await harness.store.tracking.project(alice.account_id, PROJECT)
    assert project.next_run_at > datetime.now(UTC).timestamp()  # its schedule goes on, tomorrow 06:00 UTC
    runs = sorted(await harness.store.tracking.runs(project.id), key=lambda r: r.scheduled_for)
    assert [(r.trigger, r.status, r.tasks) for r in runs] == [("demo", "done", 1), ("demo", "done", 1)]
    for run in runs:  # started, answered and finished on its own day
        day = datetime.fromtimestamp(run.scheduled_for, UTC).date()
        assert datetime.fromtimestamp(run.finished_at, UTC).date() == day
    tasks = {r.id: r for r in await harness.store.finished_tasks(alice.account_id, limit=10)}
    assert len(tasks) == 2
    for entry in await harness.store.ledger_entries(alice.account_id):
        if entry.task_id:  # every ledger row of a demo task is dated on the task's own day
            task = tasks[entry.task_id]
            assert (
                datetime.fromtimestamp(entry.created_at, UTC).date()
                == datetime.fromtimestamp(task.created_at, UTC).date()
            )
            assert (
                datetime.fromtimestamp(task.finished_at, UTC).date()
                == datetime.fromtimestamp(task.created_at, UTC).date()
            )
    user_data = await harness.get("/v3/appendix/user_data", alice)
    today = user_data["tasks"][0]["result"][0]["money"]["statistics"]["day"]["total"]
    assert today == 0  # nothing was spent today: the history's money is on its own days
