"""The gemini engine end to end: DataForSEO's Gemini request → generateContent (the fake, driven by the
official ``google-genai`` SDK) → a result the official client's Gemini models parse, offsets and money exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from llm_responses.billing.money import to_nanos, to_usd
from tests.api.wire_check import assert_engine_wire, assert_task_error
from tests.conftest import running
from tests.fakes.gemini_server import google_error

GEMINI = "/v3/ai_optimization/gemini/llm_responses"


@pytest.fixture
def gemini_settings(settings, fake_gemini):
    return settings.updated(
        {"gemini_api_key": "AIza-test", "gemini_base_url": fake_gemini.base_url, "gemini_max_retries": 1}
    )


async def live(h, creds, **task):
    body = await h.post(f"{GEMINI}/live", creds, [{"user_prompt": "parcs d'attractions en France", **task}])
    assert_engine_wire(body, "gemini", "live")
    return body


async def test_grounded_answers_convert_byte_offsets_to_characters_and_bill_the_grounded_prompt(
    gemini_settings, fake_gemini
):
    async with running(gemini_settings) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="gemini-2.5-flash", web_search=True, system_message="bref")
        task = body["tasks"][0]
        assert task["status_code"] == 20000, task
        result = task["result"][0]
        [section] = result["items"][0]["sections"]
        text = section["text"]
        assert (
            "≈€2 Md" in text
        )  # multi-byte characters before the second segment: bytes and characters differ
        assert len(section["annotations"]) == 3  # one per (support, chunk)
        for a in section["annotations"]:
            assert text[a["start_index"] : a["end_index"]] == a["text"]
            assert a["url"].startswith("https://vertexaisearch.cloud.google.com/grounding-api-redirect/")
        assert section["annotations"][0]["title"] == "lesechos.fr"
        assert "direct_url" not in section["annotations"][0]  # Google's host is not reachable from here
        assert result["fan_out_queries"] == [
            "parcs d'attractions en France",
            "parcs d'attractions France fréquentation",
        ]

        sent = fake_gemini.requests[-1]
        assert fake_gemini.paths[-1] == "/v1beta/models/gemini-2.5-flash:generateContent"
        assert fake_gemini.headers[-1]["x-goog-api-key"] == "AIza-test"
        assert sent["tools"] == [{"googleSearch": {}}]
        assert sent["generationConfig"]["temperature"] == 1.3 and sent["generationConfig"]["topP"] == 0.9
        assert sent["systemInstruction"]["parts"] == [{"text": "bref"}]
        thinking = sent["generationConfig"]["thinkingConfig"]
        assert (
            thinking.get("thinkingBudget", thinking.get("thinking_budget")) == 0
        )  # Flash: no reasoning asked

        # tokens at genai-prices' rates plus one grounded prompt ($35 per 1,000 on Gemini 2.5)
        price = calc_price(
            Usage(input_tokens=result["input_tokens"], output_tokens=result["output_tokens"], web_searches=1),
            model_ref="gemini-2.5-flash",
            provider_id="google",
        )
        assert result["money_spent"] == to_usd(to_nanos(Decimal(price.total_price)))


async def test_use_reasoning_asks_for_thought_summaries(gemini_settings, fake_gemini):
    async with running(gemini_settings) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="gemini-2.5-flash", use_reasoning=True, max_output_tokens=1024)
        result = body["tasks"][0]["result"][0]
        assert result["items"][0]["type"] == "reasoning" and result["reasoning_tokens"] == 120
        config = fake_gemini.requests[-1]["generationConfig"]
        assert "temperature" not in config and "topP" not in config
        thinking = config["thinkingConfig"]
        assert thinking.get("includeThoughts", thinking.get("include_thoughts")) is True


async def test_pro_models_always_reason(gemini_settings, fake_gemini):
    async with running(gemini_settings) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="gemini-2.5-pro", temperature=0.5)
        assert_task_error(body, 40501, "Invalid Field: 'temperature'.")  # a reasoning model: no sampling
        body = await live(h, alice, model_name="gemini-2.5-pro")
        assert body["tasks"][0]["result"][0]["items"][0]["type"] == "reasoning"


@pytest.mark.parametrize(
    ("task", "error"),
    [
        ({"force_web_search": True}, "Unknown Fields in POST Data: force_web_search"),
        ({"web_search_country_iso_code": "FR"}, "Unknown Fields in POST Data: web_search_country_iso_code"),
        ({"temperature": 2.5}, "Invalid Field: 'temperature'."),
        ({"use_reasoning": True, "max_output_tokens": 1000}, "Invalid Field: 'max_output_tokens'."),
        ({"model_name": "gemini-2.5-flash-lite", "web_search": True}, "Invalid Field: 'web_search'."),
    ],
)
async def test_geminis_rules_are_dataforseos(gemini_settings, fake_gemini, task, error):
    async with running(gemini_settings) as h:
        alice = await h.account()
        body = await live(h, alice, **{"model_name": "gemini-2.5-flash", **task})
        assert body["tasks"][0]["status_message"] == error
        assert fake_gemini.requests == []


async def test_quota_errors_are_retried_and_a_missing_key_is_the_operators(gemini_settings, fake_gemini):
    async with running(gemini_settings) as h:
        alice = await h.account()
        fake_gemini.enqueue(
            google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        )
        body = await live(h, alice, model_name="gemini-2.0-flash")
        assert body["tasks"][0]["status_code"] == 20000 and len(fake_gemini.requests) == 2
        fake_gemini.enqueue(
            google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        )
        before = await h.balance(alice)
        assert_task_error(await live(h, alice, model_name="gemini-2.0-flash"), 50301)
        assert await h.balance(alice) == before


async def test_direct_url_is_the_page_behind_each_redirect_link(gemini_settings, fake_gemini):
    fake_gemini.redirect_base = fake_gemini.base_url  # the fake answers its own redirect links
    async with running(gemini_settings.updated({"gemini_redirect_hosts": "127.0.0.1"})) as h:
        alice = await h.account()
        body = await live(h, alice, model_name="gemini-2.5-flash", web_search=True)
        annotations = body["tasks"][0]["result"][0]["items"][0]["sections"][0]["annotations"]
        assert [a["direct_url"] for a in annotations] == [
            "https://www.lesechos.fr/industrie-services/tourisme/parcs-2026",
            "https://www.parisinfo.com/visiter-a-paris/parcs-d-attractions",
            "https://www.lesechos.fr/industrie-services/tourisme/parcs-2026",
        ]
        assert all(
            a["url"].startswith(fake_gemini.base_url + "/grounding-api-redirect/") for a in annotations
        )
