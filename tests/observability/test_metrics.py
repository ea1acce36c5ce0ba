"""/metrics: the counters move with real traffic (a live call, a task_post run by the worker, a webhook),
labels stay bounded, and only the operator reads it (a bearer token, else loopback clients)."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.api.seed import SEED_TASK
from tests.conftest import LLM
from tests.fakes.openai_replies import error_reply
from tests.metrics_text import Exposition

UPSTREAM = "llm_responses_upstream_duration_seconds_count"
LIVE = "/v3/ai_optimization/{se}/llm_responses/live"


async def scrape(harness, **headers: str) -> Exposition:
    r = await harness.client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Exposition(r.text)


async def test_a_live_call_moves_requests_upstream_tokens_spend_and_our_own_latency(harness, fake_openai):
    alice = await harness.account()
    before = await scrape(harness)
    body = await harness.post(f"{LLM}/live", alice, [SEED_TASK])
    assert body["tasks"][0]["status_code"] == 20000
    after = await scrape(harness)
    model = {"vendor": "openai", "model": "gpt-4.1-mini"}

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert (
        moved("llm_responses_http_request_duration_seconds_count", path=LIVE, method="POST", status="200")
        == 1
    )
    assert moved(UPSTREAM, outcome="ok", **model) == 1
    assert moved("llm_responses_added_latency_seconds_count", path=LIVE) == 1
    result = body["tasks"][0]["result"][0]
    assert moved("llm_responses_tokens_total", type="input", **model) == result["input_tokens"] > 0
    assert moved("llm_responses_tokens_total", type="output", **model) == result["output_tokens"] > 0
    assert abs(moved("llm_responses_spend_usd_total", **model) - result["money_spent"]) < 1e-9
    # our own latency is the request's less the upstream call's: smaller than the request's
    added = moved("llm_responses_added_latency_seconds_sum", path=LIVE)
    whole = moved("llm_responses_http_request_duration_seconds_sum", path=LIVE, method="POST", status="200")
    assert 0 < added < whole


async def test_a_task_post_run_by_the_worker_moves_the_upstream_counters(harness, fake_openai):
    alice = await harness.account()
    before = await scrape(harness)
    posted = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    await harness.wait_finished(alice, posted["tasks"][0]["id"])
    after = await scrape(harness)
    labels = {"vendor": "openai", "model": "gpt-4.1-mini", "outcome": "ok"}
    assert after.value(UPSTREAM, **labels) - before.value(UPSTREAM, **labels) == 1
    assert after.value("llm_responses_tokens_total", type="output") > before.value(
        "llm_responses_tokens_total", type="output"
    )
    # no request waited on an upstream: no added latency for task_post
    assert after.value("llm_responses_added_latency_seconds_count") == before.value(
        "llm_responses_added_latency_seconds_count"
    )


async def test_upstream_failures_are_counted_by_their_kind(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(error_reply(401, "Incorrect API key provided."))
    await harness.post(f"{LLM}/live", alice, [SEED_TASK])
    metrics = await scrape(harness)
    assert metrics.value(UPSTREAM, vendor="openai", model="gpt-4.1-mini", outcome="fatal") == 1


async def test_the_queue_is_read_from_the_database_at_scrape_time(idle_harness, fake_openai):
    alice = await idle_harness.account()
    await idle_harness.post(f"{LLM}/task_post", alice, [SEED_TASK] * 3)
    await asyncio.sleep(0.05)
    metrics = await scrape(idle_harness)
    assert metrics.value("llm_responses_queue_tasks", engine="chat_gpt", status="queued") == 3
    assert metrics.value("llm_responses_queue_tasks", engine="claude", status="queued") == 0
    assert metrics.value("llm_responses_queue_oldest_age_seconds", engine="chat_gpt", status="queued") > 0
    assert metrics.value("llm_responses_workers_alive") == 0  # an API process without a worker
    assert metrics.value("llm_responses_database_scrape_ok") == 1


async def test_labels_are_route_templates_never_raw_paths(harness):
    alice = await harness.account()
    for task_id in ("00000000-0000-7000-8000-000000000001", "00000000-0000-7000-8000-000000000002"):
        await harness.get(f"{LLM}/task_get/{task_id}", alice)
    await harness.client.get("/no/such/path/12345")
    paths = (await scrape(harness)).label_values("llm_responses_http_request_duration_seconds_count", "path")
    assert "/v3/ai_optimization/{se}/llm_responses/task_get/{task_id}" in paths
    assert "(unmatched)" in paths
    assert not [p for p in paths if "0000" in p or "12345" in p], paths


async def test_a_webhook_delivery_is_counted_by_outcome(running_with, fake_openai):
    from tests.fakes.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver().start()
    try:
        async with running_with(webhook_allowlist="127.0.0.1/32", webhook_poll_seconds=0.05) as h:
            alice = await h.account()
            task = {**SEED_TASK, "pingback_url": receiver.url("/ping?id=$id")}
            await h.post(f"{LLM}/task_post", alice, [task])
            deadline = time.monotonic() + 10
            while not receiver.received:
                assert time.monotonic() < deadline, "no pingback"
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # the attempt is recorded after the receiver answers
            metrics = await scrape(h)
    finally:
        receiver.stop()
    assert (
        metrics.value(
            "llm_responses_webhook_delivery_duration_seconds_count", kind="pingback", outcome="delivered"
        )
        == 1
    )


async def test_database_waits_and_sampled_gauges_are_exposed(harness):
    metrics = await scrape(harness)
    assert "llm_responses_db_wait_seconds" in {f.name for f in metrics.families}
    for gauge in (
        "llm_responses_live_slots_in_use",
        "llm_responses_worker_tasks_in_flight",
        "llm_responses_webhook_deliveries_in_flight",
        "llm_responses_batches_in_flight",
    ):
        assert metrics.value(gauge) == 0, gauge
    assert metrics.value("llm_responses_build_info") == 1


async def test_a_token_guards_metrics_when_set(running_with):
    async with running_with(metrics_token="scrape-me-0123456789") as h:
        assert (await h.client.get("/metrics")).status_code == 401
        wrong = await h.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        await scrape(h, Authorization="Bearer scrape-me-0123456789")


async def test_without_a_token_only_loopback_clients_are_served(harness):
    for client, expected in ((("203.0.113.7", 4242), 403), (("::1", 4242), 200), (("127.0.0.9", 1), 200)):
        transport = httpx.ASGITransport(app=harness.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/metrics")).status_code == expected, client
