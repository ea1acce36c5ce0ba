"""A stored task as an ``Answer`` for the metrics: the one place its result, posted fields and posting
day are read (the ``mentions`` command, the dashboard and the MCP tools all go through it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from llm_responses.analysis.mentions import Entity, find
from llm_responses.analysis.metrics import Answer
from llm_responses.config_tables import BrandConfig
from llm_responses.store.records import TaskRecord
from llm_responses.wire.result import read_result


def stored_answer(record: TaskRecord, entities: list[Entity]) -> Answer | None:
    """None for a task without a result (failed): there is no answer to read."""
    if not record.result_json:
        return None
    reading = read_result(json.loads(record.result_json))
    data = json.loads(record.data_json) if record.data_json else {}
    urls = reading.cited_urls
    return Answer(
        task_id=record.id,
        tag=record.tag or "",
        engine=record.se,
        model=str(data.get("model_name") or ""),
        country=str(data.get("web_search_country_iso_code") or ""),
        day=datetime.fromtimestamp(record.created_at, UTC).strftime("%Y-%m-%d"),  # the day it was asked
        cited_any=bool(urls),
        hits=tuple(find(reading.text, urls, entities)),
        prompt=str(data.get("user_prompt") or ""),
    )


def entities_of(brands: list[BrandConfig]) -> list[Entity]:
    return [Entity(b.name, tuple(b.aliases), tuple(b.domains), b.competitor, b.category) for b in brands]
