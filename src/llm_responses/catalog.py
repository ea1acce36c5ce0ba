"""The model catalog: which ``model_name`` values exist, what they can do, and who serves them.

Base names resolve to their newest dated version (``gpt-4.1-mini`` → ``gpt-4.1-mini-2025-04-14``); base
names and dated versions are listed as separate entries, as DataForSEO's ``models`` endpoint does.
The built-in list (``catalog.toml``) can be extended or overridden from configuration.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from decimal import Decimal
from importlib.resources import files
from typing import Any

from llm_responses.config_tables import ModelConfig


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """USD per million tokens; overrides the price database for one model. ``listed``: the vendor's list
    price from catalog.toml, which a cost the upstream reports itself wins over (an operator's
    ``[[models]]`` prices win over everything)."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    listed: bool = False


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str  # the name as listed (a base name or a dated version)
    model_id: str  # the dated version it resolves to
    provider: str
    se: str
    reasoning: bool
    web_search_supported: bool
    task_post_supported: bool
    location_supported: bool
    prices: TokenPrices | None = None
    can_reason: bool = True  # use_reasoning is taken (Claude, Gemini models that can think)
    hosted_search: bool = False  # its provider searches on the vendor's side (a hold counts a search)
    tool_fees: tuple[tuple[str, Decimal], ...] = ()  # USD per call by tool, when its vendor prices them so
    long_context_tier: bool = True  # its vendor bills the model's long-context rates past their threshold
    batch_rate: Decimal = Decimal(1)  # what its vendor's batch API bills for tokens, as a share of the direct
    batch_supported: bool = False  # queued tasks of it go through the vendor's batch API (TASK_POST_BATCH)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    versions: tuple[str, ...]
    provider: str = "openai"
    se: str = "chat_gpt"  # the engine path it is listed under
    reasoning: bool = False
    can_reason: bool = True
    upstream: str | None = None  # the id sent to the vendor, when it is not the name
    web_search: bool = False
    task_post: bool = True
    location: bool = True
    prices: TokenPrices | None = None

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> ModelSpec:
        prices = None
        if "input_price" in raw or "output_price" in raw:
            cached = raw.get("cached_input_price")
            prices = TokenPrices(
                input=Decimal(str(raw.get("input_price", 0))),
                output=Decimal(str(raw.get("output_price", 0))),
                cached_input=Decimal(str(cached)) if cached is not None else None,
            )
        return cls(
            name=raw["name"],
            versions=tuple(raw.get("versions", ())),
            provider=raw.get("provider", "openai"),
            se=raw.get("se", "chat_gpt"),
            reasoning=bool(raw.get("reasoning", False)),
            can_reason=bool(raw.get("can_reason", True)),
            upstream=raw.get("upstream"),
            web_search=bool(raw.get("web_search", False)),
            task_post=bool(raw.get("task_post", True)),
            location=bool(raw.get("location", True)),
            prices=prices,
        )

    def entries(
        self,
        *,
        hosted_search: bool = False,
        tool_fees: tuple[tuple[str, Decimal], ...] = (),
        long_context_tier: bool = True,
        batch_rate: Decimal = Decimal(1),
        batch_supported: bool = False,
    ) -> list[ModelEntry]:
        latest = self.versions[-1] if self.versions else (self.upstream or self.name)
        names = [(self.name, latest)] + [(v, v) for v in self.versions if v != self.name]
        return [
            ModelEntry(
                name=name,
                model_id=model_id,
                provider=self.provider,
                se=self.se,
                reasoning=self.reasoning,
                can_reason=self.can_reason,
                web_search_supported=self.web_search,
                task_post_supported=self.task_post,
                location_supported=self.location,
                prices=self.prices,
                hosted_search=hosted_search,
                tool_fees=tool_fees,
                long_context_tier=long_context_tier,
                batch_rate=batch_rate,
                batch_supported=batch_supported,
            )
            for name, model_id in names
        ]


def builtin_specs() -> list[ModelSpec]:
    raw = tomllib.loads(files("llm_responses").joinpath("catalog.toml").read_text("utf-8"))
    # checked like a configured [[models]] table: a misspelt key in the built-in list fails at once
    specs = [ModelSpec.from_mapping(ModelConfig.model_validate(m).spec()) for m in raw["model"]]
    return [replace(s, prices=replace(s.prices, listed=True)) if s.prices else s for s in specs]


