"""Real upstream answers, as OpenAI and OpenAI-compatible servers give them, through the whole service.

Each case is a shape the fake builds from the vendor's reference (``tests/fakes/openai_server.py``): the
service must neither charge for a non-answer nor blame the caller for the operator's setup.
"""

import time

from llm_responses.billing.money import to_nanos
from tests.api.seed import SEED_TASK
from tests.api.wire_check import assert_task_error
from tests.conftest import LLM
from tests.fakes.openai_replies import (
    Reply,
    error_reply,
    insufficient_quota,
    model_not_found,
    rate_limited,
    summary_refused,
)

REASONING_TASK = {"user_prompt": "why is the sky blue", "model_name": "o4-mini"}


async def _live(harness, creds, task):
    return await harness.post(f"{LLM}/live", creds, [task])


async def test_unverified_org_summary_refusal_is_retried_without_summary_and_remembered(harness, fake_openai):
    alice = await harness.account()
    fake_openai.verified_org = False
    body = await _live(harness, alice, REASONING_TASK)
    task = body["tasks"][0]
    assert task["status_code"] == 20000, task
    assert [r.get("reasoning") for r in fake_openai.requests] == [{"summary": "auto"}, None]
    # remembered for the provider: the next call does not ask again
    body = await _live(harness, alice, REASONING_TASK)
    assert body["tasks"][0]["status_code"] == 20000
    assert len(fake_openai.requests) == 3 and "reasoning" not in fake_openai.requests[-1]


