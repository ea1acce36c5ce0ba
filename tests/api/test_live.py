"""live: one task, run now, bounded in time and concurrency, priced base + money_spent."""

import asyncio

from llm_responses.billing.money import to_nanos
from tests.api.seed import SEED_LIVE, SEED_TASK
from tests.api.wire_check import assert_task_error, assert_top_error, assert_wire
from tests.conftest import LLM
from tests.fakes.openai_replies import Reply, error_reply


async def test_seed_live_example(harness, fake_openai):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/live", alice, [SEED_LIVE])
    assert_wire(body, "live")
    task = body["tasks"][0]
    assert (task["status_code"], task["status_message"]) == (20000, "Ok.")
    assert task["path"] == ["v3", "ai_optimization", "chat_gpt", "llm_responses", "live"]
    result = task["result"][0]
    # cost = $0.0006 base + money_spent (seed 003)
    assert round(task["cost"] - result["money_spent"], 9) == 0.0006
    assert body["cost"] == task["cost"]
    assert fake_openai.requests[-1]["tools"][0]["user_location"] == {
        "type": "approximate",
        "country": "FR",
        "city": "Paris",
    }
    spent = to_nanos("0.0006") + to_nanos(str(result["money_spent"]))
    assert await harness.balance(alice) == to_nanos("10") - spent
    assert await harness.store.ledger_sum(alice.account_id) == await harness.balance(alice)


async def test_reasoning_model_gets_summaries_and_no_sampling_params(harness, fake_openai):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/live", alice, [{"user_prompt": "riddle", "model_name": "o4-mini"}])
    result = body["tasks"][0]["result"][0]
    assert result["model_name"] == "o4-mini-2025-04-16"
    assert result["items"][0]["type"] == "reasoning"
    assert result["items"][0]["sections"][0]["type"] == "summary_text"
    assert result["reasoning_tokens"] == 64
    sent = fake_openai.requests[-1]
    assert sent["reasoning"] == {"summary": "auto"}
    assert "temperature" not in sent and "top_p" not in sent


async def test_force_web_search_requires_the_tool(harness, fake_openai):
    alice = await harness.account()
    await harness.post(f"{LLM}/live", alice, [{**SEED_TASK, "web_search": True, "force_web_search": True}])
    sent = fake_openai.requests[-1]
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["user_location"] == {"type": "approximate"}  # explicit: no US default


async def test_more_than_one_task_is_40000(harness, fake_openai):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/live", alice, [SEED_TASK, SEED_TASK])
    assert_top_error(body, 40000, "You can set only one task at a time.")
    assert fake_openai.requests == []
    assert await harness.balance(alice) == to_nanos("10")


async def test_validation_error_costs_nothing(harness, fake_openai):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/live", alice, [{**SEED_TASK, "model_name": "nope"}])
    assert_wire(body, "live")
    assert_task_error(body, 40501, "Invalid Field: 'model_name'.")
    assert body["cost"] == 0 and fake_openai.requests == []


async def test_upstream_failure_is_50301_and_free(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(error_reply(503, "overloaded", type_="server_error"))
    body = await harness.post(f"{LLM}/live", alice, [SEED_TASK])
    assert_task_error(body, 50301, "3rd Party API Service Unavailable.")
    assert body["cost"] == 0
    assert await harness.balance(alice) == to_nanos("10")
    assert await harness.store.ledger_sum(alice.account_id) == to_nanos("10")


async def test_upstream_invalid_request_names_the_field(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(
        error_reply(
            400, "Unsupported parameter: 'temperature'", param="temperature", code="unsupported_parameter"
        )
    )
    body = await harness.post(f"{LLM}/live", alice, [SEED_TASK])
    assert_task_error(body, 40501, "Invalid Field: 'temperature'.")


async def test_timeout_is_50401_and_free_and_logged(running_with, fake_openai, caplog):
    async with running_with(live_timeout_seconds=0.3) as harness:
        alice = await harness.account()
        fake_openai.enqueue(Reply(body=None, delay=2.0))
        body = await harness.post(f"{LLM}/live", alice, [SEED_TASK])
        assert_task_error(body, 50401, "Internal Error - Timeout.")
        assert await harness.balance(alice) == to_nanos("10")
    assert f"live task {body['tasks'][0]['id']}: no answer from upstream within 0.3s (50401)" in caplog.text


async def test_concurrent_live_calls_are_capped_per_account(running_with, fake_openai):
    async with running_with(live_max_concurrent=2) as harness:
        alice = await harness.account()
        bob = await harness.account("bob")
        fake_openai.latency = 0.3
        bodies = await asyncio.gather(
            *(harness.post(f"{LLM}/live", alice, [SEED_TASK]) for _ in range(4)),
            harness.post(f"{LLM}/live", bob, [SEED_TASK]),
        )
        codes = sorted(b["tasks"][0]["status_code"] for b in bodies[:4])
        assert codes == [20000, 20000, 40209, 40209]
        assert bodies[4]["tasks"][0]["status_code"] == 20000  # another account has its own slots
        refused = next(b for b in bodies if b["tasks"][0]["status_code"] == 40209)
        assert refused["tasks"][0]["status_message"] == "Too many simultaneous queries."


async def test_live_needs_funds_for_the_hold(harness, fake_openai):
    alice = await harness.account(balance="0.001")
    body = await harness.post(f"{LLM}/live", alice, [SEED_TASK])
    assert_task_error(body, 40210)
    assert fake_openai.requests == []


async def test_concurrent_lives_racing_for_the_last_hold_charge_once(harness, fake_openai):
    # both calls read the balance at authentication, before either hold: both pass the early check and
    # start their upstream call; only one hold fits, the other call is cancelled (often before it is sent)
    alice = await harness.account(balance="0.0106")
    account = await harness.store.account_by_id(alice.account_id)
    fake_openai.latency = 0.3
    service = harness.api.service
    tasks = await asyncio.gather(*(service.live(account, "chat_gpt", dict(SEED_TASK), 0.0) for _ in range(2)))
    assert sorted(t["status_code"] for t in tasks) == [20000, 40210]
    balance = await harness.balance(alice)
    assert balance == to_nanos("0.0106") - to_nanos("0.0006") - to_nanos(
        str(next(t for t in tasks if t["result"])["result"][0]["money_spent"])
    )
    assert await harness.store.ledger_sum(alice.account_id) == balance


async def test_live_tasks_are_not_task_get_or_tasks_ready_material(harness):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/live", alice, [SEED_TASK])
    task_id = body["tasks"][0]["id"]
    assert_task_error(await harness.get(f"{LLM}/task_get/{task_id}", alice), 40401)
    assert (await harness.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"] == []
