"""What an attacker sends: oversized bodies and fields, hostile headers and URLs. Each gets an envelope with
a documented code and a small answer, never a 500, a redirect or an echo of itself."""

import base64

import orjson
import pytest

from llm_responses.billing.money import to_nanos
from tests.api.seed import SEED_TASK
from tests.api.wire_check import assert_task_error, assert_top_error
from tests.conftest import LLM


async def test_a_body_over_the_cap_is_refused_while_it_is_read(harness):
    alice = await harness.account()
    big = orjson.dumps([{**SEED_TASK, "tag": "x" * 200}] * 6000)  # ~3.6 MB
    assert len(big) > 1 << 20
    r = await harness.client.post(
        f"{LLM}/task_post", content=big, headers={**alice.basic, "Content-Type": "application/json"}
    )
    assert r.status_code == 200 and len(r.content) < 1000
    assert_top_error(r.json(), 40503, "POST Data Is Invalid. The body is larger than 1048576 bytes.")

    async def chunks():  # no Content-Length: refused by counting what arrives
        for _ in range(40):
            yield b" " * 65536

    r = await harness.client.post(f"{LLM}/live", content=chunks(), headers=alice.basic)
    assert_top_error(r.json(), 40503)
    assert await harness.balance(alice) == to_nanos("10")


async def test_the_body_cap_is_a_setting(running_with):
    async with running_with(max_body_bytes=100) as harness:
        alice = await harness.account()
        body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
        assert_top_error(body, 40503, "POST Data Is Invalid. The body is larger than 100 bytes.")


async def test_a_million_empty_objects_get_one_small_40006(running_with):
    async with running_with(max_body_bytes=4 << 20) as harness:
        alice = await harness.account()
        raw = b"[" + b",".join([b"{}"] * 1_000_000) + b"]"  # 3 MB: 341 MB of per-item answers before
        r = await harness.client.post(f"{LLM}/task_post", content=raw, headers=alice.basic)
        assert r.status_code == 200 and len(r.content) < 1000
        assert_top_error(r.json(), 40006, "You can set no more than 100 tasks at a time.")


async def test_oversized_fields_are_never_echoed(harness):
    alice = await harness.account()
    prompt = "p" * 1_000_000
    for path in (f"{LLM}/task_post", f"{LLM}/live"):
        r = await harness.client.post(
            path, json=[{**SEED_TASK, "user_prompt": prompt, "y" * 10_000: 1}], headers=alice.basic
        )
        assert len(r.content) < 4000, (path, len(r.content))
        task = r.json()["tasks"][0]
        assert task["status_code"] == 40506
        assert "user_prompt" not in task["data"] and task["data"]["model_name"] == "gpt-4.1-mini"
        r = await harness.client.post(path, json=[{**SEED_TASK, "user_prompt": prompt}], headers=alice.basic)
        assert len(r.content) < 4000
        assert_task_error(r.json(), 40501, "Invalid Field: 'user_prompt'.")


@pytest.mark.parametrize("value", ["Basic w\u00e4rme", "Basic \u00ff\u00fe==", "Bearer caf\u00e9"])
async def test_non_ascii_credentials_are_401(harness, value):
    r = await harness.client.get(f"{LLM}/tasks_ready", headers={"Authorization": value.encode("latin-1")})
    assert r.status_code == 401
    assert_top_error(r.json(), 40100)


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://[]/", "http://a]/", "http://\u2100.com/", "http://h:99999/", "http://h:x/"]
)
async def test_unparseable_webhook_urls_fail_only_their_task(idle_harness, url):
    alice = await idle_harness.account()
    body = await idle_harness.post(f"{LLM}/task_post", alice, [{**SEED_TASK, "postback_url": url}, SEED_TASK])
    assert_task_error(body, 40501, "Invalid Field: 'postback_url'.")
    assert body["tasks"][1]["status_code"] == 20100


@pytest.mark.parametrize("path", [f"{LLM}/tasks_ready/", f"{LLM}/models/", "/v3/appendix/errors/"])
async def test_a_trailing_slash_is_404_not_a_redirect_built_from_host(harness, path):
    alice = await harness.account()
    r = await harness.client.get(path, headers={**alice.basic, "Host": "evil.example"})
    assert r.status_code == 404 and "location" not in r.headers
    assert_top_error(r.json(), 40400)


async def test_basic_with_a_non_ascii_password_that_is_valid_base64_of_utf8(harness):
    alice = await harness.account()
    raw = base64.b64encode(f"{alice.login}:pässwort".encode()).decode()
    r = await harness.client.get(f"{LLM}/tasks_ready", headers={"Authorization": f"Basic {raw}"})
    assert r.status_code == 401


async def test_a_body_that_does_not_arrive_in_time_is_refused(running_with):
    import asyncio

    async with running_with(http_body_timeout_seconds=0.3) as harness:
        alice = await harness.account()

        async def slow():
            yield b"["
            await asyncio.sleep(2)
            yield b"]"

        started = asyncio.get_running_loop().time()
        r = await harness.client.post(f"{LLM}/task_post", content=slow(), headers=alice.basic)
        assert_top_error(r.json(), 40503, "POST Data Is Invalid. The body did not arrive within 0.3 s.")
        assert asyncio.get_running_loop().time() - started < 1.5
