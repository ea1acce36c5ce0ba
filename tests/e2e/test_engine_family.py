"""The official ``dataforseo-client`` drives every engine of the family against a real ``serve`` process:
models, live and (where the engine has it) task_post → tasks_ready → task_get, once with each vendor's
fake upstream and once with nothing but the embedded model (a fresh machine, offline)."""

from __future__ import annotations

import importlib
import json
import time

import pytest
from dataforseo_client.api.ai_optimization_api import AiOptimizationApi

from tests.ci import needs_embedded_model
from tests.e2e.test_official_client import Server, client_for

pytestmark = pytest.mark.e2e

TASK_ENGINES = ("chat_gpt", "claude", "gemini")
MODELS = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}


def request_info(se: str, function: str, **fields):
    camel = "".join(part.capitalize() for part in f"{se}_llm_responses_{function}".split("_"))
    module = importlib.import_module(
        f"dataforseo_client.models.ai_optimization_{se}_llm_responses_{function}_request_info"
    )
    return getattr(module, f"AiOptimization{camel}RequestInfo")(**fields)


def drive(api: AiOptimizationApi, se: str, model: str, **extra) -> None:
    """models, live and the task_post family of one engine, through the official client's typed calls."""
    models = getattr(api, f"{se}_llm_responses_models")()
    assert models.status_code == 20000
    assert model in [m.model_name for m in models.tasks[0].result], se

    live = getattr(api, f"{se}_llm_responses_live")(
        [request_info(se, "live", user_prompt="bonjour", model_name=model, **extra)]
    )
    assert live.tasks[0].status_code == 20000, (se, live.tasks[0].status_message)
    result = live.tasks[0].result[0]
    assert result.items[-1].type == "message" and result.items[-1].sections[0].text.strip()
    if se not in TASK_ENGINES:
        return
    posted = getattr(api, f"{se}_llm_responses_task_post")(
        [request_info(se, "task_post", user_prompt="bonsoir", model_name=model, tag=se, **extra)]
    )
    assert posted.tasks[0].status_code == 20100, (se, posted.tasks[0].status_message)
    task_id = posted.tasks[0].id
    deadline = time.time() + 60
    while not (ready := getattr(api, f"{se}_llm_responses_tasks_ready")()).tasks[0].result:
        assert time.time() < deadline, f"{se}: the task never finished"
        time.sleep(0.1)
    assert [(r.id, r.tag) for r in ready.tasks[0].result] == [(task_id, se)]
    got = getattr(api, f"{se}_llm_responses_task_get")(id=task_id)
    assert got.tasks[0].status_code == 20000, (se, got.tasks[0].status_message)
    assert got.tasks[0].result[0].items[-1].sections[0].text.strip()


def test_every_engine_through_the_official_client_with_each_vendors_fake(
    tmp_path, fake_openai, fake_anthropic, fake_gemini, fake_perplexity
):
    srv = Server(
        tmp_path / "family.db",
        fake_openai.base_url,
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.1",
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_anthropic.base_url,
        GEMINI_API_KEY="AIza-test",
        LLM_RESPONSES_GEMINI_BASE_URL=fake_gemini.base_url,
        PERPLEXITY_API_KEY="pplx-test",
        PERPLEXITY_BASE_URL=fake_perplexity.base_url,
    )
    creds = json.loads(srv.cli("accounts", "create", "family", "--balance", "5", "--json"))
    srv.start()
    try:
        with client_for(srv, creds["login"], creds["password"]) as api_client:
            api = AiOptimizationApi(api_client)
            for se, model in MODELS.items():
                search = {} if se == "perplexity" else {"web_search": True}
                drive(api, se, model, **search)
        assert (
            len(fake_anthropic.requests) == 2
            and len(fake_gemini.requests) == 2
            and len(fake_perplexity.requests) == 1
        )
        assert fake_anthropic.requests[0]["tools"][0]["type"] == "web_search_20250305"
    finally:
        srv.kill()
    shown = json.loads(srv.cli("accounts", "show", "family", "--json"))
    assert shown["balance"] == shown["ledger_sum"]


@needs_embedded_model
def test_every_engine_answers_offline_with_the_embedded_model(tmp_path, fake_openai):
    srv = Server(
        tmp_path / "offline.db",
        fake_openai.base_url,
        OPENAI_API_KEY="",
        OPENAI_BASE_URL="",
        LLM_RESPONSES_SEARCH_BACKEND="none",
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.1",
        LLM_RESPONSES_LOCAL_MODEL_MAX_OUTPUT_TOKENS="24",
    )
    creds = json.loads(srv.cli("accounts", "create", "offline", "--balance", "1", "--json"))
    srv.start()
    try:
        with client_for(srv, creds["login"], creds["password"]) as api_client:
            api = AiOptimizationApi(api_client)
            for se in MODELS:
                drive(api, se, "smollm2-135m-instruct")
    finally:
        srv.kill()
