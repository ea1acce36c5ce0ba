"""DataForSEO's money rules end to end through the worker: prepay, refund, overage, failure, expiry."""

import time

from llm_responses.billing.money import to_nanos
from llm_responses.tasks.maintenance import OVERDUE
from tests.api.seed import SEED_TASK
from tests.api.wire_check import assert_task_error
from tests.conftest import LLM, running
from tests.fakes.openai_replies import error_reply


async def ledger(h, creds) -> list[tuple[str, int]]:
    return [(e.kind.value, e.amount) for e in await h.store.ledger_entries(creds.account_id)]


async def assert_balanced(h, creds) -> None:
    assert await h.store.ledger_sum(creds.account_id) == await h.balance(creds)


async def test_unused_prepayment_is_refunded(harness):
    alice = await harness.account()
    task_id = (await harness.post(f"{LLM}/task_post", alice, [SEED_TASK]))["tasks"][0]["id"]
    result = (await harness.wait_done(alice, task_id))["tasks"][0]["result"][0]
    spent = to_nanos(str(result["money_spent"]))
    assert 0 < spent < to_nanos("0.01")
    assert await harness.balance(alice) == to_nanos("10") - to_nanos("0.0002") - spent
    kinds = [k for k, _ in await ledger(harness, alice)]
    assert kinds == ["topup", "base", "prepay", "refund"]
    await assert_balanced(harness, alice)
    rec = await harness.store.get_task(alice.account_id, task_id)
    assert rec.cost == to_nanos("0.0002") + spent


# gpt-4.1-mini at $1000 per million tokens: a task that costs more than the $0.01 prepayment
PRICEY = [
    {
        "name": "gpt-4.1-mini",
        "versions": ["gpt-4.1-mini-2025-04-14"],
        "web_search": True,
        "input_price": 1000,
        "output_price": 1000,
    }
]


async def test_llm_cost_above_the_prepayment_is_charged(settings):
    # the flat $0.01 prepayment (DataForSEO's rule): the overage is charged when the task settles
    async with running(settings.updated({"models": PRICEY, "hold_policy": "flat"})) as h:
        alice = await h.account()
        task_id = (await h.post(f"{LLM}/task_post", alice, [SEED_TASK]))["tasks"][0]["id"]
        result = (await h.wait_done(alice, task_id))["tasks"][0]["result"][0]
        spent = to_nanos(str(result["money_spent"]))
        assert spent > to_nanos("0.01")
        assert await h.balance(alice) == to_nanos("10") - to_nanos("0.0002") - spent
        assert [k for k, _ in await ledger(h, alice)][-1] == "overage"
        await assert_balanced(h, alice)


async def test_the_worst_case_hold_covers_an_expensive_model_and_refunds_the_rest(settings):
    async with running(settings.updated({"models": PRICEY})) as h:
        alice = await h.account()
        posted = (await h.post(f"{LLM}/task_post", alice, [SEED_TASK]))["tasks"][0]
        assert posted["cost"] > 2  # 2048 output tokens at $1000/M
        result = (await h.wait_done(alice, posted["id"]))["tasks"][0]["result"][0]
        spent = to_nanos(str(result["money_spent"]))
        assert await h.balance(alice) == to_nanos("10") - to_nanos("0.0002") - spent
        assert [k for k, _ in await ledger(h, alice)][-1] == "refund"
        await assert_balanced(h, alice)


async def test_failed_task_refunds_the_prepayment_and_keeps_the_base(settings, fake_openai):
    async with running(settings.updated({"task_max_attempts": 1})) as h:
        alice = await h.account()
        fake_openai.enqueue(error_reply(500, "boom", type_="server_error"))
        task_id = (await h.post(f"{LLM}/task_post", alice, [SEED_TASK]))["tasks"][0]["id"]
        body = await h.wait_done(alice, task_id)
        assert_task_error(body, 50301, "3rd Party API Service Unavailable.")
        assert await h.balance(alice) == to_nanos("10") - to_nanos("0.0002")
        await assert_balanced(h, alice)
        ready = (await h.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"]
        assert ready == []  # collected by the task_get above


async def test_retryable_failure_is_retried_and_charged_once(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(error_reply(429, "slow down", type_="tokens", code="rate_limit_exceeded"))
    task_id = (await harness.post(f"{LLM}/task_post", alice, [SEED_TASK]))["tasks"][0]["id"]
    body = await harness.wait_done(alice, task_id)
    assert body["tasks"][0]["status_code"] == 20000
    assert len(fake_openai.requests) == 2
    spent = to_nanos(str(body["tasks"][0]["result"][0]["money_spent"]))
    assert await harness.balance(alice) == to_nanos("10") - to_nanos("0.0002") - spent
    await assert_balanced(harness, alice)


async def test_invalid_request_is_not_retried(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(error_reply(400, "bad max_output_tokens", param="max_output_tokens"))
    task_id = (await harness.post(f"{LLM}/task_post", alice, [SEED_TASK]))["tasks"][0]["id"]
    body = await harness.wait_done(alice, task_id)
    assert_task_error(body, 40501, "Invalid Field: 'max_output_tokens'.")
    assert len(fake_openai.requests) == 1


async def test_tasks_past_the_deadline_fail_with_a_refund(idle_harness):
    h = idle_harness
    alice = await h.account()
    task_id = (await h.post(f"{LLM}/task_post", alice, [SEED_TASK]))["tasks"][0]["id"]
    now = time.time()
    assert await h.store.expire_overdue(now + 1, now, OVERDUE) == 1
    assert await h.store.expire_overdue(now + 1, now, OVERDUE) == 0  # once only
    body = await h.get(f"{LLM}/task_get/{task_id}", alice)
    assert_task_error(body, 40103)
    assert await h.balance(alice) == to_nanos("10") - to_nanos("0.0002")
    await assert_balanced(h, alice)
