"""Postback and pingback over real HTTP to a receiver on loopback: body, URLs, retries, signing, restarts."""

import asyncio
import gzip
import time
import tracemalloc
from pathlib import Path

import httpx
import orjson

from llm_responses.webhooks import signing
from llm_responses.webhooks.guard import AddressGuard
from llm_responses.webhooks.sender import send
from tests.conftest import LLM, running
from tests.fakes.webhook_receiver import Answer

TASK = {"model_name": "gpt-4.1-mini", "user_prompt": "provide information on amusement parks in France"}


def without_times(value):
    """task_get's JSON minus the fields that differ between two renderings (elapsed ``time``)."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k != "time"}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


async def post_task(h, creds, **extra):
    body = await h.post(f"{LLM}/task_post", creds, [{**TASK, **extra}])
    task = body["tasks"][0]
    assert task["status_code"] == 20100, task
    return task["id"]


async def deliveries(h, creds, task_id):
    body = await h.get(f"/v3/appendix/webhook_deliveries/{task_id}", creds)
    return body["tasks"][0]["result"]


async def settled(h, creds, task_id, within=10.0):
    """The task's deliveries once none is pending any more."""
    deadline = time.monotonic() + within
    while True:
        views = await deliveries(h, creds, task_id)
        if views and all(v["status"] != "pending" for v in views):
            return views
        assert time.monotonic() < deadline, views
        await asyncio.sleep(0.05)


