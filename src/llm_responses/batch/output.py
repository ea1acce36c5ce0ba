"""A run's output directory: the plan, the tasks posted, the results, and the results as CSV.

Append-only JSONL, one line per event, flushed as it happens: a run killed at any moment resumes from
what it had written (``--resume`` skips finished jobs and collects posted ones instead of posting again).
``posted.jsonl`` keeps what task_post charged for each task, so what the run spent (``batch.spend``) is
known across resumes; results.csv's ``spent`` column is each task's, in USD.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llm_responses.batch.plan import Job
from llm_responses.batch.spend import FLAT_CHARGE, settled
from llm_responses.billing.money import to_decimal
from llm_responses.wire.result import read_result
from llm_responses.wire.spreadsheet import dict_writer

CSV_COLUMNS = (
    "key", "engine", "model", "country", "repeat", "prompt_line", "user_prompt", "tag", "task_id",
    "status_code", "status_message", "spent", "model_name", "money_spent", "web_search", "text",
    "citations", "cited_urls", "fan_out_queries",
)  # fmt: skip


class OutputDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.plan_file = path / "plan.jsonl"
        self.posted_file = path / "posted.jsonl"
        self.results_file = path / "results.jsonl"

    def exists(self) -> bool:
        return self.plan_file.exists()

    def write_plan(self, jobs: list[Job]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.plan_file.write_text(
            "".join(json.dumps(j.to_json(), ensure_ascii=False) + "\n" for j in jobs), "utf-8"
        )

    def read_plan(self) -> list[Job]:
        return [Job.from_json(row) for row in _lines(self.plan_file)]

    def posted(self) -> dict[str, str]:
        """job key → task id."""
        return {row["key"]: row["task_id"] for row in _lines(self.posted_file)}

    def charges(self) -> dict[str, int]:
        """job key → what task_post charged for it, in nano-dollars."""
        return {row["key"]: row.get("charge", FLAT_CHARGE) for row in _lines(self.posted_file)}

    def results(self) -> dict[str, dict[str, Any]]:
        return {row["key"]: row for row in _lines(self.results_file)}

    def record_posted(self, key: str, task_id: str, charge: int) -> None:
        _append(self.posted_file, {"key": key, "task_id": task_id, "charge": charge})

    def record_result(self, job: Job, task: dict[str, Any]) -> None:
        """One finished job: the task object as the server answered it."""
        _append(self.results_file, {"key": job.key, "task": task})

    def write_csv(self, jobs: list[Job]) -> Path:
        results, charges = self.results(), self.charges()
        target = self.path / "results.csv"
        with target.open("w", newline="", encoding="utf-8") as f:
            writer = dict_writer(f, CSV_COLUMNS)
            writer.writeheader()
            for job in jobs:
                if job.key in results:
                    task = results[job.key]["task"]
                    writer.writerow(row(job, task, settled(task, charges.get(job.key))))
        return target


RESULT_COLUMNS = (
    "model_name",
    "money_spent",
    "web_search",
    "text",
    "citations",
    "cited_urls",
    "fan_out_queries",
)


def flatten_result(result: dict[str, Any] | None) -> dict[str, Any]:
    """A DataForSEO result object as flat columns: the answer's text, its cited URLs, the fan-out."""
    result = result or {}
    reading = read_result(result)
    urls = reading.cited_urls
    return {
        "model_name": result.get("model_name", ""), "money_spent": result.get("money_spent", ""),
        "web_search": result.get("web_search", ""), "text": reading.text, "citations": len(urls),
        "cited_urls": " ".join(dict.fromkeys(urls)), "fan_out_queries": " | ".join(result.get("fan_out_queries") or []),
    }  # fmt: skip


def row(job: Job, task: dict[str, Any], spent: int) -> dict[str, Any]:
    """One CSV row: the job, the task's status, what it cost (``spent``, nano-dollars), the answer flattened."""
    return {
        "key": job.key, "engine": job.engine, "model": job.model, "country": job.country or "",
        "repeat": job.repeat, "prompt_line": job.prompt_line, "user_prompt": job.task["user_prompt"],
        "tag": job.task.get("tag", ""), "task_id": task.get("id", ""), "status_code": task.get("status_code"),
        "status_message": task.get("status_message", ""), "spent": f"{to_decimal(spent):f}",
        **flatten_result((task.get("result") or [None])[0]),
    }  # fmt: skip


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text("utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:  # a line cut off when the run was killed mid-write: that event did not happen
            continue
    return out


def _append(path: Path, value: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(value, ensure_ascii=False) + "\n")
        f.flush()
