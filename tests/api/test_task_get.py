"""task_get and tasks_ready: pending codes, results, collection, isolation, expiry, negative balance."""

import time

import orjson

from llm_responses.billing.money import to_nanos
from tests.api.seed import SEED_TASK
from tests.api.wire_check import assert_task_error, assert_wire
from tests.conftest import LLM


async def post_one(h, creds, task=SEED_TASK) -> str:
    body = await h.post(f"{LLM}/task_post", creds, [task])
    assert body["tasks"][0]["status_code"] == 20100
    return body["tasks"][0]["id"]


async def test_completed_task_has_the_documented_result(harness, fake_openai):
    alice = await harness.account()
    task_id = await post_one(
        harness,
        alice,
        {
            **SEED_TASK,
            "max_output_tokens": 1024,
            "temperature": 0.3,
            "top_p": 0.5,
            "web_search": True,
            "web_search_country_iso_code": "FR",
        },
    )
    body = await harness.wait_done(alice, task_id)
    parsed = assert_wire(body, "task_get")
    task = body["tasks"][0]
    assert (task["status_code"], task["status_message"], task["result_count"]) == (20000, "Ok.", 1)
    assert task["path"][-2:] == ["task_get", task_id]
    assert task["data"]["web_search_country_iso_code"] == "FR"
    result = task["result"][0]
    assert list(result) == [
        "model_name",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "web_search",
        "money_spent",
        "datetime",
        "items",
        "fan_out_queries",
    ]
    assert result["model_name"] == "gpt-4.1-mini-2025-04-14"
    assert result["web_search"] is True
    assert result["fan_out_queries"] == [SEED_TASK["user_prompt"]]
    section = result["items"][0]["sections"][0]
    assert result["items"][0]["type"] == "message" and section["type"] == "text"
    for a in section["annotations"]:
        assert section["text"][a["start_index"] : a["end_index"]] == a["text"]
        assert a["url"] in a["text"]
    assert parsed.tasks[0].result[0].items[0].sections[0].annotations[0].title
    sent = fake_openai.requests[-1]
    assert sent["tools"] == [
        {"type": "web_search", "user_location": {"type": "approximate", "country": "FR"}}
    ]
    assert sent["instructions"] == SEED_TASK["system_message"]
    assert [i["role"] for i in sent["input"]] == ["user", "assistant", "user"]
    assert (sent["temperature"], sent["top_p"], sent["max_output_tokens"]) == (0.3, 0.5, 1024)


async def test_annotations_are_null_without_web_search(harness):
    alice = await harness.account()
    body = await harness.wait_done(alice, await post_one(harness, alice))
    result = body["tasks"][0]["result"][0]
    assert result["items"][0]["sections"][0]["annotations"] is None
    assert result["web_search"] is False and result["fan_out_queries"] is None


async def test_queued_task_answers_40602_and_handed_40601(idle_harness):
    h = idle_harness
    alice = await h.account()
    task_id = await post_one(h, alice)
    body = await h.get(f"{LLM}/task_get/{task_id}", alice)
    assert_wire(body, "task_get")
    assert_task_error(body, 40602, "Task In Queue.")
    assert body["tasks"][0]["data"]["user_prompt"] == SEED_TASK["user_prompt"]
    now = time.time()
    claimed = await h.store.claim_tasks("test-worker", 10, now + 60, now)
    assert [c.id for c in claimed] == [task_id]
    assert_task_error(await h.get(f"{LLM}/task_get/{task_id}", alice), 40601, "Task Handed.")


async def test_unknown_and_foreign_ids_are_not_found(harness):
    alice = await harness.account("alice")
    bob = await harness.account("bob")
    task_id = await post_one(harness, alice)
    await harness.wait_done(alice, task_id)
    for creds, tid in (
        (bob, task_id),
        (alice, "00000000-0000-0000-0000-000000000000"),
        (alice, "not-a-uuid"),
    ):
        body = await harness.get(f"{LLM}/task_get/{tid}", creds)
        assert_wire(body, "task_get")
        assert_task_error(body, 40401, "Task Not Found.")
    ready = await harness.get(f"{LLM}/tasks_ready", bob)
    assert ready["tasks"][0]["result"] == []


async def test_tasks_ready_lists_until_collected(harness):
    alice = await harness.account()
    ids = [await post_one(harness, alice, {**SEED_TASK, "tag": f"t{i}"}) for i in range(3)]
    for tid in ids:  # wait without collecting
        for _ in range(500):
            rec = await harness.store.get_task(alice.account_id, tid)
            if rec.finished_at:
                break
            await __import__("asyncio").sleep(0.01)
    body = await harness.get(f"{LLM}/tasks_ready", alice)
    assert_wire(body, "tasks_ready")
    task = body["tasks"][0]
    assert task["data"] == {"api": "ai_optimization", "function": "tasks_ready", "se": "chat_gpt"}
    items = task["result"]
    assert sorted(i["id"] for i in items) == sorted(ids) and task["result_count"] == 3
    item = next(i for i in items if i["id"] == ids[0])
    assert item["se"] == "chat_gpt" and item["se_type"] == "llm_responses" and item["tag"] == "t0"
    assert item["endpoint"] == f"{LLM}/task_get/{ids[0]}"
    assert item["date_posted"].endswith(" +00:00") and len(item["date_posted"]) == 26
    await harness.get(f"{LLM}/task_get/{ids[0]}", alice)
    left = (await harness.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"]
    assert sorted(i["id"] for i in left) == sorted(ids[1:])


async def test_results_expire_after_retention(running_with):
    async with running_with(result_retention_days=0) as harness:
        alice = await harness.account()
        task_id = await post_one(harness, alice)
        await harness.wait_finished(alice, task_id)
        assert_task_error(await harness.get(f"{LLM}/task_get/{task_id}", alice), 40403, "Results Expired.")
        # after the purge the row is a tombstone, still answering 40403 rather than 40401
        assert await harness.store.purge_results(time.time() + 1) == 1
        assert_task_error(await harness.get(f"{LLM}/task_get/{task_id}", alice), 40403)


async def test_result_is_withheld_while_balance_is_negative(harness):
    alice = await harness.account()
    task_id = await post_one(harness, alice)
    await harness.wait_done(alice, task_id)
    await harness.store.top_up(alice.login, -to_nanos("20"))
    body = await harness.get(f"{LLM}/task_get/{task_id}", alice)
    assert_task_error(body, 40200, "Payment Required.")
    await harness.store.top_up(alice.login, to_nanos("20"))
    body = await harness.get(f"{LLM}/task_get/{task_id}", alice)
    assert body["tasks"][0]["status_code"] == 20000


async def test_stored_result_is_valid_json_per_task(harness):
    alice = await harness.account()
    task_id = await post_one(harness, alice)
    await harness.wait_done(alice, task_id)
    rec = await harness.store.get_task(alice.account_id, task_id)
    assert orjson.loads(rec.result_json)["model_name"] == "gpt-4.1-mini-2025-04-14"
