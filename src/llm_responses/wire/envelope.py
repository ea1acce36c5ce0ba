"""DataForSEO envelopes, task objects, ids, paths and timestamps, with exactly the JSON types the
official client demands.

The client (``dataforseo-client``, pydantic strict types) rejects ``"20000"`` for a status code, a number
for ``time`` and a string for ``cost``. Every task object any endpoint answers with is built by ``task``
here, and every envelope by ``response``; the status codes and messages come from ``StatusCode``.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime
from typing import Any

import uuid_utils

from llm_responses.errors import ApiError, StatusCode

# Format of DataForSEO's own versions ("0.1.YYYYMMDD"); bumped with each release of the wire format.
API_VERSION = "0.1.20261122"

API = "ai_optimization"
FUNCTION = "llm_responses"
PREFIX = f"/v3/{API}"
APPENDIX = "/v3/appendix"


def new_task_id() -> str:
    """UUIDv7: DataForSEO's 8-4-4-4-12 shape, time-ordered so inserts stay local in the index."""
    return str(uuid_utils.uuid7())


def format_datetime(epoch: float) -> str:
    """``"2025-12-11 12:24:51 +00:00"``: DataForSEO's UTC timestamp format."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S +00:00")


def elapsed(started: float) -> str:
    """``"0.0146 sec."``: seconds since ``started`` (a ``time.perf_counter()`` value), 4 decimals."""
    return f"{_time.perf_counter() - started:.4f} sec."


def llm_url(se: str, function: str, *rest: str) -> str:
    """``/v3/ai_optimization/{se}/llm_responses/{function}[/...]``: an engine's endpoint URL path."""
    return "/".join((PREFIX, se, FUNCTION, function, *rest))


def llm_path(se: str, function: str, *rest: str) -> list[str]:
    """The ``path`` of a task answered at ``llm_url(se, function, *rest)``."""
    return path_of(llm_url(se, function, *rest))


def path_of(url_path: str) -> list[str]:
    """DataForSEO's ``path``: the URL path split on ``/`` without empty parts."""
    return [part for part in url_path.split("/") if part]


def base_data(se: str, function: str = FUNCTION) -> dict[str, Any]:
    return {"api": API, "function": function, "se": se}


def appendix_data(function: str, **extra: Any) -> dict[str, Any]:
    return {"api": "appendix", "function": function, **extra}


def task(
    *,
    started: float,
    path: list[str],
    data: dict[str, Any],
    result: list[Any] | None = None,
    task_id: str | None = None,
    status: StatusCode = StatusCode.OK,
    error: ApiError | None = None,
    cost: float = 0.0,
) -> dict[str, Any]:
    """One task object: ``error``'s status and message when given (cost 0), else ``status``'s."""
    code, message = (error.status, error.message) if error else (status, status.message)
    return {
        "id": task_id or new_task_id(),
        "status_code": int(code),
        "status_message": message,
        "time": elapsed(started),
        "cost": 0.0 if error else float(cost),
        "result_count": len(result) if result else 0,
        "path": path,
        "data": data,
        "result": result,
    }


def response(
    tasks: list[dict[str, Any]],
    *,
    started: float,
    error: ApiError | None = None,
) -> dict[str, Any]:
    """The top-level envelope; ``cost`` is the sum of the tasks' costs, ``tasks_error`` counts errors.
    A request-level ``error`` goes at the top (with no tasks)."""
    code, message = (error.status, error.message) if error else (StatusCode.OK, StatusCode.OK.message)
    return {
        "version": API_VERSION,
        "status_code": int(code),
        "status_message": message,
        "time": elapsed(started),
        "cost": _round_cost(sum(t["cost"] for t in tasks)),
        "tasks_count": len(tasks),
        "tasks_error": sum(1 for t in tasks if t["status_code"] >= 40000),
        "tasks": tasks,
    }


def _round_cost(value: float) -> float:
    # Float sums of exact decimal costs pick up noise (0.0102 * 3 = 0.030600000000000002).
    return float(round(value, 9))
