"""Checking bodies against the official client's models (strict JSON types), and the error shape."""

from __future__ import annotations

from typing import Any

from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_live_response_info import (
    AiOptimizationChatGptLlmResponsesLiveResponseInfo,
)
from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_models_response_info import (
    AiOptimizationChatGptLlmResponsesModelsResponseInfo,
)
from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_task_get_response_info import (
    AiOptimizationChatGptLlmResponsesTaskGetResponseInfo,
)
from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_task_post_response_info import (
    AiOptimizationChatGptLlmResponsesTaskPostResponseInfo,
)
from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_tasks_ready_response_info import (
    AiOptimizationChatGptLlmResponsesTasksReadyResponseInfo,
)
from dataforseo_client.models.appendix_errors_response_info import AppendixErrorsResponseInfo
from dataforseo_client.models.appendix_user_data_response_info import AppendixUserDataResponseInfo

MODELS = {
    "task_post": AiOptimizationChatGptLlmResponsesTaskPostResponseInfo,
    "live": AiOptimizationChatGptLlmResponsesLiveResponseInfo,
    "task_get": AiOptimizationChatGptLlmResponsesTaskGetResponseInfo,
    "tasks_ready": AiOptimizationChatGptLlmResponsesTasksReadyResponseInfo,
    "models": AiOptimizationChatGptLlmResponsesModelsResponseInfo,
    "errors": AppendixErrorsResponseInfo,
    "user_data": AppendixUserDataResponseInfo,
}

TOP_KEYS = ["version", "status_code", "status_message", "time", "cost", "tasks_count", "tasks_error", "tasks"]
TASK_KEYS = ["id", "status_code", "status_message", "time", "cost", "result_count", "path", "data", "result"]


def assert_wire(body: dict[str, Any], kind: str) -> Any:
    """The body parses under the official client's strict model, with every envelope key present."""
    assert list(body) == TOP_KEYS
    assert isinstance(body["status_code"], int) and isinstance(body["cost"], float | int)
    assert body["time"].endswith(" sec.")
    for task in body["tasks"]:
        assert list(task) == TASK_KEYS
    parsed = MODELS[kind].from_dict(body)
    assert parsed is not None
    return parsed


def assert_top_error(body: dict[str, Any], code: int, message: str | None = None) -> None:
    """A request-level error: the status at the top, no tasks, still the full envelope."""
    assert list(body) == TOP_KEYS
    assert body["status_code"] == code, body
    if message is not None:
        assert body["status_message"] == message
    assert body["tasks"] == [] and body["tasks_count"] == 0 and body["cost"] == 0


def assert_task_error(
    body: dict[str, Any], code: int, message: str | None = None, index: int = 0
) -> dict[str, Any]:
    assert body["status_code"] == 20000
    task = body["tasks"][index]
    assert list(task) == TASK_KEYS
    assert task["status_code"] == code, task
    if message is not None:
        assert task["status_message"] == message
    assert task["result"] is None and task["result_count"] == 0
    assert body["tasks_error"] >= 1
    return task


def assert_engine_wire(body: dict[str, Any], se: str, kind: str) -> Any:
    """``assert_wire`` with the official client's model for engine ``se`` (claude, gemini, perplexity...)."""
    import importlib

    module = importlib.import_module(
        f"dataforseo_client.models.ai_optimization_{se}_llm_responses_{kind}_response_info"
    )
    camel = "".join(part.capitalize() for part in f"{se}_llm_responses_{kind}".split("_"))
    model = getattr(module, f"AiOptimization{camel}ResponseInfo")
    assert list(body) == TOP_KEYS
    for task in body["tasks"]:
        assert list(task) == TASK_KEYS
    parsed = model.from_dict(body)
    assert parsed is not None
    return parsed
