"""What the dashboard's pages show, as plain data: every page renders one of these, and its ``.json`` and
``.csv`` twins serialize the same rows."""

from __future__ import annotations

from typing import Any

from llm_responses.billing.money import to_usd
from llm_responses.store.records import StoredTask, TaskRecord
from llm_responses.store.tracking import Alert
from llm_responses.wire.envelope import format_datetime


def task_row(r: TaskRecord) -> dict[str, Any]:
    stored = StoredTask(r)
    return {
        "id": r.id, "engine": r.se, "endpoint": r.endpoint, "tag": r.tag or "", "status_code": r.status_code,
        "status_message": r.status_message or "", "user_prompt": stored.user_prompt or "",
        "model_name": stored.model_name or "", "cost": to_usd(r.cost),
        "finished_at": format_datetime(r.finished_at) if r.finished_at else "",
    }  # fmt: skip


def spend_rows(rows: list[tuple[str, str, int, int, int, int]]) -> list[dict[str, Any]]:
    """Per day and engine: tasks, those that failed, cost, cost per answer and what batching saved."""
    return [
        {
            "day": day, "engine": se, "tasks": n, "answered": done, "failed": n - done, "cost": to_usd(nanos),
            "cost_per_answer": round(to_usd(nanos) / done, 6) if done else None, "batch_saved": to_usd(saved),
        }
        for day, se, n, done, nanos, saved in rows
    ]  # fmt: skip


def alert_row(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id, "datetime": format_datetime(a.created_at), "project": a.project, "kind": a.kind, "brand": a.brand or "",
        "subject": a.subject or "", "message": a.message, "run_id": a.run_id,
    }  # fmt: skip
