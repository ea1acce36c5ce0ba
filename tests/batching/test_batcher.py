"""task_post through the vendors' batch APIs, in-process with each vendor's batch fake over loopback: tasks
are gathered, submitted, polled and settled exactly as direct tasks settle (task_get, tasks_ready, money),
at the vendor's batch price; lines that did not run finish the direct way; a submission a process died in is
found again, never sent twice."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from llm_responses.billing.money import to_nanos
from tests.conftest import LLM, running
from tests.fakes.batch_engine import error, expired

PROMPT = "parcs d'attractions en France"
CLAUDE = "/v3/ai_optimization/claude/llm_responses"
GEMINI = "/v3/ai_optimization/gemini/llm_responses"


@pytest.fixture
def batch_settings(settings, fake_openai_batch):
    return settings.updated(
        {
            "openai_base_url": fake_openai_batch.base_url,
            "task_post_batch": "on",
            "batch_max_age_seconds": 0.2,
            "batch_poll_seconds": 0.05,
            "batch_lease_seconds": 1.0,
            "worker_poll_seconds": 0.05,
        }
    )


async def post(h, creds, path, tasks):
    body = await h.post(f"{path}/task_post", creds, tasks)
    assert all(t["status_code"] == 20100 for t in body["tasks"]), body
    return [t["id"] for t in body["tasks"]]


async def collect(h, creds, path, ids, within=20.0):
    deadline = time.monotonic() + within
    out = {}
    while len(out) < len(ids):
        for task_id in ids:
            if task_id in out:
                continue
            body = await h.get(f"{path}/task_get/{task_id}", creds)
            task = body["tasks"][0]
            if task["status_code"] not in (40601, 40602):
                out[task_id] = task
        assert time.monotonic() < deadline, f"{len(ids) - len(out)} tasks unfinished"
        await asyncio.sleep(0.05)
    return out


async def ledger_of(h, task_id):
    rows = await h.store.db.read(
        lambda c: c.fetch_composed("SELECT kind, amount FROM ledger WHERE task_id = $1", [task_id], 5.0)
    )
    return sorted((r[0], r[1]) for r in rows)


async def test_queued_tasks_settle_through_one_vendor_batch_at_half_the_token_price(
    batch_settings, fake_openai_batch
):
    async with running(batch_settings) as h:
        alice = await h.account()
        tasks = [{"user_prompt": f"{PROMPT} {i}", "model_name": "gpt-4.1-mini"} for i in range(5)]
        ids = await post(h, alice, LLM, tasks)
        for task_id in ids:
            await h.wait_finished(alice, task_id, within=20)
        # tasks_ready and task_get as for any task
        ready = (await h.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"]
        assert {r["id"] for r in ready} == set(ids)
        results = await collect(h, alice, LLM, ids)
        [vendor_batch] = fake_openai_batch.batches.batches.values()
        assert sorted(line.custom_id for line in vendor_batch.lines) == sorted(ids)  # one batch, each once
        for task_id, task in results.items():
            assert task["status_code"] == 20000 and task["result"][0]["items"]
            spent, saved, lane, batch_id = (await h.store.db.read(
                lambda c, t=task_id: c.fetch_composed(
                    "SELECT money_spent, batch_saved, lane, batch_id FROM tasks WHERE id = $1", [t], 5.0
                )
            ))[0]  # fmt: skip
            assert saved > 0 and abs(spent - saved) <= 1  # half price: what was paid is what was saved
            assert lane == "batch" and batch_id is not None
            kinds = [k for k, _ in await ledger_of(h, task_id)]
            assert sorted(kinds) == ["base", "prepay", "refund"]  # charged once, settled once
        spend = (await h.client.get("/dashboard/spend.json", headers=alice.basic)).json()
        assert spend[0]["batch_saved"] > 0


async def test_money_is_the_batch_rate_to_the_nano_dollar(batch_settings, fake_openai_batch):
    from genai_prices import Usage, calc_price

    async with running(batch_settings) as h:
        alice = await h.account()
        [task_id] = await post(h, alice, LLM, [{"user_prompt": PROMPT, "model_name": "gpt-4.1-mini"}])
        [task] = (await collect(h, alice, LLM, [task_id])).values()
        result = task["result"][0]
        full = calc_price(
            Usage(input_tokens=result["input_tokens"], output_tokens=result["output_tokens"]),
            model_ref="gpt-4.1-mini-2025-04-14",
            provider_id="openai",
        ).total_price
        assert to_nanos(str(result["money_spent"])) == to_nanos(full * Decimal("0.5"))


async def test_web_search_tasks_go_the_direct_way(batch_settings, fake_openai_batch):
    async with running(batch_settings) as h:
        alice = await h.account()
        ids = await post(
            h, alice, LLM, [{"user_prompt": PROMPT, "model_name": "gpt-4.1-mini", "web_search": True}]
        )
        results = await collect(h, alice, LLM, ids)
        assert all(t["status_code"] == 20000 for t in results.values())
        assert fake_openai_batch.batches.batches == {}  # OpenAI's batches may not run web_search
        listed = (await h.get(f"{LLM}/models", alice))["tasks"][0]["result"]
        assert next(m for m in listed if m["model_name"] == "gpt-4.1-mini")["batch_supported"] is True


async def test_expired_and_transient_lines_finish_the_direct_way_errors_as_direct(
    batch_settings, fake_openai_batch
):
    async with running(batch_settings) as h:
        alice = await h.account()
        ids = await post(
            h, alice, LLM, [{"user_prompt": f"{PROMPT} {i}", "model_name": "gpt-4.1-mini"} for i in range(3)]
        )
        fake_openai_batch.batches.script_line(ids[0], expired())
        fake_openai_batch.batches.script_line(ids[1], error(500, None))
        fake_openai_batch.batches.script_line(
            ids[2],
            error(400, {"error": {"message": "Invalid 'temperature'", "type": "invalid_request_error",
                                  "param": "temperature", "code": "invalid_value"}}),
        )  # fmt: skip
        results = await collect(h, alice, LLM, ids, within=30)
        assert results[ids[0]]["status_code"] == 20000  # expired in the batch, answered directly
        assert results[ids[1]]["status_code"] == 20000  # a 500 line: the direct way, which answers
        assert results[ids[2]]["status_message"] == "Invalid Field: 'temperature'."  # as a direct 400


async def test_a_refused_batch_sends_its_tasks_the_direct_way(batch_settings, fake_openai_batch):
    fake_openai_batch.batch_api.unsupported_models = {"gpt-4.1-mini-2025-04-14"}
    async with running(batch_settings) as h:
        alice = await h.account()
        ids = await post(h, alice, LLM, [{"user_prompt": PROMPT, "model_name": "gpt-4.1-mini"}])
        results = await collect(h, alice, LLM, ids, within=30)
        assert results[ids[0]]["status_code"] == 20000
        assert await h.store.count_batches("ended") == 1


async def test_a_submission_a_process_died_in_is_found_not_sent_twice(batch_settings, fake_openai_batch):
    """The batch row and its tasks were written, the vendor's batch created, and the process died before it
    recorded the vendor's id: the next batcher finds the vendor's batch by its label and adopts it."""
    async with running(batch_settings.updated({"worker_enabled": False})) as h:
        alice = await h.account()
        ids = await post(
            h, alice, LLM, [{"user_prompt": f"{PROMPT} {i}", "model_name": "gpt-4.1-mini"} for i in range(4)]
        )
        runner = h.api.service.runner
        provider, client, _ = runner.batching(await task_request(h, alice, ids[0]))
        marked = await h.store.open_batch("crashed-batch", provider, "gpt-4.1-mini-2025-04-14", ids, "dead",
                                          time.time() - 1, time.time())  # fmt: skip
        assert sorted(marked) == sorted(ids)
        lines = [
            client.encode(
                t, runner.llm_request(t, await task_request(h, alice, t), entry_of(h, "gpt-4.1-mini"))
            )
            for t in ids
        ]
        await client.submit("crashed-batch", lines)  # ... and the process died here
    async with running(batch_settings) as h:
        results = await collect(h, alice, LLM, ids, within=30)
        assert all(t["status_code"] == 20000 for t in results.values())
        assert len(fake_openai_batch.batches.batches) == 1  # adopted, not submitted again


async def task_request(h, creds, task_id):
    import orjson

    from llm_responses.wire.request import TaskRequest

    rows = await h.store.db.read(
        lambda c: c.fetch_composed("SELECT request_json FROM tasks WHERE id = $1", [task_id], 5.0)
    )
    return TaskRequest.from_json(orjson.loads(rows[0][0]))


def entry_of(h, name):
    return h.api.catalog.resolve(name, "chat_gpt")


async def test_claude_and_gemini_tasks_batch_on_their_vendors(
    settings, fake_anthropic_batch, fake_gemini_batch
):
    changes = {
        "anthropic_api_key": "sk-ant-test", "anthropic_base_url": fake_anthropic_batch.base_url,
        "gemini_api_key": "AIza-test", "gemini_base_url": fake_gemini_batch.base_url,
        "task_post_batch": "on", "batch_max_age_seconds": 0.2, "batch_poll_seconds": 0.05,
        "batch_lease_seconds": 1.0, "worker_poll_seconds": 0.05,
    }  # fmt: skip
    async with running(settings.updated(changes)) as h:
        alice = await h.account()
        claude = await post(
            h, alice, CLAUDE, [{"user_prompt": PROMPT, "model_name": "claude-haiku-4-5", "web_search": True}]
        )
        gemini = await post(
            h, alice, GEMINI, [{"user_prompt": PROMPT, "model_name": "gemini-2.5-flash", "web_search": True}]
        )
        for path, ids in ((CLAUDE, claude), (GEMINI, gemini)):
            [task] = (await collect(h, alice, path, ids, within=30)).values()
            assert task["status_code"] == 20000
            assert task["result"][0]["items"][0]["sections"][0]["annotations"]  # cited, as directly
        assert len(fake_anthropic_batch.batches.batches) == 1 and len(fake_gemini_batch.batches.batches) == 1


async def test_a_configured_gateway_with_openais_batch_api_batches_too(settings, fake_openai_batch):
    changes = {
        "openai_api_key": None, "openai_base_url": None, "local_model": "off",
        "providers": [{"name": "gateway", "base_url": fake_openai_batch.base_url, "api": "responses",
                       "batch": True, "batch_rate": 0.5}],
        "models": [{"name": "gw-mini", "versions": ["gpt-4.1-mini-2025-04-14"], "provider": "gateway",
                    "input_price": 0.4, "output_price": 1.6}],
        "task_post_batch": "on", "batch_max_age_seconds": 0.2, "batch_poll_seconds": 0.05, "worker_poll_seconds": 0.05,
    }  # fmt: skip
    async with running(settings.updated(changes)) as h:
        alice = await h.account()
        ids = await post(h, alice, LLM, [{"user_prompt": PROMPT, "model_name": "gw-mini"}])
        [task] = (await collect(h, alice, LLM, ids)).values()
        assert task["status_code"] == 20000
        assert len(fake_openai_batch.batches.batches) == 1
