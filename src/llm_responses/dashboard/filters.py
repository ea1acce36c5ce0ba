"""The filters every page takes from its URL, so a link or a bookmark is the view itself: project, prompt
tag, engine, model, country and a date range (``from``/``to``, or the last ``days``), and the period before
it that changes are measured against.

``project`` absent means the account's first project; ``project=`` (empty) means the answers outside
projects, read for the server's ``[[brands]]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from llm_responses.analysis.answer_index import location_code
from llm_responses.analysis.brand_metrics import BrandQuery, BrandScope, scope_of
from llm_responses.config_tables import BrandConfig
from llm_responses.dashboard.web import BadFilter, DashboardApi
from llm_responses.store.records import Account
from llm_responses.store.tracking import Project
from llm_responses.tasks.mentions_service import CountFilter
from llm_responses.tracking.spec import ProjectSpec
from llm_responses.wire.engines import ENGINES

RANGES = (7, 28, 90, 365)  # the date ranges offered, in days up to today
DEFAULT_DAYS = 7
MAX_DAYS = 3 * 366  # the longest range a page reads
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Filters:
    project: str | None = None
    tag: str | None = None
    engine: str | None = None
    model: str | None = None
    country: str | None = None  # ISO 3166 alpha-2
    date_from: str = ""
    date_to: str = ""
    days: int = DEFAULT_DAYS  # the range's length, inclusive
    dated: bool = False  # from/to were given (else: the last ``days`` days)

    @property
    def previous(self) -> tuple[str, str]:
        """The period of the same length just before this one."""
        start = date.fromisoformat(self.date_from)
        return (start - timedelta(days=self.days)).isoformat(), (start - timedelta(days=1)).isoformat()

    def query(self, **changes: Any) -> str:
        """This view's URL query with ``changes`` (None drops a key): links keep every filter."""
        kept: dict[str, Any] = {
            "project": self.project, "tag": self.tag, "engine": self.engine, "model": self.model,
            "country": self.country, "from": self.date_from if self.dated else None,
            "to": self.date_to if self.dated else None,
            "days": self.days if not self.dated and self.days != DEFAULT_DAYS else None,
        }  # fmt: skip
        kept.update(changes)
        return urlencode({k: v for k, v in kept.items() if v is not None})

    def brands(self, project_id: int, by: tuple[str, ...] = (), *, previous: bool = False) -> BrandQuery:
        start, end = self.previous if previous else (self.date_from, self.date_to)
        return BrandQuery(
            by=by, project_id=project_id, engine=self.engine, model=self.model, country=self.country,
            tag=self.tag, date_from=start, date_to=end,
        )  # fmt: skip

    @property
    def location(self) -> int | None:
        return location_code(self.country) if self.country else None


def _text(params: QueryParams, key: str, limit: int) -> str | None:
    value = params.get(key) or None
    if value is not None and (len(value) > limit or not value.isprintable()):
        raise BadFilter(f"A {key} is at most {limit} printable characters.")
    return value


