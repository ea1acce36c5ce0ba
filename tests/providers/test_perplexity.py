"""The perplexity engine end to end: DataForSEO's Perplexity request (live only) → Perplexity's Agent API
(``POST /v1/responses`` on the fake, through the official ``openai`` SDK) → a result the official client's
Perplexity models parse, billed what Perplexity bills."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llm_responses.billing.money import to_nanos, to_usd
from tests.api.wire_check import assert_engine_wire, assert_task_error, assert_top_error
from tests.conftest import running
from tests.fakes.openai_replies import Reply
from tests.fakes.perplexity_agent_server import (
    invalid_model,
    rate_limited,
    unauthorized,
    unknown_field_error,
)

PPLX = "/v3/ai_optimization/perplexity/llm_responses"
PROMPT = "parcs d'attractions en France"


@pytest.fixture
def pplx_settings(settings, fake_perplexity):
    return settings.updated(
        {
            "perplexity_api_key": "pplx-test",
            "perplexity_base_url": fake_perplexity.base_url,  # the bare host, as Sonar's clients set it
            "perplexity_max_retries": 1,
        }
    )


async def live(h, creds, **task):
    body = await h.post(f"{PPLX}/live", creds, [{"user_prompt": PROMPT, **task}])
    assert_engine_wire(body, "perplexity", "live")
    return body


def reply_to_last(fake, **changes) -> dict:
    """The fake's own answer to the request it just recorded (what the provider read)."""
    return fake.build_response(fake.requests[-1], **changes)


async def test_sonar_is_the_sonar_model_forced_to_search_and_markers_cite_claims(
    pplx_settings, fake_perplexity
):
    async with running(pplx_settings) as h:
        alice = await h.account()
        body = await live(
            h, alice, model_name="sonar", web_search_country_iso_code="FR", system_message="sois bref"
        )
        assert fake_perplexity.paths == ["/v1/responses"], body["tasks"][0]
        sent = fake_perplexity.requests[-1]
        assert sent["model"] == "perplexity/sonar" and "effort" not in sent
        assert sent["tools"] == [{"type": "web_search", "user_location": {"country": "FR"}}]
        assert sent["tool_choice"] == {"type": "web_search"}  # the Agent API searches only when told to
        assert sent["instructions"] == "sois bref" and sent["input"] == [{"role": "user", "content": PROMPT}]
        assert sent["temperature"] == 0.77 and sent["top_p"] == 0.9  # DataForSEO's Perplexity defaults
        result = body["tasks"][0]["result"][0]
        assert result["web_search"] is True
        assert result["fan_out_queries"] == [PROMPT]
        [section] = result["items"][0]["sections"]
        text, annotations = section["text"], section["annotations"]
        assert "[1]" in text  # DataForSEO shows the answer as the engine wrote it
        assert len(annotations) == 4
        for a in annotations:
            assert text[a["start_index"] : a["end_index"]] == a["text"] and a["text"].strip() == a["text"]
        assert annotations[2]["text"] == "Disneyland Paris reste le premier site payant d’Europe"
        assert annotations[2]["url"] == "https://www.disneylandparis-news.com/chiffres-cles"
        # Perplexity's own figure
        cost = Decimal(str(reply_to_last(fake_perplexity)["usage"]["cost"]["total_cost"]))
        assert result["money_spent"] == to_usd(to_nanos(cost))
        assert await h.balance(alice) == to_nanos("10") - to_nanos("0.0006") - to_nanos(cost)


async def test_the_other_names_are_presets_with_the_system_message_as_an_input_item(
    pplx_settings, fake_perplexity
):
    async with running(pplx_settings) as h:
        alice = await h.account()
        chain = [{"role": "user", "message": "bonjour"}, {"role": "ai", "message": "bonjour !"}]
        body = await live(
            h, alice, model_name="sonar-pro", message_chain=chain, system_message="sois bref", temperature=0.2
        )
        sent = fake_perplexity.requests[-1]
        assert sent["effort"] == "low" and "model" not in sent
        # instructions would replace the preset's own prompt (the one that makes it search and cite)
        assert "instructions" not in sent
        assert [(m["role"], m["content"]) for m in sent["input"]] == [
            ("system", "sois bref"), ("user", "bonjour"), ("assistant", "bonjour !"), ("user", PROMPT)
        ]  # fmt: skip
        assert "temperature" not in sent and "top_p" not in sent  # a preset runs a reasoning model
        result = body["tasks"][0]["result"][0]
        assert result["model_name"] == "openai/gpt-5.6-luna"  # the model the preset resolved to
        [section] = result["items"][0]["sections"]
        assert "[web:1]" in section["text"]
        urls = [a["url"] for a in section["annotations"]]
        # [web:4] names a result of the second search_results item: ids run across items
        assert urls[1] == "https://www.lesechos.fr/tourisme/parcs-records-2025"
        assert len(result["fan_out_queries"]) == 2


