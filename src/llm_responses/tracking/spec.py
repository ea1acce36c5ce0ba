"""A tracking project, as a user writes it (``track apply project.toml``, the REST API's JSON) and as the
server keeps it: prompts (with tags) × engines × models × countries × repeats, on a schedule, with the
brands that matter to it (one own brand and its competitors), a monthly budget and alert rules.

Every size is bounded here, so a project can never post an unbounded run: at most ``MAX_PROMPTS`` prompts
and ``MAX_TASKS_PER_RUN`` tasks a run. The model names are checked against the catalog by the server when
the project is saved (``tracking/service.py``), not here: this module knows no catalog.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any, Literal

from iso3166 import countries_by_alpha2
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llm_responses.analysis.mentions import Entity
from llm_responses.tracking.schedule import Schedule
from llm_responses.wire.engines import ENGINES

MAX_PROMPTS = 500
MAX_BRANDS = 50
MAX_TASKS_PER_RUN = 5000
MAX_PROMPT_CHARS = 500  # DataForSEO's user_prompt limit
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # a path segment as it is: no escaping anywhere

Format = Literal["json", "slack", "discord"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(_Strict):
    text: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    tags: tuple[str, ...] = Field(default=(), max_length=20)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip() or "\x00" in text:
            raise ValueError("a prompt is text, not blank")
        return text

    @field_validator("tags")
    @classmethod
    def _short_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        for t in tags:
            if not t.strip() or len(t) > 100 or not t.isprintable():
                raise ValueError("a tag is 1 to 100 printable characters")
        return tags

    @property
    def key(self) -> str:
        """Stable across edits of other prompts: the text's hash (a reworded prompt is a new prompt)."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


class Brand(_Strict):
    name: str = Field(min_length=1, max_length=255)
    aliases: tuple[str, ...] = Field(default=(), max_length=20)
    domains: tuple[str, ...] = Field(default=(), max_length=20)
    own: bool = False  # the project's own brand; every other is a competitor
    category: str | None = Field(default=None, max_length=255)

    @field_validator("name", "aliases", "domains", "category")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        for v in value if isinstance(value, tuple) else (value,):
            if v is not None and (not v.strip() or len(v) > 255 or not v.isprintable()):
                raise ValueError("names, aliases and domains are 1 to 255 printable characters")
        return value

    def entity(self) -> Entity:
        return Entity(self.name, self.aliases, self.domains, not self.own, self.category)


class Webhook(_Strict):
    url: str = Field(min_length=1, max_length=2048)
    format: Format = "json"  # slack / discord: their incoming webhooks' message shape
    digest: bool = False  # one message a day with the day's alerts, instead of one per alert


class Alerts(_Strict):
    """The rules: each finding is recorded (and listed) once; a rule set to 0 (or false) is off."""

    visibility_drop_points: float = Field(default=10.0, ge=0, le=100)
    share_of_voice_drop_points: float = Field(default=10.0, ge=0, le=100)
    against: Literal["previous_run", "7_day_average"] = "previous_run"
    mention_changes: bool = True  # a brand newly named, or no longer named, for a prompt
    competitor_overtakes: bool = True
    new_domains: bool = True  # a domain cited for the first time in the project
    run_problems: bool = True  # a run that failed (wholly or partly) or was stopped by the budget
    webhooks: tuple[Webhook, ...] = Field(default=(), max_length=10)


class ProjectSpec(_Strict):
    name: str
    description: str = Field(default="", max_length=1000)
    prompts: tuple[Prompt, ...] = Field(min_length=1, max_length=MAX_PROMPTS)
    engines: tuple[str, ...] = Field(min_length=1, max_length=len(ENGINES))
    models: dict[str, tuple[str, ...]]  # engine → model names
    countries: tuple[str, ...] = Field(default=(), max_length=50)  # ISO alpha-2; none: no country
    repeats: int = Field(default=1, ge=1, le=10)
    web_search: bool = True
    max_output_tokens: int | None = Field(default=None, ge=16, le=16384)
    schedule: Schedule | None = None  # None: runs only when asked
    brands: tuple[Brand, ...] = Field(default=(), max_length=MAX_BRANDS)
    # a background project's tasks wait for idle workers (the idle lane): they never delay other tasks
    background: bool = False
    budget_usd_monthly: Decimal | None = Field(default=None, gt=0, le=Decimal("1000000"), decimal_places=4)
    alerts: Alerts = Alerts()

    @field_validator("name")
    @classmethod
    def _a_name(cls, name: str) -> str:
        if not NAME.match(name):
            raise ValueError("1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit")
        return name

    @field_validator("engines")
    @classmethod
    def _engines(cls, engines: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in engines if e not in ENGINES]
        if unknown:
            raise ValueError(f"unknown engine {', '.join(unknown)}: use {', '.join(ENGINES)}")
        if len(set(engines)) != len(engines):
            raise ValueError("an engine is listed twice")
        return engines

    @field_validator("models", mode="before")
    @classmethod
    def _one_or_many(cls, models: Any) -> Any:
        if isinstance(models, dict):
            return {k: (v,) if isinstance(v, str) else v for k, v in models.items()}
        return models

    @field_validator("countries")
    @classmethod
    def _countries(cls, countries: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in countries if c.upper() not in countries_by_alpha2]
        if bad:
            raise ValueError(f"not an ISO 3166-1 alpha-2 country: {', '.join(bad[:5])}")
        return tuple(dict.fromkeys(c.upper() for c in countries))

    @model_validator(mode="after")
    def _consistent(self) -> ProjectSpec:
        missing = [e for e in self.engines if not self.models.get(e)]
        if missing:
            raise ValueError(f'no model for {", ".join(missing)}: models.{missing[0]} = "<model_name>"')
        extra = [e for e in self.models if e not in self.engines]
        if extra:
            raise ValueError(f"models for engines not tracked: {', '.join(extra)}")
        for names in self.models.values():
            if len(names) > 5 or any(not n or len(n) > 128 or not n.isprintable() for n in names):
                raise ValueError("at most 5 model names per engine, each 1 to 128 printable characters")
        texts = [p.text for p in self.prompts]
        if len(set(texts)) != len(texts):
            raise ValueError("a prompt is listed twice")
        brands = [b.name.casefold() for b in self.brands]
        if len(set(brands)) != len(brands):
            raise ValueError("a brand is listed twice")
        if sum(b.own for b in self.brands) > 1:
            raise ValueError("one brand is the project's own (own = true); the others are competitors")
        if (n := self.tasks_per_run) > MAX_TASKS_PER_RUN:
            raise ValueError(f"a run would post {n} tasks; at most {MAX_TASKS_PER_RUN}")
        return self

    @property
    def tasks_per_run(self) -> int:
        return sum(
            len(self.prompts) * len(self.models.get(e, ())) * len(self.countries_for(e)) * self.repeats
            for e in self.engines
        )

    def countries_for(self, engine: str) -> tuple[str | None, ...]:
        """An engine without a location (Gemini's) asks once, not once per country."""
        if not self.countries or ENGINES[engine].location == "none":
            return (None,)
        return self.countries

    @property
    def own_brand(self) -> Brand | None:
        return next((b for b in self.brands if b.own), None)

    def entities(self) -> list[Entity]:
        return [b.entity() for b in self.brands]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ProjectSpec:
        return cls.model_validate_json(text)