def parse_filters(params: QueryParams, today: date | None = None) -> Filters:
    """The URL's filters, checked (``BadFilter`` with a fixed message otherwise)."""
    today = today or datetime.now(UTC).date()
    engine = params.get("engine") or None
    if engine is not None and engine not in ENGINES:
        raise BadFilter("No such engine.")
    country = params.get("country") or None
    if country is not None and (len(country) != 2 or location_code(country) is None):
        raise BadFilter("A country is an ISO 3166 alpha-2 code, such as US.")
    project = params.get("project")
    if project is not None and (len(project) > 100 or not project.isprintable()):
        raise BadFilter("No such project.")
    raw_days = params.get("days") or str(DEFAULT_DAYS)
    if not raw_days.isdigit() or int(raw_days) not in RANGES:
        raise BadFilter(f"Days: one of {', '.join(map(str, RANGES))}.")
    days = int(raw_days)
    start, end = params.get("from") or "", params.get("to") or ""
    dated = bool(start or end)
    if dated:
        try:
            first = date.fromisoformat(start) if _DAY.fullmatch(start) else None
            last = date.fromisoformat(end) if _DAY.fullmatch(end) else today
        except ValueError:
            first = None
        if first is None or first > last or (last - first).days >= MAX_DAYS:
            raise BadFilter("Dates: from and to as YYYY-MM-DD, from first, at most three years apart.")
        days = (last - first).days + 1
        start, end = first.isoformat(), last.isoformat()
    else:
        start, end = (today - timedelta(days=days - 1)).isoformat(), today.isoformat()
    return Filters(
        project=project, tag=_text(params, "tag", 255), engine=engine, model=_text(params, "model", 128),
        country=country.upper() if country else None, date_from=start, date_to=end, days=days, dated=dated,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrackedBrand:
    name: str
    aliases: tuple[str, ...]
    domains: tuple[str, ...]
    own: bool
    competitor: bool


@dataclass(frozen=True, slots=True)
class Tracked:
    """Whose answers a page shows, read for which brands: a tracking project's, or (no project) the
    answers outside projects with the server's ``[[brands]]``."""

    project: Project | None
    spec: ProjectSpec | None
    brands: tuple[TrackedBrand, ...]
    projects: tuple[str, ...] = ()  # every project of the account, for the selector
    scope: BrandScope = field(default_factory=BrandScope)
    models: tuple[str, ...] = ()  # the models its answers came from, for the selector

    @property
    def project_id(self) -> int:
        return self.project.id if self.project else 0

    @property
    def name(self) -> str:
        return self.project.name if self.project else ""

    @property
    def own(self) -> str | None:
        return next((b.name for b in self.brands if b.own), None)

    def prompts_tagged(self, tag: str | None) -> tuple[str, ...] | None:
        """A project's prompts with the tag (None: no tag asked for)."""
        if tag is None or self.spec is None:
            return None
        return tuple(p.text for p in self.spec.prompts if tag in p.tags)


async def tracked(
    api: DashboardApi, account: Account, f: Filters, server_brands: tuple[BrandConfig, ...]
) -> Tracked:
    """The project the filters name (absent: the first one), or none, with the models its answers came
    from; ``BadFilter`` for an unknown name."""
    t = await _chosen(api, account, f, server_brands)
    found = await api.mentions.models(account.id, t.project_id)
    return replace(t, models=tuple(found))


async def _chosen(
    api: DashboardApi, account: Account, f: Filters, server_brands: tuple[BrandConfig, ...]
) -> Tracked:
    projects = await api.tracking.projects(account)
    names = tuple(p.name for p, _ in projects)
    if f.project is None and projects:
        project, spec = projects[0]
        return _of_project(project, spec, names)
    if f.project:
        chosen = next(((p, s) for p, s in projects if p.name == f.project), None)
        if chosen is None:
            raise BadFilter("No such project.")
        return _of_project(chosen[0], chosen[1], names)
    return _outside(server_brands, names)


async def tracked_by_id(
    api: DashboardApi, account: Account, project_id: int, server_brands: tuple[BrandConfig, ...]
) -> Tracked:
    """The brands an answer was read for: its project's (by id), else the server's."""
    projects = await api.tracking.projects(account)
    names = tuple(p.name for p, _ in projects)
    chosen = next(((p, s) for p, s in projects if p.id == project_id), None) if project_id else None
    return _of_project(chosen[0], chosen[1], names) if chosen else _outside(server_brands, names)


def _of_project(project: Project, spec: ProjectSpec, names: tuple[str, ...]) -> Tracked:
    brands = tuple(  # the own brand first
        TrackedBrand(b.name, tuple(b.aliases), tuple(b.domains), b.own, not b.own)
        for b in sorted(spec.brands, key=lambda b: not b.own)
    )
    return Tracked(project, spec, brands, names, scope_of(spec.prompts))


def _outside(server_brands: tuple[BrandConfig, ...], names: tuple[str, ...]) -> Tracked:
    brands = tuple(
        TrackedBrand(b.name, tuple(b.aliases), tuple(b.domains), False, b.competitor) for b in server_brands
    )
    return Tracked(None, None, brands, names)


def answers_of(f: Filters, t: Tracked) -> CountFilter:
    """The indexed answers the filters select: a project's tag is its prompts', outside projects a task tag."""
    return CountFilter(
        project_id=t.project_id, engine=f.engine, model=f.model, location_code=f.location, date_from=f.date_from,
        date_to=f.date_to, tag=f.tag if t.project is None else None, prompts=t.prompts_tagged(f.tag),
    )  # fmt: skip


def bar(f: Filters, t: Tracked, *, compare: bool = False, **extra: str | None) -> dict[str, Any]:
    """What the filter bar (``_filters.html``) renders; ``extra``: the page's own keys, those not None kept as
    hidden fields."""
    kept = tuple((k, v) for k, v in extra.items() if v is not None)
    return {"f": f, "t": t, "engines": list(ENGINES), "ranges": RANGES, "extra": kept, "compare": compare}
