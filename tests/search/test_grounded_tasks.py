"""Models without hosted search, end to end: a Chat Completions server (the fake, over HTTP) answers from
sources found in a local FTS5 index or a (fake) SearXNG; citations become annotations."""

import logging

import pytest

from llm_responses.search.documents import Document
from llm_responses.search.local_index import LocalIndex
from tests.conftest import LLM, running
from tests.fakes.openai_replies import Reply, error_reply
from tests.fakes.searxng_server import FakeSearxng

MODEL = "llama-3.1-8b"
UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct"
PARKS = "https://kb.example/parks"
BREAD = "https://kb.example/bread"


def gpu_settings(settings, fake, **extra):
    provider = {
        "name": "gpu",
        "base_url": fake.base_url,
        "api": "chat_completions",
        "max_retries": 0,
        "query_planner": extra.pop("planner", "rule"),
    }
    model = {
        "name": MODEL,
        "versions": [UPSTREAM],
        "provider": "gpu",
        "web_search": True,
        "input_price": 1,
        "output_price": 2,
    }
    return settings.updated({"providers": [provider], "models": [model], **extra})


@pytest.fixture
def indexed(settings):
    LocalIndex(settings.search_index_path).add(
        [
            Document(
                PARKS,
                "Amusement parks in France",
                "Disneyland Paris receives about 10 million visitors a year.",
            ),
            Document(BREAD, "Baking bread", "Flour, water and salt make bread."),
        ]
    )
    return settings


@pytest.fixture
def searxng():
    fake = FakeSearxng().start()
    yield fake
    fake.stop()


def chat_reply(fake, text):
    return Reply(
        body=fake.build_chat_response(
            {"messages": [{"role": "user", "content": "x"}], "model": UPSTREAM}, text=text
        )
    )


async def live(h, creds, **task):
    body = await h.post(f"{LLM}/live", creds, [{"model_name": MODEL, **task}])
    return body["tasks"][0]


async def test_chat_completions_request_and_result(settings, fake_openai):
    async with running(gpu_settings(settings, fake_openai)) as h:
        alice = await h.account()
        task = await live(
            h,
            alice,
            user_prompt="Hello?",
            system_message="Be brief.",
            message_chain=[{"role": "user", "message": "Hi"}, {"role": "ai", "message": "Hello!"}],
        )
        assert task["status_code"] == 20000, task
        sent = fake_openai.requests[-1]
        assert sent == {
            "model": UPSTREAM,
            "max_tokens": 2048,
            "temperature": 0.94,
            "top_p": 0.92,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Hello?"},
            ],
        }
        result = task["result"][0]
        assert result["model_name"] == UPSTREAM
        assert result["items"][0]["sections"][0]["text"] == "Here is an answer about Hello?."
        tokens_in, tokens_out = result["input_tokens"], result["output_tokens"]
        assert (tokens_in, tokens_out) == (
            10,
            6,
        )  # the fake counts words: 5 in the messages + 5, 6 in the answer
        assert result["money_spent"] == pytest.approx((tokens_in * 1 + tokens_out * 2) / 1e6)


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (error_reply(400, "bad temperature", param="temperature"), 40501),
        (error_reply(503, "overloaded", type_="server_error"), 50301),
        (Reply(body="<html>proxy error</html>"), 50301),
    ],
)
async def test_chat_completions_errors_are_task_errors(settings, fake_openai, reply, code):
    async with running(gpu_settings(settings, fake_openai)) as h:
        alice = await h.account()
        fake_openai.enqueue(reply)
        task = await live(h, alice, user_prompt="Hello?")
        assert task["status_code"] == code
        assert await h.balance(alice) == 10 * 10**9


async def test_web_search_from_the_local_index_cites_its_sources(indexed, fake_openai):
    async with running(gpu_settings(indexed, fake_openai)) as h:
        alice = await h.account()
        fake_openai.enqueue(
            chat_reply(fake_openai, "Disneyland Paris gets about 10 million visitors [1]. Ünïcode [7]!")
        )
        task = await live(
            h, alice, user_prompt="How many visitors does Disneyland Paris get?", web_search=True
        )
        assert task["status_code"] == 20000, task
        prompt = fake_openai.requests[-1]["messages"][-1]["content"]
        assert f"[1] Amusement parks in France ({PARKS})\nDisneyland Paris receives" in prompt
        assert prompt.endswith("Question: How many visitors does Disneyland Paris get?")
        result = task["result"][0]
        assert result["web_search"] is True
        assert result["fan_out_queries"] == ["many visitors Disneyland Paris"]
        section = result["items"][0]["sections"][0]
        link = f"([kb.example]({PARKS}))"
        assert section["text"] == f"Disneyland Paris gets about 10 million visitors {link}. Ünïcode!"
        [annotation] = section["annotations"]
        assert annotation == {
            "title": "Amusement parks in France",
            "url": PARKS,
            "text": link,
            "start_index": section["text"].index(link),
            "end_index": section["text"].index(link) + len(link),
        }
        assert result["money_spent"] < 0.001  # our own search is not billed at OpenAI's per-call fee


