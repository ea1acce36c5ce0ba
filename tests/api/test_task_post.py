"""task_post: per-task validation, the 100-task limit, prepayment, the data echo."""

from llm_responses.billing.money import to_nanos
from tests.api.seed import SEED_TASK
from tests.api.wire_check import assert_wire
from tests.conftest import LLM


async def test_seed_example_creates_a_task_with_the_documented_envelope(harness):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    assert_wire(body, "task_post")
    assert (body["status_code"], body["status_message"], body["cost"], body["tasks_error"]) == (
        20000,
        "Ok.",
        0.0102,
        0,
    )
    task = body["tasks"][0]
    assert (task["status_code"], task["status_message"], task["cost"]) == (20100, "Task Created.", 0.0102)
    assert task["result"] is None and task["result_count"] == 0
    assert task["path"] == ["v3", "ai_optimization", "chat_gpt", "llm_responses", "task_post"]
    assert task["data"] == {
        "api": "ai_optimization",
        "function": "llm_responses",
        "se": "chat_gpt",
        **SEED_TASK,
    }
    assert len(task["id"]) == 36 and task["id"].count("-") == 4


async def test_one_bad_task_does_not_reject_the_others(harness):
    alice = await harness.account()
    body = await harness.post(
        f"{LLM}/task_post", alice, [SEED_TASK, {**SEED_TASK, "temperature": 9}, SEED_TASK]
    )
    assert_wire(body, "task_post")
    codes = [t["status_code"] for t in body["tasks"]]
    assert codes == [20100, 40501, 20100]
    assert body["tasks"][1]["status_message"] == "Invalid Field: 'temperature'."
    assert body["tasks"][1]["data"]["temperature"] == 9  # the echo shows what was posted
    assert body["tasks_error"] == 1
    assert body["cost"] == 0.0204
    assert await harness.balance(alice) == to_nanos("10") - 2 * to_nanos("0.0102")


async def test_more_than_100_tasks_is_one_40006_for_the_whole_post(idle_harness):
    harness = idle_harness
    alice = await harness.account(balance="100")
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK] * 103)
    assert (body["status_code"], body["status_message"]) == (
        40006,
        "You can set no more than 100 tasks at a time.",
    )
    assert body["tasks_count"] == 0 and body["tasks"] == []
    assert await harness.balance(alice) == to_nanos("100")  # nothing accepted
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK] * 100)
    assert [t["status_code"] for t in body["tasks"]] == [20100] * 100


async def test_tasks_the_balance_cannot_cover_get_40210(harness):
    alice = await harness.account(balance="0.025")  # covers two tasks of $0.0102
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK] * 3)
    codes = [t["status_code"] for t in body["tasks"]]
    assert codes == [20100, 20100, 40210]
    assert (
        body["tasks"][2]["status_message"]
        == "Insufficient funds. Your account's balance is too low to complete this request."
    )
    assert await harness.balance(alice) == to_nanos("0.025") - 2 * to_nanos("0.0102")


async def test_explicit_nulls_from_the_official_client_mean_not_provided(harness):
    alice = await harness.account()
    task = {
        **SEED_TASK,
        "max_output_tokens": None,
        "temperature": None,
        "top_p": None,
        "web_search": None,
        "force_web_search": None,
        "web_search_country_iso_code": None,
        "web_search_city": None,
        "postback_url": None,
        "pingback_url": None,
        "tag": None,
    }
    body = await harness.post(f"{LLM}/task_post", alice, [task])
    assert body["tasks"][0]["status_code"] == 20100
    assert "temperature" not in body["tasks"][0]["data"]


async def test_a_single_object_body_is_one_task(harness):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/task_post", alice, SEED_TASK)
    assert [t["status_code"] for t in body["tasks"]] == [20100]


async def test_bearer_token_works_like_basic(harness):
    alice = await harness.account()
    r = await harness.client.post(f"{LLM}/task_post", json=[SEED_TASK], headers=alice.bearer)
    assert r.status_code == 200 and r.json()["tasks"][0]["status_code"] == 20100


async def test_task_ids_are_unique_and_time_ordered(idle_harness):
    harness = idle_harness
    alice = await harness.account(balance="100")
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK] * 50)
    ids = [t["id"] for t in body["tasks"]]
    assert len(set(ids)) == 50
    assert ids == sorted(ids)
