"""Every documented task field rule (seeds 001/003), one case each, through ``validate_task``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llm_responses.catalog import Catalog
from llm_responses.errors import ApiError, StatusCode
from llm_responses.wire.engines import CHAT_GPT
from llm_responses.wire.request import (
    DEFAULT_OUTPUT_TOKENS,
    TaskRequest,
    live_fields,
    task_post_fields,
    validate_task,
)

CATALOG = Catalog.build()
OK = {"user_prompt": "hello", "model_name": "gpt-4.1-mini"}
REASONING = {"user_prompt": "hello", "model_name": "o4-mini"}


def check(task: Any, *, live: bool = False) -> TaskRequest:
    return validate_task(
        task,
        allowed=live_fields(CHAT_GPT) if live else task_post_fields(CHAT_GPT),
        resolve_model=CATALOG.resolve,
        for_task_post=not live,
    )


def invalid(task: Any, *, live: bool = False) -> ApiError:
    with pytest.raises(ApiError) as err:
        check(task, live=live)
    return err.value


def test_minimal_task_gets_documented_defaults():
    r = check(OK)
    assert r.model_id == "gpt-4.1-mini-2025-04-14"
    assert r.max_output_tokens == DEFAULT_OUTPUT_TOKENS == 2048
    assert r.temperature == CHAT_GPT.default_temperature == 0.94
    assert r.top_p == CHAT_GPT.default_top_p == 0.92
    assert (r.web_search, r.force_web_search, r.message_chain) == (False, False, ())


def test_dated_version_is_accepted_as_is():
    assert check({**OK, "model_name": "gpt-4.1-mini-2025-04-14"}).model_id == "gpt-4.1-mini-2025-04-14"


def test_nulls_mean_not_provided():
    nulls = dict.fromkeys(task_post_fields(CHAT_GPT) - {"user_prompt", "model_name"})
    r = check({**OK, **nulls})
    assert r.max_output_tokens == 2048 and r.tag is None and r.postback_url is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"user_prompt": None}, "user_prompt"),
        ({"user_prompt": ""}, "user_prompt"),
        ({"user_prompt": "x" * 501}, "user_prompt"),
        ({"user_prompt": 5}, "user_prompt"),
        ({"model_name": None}, "model_name"),
        ({"model_name": "gpt-99"}, "model_name"),
        ({"model_name": 4}, "model_name"),
        ({"max_output_tokens": 15}, "max_output_tokens"),
        ({"max_output_tokens": 4097}, "max_output_tokens"),
        ({"max_output_tokens": 100.5}, "max_output_tokens"),
        ({"max_output_tokens": True}, "max_output_tokens"),
        ({"max_output_tokens": "100"}, "max_output_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.01}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": -1}, "top_p"),
        ({"model_name": "gpt-4.1-nano", "web_search": True}, "web_search"),
        ({"web_search": "yes"}, "web_search"),
        ({"force_web_search": True}, "force_web_search"),
        ({"web_search_country_iso_code": "FR"}, "web_search_country_iso_code"),
        ({"web_search": True, "web_search_country_iso_code": "XX"}, "web_search_country_iso_code"),
        ({"web_search": True, "web_search_country_iso_code": 33}, "web_search_country_iso_code"),
        ({"web_search": True, "web_search_city": "Paris"}, "web_search_city"),
        ({"web_search": True, "web_search_country_iso_code": "FR", "web_search_city": ""}, "web_search_city"),
        ({"system_message": "x" * 501}, "system_message"),
        ({"system_message": ["a"]}, "system_message"),
        ({"message_chain": [{"role": "user", "message": "hi"}] * 11}, "message_chain"),
        ({"message_chain": [{"role": "system", "message": "hi"}]}, "message_chain"),
        ({"message_chain": [{"role": "user", "message": "x" * 501}]}, "message_chain"),
        ({"message_chain": [{"role": "user"}]}, "message_chain"),
        ({"message_chain": [{"role": "user", "message": "hi", "extra": 1}]}, "message_chain"),
        ({"message_chain": "hello"}, "message_chain"),
        ({"tag": "x" * 256}, "tag"),
        ({"tag": 12}, "tag"),
        ({"postback_url": "ftp://example.com/x"}, "postback_url"),
        ({"postback_url": "not a url"}, "postback_url"),
        ({"pingback_url": "http://"}, "pingback_url"),
    ],
)
def test_invalid_field_is_named(change: dict[str, Any], field: str):
    err = invalid({**OK, **change})
    assert err.status is StatusCode.INVALID_FIELD
    assert err.message == f"Invalid Field: '{field}'."


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_output_tokens": 1023}, "max_output_tokens"),  # reasoning minimum is 1024
        ({"temperature": 0.5}, "temperature"),
        ({"top_p": 0.5}, "top_p"),
        ({"web_search": True, "force_web_search": True}, "force_web_search"),
    ],
)
def test_reasoning_model_rules(change, field):
    err = invalid({**REASONING, **change})
    assert err.message == f"Invalid Field: '{field}'."


def test_reasoning_model_defaults_send_no_sampling_parameters():
    r = check({**REASONING, "max_output_tokens": 1024})
    assert (r.temperature, r.top_p, r.reasoning, r.max_output_tokens) == (None, None, True, 1024)


@pytest.mark.parametrize("model", ["o1", "o1-pro", "o3-mini"])
def test_location_refused_on_o1_o1pro_o3mini(model):
    # these models have no web search at all, so country is refused whichever rule fires first
    err = invalid({"user_prompt": "x", "model_name": model, "web_search_country_iso_code": "FR"})
    assert err.message == "Invalid Field: 'web_search_country_iso_code'."


def test_location_refused_when_model_disallows_it_even_with_search():
    catalog = Catalog.build(
        [
            {
                "name": "o3-mini",
                "versions": ["o3-mini-2025-01-31"],
                "reasoning": True,
                "web_search": True,
                "location": False,
            }
        ]
    )
    with pytest.raises(ApiError) as err:
        validate_task(
            {
                "user_prompt": "x",
                "model_name": "o3-mini",
                "web_search": True,
                "web_search_country_iso_code": "FR",
            },
            allowed=task_post_fields(CHAT_GPT),
            resolve_model=catalog.resolve,
            for_task_post=True,
        )
    assert err.value.message == "Invalid Field: 'web_search_country_iso_code'."


def test_full_seed_task_validates():
    r = check(
        {
            **OK,
            "system_message": "communicate as if we are in a business meeting",
            "message_chain": [{"role": "user", "message": "Hello"}, {"role": "ai", "message": "Hi!"}],
            "max_output_tokens": 1024,
            "temperature": 0.3,
            "top_p": 0.5,  # the docs' own example sends both, so both are accepted
            "web_search": True,
            "force_web_search": True,
            "web_search_country_iso_code": "fr",
            "web_search_city": "Paris",
            "tag": "t-1",
            "postback_url": "https://example.com/pb?id=$id",
            "pingback_url": "http://example.com/ping?id=$id&tag=$tag",
        }
    )
    assert r.country == "FR" and r.city == "Paris" and r.force_web_search
    assert [t.role for t in r.message_chain] == ["user", "ai"]
    assert TaskRequest.from_json(r.to_json()) == r


def test_unknown_fields_are_listed():
    err = invalid({**OK, "limit": 3, "foo": 1})
    assert err.status is StatusCode.UNKNOWN_FIELDS
    assert err.message == "Unknown Fields in POST Data: limit, foo"


def test_webhook_fields_are_unknown_on_live():
    err = invalid({**OK, "postback_url": "https://example.com"}, live=True)
    assert err.status is StatusCode.UNKNOWN_FIELDS


def test_task_post_refuses_models_without_task_post_support():
    assert invalid({**OK, "model_name": "gpt-3.5-turbo-16k"}).message == "Invalid Field: 'model_name'."
    assert check({**OK, "model_name": "gpt-3.5-turbo-16k"}, live=True).model_id == "gpt-3.5-turbo-16k"


@pytest.mark.parametrize("task", [None, 3, "text", ["a"]])
def test_non_object_task_is_invalid_post_data(task):
    assert invalid(task).status is StatusCode.POST_DATA_INVALID


# -- the other engines' rules (wire/engines.py) -----------------------------------------------------


def check_engine(se: str, task: dict, *, live: bool = True) -> TaskRequest:
    from llm_responses.wire.engines import ENGINES

    engine = ENGINES[se]
    models = {"claude": "claude-haiku-4-5", "gemini": "gemini-2.5-flash", "perplexity": "sonar"}
    return validate_task(
        {"user_prompt": "hello", "model_name": models[se], **task},
        allowed=live_fields(engine) if live else task_post_fields(engine),
        resolve_model=lambda name: CATALOG.resolve(name, se),
        for_task_post=not live,
        engine=engine,
    )


def test_each_engine_applies_its_own_sampling_defaults():
    claude, gemini, pplx = (check_engine(se, {}) for se in ("claude", "gemini", "perplexity"))
    assert (claude.temperature, claude.top_p) == (0.7, None)
    assert (gemini.temperature, gemini.top_p) == (1.3, 0.9)
    assert (pplx.temperature, pplx.top_p) == (0.77, 0.9)
    assert check_engine("claude", {"top_p": 0.3}).temperature is None  # one or the other
    assert pplx.web_search is True and claude.web_search is False  # Sonar always searches


def test_use_reasoning_is_a_request_field_only_where_the_engine_has_it():
    assert check_engine("claude", {"use_reasoning": True, "max_output_tokens": 1025}).reasoning is True
    with pytest.raises(ApiError, match="use_reasoning"):
        check_engine("perplexity", {"use_reasoning": True})
    with pytest.raises(ApiError, match="use_reasoning"):
        check({**OK, "use_reasoning": True})  # chat_gpt: reasoning is the model's


def test_claude_takes_only_its_36_countries_and_a_city_with_one():
    assert check_engine("claude", {"web_search": True, "web_search_country_iso_code": "jp"}).country == "JP"
    for country in ("UA", "EG", "VN"):
        with pytest.raises(ApiError, match="web_search_country_iso_code"):
            check_engine("claude", {"web_search": True, "web_search_country_iso_code": country})
    with pytest.raises(ApiError, match="web_search_city"):
        check_engine("claude", {"web_search": True, "web_search_city": "Lyon"})


def test_perplexitys_chain_alternates_and_ends_with_the_ai():
    ok = [{"role": "user", "message": "a"}, {"role": "ai", "message": "b"}]
    assert len(check_engine("perplexity", {"message_chain": ok}).message_chain) == 2
    for chain in (ok[:1], ok[::-1], ok + ok[:1]):
        with pytest.raises(ApiError, match="message_chain"):
            check_engine("perplexity", {"message_chain": chain})
    assert len(check_engine("claude", {"message_chain": ok[::-1]}).message_chain) == 2  # others need not


def test_read_task_gives_the_echo_with_the_request_or_the_error_in_one_call():
    from llm_responses.wire.engines import ENGINES
    from llm_responses.wire.request import TaskRequest, read_task

    resolve = CATALOG.resolve
    ok = read_task(
        {"user_prompt": "hi", "model_name": "gpt-4.1-mini", "tag": "t", "system_message": None},
        ENGINES["chat_gpt"],
        resolve_model=lambda name: resolve(name, "chat_gpt"),
        for_task_post=True,
    )
    assert ok.error is None and ok.request is not None
    assert ok.data == {"api": "ai_optimization", "function": "llm_responses", "se": "chat_gpt",
                       "user_prompt": "hi", "model_name": "gpt-4.1-mini", "tag": "t"}  # fmt: skip
    assert TaskRequest.from_json(orjson.loads(ok.request_json)) == ok.request  # what a worker reads back
    bad = read_task(
        {"user_prompt": "hi", "model_name": "nope"},
        ENGINES["claude"],
        resolve_model=lambda name: resolve(name, "claude"),
        for_task_post=False,
    )
    assert bad.request is None and bad.error is not None and bad.error.field == "model_name"
    assert bad.data["se"] == "claude" and bad.data["model_name"] == "nope"  # an error still echoes