async def test_postback_is_the_gzipped_task_get_json_and_keeps_the_task_out_of_tasks_ready(
    hook_settings, receiver
):
    async with running(hook_settings) as h:
        alice = await h.account()
        task_id = await post_task(h, alice, postback_url=receiver.url("/postback?id=$id"), tag="t1")
        [got] = await receiver.wait_for(1)
        assert got.method == "POST" and got.query == f"id={task_id}"
        assert got.headers["content-type"] == "application/json" and got.headers["content-encoding"] == "gzip"
        posted = orjson.loads(gzip.decompress(got.body))
        [view] = await settled(h, alice, task_id)
        assert view["status"] == "delivered" and view["history"][0]["http_status"] == 200
        assert (await h.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"] == []  # delivered: not listed
        collected = await h.get(f"{LLM}/task_get/{task_id}", alice)  # still retrievable
        assert without_times(posted) == without_times(collected)
        assert posted["tasks"][0]["result"][0]["items"]


async def test_a_finished_postback_task_wakes_the_dispatcher_without_waiting_for_its_poll(
    hook_settings, receiver
):
    # the dispatcher polls every 60 s here: a delivery within seconds means the finished task woke it
    async with running(hook_settings.updated({"webhook_poll_seconds": 60.0})) as h:
        alice = await h.account()
        await asyncio.sleep(0.2)  # the dispatcher's first (empty) claim is behind it: it now sleeps
        await post_task(h, alice, postback_url=receiver.url("/postback"))
        [got] = await asyncio.wait_for(receiver.wait_for(1), 10)
        assert got.method == "POST"


async def test_id_and_tag_are_filled_in_and_special_characters_encoded(hook_settings, receiver):
    async with running(hook_settings) as h:
        alice = await h.account()
        tag = "a b&c/é#1"
        task_id = await post_task(
            h, alice, pingback_url=receiver.url("/ping/$id?tag=$tag&x=1 2#frag"), tag=tag
        )
        [got] = await receiver.wait_for(1)
        assert got.method == "GET" and got.body == b""
        assert got.path == f"/ping/{task_id}"
        assert (
            got.query == "tag=a%20b%26c%2F%C3%A9%231&x=1%202%23frag"
        )  # '#' → %23: the fragment is sent, not cut
        assert signing.verify(got.headers[signing.HEADER.lower()], await secret(h, alice), task_id, b"")


async def secret(h, creds):
    return (await h.get("/v3/appendix/webhook_secret", creds))["tasks"][0]["result"][0]["secret"]


async def test_a_receiver_that_times_out_puts_the_task_in_tasks_ready(hook_settings, receiver):
    receiver.default = Answer(delay=3)
    config = hook_settings.updated({"webhook_timeout_seconds": 0.3, "webhook_max_attempts": 1})
    async with running(config) as h:
        alice = await h.account()
        task_id = await post_task(h, alice, postback_url=receiver.url(), tag="slow")
        [view] = await settled(h, alice, task_id)
        assert view["status"] == "failed" and view["attempts"] == 1
        assert (
            view["history"][0]["error"] == "timed out after 0.3s"
            and view["history"][0]["http_status"] is None
        )
        ready = (await h.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"]
        assert [r["id"] for r in ready] == [task_id]


async def test_retries_until_success_with_every_attempt_recorded(hook_settings, receiver):
    receiver.script.extend([Answer(503), Answer(429), Answer(200)])
    async with running(hook_settings) as h:
        alice = await h.account()
        task_id = await post_task(h, alice, postback_url=receiver.url())
        [view] = await settled(h, alice, task_id)
        assert view["status"] == "delivered"
        assert [a["http_status"] for a in view["history"]] == [503, 429, 200]
        assert [a["attempt"] for a in view["history"]] == [1, 2, 3]
        assert all(a["latency_ms"] >= 0 and a["datetime"] for a in view["history"])
        assert len(receiver.received) == 3


async def test_a_400_is_not_retried_and_a_redirect_is_not_followed(hook_settings, receiver):
    receiver.script.extend(
        [Answer(400), Answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})]
    )
    async with running(hook_settings) as h:
        alice = await h.account()
        first = await post_task(h, alice, postback_url=receiver.url("/a"))
        [view] = await settled(h, alice, first)
        assert (
            view["status"] == "failed" and view["attempts"] == 1 and view["history"][0]["error"] == "HTTP 400"
        )
        second = await post_task(h, alice, postback_url=receiver.url("/b"))
        [view] = await settled(h, alice, second)
        assert view["status"] == "failed" and view["history"][0]["http_status"] == 302
        assert [r.path for r in receiver.received] == ["/a", "/b"]  # nothing went to the redirect target
        ready = {r["id"] for r in (await h.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"]}
        assert ready == {first, second}


async def test_signatures_verify_tampering_fails_and_rotation_signs_with_both(hook_settings, receiver):
    # no secret cache: the delivery after the rotation must see the new secret at once
    async with running(hook_settings.updated({"webhook_secret_cache_seconds": 0})) as h:
        alice = await h.account()
        old = await secret(h, alice)
        assert old.startswith("whsec_") and await secret(h, alice) == old  # stable until rotated
        task_id = await post_task(h, alice, postback_url=receiver.url())
        [got] = await receiver.wait_for(1)
        header = got.headers[signing.HEADER.lower()]
        assert got.headers[signing.TASK_HEADER.lower()] == task_id
        assert signing.verify(header, old, task_id, got.body)
        assert not signing.verify(header, old, task_id, got.body[:-1] + bytes([got.body[-1] ^ 1]))
        assert not signing.verify(header, old, "another-task", got.body)
        assert not signing.verify(header, old, task_id, got.body, now=time.time() + 3600)  # a replay, later
        assert not signing.verify(header, "whsec_forged", task_id, got.body)

        rotated = (await h.post("/v3/appendix/webhook_secret/rotate", alice, []))["tasks"][0]["result"][0]
        new = rotated["secret"]
        assert new != old and rotated["previous_secret"] == old
        await post_task(h, alice, postback_url=receiver.url())
        second = (await receiver.wait_for(2))[1]
        header = second.headers[signing.HEADER.lower()]
        task2 = second.headers[signing.TASK_HEADER.lower()]
        assert header.count("v1=") == 2
        assert signing.verify(header, new, task2, second.body) and signing.verify(
            header, old, task2, second.body
        )


async def test_a_delivery_retrying_when_the_process_stops_resumes_after_a_restart(hook_settings, receiver):
    config = hook_settings.updated({"webhook_retry_horizon_seconds": 1.0, "webhook_max_attempts": 2})
    receiver.script.append(Answer(503))
    async with running(config) as h:
        alice = await h.account()
        task_id = await post_task(h, alice, postback_url=receiver.url())
        await receiver.wait_for(1)
        deadline = time.monotonic() + 5
        while (await deliveries(h, alice, task_id))[0]["attempts"] < 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
    assert len(receiver.received) == 1  # stopped before the retry was due
    async with running(config) as h:
        [view] = await settled(h, alice, task_id)
        assert view["status"] == "delivered" and [a["http_status"] for a in view["history"]] == [503, 200]


async def test_webhook_resend_sends_again_for_free(hook_settings, receiver):
    async with running(hook_settings) as h:
        alice = await h.account()
        task_id = await post_task(h, alice, pingback_url=receiver.url("/p?id=$id"))
        await receiver.wait_for(1)
        await settled(h, alice, task_id)
        balance = await h.balance(alice)
        body = await h.post(
            "/v3/appendix/webhook_resend",
            alice,
            [{"id": task_id}, {"id": "00000000-0000-0000-0000-000000000000"}, {"x": 1}],
        )
        codes = [(t["status_code"], t["cost"]) for t in body["tasks"]]
        assert codes == [(20100, 0.0), (40401, 0.0), (40501, 0.0)]
        assert body["tasks"][0]["result"] is None and body["tasks"][0]["id"] == task_id
        got = await receiver.wait_for(2)
        assert got[1].query == f"id={task_id}"
        assert await h.balance(alice) == balance
        assert len(await settled(h, alice, task_id)) == 2


async def test_resend_limits_and_unfinished_or_webhookless_tasks(hook_settings, receiver):
    async with running(hook_settings.updated({"worker_enabled": False})) as h:
        alice = await h.account()
        pending = await post_task(h, alice, postback_url=receiver.url())
        body = await h.post("/v3/appendix/webhook_resend", alice, [{"id": pending}] + [{"id": "x"}] * 100)
        assert body["status_code"] == 40006 and body["tasks"] == []
        body = await h.post("/v3/appendix/webhook_resend", alice, [{"id": pending}])
        assert body["tasks"][0]["status_code"] == 40602
    async with running(hook_settings) as h:
        plain = await post_task(h, alice)
        await h.wait_done(alice, plain)
        body = await h.post("/v3/appendix/webhook_resend", alice, [{"id": plain}])
        assert (
            body["tasks"][0]["status_message"]
            == "Invalid Field: 'id'. The task has no postback_url or pingback_url."
        )


async def test_another_accounts_task_is_not_found(hook_settings, receiver):
    async with running(hook_settings) as h:
        alice = await h.account()
        bob = await h.account("bob")
        task_id = await post_task(h, alice, postback_url=receiver.url())
        assert (await h.post("/v3/appendix/webhook_resend", bob, [{"id": task_id}]))["tasks"][0][
            "status_code"
        ] == 40401
        body = await h.get(f"/v3/appendix/webhook_deliveries/{task_id}", bob)
        assert body["tasks"][0]["status_code"] == 40401 and body["tasks"][0]["result"] is None


def documented_receiver():
    """``verify_and_parse`` exactly as docs/webhooks.md shows it."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text("utf-8")
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(snippet, "docs/webhooks.md", "exec"), namespace)
    return namespace["verify_and_parse"]


async def test_the_documented_receiver_snippet_accepts_real_deliveries_and_rejects_forgeries(
    hook_settings, receiver
):
    verify_and_parse = documented_receiver()
    async with running(hook_settings) as h:
        alice = await h.account()
        task_id = await post_task(h, alice, postback_url=receiver.url(), pingback_url=receiver.url("/ping"))
        got = await receiver.wait_for(2)
        key = await secret(h, alice)
        post = next(r for r in got if r.method == "POST")
        ping = next(r for r in got if r.method == "GET")
        parsed = verify_and_parse(post.headers, post.body, key)
        assert parsed["tasks"][0]["id"] == task_id and parsed["tasks"][0]["result"][0]["items"]
        assert verify_and_parse(ping.headers, ping.body, key) == {}
        assert verify_and_parse(post.headers, post.body + b"x", key) is None
        assert verify_and_parse(post.headers, post.body, "whsec_other") is None
        assert verify_and_parse({**post.headers, "x-llmr-task-id": "other"}, post.body, key) is None


async def test_a_huge_receiver_reply_is_not_read(receiver):
    # a receiver answering with 256 MB: the sender reads a few KB and hangs up (it used to hold all of it)

    receiver.default = Answer(body_bytes=256 << 20)
    async with httpx.AsyncClient() as client:
        tracemalloc.start()
        try:
            result = await send(
                client, AddressGuard.from_setting("127.0.0.1/32"), "GET", receiver.url(), timeout_seconds=10
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.delivered and result.http_status == 200
    assert peak < 8 << 20, peak  # the whole reply read into memory was 256 MB here


async def test_resend_ids_are_deduplicated_and_deliveries_paginate(hook_settings, receiver):
    async with running(hook_settings) as h:
        alice = await h.account()
        task_id = await post_task(h, alice, pingback_url=receiver.url())
        await h.wait_done(alice, task_id)
        await settled(h, alice, task_id)
        body = await h.post("/v3/appendix/webhook_resend", alice, [{"id": task_id}] * 3)
        assert [t["status_code"] for t in body["tasks"]] == [20100] * 3
        views = await settled(h, alice, task_id)
        assert len(views) == 2  # the first delivery and one resend, not three
        page = await h.get(f"/v3/appendix/webhook_deliveries/{task_id}?limit=1&offset=1", alice)
        assert [v["id"] for v in page["tasks"][0]["result"]] == [views[1]["id"]]
        bad = await h.get(f"/v3/appendix/webhook_deliveries/{task_id}?limit=1000", alice)
        assert (bad["status_code"], bad["status_message"]) == (40501, "Invalid Field: 'limit'.")
