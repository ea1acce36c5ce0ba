"""``.ai`` endpoints: DataForSEO's AI-optimized responses, as its official MCP server calls them."""

from tests.api.seed import SEED_LIVE, SEED_TASK
from tests.conftest import LLM


def walk_items(value, inside=False):
    """Every value found inside an ``items`` array."""
    if isinstance(value, dict):
        for k, v in value.items():
            if inside:
                yield v
            yield from walk_items(v, inside or k == "items")
    elif isinstance(value, list):
        for v in value:
            yield from walk_items(v, inside)


async def test_live_ai_is_cropped(harness, fake_openai):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/live.ai", alice, [SEED_LIVE])
    assert set(body) == {"status_code", "status_message", "tasks"}
    task = body["tasks"][0]
    assert set(task) == {"id", "status_code", "status_message", "result"} and task["status_code"] == 20000
    result = task["result"][0]
    assert result["money_spent"] == round(result["money_spent"], 3)
    assert all(v not in (None, False, "", [], {}) for v in walk_items(result["items"]))
    text = next(i for i in result["items"] if i["type"] == "message")["sections"][0]
    assert text["annotations"] and text["text"]
    # the same call without .ai keeps the full envelope
    full = await harness.post(f"{LLM}/live", alice, [SEED_LIVE])
    assert "version" in full and "cost" in full["tasks"][0]


async def test_task_get_models_and_errors_ai(harness, fake_openai):
    alice = await harness.account()
    task_id = (await harness.post(f"{LLM}/task_post.ai", alice, [SEED_TASK]))["tasks"][0]["id"]
    await harness.wait_done(alice, task_id)
    got = await harness.get(f"{LLM}/task_get/{task_id}.ai", alice)
    assert got["tasks"][0]["id"] == task_id and got["tasks"][0]["status_code"] == 20000
    models = await harness.get(f"{LLM}/models.ai", alice)
    assert any(m["model_name"] == "gpt-4.1-mini" for m in models["tasks"][0]["result"])
    r = await harness.client.get(f"{LLM}/models.ai")
    assert r.status_code == 401 and r.json() == {
        "status_code": 40100,
        "status_message": r.json()["status_message"],
        "tasks": [],
    }
    errors = await harness.get("/v3/appendix/errors.ai", alice)
    assert errors["tasks"][0]["result"]