async def test_summary_refusal_is_not_a_client_error_even_once(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(summary_refused())
    body = await _live(harness, alice, REASONING_TASK)
    assert body["tasks"][0]["status_code"] == 20000


async def test_model_not_found_as_400_is_the_operators_problem_and_fully_refunded(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(model_not_found("gpt-4.1-mini-2025-04-14"))
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    task_id = body["tasks"][0]["id"]
    done = await harness.wait_done(alice, task_id)
    assert_task_error(done, 50301, "3rd Party API Service Unavailable.")
    assert len(fake_openai.requests) == 1  # final: not retried
    assert await harness.balance(alice) == to_nanos("10")  # base and prepayment back
    assert await harness.store.ledger_sum(alice.account_id) == to_nanos("10")


async def test_a_400_on_a_parameter_we_own_is_50301_and_one_on_the_callers_field_is_40501(
    harness, fake_openai
):
    alice = await harness.account()
    fake_openai.enqueue(
        error_reply(400, "Unknown parameter: 'store'.", param="store", code="unknown_parameter")
    )
    assert_task_error(await _live(harness, alice, SEED_TASK), 50301, "3rd Party API Service Unavailable.")
    fake_openai.enqueue(
        error_reply(400, "Hosted tool 'web_search' is not supported with gpt-4.1-nano.", param="tools")
    )
    assert_task_error(
        await _live(harness, alice, {**SEED_TASK, "web_search": True}), 40501, "Invalid Field: 'web_search'."
    )
    fake_openai.enqueue(error_reply(400, "Invalid model", param="model"))
    assert_task_error(await _live(harness, alice, SEED_TASK), 40501, "Invalid Field: 'model_name'.")
    assert await harness.balance(alice) == to_nanos("10")


async def test_http_200_with_status_failed_is_a_refunded_failure(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(
        Reply(body=fake_openai.failed_response({"model": "gpt-4.1-mini", "input": "x"}, code="invalid_image"))
    )
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    done = await harness.wait_done(alice, body["tasks"][0]["id"])
    assert_task_error(done, 50301, "3rd Party API Service Unavailable.")
    assert done["tasks"][0]["result"] is None
    assert await harness.balance(alice) == to_nanos("10")


async def test_http_200_failed_with_a_server_error_is_retried(harness, fake_openai):
    alice = await harness.account()
    failed = fake_openai.failed_response({"model": "gpt-4.1-mini", "input": "x"}, code="server_error")
    fake_openai.enqueue(Reply(body=failed))
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    done = await harness.wait_done(alice, body["tasks"][0]["id"])
    assert done["tasks"][0]["status_code"] == 20000
    assert len(fake_openai.requests) == 2


async def test_http_200_without_output_is_never_a_charged_success(harness, fake_openai):
    alice = await harness.account()
    empty = fake_openai.build_response({"model": "gpt-4.1-mini", "input": "x"})
    empty["output"] = []
    fake_openai.enqueue(Reply(body=empty))
    body = await _live(harness, alice, SEED_TASK)
    assert_task_error(body, 40103, "Task execution failed, please try to resubmit the task.")
    assert body["tasks"][0]["result"] is None and body["cost"] == 0
    assert await harness.balance(alice) == to_nanos("10")


async def test_incomplete_keeps_the_text_and_records_the_reason(harness, fake_openai, caplog):
    caplog.set_level("INFO", logger="llm_responses.tasks.runner")
    alice = await harness.account()
    req = {"model": "gpt-4.1-mini", "input": "x"}
    fake_openai.enqueue(
        Reply(body=fake_openai.incomplete_response(req, reason="content_filter", text="Half an answer"))
    )
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    task_id = body["tasks"][0]["id"]
    done = await harness.wait_done(alice, task_id)
    task = done["tasks"][0]
    assert task["status_code"] == 20000
    assert task["result"][0]["items"][0]["sections"][0]["text"] == "Half an answer"
    assert f"task {task_id}: answer from openai incomplete (content_filter)" in caplog.text


async def test_incomplete_with_no_text_is_a_refunded_failure(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(
        Reply(
            body=fake_openai.incomplete_response(
                {"model": "o4-mini", "input": "x"}, reason="max_output_tokens"
            )
        )
    )
    assert_task_error(
        await _live(harness, alice, REASONING_TASK),
        40103,
        "Task execution failed, please try to resubmit the task.",
    )
    assert await harness.balance(alice) == to_nanos("10")


async def test_reasoning_models_get_room_to_reason_beyond_max_output_tokens(harness, fake_openai):
    # real gpt-5/o-series answers spend 2-4k output tokens reasoning, counted inside max_output_tokens
    alice = await harness.account()
    fake_openai.reasoning_cost = 3000
    body = await _live(harness, alice, {**REASONING_TASK, "max_output_tokens": 1024})
    task = body["tasks"][0]
    assert task["status_code"] == 20000, task
    assert fake_openai.requests[-1]["max_output_tokens"] == 1024 + 8192
    result = task["result"][0]
    assert result["reasoning_tokens"] == 3000 and result["output_tokens"] > 3000  # billed as used
    # non-reasoning models get exactly what was asked
    await _live(harness, alice, {**SEED_TASK, "max_output_tokens": 300})
    assert fake_openai.requests[-1]["max_output_tokens"] == 300


async def test_vllm_reasoning_text_becomes_reasoning_not_answer(harness, fake_openai):
    alice = await harness.account()
    req = {"model": "gpt-4.1-mini", "input": "x"}
    fake_openai.enqueue(
        Reply(body=fake_openai.build_response(req, text="The answer.", reasoning_text="We need to think."))
    )
    result = (await _live(harness, alice, SEED_TASK))["tasks"][0]["result"][0]
    assert result["items"][0] == {
        "type": "reasoning",
        "sections": [{"type": "summary_text", "text": "We need to think."}],
    }
    assert [s["text"] for s in result["items"][1]["sections"]] == ["The answer."]


async def test_insufficient_quota_is_final_without_retries(running_with, fake_openai):
    async with running_with(openai_max_retries=2) as harness:  # the SDK would retry this 429 twice
        alice = await harness.account()
        fake_openai.enqueue(insufficient_quota(), insufficient_quota(), insufficient_quota())
        body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
        done = await harness.wait_done(alice, body["tasks"][0]["id"])
        assert_task_error(done, 50301, "3rd Party API Service Unavailable.")
        assert len(fake_openai.requests) == 1
        assert await harness.balance(alice) == to_nanos("10")


async def test_rate_limit_429_waits_what_retry_after_asks(running_with, fake_openai):
    async with running_with(openai_max_retries=2) as harness:
        alice = await harness.account()
        fake_openai.enqueue(rate_limited(retry_after_ms="300"), rate_limited(retry_after="0.2"))
        started = time.monotonic()
        body = await _live(harness, alice, SEED_TASK)
        waited = time.monotonic() - started
    assert body["tasks"][0]["status_code"] == 20000
    assert len(fake_openai.requests) == 3
    assert waited >= 0.5


async def test_retry_after_beyond_the_cap_is_not_waited_for(running_with, fake_openai):
    async with running_with(openai_max_retries=2) as harness:
        alice = await harness.account()
        fake_openai.enqueue(rate_limited(retry_after="600"))
        started = time.monotonic()
        body = await _live(harness, alice, SEED_TASK)
    assert_task_error(body, 50301, "3rd Party API Service Unavailable.")
    assert len(fake_openai.requests) == 1 and time.monotonic() - started < 5


CHAT_MODEL = {
    "name": "r1-distill",
    "versions": ["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"],
    "provider": "gpu",
    "input_price": 1,
    "output_price": 2,
}


async def test_chat_servers_think_blocks_and_reasoning_content_become_reasoning(running_with, fake_openai):
    provider = {"name": "gpu", "base_url": fake_openai.base_url, "api": "chat_completions", "max_retries": 0}
    req = {"messages": [{"role": "user", "content": "x"}], "model": "m"}
    async with running_with(providers=[provider], models=[CHAT_MODEL]) as harness:
        alice = await harness.account()
        task = {"model_name": "r1-distill", "user_prompt": "2+2?"}
        for content, reasoning in (
            ("<think>\nTwo and two.\n</think>\n\nFour.", None),  # Qwen, Ollama: inline, both tags
            (
                "Two and two.\n</think>\n\nFour.",
                None,
            ),  # DeepSeek-R1: the opening tag is in the prompt template
            ("Four.", "Two and two."),  # vLLM, DeepSeek API: reasoning_content
        ):
            fake_openai.enqueue(
                Reply(body=fake_openai.build_chat_response(req, text=content, reasoning=reasoning))
            )
            result = (await _live(harness, alice, task))["tasks"][0]["result"][0]
            assert result["items"] == [
                {"type": "reasoning", "sections": [{"type": "summary_text", "text": "Two and two."}]},
                {"type": "message", "sections": [{"type": "text", "text": "Four.", "annotations": None}]},
            ], content
        # cut off while still thinking: no answer text at all, so a refunded failure
        fake_openai.enqueue(
            Reply(
                body=fake_openai.build_chat_response(req, text="<think>Hmm, let me", finish_reason="length")
            )
        )
        assert_task_error(
            await _live(harness, alice, task),
            40103,
            "Task execution failed, please try to resubmit the task.",
        )
