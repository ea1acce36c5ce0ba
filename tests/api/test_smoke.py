from tests.conftest import LLM

SEED_TASK = {
    "system_message": "communicate as if we are in a business meeting",
    "message_chain": [
        {"role": "user", "message": "Hello, what’s up?"},
        {"role": "ai", "message": "Hello! I’m doing well, thank you. How can I assist you today?"},
    ],
    "model_name": "gpt-4.1-mini",
    "user_prompt": "provide information on how relevant the amusement park business is in France now",
}


async def test_task_post_then_get(harness):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    task = body["tasks"][0]
    assert task["status_code"] == 20100, task
    done = await harness.wait_done(alice, task["id"])
    assert done["tasks"][0]["status_code"] == 20000, done
    print(done)


async def test_live(harness):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/live", alice, [{**SEED_TASK, "web_search": True, "web_search_country_iso_code": "FR"}])
    print(body)
    assert body["tasks"][0]["status_code"] == 20000
