"""The embedded model (xllamacpp + SmolLM2-135M) answers through the real OpenAI SDK code path.

Structure, usage and determinism are asserted, never golden text. Timeouts are generous: this machine is
noisy and the model shares two cores with the test.
"""

import pytest

from llm_responses.vendors.local import default_model_path
from tests.api.wire_check import assert_wire
from tests.ci import needs_embedded_model
from tests.conftest import LLM, running

pytestmark = [needs_embedded_model, pytest.mark.slow]  # a real model answers: seconds a test

MODEL = "smollm2-135m-instruct"


@pytest.fixture
def local_settings(settings):
    return settings.updated({"openai_api_key": None, "openai_base_url": None, "live_timeout_seconds": 120})


async def live(h, creds, **task):
    body = await h.post(f"{LLM}/live", creds, [{"model_name": MODEL, **task}])
    assert_wire(body, "live")
    return body["tasks"][0]


async def test_live_answers_with_generated_text_and_real_usage(local_settings):
    async with running(local_settings) as h:
        alice = await h.account()
        task = await live(
            h,
            alice,
            user_prompt="What is the capital of France?",
            max_output_tokens=48,
            system_message="Answer briefly.",
        )
        assert task["status_code"] == 20000, task
        result = task["result"][0]
        assert result["model_name"] == MODEL  # our name, not llama.cpp's file path
        assert result["input_tokens"] > 5
        assert 0 < result["output_tokens"] <= 48
        assert result["reasoning_tokens"] == 0
        assert result["money_spent"] == 0
        assert task["cost"] == 0.0006  # the live base price; the model itself is free by default
        text = result["items"][0]["sections"][0]["text"]
        assert len(text.split()) >= 2
        assert result["items"][0]["sections"][0]["annotations"] is None
        assert result["web_search"] is False


async def test_temperature_zero_is_deterministic_and_history_is_sent(local_settings):
    async with running(local_settings) as h:
        alice = await h.account()
        task = {
            "user_prompt": "And what is 2 + 3?",
            "max_output_tokens": 24,
            "temperature": 0,
            "message_chain": [{"role": "user", "message": "What is 1 + 1?"}, {"role": "ai", "message": "2"}],
        }
        first = await live(h, alice, **task)
        second = await live(h, alice, **task)
        assert first["status_code"] == second["status_code"] == 20000, first
        assert first["result"][0]["items"] == second["result"][0]["items"]
        without_history = await live(
            h, alice, user_prompt=task["user_prompt"], max_output_tokens=24, temperature=0
        )
        assert first["result"][0]["input_tokens"] > without_history["result"][0]["input_tokens"]


async def test_task_post_and_task_get_round_trip(local_settings):
    async with running(local_settings) as h:
        alice = await h.account()
        posted = await h.post(
            f"{LLM}/task_post",
            alice,
            [{"model_name": MODEL, "user_prompt": "Name a colour.", "max_output_tokens": 16, "tag": "local"}],
        )
        task_id = posted["tasks"][0]["id"]
        assert posted["tasks"][0]["status_code"] == 20100
        done = await h.wait_done(alice, task_id, within=120)
        task = done["tasks"][0]
        assert task["status_code"] == 20000, task
        assert task["data"]["tag"] == "local"
        assert task["result"][0]["output_tokens"] > 0


async def test_a_prompt_beyond_the_context_is_a_task_error_not_a_crash(local_settings):
    async with running(local_settings.updated({"local_model_context": 256, "local_model_parallel": 1})) as h:
        alice = await h.account()
        turn = "Tell me everything about the long history of Rome, " * 9  # ~460 characters, ~100 tokens
        chain = [{"role": role, "message": turn} for role in ("user", "ai") * 5]
        task = await live(h, alice, user_prompt=turn, message_chain=chain, max_output_tokens=16)
        assert task["status_code"] == 40501
        assert task["status_message"] == "Invalid Field: 'user_prompt'."
        assert await h.balance(alice) == 10 * 10**9  # a failed live call costs nothing


async def test_a_swapped_in_model_path_and_name_are_used(local_settings, tmp_path):
    gguf = tmp_path / "My-Model.Q8_0.gguf"
    gguf.symlink_to(default_model_path())
    async with running(local_settings.updated({"local_model_path": str(gguf)})) as h:
        alice = await h.account()
        names = [m["model_name"] for m in (await h.get(f"{LLM}/models", alice))["tasks"][0]["result"]]
        assert names == ["my-model"]
        task = await h.post(
            f"{LLM}/live", alice, [{"model_name": "my-model", "user_prompt": "Hi", "max_output_tokens": 16}]
        )
        assert task["tasks"][0]["result"][0]["model_name"] == "my-model"


async def test_the_embedded_model_is_capped_however_many_tokens_are_asked(local_settings):
    async with running(local_settings.updated({"local_model_max_output_tokens": 24})) as h:
        alice = await h.account()
        task = await live(
            h,
            alice,
            user_prompt="Write a very long essay about the history of bread.",
            max_output_tokens=4096,
        )
        assert task["status_code"] == 20000, task
        assert 0 < task["result"][0]["output_tokens"] <= 24
