"""What the dashboard's pages show, as plain data: every page renders one of these, and its ``.json`` and
``.csv`` twins serialize the same rows."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from llm_responses.billing.money import to_usd
from llm_responses.store.records import TaskRecord
from llm_responses.store.tracking import Alert
from llm_responses.wire.envelope import format_datetime
from llm_responses.wire.result import read_result


def task_row(r: TaskRecord) -> dict[str, Any]:
    data = json.loads(r.data_json or "{}")
    return {
        "id": r.id, "engine": r.se, "endpoint": r.endpoint, "tag": r.tag or "", "status_code": r.status_code,
        "status_message": r.status_message or "", "user_prompt": data.get("user_prompt") or "",
        "model_name": data.get("model_name") or "", "cost": to_usd(r.cost),
        "finished_at": format_datetime(r.finished_at) if r.finished_at else "",
    }  # fmt: skip


def answer_view(r: TaskRecord) -> dict[str, Any]:
    """One answer: its sections with the cited spans marked up (escaped text, links around the spans)."""
    result = json.loads(r.result_json) if r.result_json else {}
    reading = read_result(result)
    sections = [
        {"text": text, "html": highlighted(text, list(annotations)), "annotations": list(annotations)}
        for text, annotations in reading.sections
    ]
    reasoning = list(reading.reasoning)
    return {
        **task_row(r), "result_model": result.get("model_name"), "input_tokens": result.get("input_tokens"),
        "output_tokens": result.get("output_tokens"), "reasoning_tokens": result.get("reasoning_tokens"),
        "money_spent": result.get("money_spent"), "web_search": result.get("web_search"),
        "fan_out_queries": result.get("fan_out_queries") or [], "reasoning": reasoning, "sections": sections,
    }  # fmt: skip


def safe_url(url: Any) -> str:
    """Only http(s) links are rendered: an upstream's annotation could carry ``javascript:``."""
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else "#"


def highlighted(text: str, annotations: list[dict[str, Any]]) -> str:
    """The text as HTML, each cited span in a ``<mark>`` linking to its source (overlaps: the first wins)."""
    spans = sorted(
        (a["start_index"], a["end_index"], a.get("url") or "", a.get("title") or "")
        for a in annotations
        if isinstance(a.get("start_index"), int) and isinstance(a.get("end_index"), int)
    )
    out, at = [], 0
    for start, end, url, title in spans:
        if start < at or end <= start or end > len(text):
            continue
        out.append(escape(text[at:start]))
        out.append(
            f'<a class="cite" href="{escape(safe_url(url))}" title="{escape(title)}" rel="noreferrer">'
            f"<mark>{escape(text[start:end])}</mark></a>"
        )
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


def source_rows(key_field: str, items: list[tuple[str, int]], answers: int) -> list[dict[str, Any]]:
    """Cited domains or pages: how many answers cite each, and what share of all answers that is."""
    return [
        {key_field: key, "answers": n, "share": round(n / answers, 4) if answers else 0.0} for key, n in items
    ]


def spend_rows(rows: list[tuple[str, str, int, int, int, int]]) -> list[dict[str, Any]]:
    return [
        {
            "day": day,
            "engine": se,
            "tasks": n,
            "answered": done,
            "cost": to_usd(nanos),
            "batch_saved": to_usd(saved),
        }
        for day, se, n, done, nanos, saved in rows
    ]


def alert_row(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id, "datetime": format_datetime(a.created_at), "project": a.project, "kind": a.kind, "brand": a.brand or "",
        "subject": a.subject or "", "message": a.message, "run_id": a.run_id,
    }  # fmt: skip
