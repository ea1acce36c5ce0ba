"""Projects over REST (``/v3/tracking``): saved, listed, replaced, paused and deleted in DataForSEO's
envelope; a project that cannot post is refused with 40501 naming the field, before anything is stored."""

from __future__ import annotations

import pytest

from tests.tracking.conftest import spec

T = "/v3/tracking"


async def test_a_project_is_created_then_replaced_and_listed(harness):
    alice = await harness.account()
    body = await harness.post(f"{T}/projects", alice, [spec()])
    assert (body["status_code"], body["tasks_count"], body["tasks_error"]) == (20000, 1, 0)
    task = body["tasks"][0]
    assert (task["status_code"], task["status_message"]) == (20100, "Task Created.")
    assert task["path"] == ["v3", "tracking", "projects"]
    assert task["data"] == {"api": "tracking", "function": "projects", "name": "parks"}
    project = task["result"][0]
    assert project["name"] == "parks" and project["version"] == 1 and project["tasks_per_run"] == 3
    assert project["own_brand"] == "Disneyland Paris" and not project["paused"]
    assert project["next_run_at"].endswith("+00:00")  # tomorrow (or today) 09:00 Paris, in UTC
    assert project["spec"]["models"] == {"chat_gpt": ["gpt-4.1-mini"]}

    again = await harness.post(f"{T}/projects", alice, [spec(repeats=2)])
    assert again["tasks"][0]["status_code"] == 20000  # replaced, not created
    assert again["tasks"][0]["result"][0]["version"] == 2
    assert again["tasks"][0]["result"][0]["next_run_at"] == project["next_run_at"]  # same schedule

    listed = await harness.get(f"{T}/projects", alice)
    assert [p["name"] for p in listed["tasks"][0]["result"]] == ["parks"]
    one = await harness.get(f"{T}/projects/parks", alice)
    assert one["tasks"][0]["result"][0]["tasks_per_run"] == 6 and one["tasks"][0]["result"][0]["runs"] == []


async def test_another_account_sees_none_of_it(harness):
    alice, bob = await harness.account("alice"), await harness.account("bob")
    await harness.post(f"{T}/projects", alice, [spec()])
    assert (await harness.get(f"{T}/projects", bob))["tasks"][0]["result"] == []
    got = await harness.get(f"{T}/projects/parks", bob)
    assert (got["status_code"], got["tasks"][0]["status_code"]) == (20000, 40400)
    assert got["tasks"][0]["status_message"] == "Not Found: project 'parks'."
    assert (await harness.post(f"{T}/projects/parks/run", bob, None))["tasks"][0]["status_code"] == 40400
    assert (await harness.post(f"{T}/projects/parks/delete", bob, None))["tasks"][0]["status_code"] == 40400


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"models": {"chat_gpt": "gpt-4.1-minii"}}, "model_name", "models.chat_gpt = 'gpt-4.1-minii'"),
        ({"engines": ["chat_gpt", "bing"]}, "engines", "unknown engine bing"),
        ({"prompts": []}, "prompts", "at least 1"),
        ({"name": "../etc"}, "name", "letters, digits"),
        ({"countries": ["XX"]}, "countries", "XX"),
        ({"schedule": {"every": "cron", "cron": "61 * * * *"}}, "schedule", "cron"),
        ({"schedule": {"every": "day", "timezone": "Mars/Olympus"}}, "schedule", "Mars/Olympus"),
        ({"brands": [{"name": "A", "own": True}, {"name": "B", "own": True}]}, "project", "own"),
        ({"alerts": {"webhooks": [{"url": "http://127.0.0.1:9/hook"}]}}, "alerts.webhooks.url", "127.0.0.1"),
        ({"repeats": 11}, "repeats", "10"),
        ({"budget_usd_monthly": -1}, "budget_usd_monthly", "greater than 0"),
        ({"surprise": 1}, "surprise", "not permitted"),
    ],
)
async def test_a_project_that_could_not_run_is_refused_naming_the_field(idle_harness, change, field, reason):
    alice = await idle_harness.account()
    body = await idle_harness.post(f"{T}/projects", alice, [spec(**change)])
    task = body["tasks"][0]
    assert task["status_code"] == 40501, task
    assert task["status_message"].startswith(f"Invalid Field: '{field}") and reason in task["status_message"]
    assert (await idle_harness.get(f"{T}/projects", alice))["tasks"][0]["result"] == []


async def test_hostile_bodies_get_envelopes_not_500s(idle_harness):
    alice = await idle_harness.account()
    for body in (["not an object"], [{"name": "x" * 10_000}], [{"prompts": [{"text": "\x00"}]}], [None]):
        r = await idle_harness.client.post(f"{T}/projects", json=body, headers=alice.basic)
        assert r.status_code == 200 and r.json()["tasks"][0]["status_code"] in (40501, 40503), r.text
    r = await idle_harness.client.post(f"{T}/projects", json=[spec()] * 11, headers=alice.basic)
    assert r.json()["status_code"] == 40006
    r = await idle_harness.client.get(f"{T}/projects/{'x' * 300}", headers=alice.basic)
    assert r.json()["tasks"][0]["status_code"] == 40400
    r = await idle_harness.client.get(f"{T}/projects/parks/runs/1e9", headers=alice.basic)
    assert r.json()["tasks"][0]["status_code"] == 40400
    assert (await idle_harness.client.get(f"{T}/projects")).status_code == 401


async def test_pause_unpause_and_delete(idle_harness):
    alice = await idle_harness.account()
    await idle_harness.post(f"{T}/projects", alice, [spec()])
    paused = (await idle_harness.post(f"{T}/projects/parks/pause", alice, None))["tasks"][0]["result"][0]
    assert paused["paused"] and paused["next_run_at"] is None
    again = await idle_harness.post(f"{T}/projects", alice, [spec(description="still paused")])
    assert again["tasks"][0]["result"][0]["paused"] and again["tasks"][0]["result"][0]["next_run_at"] is None
    resumed = (await idle_harness.post(f"{T}/projects/parks/unpause", alice, None))["tasks"][0]["result"][0]
    assert not resumed["paused"] and resumed["next_run_at"]
    deleted = await idle_harness.post(f"{T}/projects/parks/delete", alice, None)
    assert deleted["tasks"][0]["status_code"] == 20000
    assert (await idle_harness.get(f"{T}/projects", alice))["tasks"][0]["result"] == []
