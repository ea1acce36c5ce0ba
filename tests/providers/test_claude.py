"""The claude engine end to end: DataForSEO's Claude request → Anthropic's Messages API (the fake, driven by
the official ``anthropic`` SDK) → a result the official client's Claude models parse, money exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from llm_responses.billing.money import to_nanos, to_usd
from tests.api.wire_check import assert_engine_wire, assert_task_error
from tests.conftest import running
from tests.fakes.anthropic_server import anthropic_error, invalid, overloaded

CLAUDE = "/v3/ai_optimization/claude/llm_responses"


@pytest.fixture
def claude_settings(settings, fake_anthropic):
    return settings.updated(
        {
            "anthropic_api_key": "sk-ant-test",
            "anthropic_base_url": fake_anthropic.base_url,
            "anthropic_max_retries": 1,
        }
    )


async def live(h, creds, **task):
    body = await h.post(f"{CLAUDE}/live", creds, [{"user_prompt": "parcs d'attractions en France", **task}])
    assert_engine_wire(body, "claude", "live")
    return body


async def test_web_search_answers_with_cited_spans_fan_out_queries_and_exact_money(
    claude_settings, fake_anthropic
):
    async with running(claude_settings) as h:
        alice = await h.account()
        body = await live(
            h,
            alice,
            model_name="claude-haiku-4-5",
            web_search=True,
            web_search_country_iso_code="fr",
            web_search_city="Lyon",
            system_message="be brief",
            message_chain=[{"role": "user", "message": "salut"}, {"role": "ai", "message": "bonjour"}],
        )
        task = body["tasks"][0]
        assert task["status_code"] == 20000, task
        result = task["result"][0]
        assert result["model_name"] == "claude-haiku-4-5-20251001" and result["web_search"] is True
        [section] = result["items"][0]["sections"]
        text = section["text"]
        assert "\n\nTwo things stand out" in text  # the runs split by the search are not glued together
        assert len(section["annotations"]) == 2
        for a in section["annotations"]:
            assert text[a["start_index"] : a["end_index"]] == a["text"] and "été" in a["text"]
        assert result["fan_out_queries"] == ["parcs d'attractions en France"]

        sent, headers = fake_anthropic.requests[-1], fake_anthropic.headers[-1]
        assert headers["anthropic-version"] == "2023-06-01"
        assert sent["messages"] == [
            {"role": "user", "content": "salut"},
            {"role": "assistant", "content": "bonjour"},
            {"role": "user", "content": "parcs d'attractions en France"},
        ]
        assert sent["system"] == "be brief" and sent["temperature"] == 0.7 and "top_p" not in sent
        assert sent["tools"][0]["type"] == "web_search_20250305"
        assert sent["tools"][0]["user_location"] == {"type": "approximate", "country": "FR", "city": "Lyon"}
        assert "tool_choice" not in sent

        # tokens at genai-prices' Claude rates plus $10 per 1,000 searches, to the nano-dollar
        price = calc_price(
            Usage(input_tokens=result["input_tokens"], output_tokens=result["output_tokens"], web_searches=1),
            model_ref="claude-haiku-4-5-20251001",
            provider_id="anthropic",
        )
        assert result["money_spent"] == to_usd(to_nanos(Decimal(price.total_price)))
        assert await h.balance(alice) == to_nanos("10") - to_nanos("0.0006") - to_nanos(
            Decimal(price.total_price)
        )


async def test_use_reasoning_thinks_with_a_budget_and_sends_no_sampling(claude_settings, fake_anthropic):
    async with running(claude_settings) as h:
        alice = await h.account()
        body = await live(
            h, alice, model_name="claude-sonnet-4-5", use_reasoning=True, max_output_tokens=1025
        )
        result = body["tasks"][0]["result"][0]
        assert result["items"][0]["type"] == "reasoning"
        assert result["items"][0]["sections"][0]["text"].startswith("The user asks about")
        assert result["reasoning_tokens"] > 0 and result["items"][1]["sections"][0]["annotations"] is None
        sent = fake_anthropic.requests[-1]
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert "temperature" not in sent and "top_p" not in sent
        assert sent["max_tokens"] > 1024


async def test_adaptive_only_models_get_adaptive_summarized_thinking_and_no_sampling(
    claude_settings, fake_anthropic
):
    async with running(claude_settings) as h:
        alice = await h.account()
        plain = await live(h, alice, model_name="claude-opus-4-7", temperature=0.3)
        assert plain["tasks"][0]["status_code"] == 20000  # the fake refuses temperature for this model
        assert "temperature" not in fake_anthropic.requests[-1]
        thinking = await live(h, alice, model_name="claude-opus-4-7", use_reasoning=True)
        assert thinking["tasks"][0]["status_code"] == 20000
        assert fake_anthropic.requests[-1]["thinking"] == {"type": "adaptive", "display": "summarized"}


async def test_force_web_search_forces_the_tool_and_top_p_alone_is_sent_alone(
    claude_settings, fake_anthropic
):
    async with running(claude_settings) as h:
        alice = await h.account()
        await live(
            h, alice, model_name="claude-sonnet-4-6", web_search=True, force_web_search=True, top_p=0.5
        )
        sent = fake_anthropic.requests[-1]
        assert sent["tool_choice"] == {"type": "tool", "name": "web_search"}
        assert sent["top_p"] == 0.5 and "temperature" not in sent


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"temperature": 1.5}, "temperature"),  # Claude's range is 0..1
        ({"temperature": 0.5, "top_p": 0.5}, "top_p"),  # one or the other
        ({"use_reasoning": True, "temperature": 0.5}, "temperature"),
        ({"use_reasoning": True, "max_output_tokens": 1024}, "max_output_tokens"),  # >= 1025 with reasoning
        ({"use_reasoning": True, "web_search": True, "force_web_search": True}, "force_web_search"),
        (
            {"web_search": True, "web_search_country_iso_code": "UA"},
            "web_search_country_iso_code",
        ),  # not in the 36
    ],
)
async def test_claudes_rules_are_dataforseos(claude_settings, fake_anthropic, task, field):
    async with running(claude_settings) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="claude-haiku-4-5", **task)
        assert_task_error(body, 40501, f"Invalid Field: '{field}'.")
        assert fake_anthropic.requests == []
        assert await h.balance(alice) == to_nanos("10")


async def test_overloaded_is_retried_and_an_auth_failure_is_refunded(claude_settings, fake_anthropic):
    async with running(claude_settings) as h:
        alice = await h.account()
        fake_anthropic.enqueue(overloaded())
        body = await live(h, alice, model_name="claude-haiku-4-5")
        assert body["tasks"][0]["status_code"] == 20000 and len(fake_anthropic.requests) == 2

        fake_anthropic.enqueue(anthropic_error(401, "authentication_error", "invalid x-api-key"))
        before = await h.balance(alice)
        body = await live(h, alice, model_name="claude-haiku-4-5")
        assert_task_error(body, 50301)
        assert await h.balance(alice) == before  # the operator's key, not the caller's fault: nothing charged


async def test_a_refused_parameter_names_the_callers_field(claude_settings, fake_anthropic):
    async with running(claude_settings) as h:
        alice = await h.account()
        fake_anthropic.enqueue(invalid("`temperature` is deprecated for this model."))
        body = await live(h, alice, model_name="claude-sonnet-4-6", temperature=0.2)
        assert_task_error(body, 40501, "Invalid Field: 'temperature'.")


async def test_task_post_round_trip_on_the_claude_path(claude_settings, fake_anthropic):
    async with running(claude_settings) as h:
        alice = await h.account()
        posted = await h.post(
            f"{CLAUDE}/task_post", alice, [{"user_prompt": "hi", "model_name": "claude-haiku-4-5"}]
        )
        assert_engine_wire(posted, "claude", "task_post")
        task_id = posted["tasks"][0]["id"]
        assert posted["tasks"][0]["path"] == ["v3", "ai_optimization", "claude", "llm_responses", "task_post"]
        await h.wait_finished(alice, task_id)
        ready = await h.get(f"{CLAUDE}/tasks_ready", alice)
        assert_engine_wire(ready, "claude", "tasks_ready")
        assert ready["tasks"][0]["result"][0]["endpoint"] == f"{CLAUDE}/task_get/{task_id}"
        got = await h.get(f"{CLAUDE}/task_get/{task_id}", alice)
        assert_engine_wire(got, "claude", "task_get")
        assert got["tasks"][0]["result"][0]["model_name"] == "claude-haiku-4-5-20251001"
        # the same id is not a chat_gpt task
        other = await h.get(f"/v3/ai_optimization/chat_gpt/llm_responses/task_get/{task_id}", alice)
        assert_task_error(other, 40401)


async def test_models_are_listed_per_engine(claude_settings):
    async with running(claude_settings) as h:
        alice = await h.account()
        claude = await h.get(f"{CLAUDE}/models", alice)
        assert_engine_wire(claude, "claude", "models")
        names = {m["model_name"] for m in claude["tasks"][0]["result"]}
        assert {"claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-sonnet-4-6"} <= names
        assert not any(n.startswith("gpt-") for n in names)
        chat_gpt = await h.get("/v3/ai_optimization/chat_gpt/llm_responses/models", alice)
        assert not any(m["model_name"].startswith("claude") for m in chat_gpt["tasks"][0]["result"])


async def test_any_configured_backend_can_serve_a_name_on_the_claude_path(running_with, fake_openai):
    """A [[providers]] server listed under se = "claude": DataForSEO's Claude request, answered by a GPU box
    speaking Chat Completions (grounded by our own search when web_search is asked)."""
    provider = {"name": "gpu", "base_url": fake_openai.base_url, "api": "chat_completions", "max_retries": 0}
    model = {
        "name": "house-claude",
        "versions": ["llama-3.1-8b"],
        "provider": "gpu",
        "se": "claude",
        "input_price": 1,
        "output_price": 2,
    }
    async with running_with(providers=[provider], models=[model]) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="house-claude", temperature=0.4)
        result = body["tasks"][0]["result"][0]
        assert body["tasks"][0]["status_code"] == 20000 and result["model_name"] == "llama-3.1-8b"
        assert (
            fake_openai.requests[-1]["model"] == "llama-3.1-8b"
            and fake_openai.requests[-1]["temperature"] == 0.4
        )
        assert_task_error(
            await live(h, alice, model_name="house-claude", temperature=1.5), 40501
        )  # Claude's range
        other = await h.post(
            "/v3/ai_optimization/chat_gpt/llm_responses/live",
            alice,
            [{"user_prompt": "x", "model_name": "house-claude"}],
        )
        assert_task_error(other, 40501, "Invalid Field: 'model_name'.")  # listed on claude only


async def test_each_engines_tasks_ready_lists_only_its_own_tasks(claude_settings):
    """DataForSEO lists tasks per endpoint: claude's tasks_ready never shows a chat_gpt task."""
    async with running(claude_settings) as h:
        alice = await h.account()
        posted = {}
        for se, model in (("claude", "claude-haiku-4-5"), ("chat_gpt", "gpt-4.1-mini")):
            body = await h.post(
                f"/v3/ai_optimization/{se}/llm_responses/task_post",
                alice,
                [{"user_prompt": "parcs d'attractions en France", "model_name": model}],
            )
            posted[se] = body["tasks"][0]["id"]
        for task_id in posted.values():
            await h.wait_finished(alice, task_id)
        for se, task_id in posted.items():
            ready = (await h.get(f"/v3/ai_optimization/{se}/llm_responses/tasks_ready", alice))["tasks"][0]
            assert [(r["id"], r["se"]) for r in ready["result"]] == [(task_id, se)]
