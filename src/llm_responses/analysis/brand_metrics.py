"""Brand metrics of an account's answers, the one entry point the dashboard, the MCP tools and the
``mentions`` command read (``analysis/metrics.py`` has the formulas).

Nothing here reads an answer: the counts come from the mentions index's rollups, summed in the database
(``store/brand_counts.py``), so a year of a project's answers costs the same whether a brand is named in ten
of them or in forty thousand. A project's prompt tags live in its spec, not in the index: grouping or
filtering a project by tag reads the per-prompt rollups and adds each prompt's counts to each of its tags
(``BrandScope.prompt_tags``). The task tags of answers outside projects (project 0) and one run's own
answers are counted from the indexed answers, which is what no rollup keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from iso3166 import countries_by_numeric

from llm_responses.analysis.answer_index import location_code, prompt_hash
from llm_responses.analysis.metrics import BrandCounts, GroupCounts, metric_rows
from llm_responses.store.brand_counts import CountFilter, CountRow, answer_counts, rollup_counts

if TYPE_CHECKING:
    from llm_responses.store import Store

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
GROUPS = ("prompt", "tag", "engine", "model", "country", "day")


@dataclass(frozen=True, slots=True)
class BrandQuery:
    by: tuple[str, ...] = ()
    project_id: int = 0  # 0: answers read for the server's [[brands]]
    engine: str | None = None
    model: str | None = None
    country: str | None = None  # ISO 3166 alpha-2 as the tasks take it (web_search_country_iso_code)
    tag: str | None = None
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None
    run_id: int | None = None  # one tracking run's answers (of project_id)


@dataclass(frozen=True, slots=True)
class BrandScope:
    """What the index does not know about a project: its prompts' tags (``tracking/spec.py``)."""

    prompt_tags: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


def check_groups(by: tuple[str, ...]) -> None:
    """ValueError naming the groups that are not ``GROUPS`` (callers turn it into their own error)."""
    if unknown := [g for g in by if g not in GROUPS]:
        raise ValueError(f"cannot group by {', '.join(unknown)}: use {', '.join(GROUPS)}")


async def brand_metrics(
    store: Store, account_id: int, q: BrandQuery, scope: BrandScope = BrandScope()
) -> list[dict[str, Any]]:
    """One row per (group, brand with counts in it), sorted by group key: the ``by`` keys, then
    ``metrics.COLUMNS``. ValueError for an unknown group or country."""
    check_groups(q.by)
    for day in (q.date_from, q.date_to):
        if day is not None and not _DAY.fullmatch(day):
            raise ValueError(f"{day!r} is not a day: YYYY-MM-DD")
    code = _location(q.country)
    project_tags = q.project_id != 0 and ("tag" in q.by or q.tag is not None)
    prompts: tuple[str, ...] | None = None
    groups = q.by
    if project_tags:  # a project's tags are its prompts': count per prompt, add each to its tags
        groups = tuple(dict.fromkeys("prompt" if g == "tag" else g for g in q.by))
        if q.tag is not None:
            prompts = tuple(text for text, tags in scope.prompt_tags.items() if q.tag in tags)
            if not prompts:
                return []
    f = CountFilter(
        project_id=q.project_id, engine=q.engine, model=q.model, location_code=code, date_from=q.date_from,
        date_to=q.date_to, run_id=q.run_id, tag=None if project_tags else q.tag, prompts=prompts,
    )  # fmt: skip
    if q.run_id is not None or (not project_tags and ("tag" in q.by or q.tag is not None)):
        rows = await store.mention_query(lambda c, d: answer_counts(c, d, account_id, groups, f))
    else:
        hashes = None if prompts is None else [prompt_hash(p) for p in prompts]
        rows = await store.mention_query(lambda c, d: rollup_counts(c, d, account_id, groups, f, hashes))
    return metric_rows(q.by, _grouped(q, rows, scope if project_tags else None))


def _grouped(
    q: BrandQuery, rows: list[CountRow], scope: BrandScope | None
) -> dict[tuple[str, ...], GroupCounts]:
    groups: dict[tuple[str, ...], GroupCounts] = {}
    by_tag = "tag" in q.by
    for r in rows:
        tags: tuple[str, ...] = (r.tag,)
        if scope is not None:  # a project's: the prompt's tags (the one asked for, when filtered)
            tags = (q.tag,) if q.tag is not None else scope.prompt_tags.get(r.prompt, ()) or ("",)
        for tag in tags if by_tag else ("",):
            key = tuple(
                tag if g == "tag" else alpha2(r.location_code) if g == "country" else getattr(r, _FIELD[g])
                for g in q.by
            )
            group = groups.get(key)
            if group is None:
                group = groups[key] = GroupCounts()
            if not r.brand:
                group.answers += r.answers
                group.with_citations += r.with_citations
                continue
            t = group.entities.get(r.brand)
            if t is None:
                t = group.entities[r.brand] = BrandCounts()
            t.competitor = t.competitor or r.competitor
            t.mentions += r.mentions
            t.citations += r.citations
            t.positions += r.positions
            t.position_sum += r.position_sum
            t.negated += r.negated
    return groups


_FIELD = {"engine": "engine", "model": "model", "day": "day", "prompt": "prompt"}


def _location(country: str | None) -> int | None:
    """The index's location_code of an alpha-2 country ('' : answers without one)."""
    if country is None:
        return None
    if not country:
        return 0
    code = location_code(country)
    if code is None:
        raise ValueError(f"{country!r} is not an ISO 3166 alpha-2 country code")
    return code


@cache
def alpha2(code: int) -> str:
    entry = countries_by_numeric.get(f"{code - 2000:03d}") if code else None
    return entry.alpha2 if entry else ""


class _Prompt(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


def scope_of(prompts: Iterable[_Prompt]) -> BrandScope:
    """A project's scope from its spec's prompts (``tracking.spec.Prompt``)."""
    return BrandScope(prompt_tags=MappingProxyType({p.text: tuple(p.tags) for p in prompts}))
