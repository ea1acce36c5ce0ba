"""How far an account can overdraw: the hold is the model's worst case, accounts in debt are not served,
and on PostgreSQL a live call is paid for before it is sent."""

import asyncio

from llm_responses.billing.money import to_nanos, to_usd
from tests import pg
from tests.api.seed import SEED_TASK
from tests.api.wire_check import assert_task_error
from tests.conftest import LLM

GPT5 = {"model_name": "gpt-5", "user_prompt": "compare the amusement parks of France"}


async def test_cheap_models_hold_the_documented_prepayment(idle_harness):
    alice = await idle_harness.account()
    body = await idle_harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    assert body["tasks"][0]["cost"] == 0.0102  # seed 001


async def test_an_expensive_model_holds_its_worst_case(idle_harness):
    alice = await idle_harness.account(balance="1")
    body = await idle_harness.post(f"{LLM}/task_post", alice, [GPT5])
    task = body["tasks"][0]
    # (2048 + 8192 reasoning allowance) output tokens at $10/M, plus the prompt: about $0.1024
    assert 0.10 < task["cost"] < 0.11
    # a $1 account can queue only what its balance covers at the worst case, not a hundred tasks
    body = await idle_harness.post(f"{LLM}/task_post", alice, [GPT5] * 20)
    accepted = [t for t in body["tasks"] if t["status_code"] == 20100]
    assert 7 <= len(accepted) <= 9
    assert {t["status_code"] for t in body["tasks"]} == {20100, 40210}
    assert await idle_harness.balance(alice) >= 0


async def test_the_flat_policy_reproduces_dataforseo(running_with):
    async with running_with(hold_policy="flat", worker_enabled=False) as harness:
        alice = await harness.account()
        body = await harness.post(f"{LLM}/task_post", alice, [GPT5])
        assert body["tasks"][0]["cost"] == 0.0102


async def test_the_unused_hold_is_refunded(harness, fake_openai):
    alice = await harness.account(balance="1")
    body = await harness.post(f"{LLM}/task_post", alice, [GPT5])
    done = await harness.wait_done(alice, body["tasks"][0]["id"])
    spent = done["tasks"][0]["result"][0]["money_spent"]
    assert spent < 0.01
    assert await harness.balance(alice) == to_nanos("1") - to_nanos("0.0002") - to_nanos(str(spent))


async def test_live_on_postgres_holds_before_it_calls(running_with, pg_databases, fake_openai):
    await pg.require()
    url = await pg_databases.new()
    async with running_with(database_url=url) as harness:
        alice = await harness.account(balance="0.0106")  # one live hold of $0.0106 fits, not two
        fake_openai.latency = 0.2
        bodies = await asyncio.gather(*(harness.post(f"{LLM}/live", alice, [SEED_TASK]) for _ in range(10)))
        codes = sorted(b["tasks"][0]["status_code"] for b in bodies)
        assert codes == [20000] + [40210] * 9
        assert len(fake_openai.requests) == 1  # no upstream call that nobody paid for
        ok = next(b for b in bodies if b["tasks"][0]["status_code"] == 20000)
        spent = ok["tasks"][0]["result"][0]["money_spent"]
        assert to_usd(await harness.balance(alice)) == round(0.0106 - 0.0006 - spent, 9)


async def test_live_refuses_a_short_balance_for_an_expensive_model(harness, fake_openai):
    alice = await harness.account(balance="0.05")
    assert_task_error(await harness.post(f"{LLM}/live", alice, [GPT5]), 40210)
    assert fake_openai.requests == []
