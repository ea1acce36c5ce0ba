"""A prompt set (CSV or JSONL) expanded into jobs: prompts × engines × models × countries × repeats.

Each job has a stable key (a hash of what it asks), so a re-run with ``--resume`` finds what is already
done in the output directory. Lines that cannot become tasks are skipped with the reason (blank, a
duplicate), as GEO tools' bulk imports report them.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_responses.tracking.plan import task_body
from llm_responses.wire.engines import ENGINES

PROMPT_COLUMNS = ("user_prompt", "prompt")  # either names the prompt column of a CSV
TASK_FIELDS = ("system_message", "max_output_tokens", "temperature", "top_p", "web_search", "tag")


@dataclass(frozen=True, slots=True)
class Prompt:
    line: int
    user_prompt: str
    fields: dict[str, Any] = field(default_factory=dict)  # other task fields the line sets


@dataclass(frozen=True, slots=True)
class Job:
    key: str
    engine: str
    model: str
    country: str | None
    repeat: int
    prompt_line: int
    task: dict[str, Any]  # the DataForSEO task body

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "engine": self.engine, "model": self.model, "country": self.country,
            "repeat": self.repeat, "prompt_line": self.prompt_line, "task": self.task,
        }  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Job:
        return cls(**raw)


class PlanError(ValueError):
    """The prompt file or the options cannot make a plan (said to the user, exit code 2)."""


def read_prompts(path: Path) -> tuple[list[Prompt], list[str]]:
    """The prompts of a ``.csv`` (a ``user_prompt`` or ``prompt`` column) or ``.jsonl`` file, and why
    each skipped line was skipped. A line no reader can take (a field over the CSV limit, JSON nested past
    the parser's depth, a number that is no number) is a ``PlanError`` naming it."""
    skipped: list[str] = []
    try:
        if path.suffix.lower() == ".jsonl":
            rows = _jsonl_rows(path, skipped)
        elif path.suffix.lower() == ".csv":
            rows = _csv_rows(path)
        else:
            raise PlanError(f"{path}: a prompt set is a .csv or a .jsonl file")
    except OSError as exc:
        raise PlanError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PlanError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    prompts: list[Prompt] = []
    seen: set[str] = set()
    for n, row in rows:
        text = next((row[c] for c in PROMPT_COLUMNS if isinstance(row.get(c), str)), "")
        if not text.strip():
            skipped.append(f"line {n}: blank prompt")
            continue
        try:
            fields = {k: _typed(k, row[k]) for k in TASK_FIELDS if row.get(k) not in (None, "")}
        except ValueError as exc:
            raise PlanError(f"{path}: line {n}: {exc}") from None
        identity = json.dumps([text, fields], sort_keys=True)
        if identity in seen:
            skipped.append(f"line {n}: duplicate of an earlier line")
            continue
        seen.add(identity)
        prompts.append(Prompt(n, text, fields))
    return prompts, skipped


def _jsonl_rows(path: Path, skipped: list[str]) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, line in enumerate(path.read_text("utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except RecursionError:  # json recurses per nesting level: a hostile line would be a traceback
            raise PlanError(f"{path}: line {n}: JSON nested too deeply") from None
        except ValueError:
            skipped.append(f"line {n}: not JSON")
            continue
        if not isinstance(value, dict):
            skipped.append(f"line {n}: not a JSON object")
            continue
        rows.append((n, value))
    return rows


def _csv_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a CSV file (``utf-8-sig``: Excel starts its UTF-8 files with a byte order mark), each
    with the line it ends on. A field over csv's limit (128 KiB, far above the server's 500-character
    prompts) or any other malformed line is a usage error naming the line."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        try:
            if not reader.fieldnames or not any(c in reader.fieldnames for c in PROMPT_COLUMNS):
                raise PlanError(f"{path}: no 'user_prompt' (or 'prompt') column")
            return [(reader.line_num, row) for row in reader]
        except csv.Error as exc:
            raise PlanError(f"{path}: line {reader.reader.line_num}: {exc}") from None


def _typed(name: str, value: Any) -> Any:
    """CSV cells are strings: the numeric and boolean fields become numbers and booleans. Every task field
    is a scalar: a JSON list or object (nested without end, perhaps) is refused here, not by the server."""
    if isinstance(value, list | dict):
        raise ValueError(f"{name} is a JSON {type(value).__name__}, not a string or a number")
    if not isinstance(value, str):
        return value
    if name == "max_output_tokens":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{name} is not a whole number") from None
    if name in ("temperature", "top_p"):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{name} is not a number") from None
    if name == "web_search":
        return value.strip().lower() in ("1", "true", "yes")
    return value


def expand(
    prompts: list[Prompt],
    *,
    engines: list[str],
    models: dict[str, list[str]],
    countries: list[str | None],
    repeat: int,
    tag: str | None,
    web_search: bool,
) -> list[Job]:
    """Every job of the run, in a stable order."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise PlanError(f"unknown engine(s) {', '.join(unknown)}: use {', '.join(ENGINES)}")
    if repeat < 1:
        raise PlanError("--repeat must be at least 1")
    jobs: list[Job] = []
    for prompt in prompts:
        for engine in engines:
            if not models.get(engine):
                raise PlanError(f"no model for engine {engine}: --models {engine}=<model_name>")
            for model in models[engine]:
                for country in countries:
                    for r in range(1, repeat + 1):
                        fields = dict(prompt.fields)
                        if tag:
                            fields.setdefault("tag", tag)
                        task = task_body(
                            engine, prompt.user_prompt, model, country=country, web_search=web_search,
                            fields=fields,
                        )  # fmt: skip
                        key = _key(engine, task, r)
                        jobs.append(Job(key, engine, model, country, r, prompt.line, task))
    return jobs


def _key(engine: str, task: dict[str, Any], repeat: int) -> str:
    digest = hashlib.sha256(json.dumps([engine, task, repeat], sort_keys=True).encode()).hexdigest()
    return digest[:16]