class Catalog:
    def __init__(
        self,
        specs: Iterable[ModelSpec],
        *,
        hosted: AbstractSet[str] = frozenset(),
        tool_fees: Mapping[str, Mapping[str, Decimal]] | None = None,
        hints: Mapping[str, Callable[[str], str]] | None = None,
        base_tier_only: AbstractSet[str] = frozenset(),
        batch_rates: Mapping[str, Decimal] | None = None,
        batching: AbstractSet[str] = frozenset(),
    ) -> None:
        by_base: dict[tuple[str, str], ModelSpec] = {}
        for spec in specs:  # later specs (configuration) replace earlier ones of the same engine and name
            by_base[spec.se, spec.name] = spec
        self._entries: dict[tuple[str, str], ModelEntry] = {}
        # known (engine, name) pairs whose provider is not configured → that provider
        self.unserved: dict[tuple[str, str], str] = {}
        self._hints = dict(hints or {})  # provider → what to tell the operator about one of its models
        self._batching = bool(batching)  # batching is on: the listing says which models run batched
        fees = {p: tuple(sorted(f.items())) for p, f in (tool_fees or {}).items()}
        for spec in by_base.values():
            for entry in spec.entries(
                hosted_search=spec.provider in hosted,
                tool_fees=fees.get(spec.provider, ()),
                long_context_tier=spec.provider not in base_tier_only,
                batch_rate=(batch_rates or {}).get(spec.provider, Decimal(1)),
                batch_supported=spec.provider in batching and spec.task_post,
            ):
                self._entries[entry.se, entry.name] = entry

    @classmethod
    def build(
        cls,
        extra: Iterable[dict[str, Any]] = (),
        *,
        providers: set[str] | None = None,
        searchless: AbstractSet[str] = frozenset(),
        hosted: AbstractSet[str] = frozenset(),
        hints: Mapping[str, Callable[[str], str]] | None = None,
        tool_fees: Mapping[str, Mapping[str, Decimal]] | None = None,
        base_tier_only: AbstractSet[str] = frozenset(),
        batch_rates: Mapping[str, Decimal] | None = None,
        batching: AbstractSet[str] = frozenset(),
    ) -> Catalog:
        """Built-in models plus configured ones, keeping only those a configured provider serves; models of
        ``searchless`` providers (no hosted search, no search backend) do not offer web_search; models of
        ``hosted`` providers search on the vendor's side. ``hints``: per vendor, what an operator reads when
        one of its models is asked for and it is not configured; ``tool_fees``: per vendor, USD per call;
        ``base_tier_only``: vendors that never bill a long-context tier; ``batch_rates``: per vendor, what its
        batch API bills for tokens as a share of the direct price; ``batching``: providers whose queued tasks
        go through a batch API."""
        specs = builtin_specs() + [ModelSpec.from_mapping(m) for m in extra]
        unserved: dict[tuple[str, str], str] = {}
        if providers is not None:
            for s in specs:
                if s.provider not in providers:
                    unserved.update({(e.se, e.name): s.provider for e in s.entries()})
            specs = [s for s in specs if s.provider in providers]
        catalog = cls(
            (replace(s, web_search=False) if s.provider in searchless else s for s in specs),
            hosted=hosted,
            tool_fees=tool_fees,
            hints=hints,
            base_tier_only=base_tier_only,
            batch_rates=batch_rates,
            batching=batching,
        )
        catalog.unserved = {k: p for k, p in unserved.items() if catalog.resolve(k[1], k[0]) is None}
        return catalog

    def why_not_served(self, name: str, se: str = "chat_gpt") -> str | None:
        """For a known model no configured provider serves: what the operator must configure."""
        provider = self.unserved.get((se, name))
        if provider is None:
            return None
        hint = self._hints.get(provider)
        if hint is not None:
            return hint(name)
        return f"{name} is served by provider {provider!r}, which is not configured"

    def resolve(self, name: str, se: str = "chat_gpt") -> ModelEntry | None:
        return self._entries.get((se, name))

    def entry_of(self, model_name: str, model_id: str, se: str) -> ModelEntry | None:
        """The entry a validated task was resolved to: by the name it was posted with, else by the id it
        resolved to (a dated version the catalog still lists)."""
        return self._entries.get((se, model_name)) or self._entries.get((se, model_id))

    def __len__(self) -> int:
        return len(self._entries)

    def listing(self, se: str = "chat_gpt") -> list[dict[str, Any]]:
        out = []
        for e in self._entries.values():
            if e.se != se:
                continue
            item: dict[str, Any] = {
                "model_name": e.name,
                "web_search_supported": e.web_search_supported,
                "task_post_supported": e.task_post_supported,
                "reasoning": e.reasoning,
            }
            if self._batching:  # ours, when TASK_POST_BATCH is on: its queued tasks go through a batch API
                item["batch_supported"] = e.batch_supported
            out.append(item)
        return out
