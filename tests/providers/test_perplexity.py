"""The perplexity engine end to end: DataForSEO's Perplexity request (live only) → Sonar Chat Completions
(the fake, through the official ``openai`` SDK) → a result the official client's Perplexity models parse."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llm_responses.billing.money import to_nanos, to_usd
from tests.api.wire_check import assert_engine_wire, assert_task_error, assert_top_error
from tests.conftest import running
from tests.fakes.perplexity_server import perplexity_error

PPLX = "/v3/ai_optimization/perplexity/llm_responses"


@pytest.fixture
def pplx_settings(settings, fake_perplexity):
    return settings.updated(
        {
            "perplexity_api_key": "pplx-test",
            "perplexity_base_url": fake_perplexity.base_url,
            "perplexity_max_retries": 1,
        }
    )


async def live(h, creds, **task):
    body = await h.post(f"{PPLX}/live", creds, [{"user_prompt": "parcs d'attractions en France", **task}])
    assert_engine_wire(body, "perplexity", "live")
    return body


async def test_sonar_always_searches_and_markers_become_cited_spans(pplx_settings, fake_perplexity):
    async with running(pplx_settings) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="sonar-pro", web_search_country_iso_code="FR")
        result = body["tasks"][0]["result"][0]
        assert result["web_search"] is True
        [section] = result["items"][0]["sections"]
        text, annotations = section["text"], section["annotations"]
        assert [a["url"] for a in annotations] == [
            "https://www.lesechos.fr/parcs-attractions-2026",
            "https://www.disneylandparis-news.com/chiffres",
            "https://www.lesechos.fr/parcs-attractions-2026",
        ]
        for a in annotations:
            assert text[a["start_index"] : a["end_index"]] == a["text"] and not a["text"].endswith(" ")
        assert annotations[1]["text"] == "Disneyland Paris reste le premier site payant d'Europe"
        sent = fake_perplexity.requests[-1]
        assert sent["web_search_options"] == {
            "search_context_size": "low",
            "user_location": {"country": "FR"},
        }
        assert sent["temperature"] == 0.77 and sent["top_p"] == 0.9
        # Perplexity's own figure, request fee included
        cost = Decimal(str(fake_perplexity_cost(fake_perplexity)))
        assert result["money_spent"] == to_usd(to_nanos(cost))
        assert await h.balance(alice) == to_nanos("10") - to_nanos("0.0006") - to_nanos(cost)


def fake_perplexity_cost(fake) -> float:
    return fake.build_completion(fake.requests[-1])["usage"]["cost"]["total_cost"]


async def test_reasoning_models_think_blocks_become_reasoning(pplx_settings):
    async with running(pplx_settings) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="sonar-reasoning-pro")
        items = body["tasks"][0]["result"][0]["items"]
        assert items[0] == {
            "type": "reasoning",
            "sections": [{"type": "summary_text", "text": "Let me check recent attendance figures first."}],
        }
        assert "<think>" not in items[1]["sections"][0]["text"]


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


async def test_an_alternating_chain_goes_through_and_upstream_refusals_are_refunded(
    pplx_settings, fake_perplexity
):
    async with running(pplx_settings) as h:
        alice = await h.account()
        chain = [{"role": "user", "message": "bonjour"}, {"role": "ai", "message": "bonjour !"}]
        body = await live(h, alice, model_name="sonar", message_chain=chain, system_message="sois bref")
        assert body["tasks"][0]["status_code"] == 20000
        roles = [m["role"] for m in fake_perplexity.requests[-1]["messages"]]
        assert roles == ["system", "user", "assistant", "user"]
        fake_perplexity.enqueue(perplexity_error(401, "Missing or invalid API key", "unauthorized"))
        before = await h.balance(alice)
        assert_task_error(await live(h, alice, model_name="sonar"), 50301)
        assert await h.balance(alice) == before


async def test_perplexity_has_no_task_post_family(pplx_settings):
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
        listed = {m["model_name"]: m for m in models["tasks"][0]["result"]}
        assert {"sonar", "sonar-pro", "sonar-reasoning-pro"} <= set(listed)
        assert not any(
            m["task_post_supported"] for m in listed.values() if m["model_name"].startswith("sonar")
        )