async def test_an_empty_index_still_searches_and_answers_plainly(settings, fake_openai):
    async with running(gpu_settings(settings, fake_openai)) as h:
        alice = await h.account()
        task = await live(h, alice, user_prompt="Anything about zeppelins?", web_search=True)
        result = task["result"][0]
        assert result["web_search"] is True and result["fan_out_queries"] == ["Anything zeppelins"]
        assert result["items"][0]["sections"][0]["annotations"] == []
        assert fake_openai.requests[-1]["messages"][-1]["content"] == "Anything about zeppelins?"


async def test_searxng_gets_the_locale_and_its_results_ground_the_answer(settings, fake_openai, searxng):
    searxng.add("Parc Astérix", "https://www.parcasterix.fr/", "Parc Astérix visitors 2.8 million")
    config = gpu_settings(settings, fake_openai, search_backend="searxng", searxng_url=searxng.base_url)
    async with running(config) as h:
        alice = await h.account()
        fake_openai.enqueue(chat_reply(fake_openai, "About 2.8 million [1]."))
        task = await live(
            h,
            alice,
            user_prompt="Parc Astérix visitors",
            web_search=True,
            web_search_country_iso_code="FR",
            web_search_city="Paris",
        )
        assert searxng.queries == [
            {"q": "Parc Astérix visitors", "format": "json", "language": "fr-FR", "pageno": "1"}
        ]
        section = task["result"][0]["items"][0]["sections"][0]
        assert section["text"] == "About 2.8 million ([parcasterix.fr](https://www.parcasterix.fr/))."
        assert section["annotations"][0]["url"] == "https://www.parcasterix.fr/"


async def test_a_failing_search_backend_answers_without_sources_and_says_so(
    settings, fake_openai, searxng, caplog
):
    searxng.fail_with = 403
    config = gpu_settings(settings, fake_openai, search_backend="searxng", searxng_url=searxng.base_url)
    async with running(config) as h:
        alice = await h.account()
        fake_openai.enqueue(chat_reply(fake_openai, "From memory [1]."))
        with caplog.at_level(logging.WARNING):
            task = await live(h, alice, user_prompt="Parc Astérix visitors", web_search=True)
        result = task["result"][0]
        assert task["status_code"] == 20000
        assert result["web_search"] is False and result["fan_out_queries"] == []
        assert result["items"][0]["sections"][0] == {
            "type": "text",
            "text": "From memory [1].",
            "annotations": [],
        }
        assert "searxng search failed" in caplog.text and "403" in caplog.text


async def test_the_model_can_plan_its_own_queries_and_their_tokens_are_counted(indexed, fake_openai):
    async with running(gpu_settings(indexed, fake_openai, planner="model")) as h:
        alice = await h.account()
        plan, reply = (
            chat_reply(fake_openai, "1. Disneyland Paris visitors\n2. bread flour"),
            chat_reply(fake_openai, "Ten million [1], and flour [2]."),
        )
        fake_openai.enqueue(plan, reply)
        task = await live(h, alice, user_prompt="Disneyland and bread?", web_search=True)
        planning, answer = fake_openai.requests[-2:]
        assert "Write up to 3 short web search queries" in planning["messages"][-1]["content"]
        assert planning["max_tokens"] == 64 and planning["temperature"] == 0
        result = task["result"][0]
        assert result["fan_out_queries"] == ["Disneyland Paris visitors", "bread flour"]
        assert [a["url"] for a in result["items"][0]["sections"][0]["annotations"]] == [PARKS, BREAD]
        usage = [r.body["usage"] for r in (plan, reply)]
        assert result["input_tokens"] == sum(u["prompt_tokens"] for u in usage)
        assert result["output_tokens"] == sum(u["completion_tokens"] for u in usage)


async def test_without_a_search_backend_such_models_do_not_offer_web_search(settings, fake_openai):
    async with running(gpu_settings(settings, fake_openai, search_backend="none")) as h:
        alice = await h.account()
        listing = {m["model_name"]: m for m in (await h.get(f"{LLM}/models", alice))["tasks"][0]["result"]}
        assert listing[MODEL]["web_search_supported"] is False
        assert listing["gpt-4.1-mini"]["web_search_supported"] is True  # OpenAI searches upstream
        task = await live(h, alice, user_prompt="x", web_search=True)
        assert task["status_message"] == "Invalid Field: 'web_search'."


async def test_an_alias_routes_a_gpt_name_to_another_backend_and_says_who_answered(settings, fake_openai):
    config = gpu_settings(settings, fake_openai)
    alias = {
        "name": "gpt-4.1-mini",
        "versions": [UPSTREAM],
        "provider": "gpu",
        "input_price": 0,
        "output_price": 0,
    }
    async with running(config.updated({"models": [*config.models, alias]})) as h:
        alice = await h.account()
        body = await h.post(f"{LLM}/live", alice, [{"model_name": "gpt-4.1-mini", "user_prompt": "Hi"}])
        assert "messages" in fake_openai.requests[-1]  # went to the Chat Completions server
        assert body["tasks"][0]["result"][0]["model_name"] == UPSTREAM
