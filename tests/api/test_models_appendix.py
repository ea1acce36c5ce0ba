"""models, appendix/errors and appendix/user_data, read through the official client's models."""

from llm_responses.errors import StatusCode
from tests.api.seed import SEED_TASK
from tests.api.wire_check import assert_wire
from tests.ci import needs_embedded_model
from tests.conftest import LLM


async def test_models_lists_base_names_and_dated_versions(harness):
    alice = await harness.account()
    body = await harness.get(f"{LLM}/models", alice)
    parsed = assert_wire(body, "models")
    task = body["tasks"][0]
    assert task["cost"] == 0 and task["data"] == {
        "api": "ai_optimization",
        "function": "llm_responses",
        "se": "chat_gpt",
    }
    assert task["path"] == ["v3", "ai_optimization", "chat_gpt", "llm_responses", "models"]
    by_name = {m["model_name"]: m for m in task["result"]}
    assert by_name["gpt-4.1-mini"] == {
        "model_name": "gpt-4.1-mini",
        "web_search_supported": True,
        "task_post_supported": True,
        "reasoning": False,
    }
    assert "gpt-4.1-mini-2025-04-14" in by_name
    assert by_name["o4-mini"]["reasoning"] is True
    assert by_name["gpt-4.1-nano"]["web_search_supported"] is False
    assert by_name["gpt-3.5-turbo-16k"]["task_post_supported"] is False
    # only models OpenAI's web_search tool works with say so
    assert by_name["gpt-4-turbo"]["web_search_supported"] is False
    assert by_name["gpt-4"]["web_search_supported"] is False
    # the gpt-5.x family current in 2026, with dated versions
    for base, dated in (
        ("gpt-5.5", "gpt-5.5-2026-04-23"),
        ("gpt-5.4-mini", "gpt-5.4-mini-2026-03-17"),
        ("gpt-5.1", "gpt-5.1-2025-11-13"),
    ):
        assert by_name[base] == {
            "model_name": base,
            "web_search_supported": True,
            "task_post_supported": True,
            "reasoning": True,
        }
        assert dated in by_name
        assert harness.api.catalog.resolve(base).model_id == dated
    assert parsed.tasks[0].result[0].model_name


async def test_configured_models_extend_the_catalog(settings):
    from tests.conftest import running

    extra = [{"name": "my-finetune", "versions": ["my-finetune-2026-01-01"], "web_search": False}]
    async with running(settings.updated({"models": extra})) as h:
        alice = await h.account()
        names = [m["model_name"] for m in (await h.get(f"{LLM}/models", alice))["tasks"][0]["result"]]
        assert {"my-finetune", "my-finetune-2026-01-01"} <= set(names)
        body = await h.post(f"{LLM}/task_post", alice, [{**SEED_TASK, "model_name": "my-finetune"}])
        assert body["tasks"][0]["status_code"] == 20100


@needs_embedded_model
async def test_without_openai_the_embedded_model_is_served_under_its_own_name(settings):
    from tests.conftest import running

    async with running(settings.updated({"openai_api_key": None, "openai_base_url": None})) as h:
        alice = await h.account()
        listing = (await h.get(f"{LLM}/models", alice))["tasks"][0]["result"]
        assert listing == [
            {
                "model_name": "smollm2-135m-instruct",
                "web_search_supported": True,
                "task_post_supported": True,
                "reasoning": False,
            }
        ]
        body = await h.post(f"{LLM}/task_post", alice, [SEED_TASK])  # gpt-4.1-mini is not served: no disguise
        assert body["tasks"][0]["status_message"].startswith(
            "Invalid Field: 'model_name'. gpt-4.1-mini is an OpenAI model"
        )


async def test_without_any_provider_no_model_is_served(settings):
    from tests.conftest import running

    update = {"openai_api_key": None, "openai_base_url": None, "local_model": "off"}
    async with running(settings.updated(update)) as h:
        alice = await h.account()
        assert (await h.get(f"{LLM}/models", alice))["tasks"][0]["result"] == []
        body = await h.post(f"{LLM}/task_post", alice, [SEED_TASK])
        assert body["tasks"][0]["status_message"].startswith(
            "Invalid Field: 'model_name'. gpt-4.1-mini is an OpenAI model"
        )


async def test_appendix_errors_is_the_status_table(harness):
    alice = await harness.account()
    body = await harness.get("/v3/appendix/errors", alice)
    assert_wire(body, "errors")
    result = body["tasks"][0]["result"]
    assert {"code": 40501, "message": "Invalid Field."} in result
    assert len(result) == len(StatusCode)


async def test_user_data_in_the_official_clients_shape(harness):
    alice = await harness.account(balance="10")
    await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
    body = await harness.get("/v3/appendix/user_data", alice)
    parsed = assert_wire(body, "user_data")
    info = parsed.tasks[0].result[0]
    assert info.login == "alice" and info.timezone == "UTC"
    assert info.money.total == 10.0
    assert info.money.balance <= 10 - 0.0102 + 1e-9
    assert info.money.statistics.day.total >= 0.0002
    assert info.rates.limits.minute.total == 2000
    assert info.rates.statistics.minute.total >= 2


async def test_the_openapi_document_lists_every_endpoint(harness):
    schema = (await harness.client.get("/openapi.json")).json()
    paths = schema["paths"]
    llm = "/v3/ai_optimization/{se}/llm_responses"  # the documented path template
    assert set(paths[f"{llm}/task_post"]) == {"post"}
    assert set(paths[f"{llm}/task_get/{{task_id}}"]) == {"get"}
    for path in (
        f"{llm}/live",
        f"{llm}/tasks_ready",
        f"{llm}/models",
        "/v3/appendix/user_data",
        "/v3/appendix/webhook_resend",
        "/v3/appendix/webhook_secret/rotate",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    assert (await harness.client.get("/docs")).status_code == 200


async def test_an_openai_model_without_a_key_says_what_is_missing(running_with, caplog):
    async with running_with(openai_api_key=None, openai_base_url=None, local_model="off") as h:
        alice = await h.account()
        body = await h.post(f"{LLM}/live", alice, [{**SEED_TASK, "model_name": "gpt-4.1-mini"}])
        message = body["tasks"][0]["status_message"]
        assert body["tasks"][0]["status_code"] == 40501
        assert message.startswith("Invalid Field: 'model_name'. gpt-4.1-mini is an OpenAI model")
        assert "OPENAI_API_KEY" in message and "[[models]]" in message
        assert "a client asked for gpt-4.1-mini is an OpenAI model" in caplog.text
        body = await h.post(f"{LLM}/live", alice, [{**SEED_TASK, "model_name": "no-such-model"}])
        assert body["tasks"][0]["status_message"] == "Invalid Field: 'model_name'."
