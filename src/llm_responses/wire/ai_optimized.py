"""DataForSEO's AI-optimized responses: the same endpoint with ``.ai`` appended to its path.

From the appendix page ``ai_optimized_response``: the service part of the response is reduced to ``id``,
``status_code`` and ``status_message``; ``items`` carry no field that is empty, ``null`` or ``false``;
floats are rounded to the third decimal. DataForSEO's official MCP server (v3) calls every endpoint this
way by default. Here the top level keeps ``status_code``, ``status_message`` and ``tasks``; each task keeps
``id``, ``status_code``, ``status_message`` and ``result``.
"""

from __future__ import annotations

from typing import Any

SUFFIX = ".ai"
_TOP = ("status_code", "status_message", "tasks")
_TASK = ("id", "status_code", "status_message", "result")


def crop(envelope: dict[str, Any]) -> dict[str, Any]:
    """The ``.ai`` form of a full envelope."""
    out = {k: envelope[k] for k in _TOP if k in envelope}
    tasks = envelope.get("tasks")
    if isinstance(tasks, list):
        out["tasks"] = [_task(t) for t in tasks if isinstance(t, dict)]
    return out


def _task(task: dict[str, Any]) -> dict[str, Any]:
    out = {k: task[k] for k in _TASK if k in task}
    if out.get("result") is not None:
        out["result"] = _round(_prune_items(out["result"]))
    return out


def _prune_items(value: Any) -> Any:
    """Inside every ``items`` array: objects without their empty, null or false fields."""
    if isinstance(value, list):
        return [_prune_items(v) for v in value]
    if isinstance(value, dict):
        return {k: (_pruned(v) if k == "items" else _prune_items(v)) for k, v in value.items()}
    return value


def _pruned(value: Any) -> Any:
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if not _blank(v)}
    return value


def _blank(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value
