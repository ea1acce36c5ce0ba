"""What each vendor really bills, and whose fault an error is: Claude's base rates whatever the summed input
(the long-context tier needs a beta this server never asks for), Anthropic's cache writes at 1.25x,
output budgets that add what the thinking budget needs and no more, holds that count every vendor's
searches, and use_reasoning on a model that cannot think refused as the caller's field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llm_responses.billing.money import to_nanos, to_usd
from tests.conftest import running
from tests.fakes.openai_replies import Reply

CLAUDE = "/v3/ai_optimization/claude/llm_responses"
GEMINI = "/v3/ai_optimization/gemini/llm_responses"
PROMPT = "parcs d'attractions en France"


@pytest.fixture
def vendor_settings(settings, fake_anthropic, fake_gemini):
    return settings.updated(
        {
            "anthropic_api_key": "sk-ant-test",
            "anthropic_base_url": fake_anthropic.base_url,
            "gemini_api_key": "AIza-test",
            "gemini_base_url": fake_gemini.base_url,
        }
    )


def message_with_usage(fake, **usage) -> Reply:
    body = fake.build_message({"model": "claude-sonnet-4-5", "max_tokens": 4096,
                               "messages": [{"role": "user", "content": PROMPT}]})  # fmt: skip
    body["usage"].update(usage)
    return Reply(body=body)


async def test_a_long_search_loop_is_billed_at_claudes_base_rates(vendor_settings, fake_anthropic):
    """A 15-search answer sums its internal calls past 200k input tokens; Anthropic bills them at $3/$15,
    not the 1M-context tier's $6/$22.50 (which needs the context-1m beta header)."""
    fake_anthropic.enqueue(
        message_with_usage(
            fake_anthropic,
            input_tokens=250_000,
            output_tokens=1_000,
            server_tool_use={"web_search_requests": 5},
        )
    )
    async with running(vendor_settings) as h:
        alice = await h.account()
        body = await h.post(
            f"{CLAUDE}/live", alice, [{"user_prompt": PROMPT, "model_name": "claude-sonnet-4-5"}]
        )
        spent = body["tasks"][0]["result"][0]["money_spent"]
    expected = Decimal(250_000) * 3 / 10**6 + Decimal(1_000) * 15 / 10**6 + 5 * Decimal("0.01")
    assert spent == to_usd(to_nanos(expected)) == 0.815  # the price database's tier said 1.5725


async def test_cache_writes_at_one_and_a_quarter_reads_at_a_tenth(vendor_settings, fake_anthropic):
    fake_anthropic.enqueue(
        message_with_usage(
            fake_anthropic,
            input_tokens=1_000,
            cache_creation_input_tokens=10_000,
            cache_read_input_tokens=20_000,
            output_tokens=500,
        )
    )
    async with running(vendor_settings) as h:
        alice = await h.account()
        body = await h.post(
            f"{CLAUDE}/live", alice, [{"user_prompt": PROMPT, "model_name": "claude-sonnet-4-5"}]
        )
        result = body["tasks"][0]["result"][0]
    assert result["input_tokens"] == 31_000
    expected = (1_000 * Decimal(3) + 10_000 * Decimal("3.75") + 20_000 * Decimal("0.30") + 500 * 15) / 10**6
    assert result["money_spent"] == to_usd(to_nanos(expected))


async def test_reasoning_adds_the_thinking_budget_to_the_output_budget_and_no_more(
    vendor_settings, fake_anthropic, fake_gemini
):
    async with running(vendor_settings) as h:
        alice = await h.account()
        task = {"user_prompt": PROMPT, "max_output_tokens": 2000, "use_reasoning": True}
        await h.post(f"{CLAUDE}/live", alice, [{**task, "model_name": "claude-haiku-4-5"}])
        sent = fake_anthropic.requests[-1]
        assert sent["max_tokens"] == 2000 + 1024 and sent["thinking"]["budget_tokens"] == 1024
        await h.post(f"{GEMINI}/live", alice, [{**task, "model_name": "gemini-2.5-flash"}])
        config = fake_gemini.requests[-1]["generationConfig"]
        assert config["maxOutputTokens"] == 2000 + 1024 and config["thinkingConfig"]["thinkingBudget"] == 1024


async def test_use_reasoning_on_a_model_that_cannot_think_is_the_callers_field(
    running_with, fake_gemini, fake_anthropic
):
    async with running_with(gemini_api_key="AIza-test", gemini_base_url=fake_gemini.base_url) as h:
        alice = await h.account()
        task = {"user_prompt": PROMPT, "use_reasoning": True, "model_name": "gemini-2.0-flash"}
        body = await h.post(f"{GEMINI}/live", alice, [task])
        assert body["tasks"][0]["status_message"] == "Invalid Field: 'use_reasoning'."
        assert fake_gemini.requests == []  # refused from the catalog, before any call
    # a catalog that says it can: Google's own 400 becomes the same field error, not a refunded 50301
    can = {
        "name": "gemini-2.0-flash",
        "provider": "google",
        "se": "gemini",
        "web_search": True,
        "can_reason": True,
    }
    async with running_with(
        gemini_api_key="AIza-test", gemini_base_url=fake_gemini.base_url, gemini_max_retries=2, models=[can]
    ) as h:
        bob = await h.account("bob")
        body = await h.post(f"{GEMINI}/live", bob, [task])
        assert body["tasks"][0]["status_code"] == 40501
        assert body["tasks"][0]["status_message"] == "Invalid Field: 'use_reasoning'."
        assert len(fake_gemini.requests) == 1  # not retried


async def test_holds_count_a_search_for_every_vendor_that_searches(vendor_settings):
    async with running(vendor_settings) as h:
        alice = await h.account()
        costs = {}
        for search in (False, True):
            task = {"user_prompt": PROMPT, "model_name": "claude-sonnet-4-5", "web_search": search}
            body = await h.post(f"{CLAUDE}/task_post", alice, [task])
            costs[search] = to_nanos(str(body["tasks"][0]["cost"]))
        # 8,000 tokens of search content at $3 per million and one search at $0.01: held, then settled
        assert costs[True] - costs[False] >= to_nanos("0.034")
