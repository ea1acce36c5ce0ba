"""A run's plan: one cell per prompt × engine × model × country × repeat, each with a stable key (so a
resumed run posts only the cells without an answer) and the DataForSEO task body it posts.

``task_body`` is how a prompt becomes a task on an engine (web search switched on where the engine has a
switch, the country where it takes one); the ``run`` prompt-set client builds its tasks with it too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from llm_responses.tracking.spec import ProjectSpec
from llm_responses.wire.engines import ENGINES


@dataclass(frozen=True, slots=True)
class Cell:
    key: str  # what prompt_key stores: the same cell in every run of the project
    prompt: str
    engine: str
    model: str
    country: str | None
    repeat: int
    task: dict[str, Any]


def task_body(
    engine: str,
    user_prompt: str,
    model: str,
    *,
    country: str | None = None,
    web_search: bool = False,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The task a prompt is on ``engine``; ``fields``: other task fields (tag, max_output_tokens ...)."""
    rules = ENGINES[engine]
    task: dict[str, Any] = {"user_prompt": user_prompt, "model_name": model, **(fields or {})}
    if rules.web_search_switch and (web_search or country):
        task.setdefault("web_search", True)
    elif not rules.web_search_switch:
        task.pop("web_search", None)  # Sonar always searches: the field does not exist
    if country and rules.location != "none":
        task["web_search_country_iso_code"] = country
    return task


def cells(spec: ProjectSpec) -> list[Cell]:
    """Every cell of a run, in a stable order; each task tagged with the project's name."""
    out: list[Cell] = []
    fields: dict[str, Any] = {"tag": spec.name}
    if spec.max_output_tokens is not None:
        fields["max_output_tokens"] = spec.max_output_tokens
    for prompt in spec.prompts:
        for engine in spec.engines:
            for model in spec.models[engine]:
                for country in spec.countries_for(engine):
                    task = task_body(
                        engine, prompt.text, model, country=country, web_search=spec.web_search, fields=fields
                    )
                    for repeat in range(1, spec.repeats + 1):
                        key = _key(prompt.key, engine, model, country, repeat)
                        out.append(Cell(key, prompt.text, engine, model, country, repeat, task))
    return out


def _key(prompt_key: str, engine: str, model: str, country: str | None, repeat: int) -> str:
    raw = "\x1f".join((prompt_key, engine, model, country or "", str(repeat)))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