async def test_without_a_reported_cost_tokens_at_list_price_and_each_search_at_its_fee(
    pplx_settings, fake_perplexity
):
    """Older API versions and gateways strip ``usage.cost``: perplexity/sonar's $0.25/$2.50 per million
    and $0.0025 per search, not the price database's Sonar request fee on top of OpenAI's search fee."""
    async with running(pplx_settings) as h:
        alice = await h.account()
        request = {"model": "perplexity/sonar", "input": [{"role": "user", "content": PROMPT}],
                   "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}  # fmt: skip
        answer = fake_perplexity.without_cost(fake_perplexity.build_response(request))
        fake_perplexity.enqueue(Reply(body=answer))
        body = await live(h, alice, model_name="sonar")
        usage = answer["usage"]
        expected = (
            to_nanos(Decimal(usage["input_tokens"]) * Decimal("0.25") / 1_000_000)
            + to_nanos(Decimal(usage["output_tokens"]) * Decimal("2.50") / 1_000_000)
            + to_nanos(Decimal("0.0025"))
        )
        assert body["tasks"][0]["result"][0]["money_spent"] == to_usd(expected)
        assert expected < to_nanos("0.005")  # the landed code charged ~$0.022 here


async def test_non_streamed_reasoning_has_no_text_but_its_tokens_count(pplx_settings, fake_perplexity):
    async with running(pplx_settings) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="sonar-reasoning-pro")
        assert fake_perplexity.requests[-1]["effort"] == "medium"
        result = body["tasks"][0]["result"][0]
        assert [i["type"] for i in result["items"]] == ["message"]
        assert result["reasoning_tokens"] > 0


async def test_citations_from_annotations_over_the_markers(pplx_settings, fake_perplexity):
    async with running(pplx_settings) as h:
        alice = await h.account()
        request = {"model": "perplexity/sonar", "input": [{"role": "user", "content": PROMPT}],
                   "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}  # fmt: skip
        answer = fake_perplexity.with_annotations(fake_perplexity.build_response(request))
        answer["output"] = [i for i in answer["output"] if i["type"] != "search_results"]  # none to read
        fake_perplexity.enqueue(Reply(body=answer))
        [section] = (await live(h, alice, model_name="sonar"))["tasks"][0]["result"][0]["items"][0][
            "sections"
        ]
        assert len(section["annotations"]) == 4
        for a in section["annotations"]:  # spans are the claims, never the "[1]" markers
            assert "[" not in a["text"] and section["text"][a["start_index"] : a["end_index"]] == a["text"]


async def test_failures_are_refunded_and_transient_ones_retried(pplx_settings, fake_perplexity):
    async with running(pplx_settings) as h:
        alice = await h.account()
        for reply in (unauthorized(), invalid_model("perplexity/sonar"), unknown_field_error("messages")):
            fake_perplexity.enqueue(reply)
            before = await h.balance(alice)
            assert_task_error(await live(h, alice, model_name="sonar"), 50301)  # the operator's problem
            assert await h.balance(alice) == before
        fake_perplexity.enqueue(rate_limited("0"))  # retried, then answered
        assert (await live(h, alice, model_name="sonar"))["tasks"][0]["status_code"] == 20000
        request = {"model": "perplexity/sonar", "input": [{"role": "user", "content": PROMPT}]}
        fake_perplexity.enqueue(Reply(body=fake_perplexity.failed_response(request)))  # HTTP 200, failed
        before = await h.balance(alice)
        assert_task_error(await live(h, alice, model_name="sonar"), 50301)
        assert await h.balance(alice) == before
        fake_perplexity.enqueue(Reply(body=fake_perplexity.incomplete_response(request)))
        cut = await live(h, alice, model_name="sonar")
        assert cut["tasks"][0]["status_code"] == 20000
        assert cut["tasks"][0]["result"][0]["items"][0]["sections"][0]["text"] == "La fréquentation"


@pytest.mark.parametrize(
    ("task", "error"),
    [
        ({"web_search": True}, "Unknown Fields in POST Data: web_search"),
        ({"web_search_city": "Paris"}, "Unknown Fields in POST Data: web_search_city"),
        ({"temperature": 1.95}, "Invalid Field: 'temperature'."),
        ({"message_chain": [{"role": "ai", "message": "hi"}]}, "Invalid Field: 'message_chain'."),
        (
            {"message_chain": [{"role": "user", "message": "a"}, {"role": "user", "message": "b"}]},
            "Invalid Field: 'message_chain'.",
        ),
        (
            {"model_name": "sonar-deep-research", "web_search_country_iso_code": "FR"},
            "Invalid Field: 'web_search_country_iso_code'.",
        ),
    ],
)
async def test_perplexitys_rules_are_dataforseos(pplx_settings, fake_perplexity, task, error):
    async with running(pplx_settings) as h:
        alice = await h.account()
        body = await live(h, alice, **{"model_name": "sonar", **task})
        assert body["tasks"][0]["status_message"] == error
        assert fake_perplexity.requests == []


async def test_perplexity_has_no_task_post_family_and_lists_dataforseos_names(pplx_settings):
    async with running(pplx_settings) as h:
        alice = await h.account()
        for method, path in (
            ("POST", "task_post"),
            ("GET", "tasks_ready"),
            ("GET", "task_get/00000000-0000-0000-0000-000000000000"),
        ):
            r = await h.client.request(
                method,
                f"{PPLX}/{path}",
                headers=alice.basic,
                json=[{"user_prompt": "x", "model_name": "sonar"}],
            )
            assert r.status_code == 404
            assert_top_error(r.json(), 40400, "Not Found.")
        models = await h.get(f"{PPLX}/models", alice)
        assert_engine_wire(models, "perplexity", "models")
        listed = [m["model_name"] for m in models["tasks"][0]["result"]]
        assert listed == ["sonar", "sonar-pro", "sonar-reasoning-pro", "sonar-deep-research"]
        assert not any(m["task_post_supported"] for m in models["tasks"][0]["result"])
