"""``StoredTask``: a stored task's JSON read once, the same way for every reader."""

from __future__ import annotations

import orjson

from llm_responses.store.records import StoredTask, TaskRecord, TaskStatus

DATA = {
    "api": "ai_optimization",
    "se": "chat_gpt",
    "user_prompt": "parks in France?",
    "model_name": "gpt-4.1-mini",
    "web_search_country_iso_code": "fr",
}
RESULT = {
    "model_name": "gpt-4.1-mini-2025-04-14",
    "items": [
        {"type": "reasoning", "sections": [{"type": "summary_text", "text": "thinking"}]},
        {
            "type": "message",
            "sections": [
                {
                    "type": "text",
                    "text": "Parc Astérix.",
                    "annotations": [{"title": "A", "url": "https://a.example/"}],
                }
            ],
        },
    ],
}


def record(data_json: str | None, result_json: str | None) -> TaskRecord:
    return TaskRecord(
        id="t1", account_id=1, se="chat_gpt", endpoint="task_post", status=TaskStatus.DONE, status_code=20000,
        status_message="Ok.", data_json=data_json, result_json=result_json, tag=None, cost=0, created_at=1.0,
        finished_at=2.0, collected_at=None,
    )  # fmt: skip


def test_a_stored_task_reads_its_data_and_result_as_they_were_stored():
    task = StoredTask(record(orjson.dumps(DATA).decode(), orjson.dumps(RESULT).decode()))
    assert task.data == DATA and task.result == RESULT
    assert (task.user_prompt, task.model_name, task.country) == ("parks in France?", "gpt-4.1-mini", "fr")
    assert task.reading.text == "Parc Astérix."
    assert [a["url"] for a in task.reading.annotations] == ["https://a.example/"]
    assert task.reading.reasoning == ("thinking",)


def test_each_part_is_parsed_once():
    task = StoredTask(record(orjson.dumps(DATA).decode(), orjson.dumps(RESULT).decode()))
    assert task.data is task.data and task.result is task.result and task.reading is task.reading


def test_a_purged_task_has_neither_data_nor_result():
    task = StoredTask(record(None, None))
    assert task.data is None and task.result is None
    assert (task.user_prompt, task.model_name, task.country) == (None, None, None)
    assert task.reading.text == "" and task.reading.annotations == []


def test_a_posted_value_that_is_not_text_reads_as_none():
    task = StoredTask(record(orjson.dumps({"user_prompt": 5, "model_name": None}).decode(), None))
    assert (task.user_prompt, task.model_name) == (None, None)
