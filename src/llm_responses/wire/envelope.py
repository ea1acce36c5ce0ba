"""Building DataForSEO envelopes with exactly the JSON types the official client demands.

The client (``dataforseo-client``, pydantic strict types) rejects ``"20000"`` for a status code, a number
for ``time`` and a string for ``cost``; these helpers are the only place envelopes are assembled.
"""

from __future__ import annotations

import time as _time
from typing import Any

# Format of DataForSEO's own versions ("0.1.YYYYMMDD"); bumped with each release of the wire format.
API_VERSION = "0.1.20261122"

API = "ai_optimization"
FUNCTION = "llm_responses"


def elapsed(started: float) -> str:
    """``"0.0146 sec."``: seconds since ``started`` (a ``time.perf_counter()`` value), 4 decimals."""
    return f"{_time.perf_counter() - started:.4f} sec."


def task(
    *,
    task_id: str,
    status_code: int,
    status_message: str,
    started: float,
    cost: float,
    path: list[str],
    data: dict[str, Any],
    result: list[Any] | None,
) -> dict[str, Any]:
    return {
        "id": task_id,
        "status_code": int(status_code),
        "status_message": status_message,
        "time": elapsed(started),
        "cost": float(cost),
        "result_count": len(result) if result else 0,
        "path": path,
        "data": data,
        "result": result,
    }


def ok_task(
    *,
    task_id: str,
    started: float,
    path: list[str],
    data: dict[str, Any],
    result: list[Any] | None,
    cost: float = 0.0,
) -> dict[str, Any]:
    """A successful task (``20000 Ok.``)."""
    return task(
        task_id=task_id,
        status_code=20000,
        status_message="Ok.",
        started=started,
        cost=cost,
        path=path,
        data=data,
        result=result,
    )


def response(
    tasks: list[dict[str, Any]],
    *,
    started: float,
    status_code: int = 20000,
    status_message: str = "Ok.",
) -> dict[str, Any]:
    """The top-level envelope; ``cost`` is the sum of the tasks' costs, ``tasks_error`` counts errors."""
    return {
        "version": API_VERSION,
        "status_code": int(status_code),
        "status_message": status_message,
        "time": elapsed(started),
        "cost": _round_cost(sum(t["cost"] for t in tasks)),
        "tasks_count": len(tasks),
        "tasks_error": sum(1 for t in tasks if t["status_code"] >= 40000),
        "tasks": tasks,
    }


def _round_cost(value: float) -> float:
    # Float sums of exact decimal costs pick up noise (0.0102 * 3 = 0.030600000000000002).
    return float(round(value, 9))


def path_of(url_path: str) -> list[str]:
    """DataForSEO's ``path``: the URL path split on ``/`` without empty parts."""
    return [part for part in url_path.split("/") if part]


def base_data(se: str, function: str = FUNCTION) -> dict[str, Any]:
    return {"api": API, "function": function, "se": se}
