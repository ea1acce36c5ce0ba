"""Tracking projects' behaviour, independent of HTTP: saving a project (checked as the task path checks
its tasks), starting, resuming and finishing runs, and what each project's alerts found.

The REST routes, the scheduler in the worker and the MCP tools all call this; nothing here knows HTTP.
Every refusal is an ``ApiError`` with DataForSEO's status codes (40501 naming the field, 40400 for a
project or run the account does not have).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from llm_responses.billing.money import to_nanos
from llm_responses.errors import ApiError, StatusCode
from llm_responses.store import Store
from llm_responses.store.alert_deliveries import DigestTarget, alert_outlet
from llm_responses.store.records import Account, NewTask, TaskStatus
from llm_responses.store.tracking import Alert, NewAlert, Project, Run, RunStart
from llm_responses.tasks.service import TaskService
from llm_responses.tracking.alerts import Snapshot, evaluate
from llm_responses.tracking.metrics import ProjectMetrics
from llm_responses.tracking.plan import Cell, cells
from llm_responses.tracking.schedule import period_name
from llm_responses.tracking.spec import ProjectSpec

log = logging.getLogger(__name__)

# the answered runs a 7-day baseline may average over
BASELINE_DAYS = 7
PENDING = (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, TaskStatus.BATCHED.value)
# a project that queues its own re-indexing when its brands change (the indexer's hook, from composition)
Reindex = Callable[[int], Awaitable[int]]


def not_found(what: str) -> ApiError:
    return ApiError(StatusCode.NOT_FOUND, f"Not Found: {what}.")


def invalid(exc: ValidationError) -> ApiError:
    """The first problem pydantic found, as DataForSEO names a bad field: 40501 with the field's path."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "project"
    return ApiError(StatusCode.INVALID_FIELD, f"Invalid Field: '{where}'. {first['msg']}.")


@dataclass(frozen=True, slots=True)
class Saved:
    project: Project
    spec: ProjectSpec
    created: bool


class MetricsReader(Protocol):
    """Brand metrics rows (``analysis``'s shape) of a project's answers: one run's, or a span of days'."""

    async def of_run(
        self, account_id: int, project_id: int, run_id: int, by: tuple[str, ...]
    ) -> list[dict[str, Any]]: ...

    async def of_days(
        self, account_id: int, project_id: int, date_from: str, date_to: str, by: tuple[str, ...]
    ) -> list[dict[str, Any]]: ...


class TrackingService:
    def __init__(
        self,
        *,
        store: Store,
        tasks: TaskService,
        reindex: Reindex | None = None,
        metrics: MetricsReader | None = None,  # the mentions index's (tests may read others)
    ) -> None:
        self.store = store
        self.tasks = tasks
        self.reindex = reindex
        self.metrics: MetricsReader = metrics if metrics is not None else ProjectMetrics(store)

    # -- projects --------------------------------------------------------------------------------

    def parse(self, raw: Any) -> ProjectSpec:
        if not isinstance(raw, dict):
            raise ApiError(StatusCode.POST_DATA_INVALID, "POST Data Is Invalid: a project is a JSON object.")
        try:
            spec = ProjectSpec.model_validate(raw)
        except ValidationError as exc:
            raise invalid(exc) from None
        self._check_tasks(spec)
        for hook in spec.alerts.webhooks:
            try:
                self.tasks.check_webhook_url(hook.url)
            except ValueError as exc:
                raise ApiError(
                    StatusCode.INVALID_FIELD, f"Invalid Field: 'alerts.webhooks.url'. {exc}."
                ) from None
        return spec

    def _check_tasks(self, spec: ProjectSpec) -> None:
        """Each distinct task shape checked as the task path would (the model served by the engine, the
        country taken ...): a project that saves is a project whose runs post."""
        seen: set[tuple[str, str, str | None]] = set()
        for cell in cells(spec):
            shape = (cell.engine, cell.model, cell.country)
            if shape in seen:
                continue
            seen.add(shape)
            try:
                self.tasks.prepare(cell.engine, cell.task)
            except ApiError as exc:
                raise ApiError(exc.status, f"{exc.message} (models.{cell.engine} = {cell.model!r})") from None

    async def save(self, account: Account, raw: Any, now: float | None = None) -> Saved:
        """Create the project, or replace its spec: the next run follows the new schedule; changed brands
        re-read every stored answer of the project."""
        spec = self.parse(raw)
        now = time.time() if now is None else now
        before = await self.store.tracking.project(account.id, spec.name)
        old = ProjectSpec.from_json(before.spec_json) if before else None
        next_run_at = _next_run(spec, now)
        if before is not None and old is not None and old.schedule == spec.schedule:
            next_run_at = before.next_run_at  # the same schedule: keep the period it waits for
        if before is not None and before.paused:
            next_run_at = None
        project, created = await self.store.tracking.save_project(
            account.id, spec.name, spec.to_json(), next_run_at, now
        )
        if old is not None and old.brands != spec.brands and self.reindex is not None:
            queued = await self.reindex(project.id)
            log.info("project %s: brands changed, %d answers queued for re-reading", project.name, queued)
        return Saved(project, spec, created)

    async def get(self, account: Account, name: str) -> tuple[Project, ProjectSpec]:
        project = await self.store.tracking.project(account.id, name) if _plausible(name) else None
        if project is None:
            raise not_found(f"project '{name}'" if _plausible(name) else "no such project")
        return project, ProjectSpec.from_json(project.spec_json)

    async def projects(self, account: Account) -> list[tuple[Project, ProjectSpec]]:
        return [
            (p, ProjectSpec.from_json(p.spec_json)) for p in await self.store.tracking.projects(account.id)
        ]

    async def delete(self, account: Account, name: str) -> None:
        if not _plausible(name) or not await self.store.tracking.delete_project(account.id, name):
            raise not_found(f"project '{name}'")

    async def pause(self, account: Account, name: str, paused: bool, now: float | None = None) -> Project:
        """Pause (no scheduled runs) or resume the schedule from the next period after now."""
        project, spec = await self.get(account, name)
        now = time.time() if now is None else now
        await self.store.tracking.set_paused(
            account.id, name, paused, None if paused else _next_run(spec, now), now
        )
        project, _ = await self.get(account, name)
        return project

    # -- runs ------------------------------------------------------------------------------------

    async def run_now(self, account: Account, name: str, now: float | None = None) -> RunStart:
        """A run outside the schedule (``manual``), started at once."""
        project, spec = await self.get(account, name)
        now = time.time() if now is None else now
        period = f"manual:{datetime.fromtimestamp(now, _zone(spec)).isoformat(timespec='microseconds')}"
        started = await self.start(project, spec, period=period, trigger="manual", scheduled_for=now, now=now)
        if started is None:  # the same microsecond twice: nothing to run twice
            raise ApiError(
                StatusCode.TOO_MANY_SIMULTANEOUS, "Too many simultaneous queries: a run just started."
            )
        return started

    async def run_scheduled(self, project: Project, now: float) -> RunStart | None:
        """The latest period of the project's schedule that has started (one run however many were missed
        while nothing ran), claimed once whatever the number of workers; None: another worker did."""
        spec = ProjectSpec.from_json(project.spec_json)
        if spec.schedule is None or project.next_run_at is None:
            return None
        slot = spec.schedule.latest(now)
        following = spec.schedule.following(now).timestamp()
        return await self.start(
            project, spec, period=period_name(slot), trigger="schedule", scheduled_for=slot.timestamp(),
            now=now, advance=(project.next_run_at, following),
        )  # fmt: skip

    async def start(
        self,
        project: Project,
        spec: ProjectSpec,
        *,
        period: str,
        trigger: str,
        scheduled_for: float,
        now: float,
        advance: tuple[float, float | None] | None = None,
    ) -> RunStart | None:
        """Estimate the run, stop it when the month's budget would be passed, else post every cell."""
        new = self._tasks(project, spec, cells(spec))
        estimate = await self._estimate(project, new)
        if spec.budget_usd_monthly is not None:
            spent = await self.store.tracking.spent_since(project.id, _month_start(spec, now))
            budget = to_nanos(str(spec.budget_usd_monthly))
            if spent + estimate > budget:
                why = (
                    f"budget: ${spent / 1e9:.4f} spent this month, this run estimated at ${estimate / 1e9:.4f}, "
                    f"the monthly budget is ${budget / 1e9:.2f}"
                )
                started = await self.store.tracking.start_run(
                    project, period=period, trigger=trigger, scheduled_for=scheduled_for, advance=advance,
                    estimate=estimate, new=[], now=now, status="over_budget", error=why,
                )  # fmt: skip
                if started is not None:
                    await self._alert(project, spec, started.run, "over_budget", why)
                return started
        return await self.store.tracking.start_run(
            project, period=period, trigger=trigger, scheduled_for=scheduled_for, advance=advance,
            estimate=estimate, new=new, now=now,
        )  # fmt: skip

    async def resume(self, account: Account, name: str, run_id: int, now: float | None = None) -> RunStart:
        """Post again the cells of the run that have no answer (failed, or refused for the balance)."""
        project, spec = await self.get(account, name)
        run = await self.run_of(project, run_id)
        if run.status == "done":
            raise ApiError(
                StatusCode.INVALID_FIELD, f"Invalid Field: 'run_id'. Run {run.id} has every answer."
            )
        open_cells = await self.store.tracking.open_cells(run.id)
        todo = [c for c in cells(spec) if c.key not in open_cells]
        now = time.time() if now is None else now
        return await self.store.tracking.resume_run(run, self._tasks(project, spec, todo), now)

    async def finish(self, run: Run, now: float) -> list[Alert] | None:
        """End the run once its tasks are settled and its answers indexed, then evaluate its alerts;
        None while it is still going (or another worker ended it)."""
        progress = await self.store.tracking.run_progress(run.id)
        if any(progress.get(s, (0, 0))[0] for s in PENDING):
            return None
        if await self.store.tracking.unindexed(run.id):
            return None
        done = progress.get(TaskStatus.DONE.value, (0, 0))[0]
        failed = sum(n for s, (n, _) in progress.items() if s not in (TaskStatus.DONE.value, *PENDING))
        cost = sum(c for _, c in progress.values())
        status = "done" if done and not failed else "partial" if done else "failed"
        error = f"{failed} of {done + failed} tasks failed" if failed else None
        if not await self.store.tracking.finish_run(run.id, status, cost, done + failed, now, error):
            return None
        project = await self.store.tracking.project_by_id(run.project_id)
        if project is None:
            return []
        return await self.alerts(project, run, status, error)

    async def alerts(self, project: Project, run: Run, status: str, problem: str | None) -> list[Alert]:
        """The project's rules over the run against the previous run (or the 7-day average)."""
        spec = ProjectSpec.from_json(project.spec_json)
        account, pid = project.account_id, project.id
        current = Snapshot.of(
            await self.metrics.of_run(account, pid, run.id, ()),
            await self.metrics.of_run(account, pid, run.id, ("prompt",)),
            await self.store.tracking.answered_prompts(run.id),
        )
        earlier = await self.store.tracking.earlier_runs(run, run.started_at - BASELINE_DAYS * 86400)
        previous = baseline = None
        if earlier:
            before = earlier[0]
            previous = Snapshot.of(
                await self.metrics.of_run(account, pid, before.id, ()),
                await self.metrics.of_run(account, pid, before.id, ("prompt",)),
                await self.store.tracking.answered_prompts(before.id),
            )
            baseline = previous
            if spec.alerts.against == "7_day_average":
                day = datetime.fromtimestamp(run.started_at, UTC).date()
                window = await self.metrics.of_days(
                    account, pid, (day - timedelta(days=BASELINE_DAYS)).isoformat(),
                    (day - timedelta(days=1)).isoformat(), (),
                )  # fmt: skip
                baseline = Snapshot.of(window) if window else previous
        domains = await self.store.tracking.new_domains(run.id) if earlier else []
        own = spec.own_brand.name if spec.own_brand else None
        found = evaluate(
            spec.alerts, run_id=run.id, own=own, current=current, baseline=baseline, previous=previous,
            new_domains=domains, status=status, problem=problem and f"run {run.id}: {problem}",
        )  # fmt: skip
        return await self.record(project, spec, run.id, found) if found else []

    async def run_of(self, project: Project, run_id: int) -> Run:
        run = await self.store.tracking.run(run_id)
        if run is None or run.project_id != project.id:
            raise not_found(f"run {run_id} of project '{project.name}'")
        return run

    def _tasks(self, project: Project, spec: ProjectSpec, todo: list[Cell]) -> list[NewTask]:
        idle = spec.background
        return [
            replace(self.tasks.prepare(c.engine, c.task, idle=idle), project_id=project.id, prompt_key=c.key)
            for c in todo
        ]

    async def _estimate(self, project: Project, new: list[NewTask]) -> int:
        """The run's expected cost: the last answered run's charge per task when there is one, else what
        posting holds (an upper bound for most models)."""
        held = sum(t.base_price + t.prepayment for t in new)
        for run in await self.store.tracking.runs(project.id, limit=10):
            if run.status in ("done", "partial") and run.cost is not None and run.tasks:
                return min(held, round(run.cost / run.tasks * len(new)))
        return held

    async def _alert(
        self, project: Project, spec: ProjectSpec, run: Run, kind: str, message: str
    ) -> list[Alert]:
        if not spec.alerts.run_problems:
            return []
        found = [
            NewAlert(kind, message, f"run:{run.id}:{kind}", detail={"run_id": run.id, "status": run.status})
        ]
        return await self.record(project, spec, run.id, found)

    async def record(
        self, project: Project, spec: ProjectSpec, run_id: int | None, found: list[NewAlert]
    ) -> list[Alert]:
        """Record findings once each, their webhook deliveries queued with them (``alert_deliveries``)."""
        outlet = alert_outlet(_hooks(spec)) if spec.alerts.webhooks else None
        return await self.store.tracking.record_alerts(
            project.account_id, project.id, run_id, found, time.time(), outlet
        )

    async def digest_targets(self) -> list[DigestTarget]:
        """Every project with a digest webhook, as the daily digests take them."""
        out = []
        for p in await self.store.tracking.digest_projects():
            spec = ProjectSpec.from_json(p.spec_json)
            zone = spec.schedule.timezone if spec.schedule else "UTC"
            out.append(DigestTarget(p.account_id, p.id, zone, _hooks(spec)))
        return out


def _hooks(spec: ProjectSpec) -> tuple[tuple[str, str, bool], ...]:
    return tuple((h.url, h.format, h.digest) for h in spec.alerts.webhooks)


def _zone(spec: ProjectSpec) -> ZoneInfo:
    return ZoneInfo(spec.schedule.timezone if spec.schedule else "UTC")


def _next_run(spec: ProjectSpec, now: float) -> float | None:
    return spec.schedule.following(now).timestamp() if spec.schedule else None


def _month_start(spec: ProjectSpec, now: float) -> float:
    """The start of ``now``'s month in the project's time zone: the budget is monthly, as a bill is."""
    local = datetime.fromtimestamp(now, _zone(spec))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def _plausible(name: str) -> bool:
    return 0 < len(name) <= 100 and name.isprintable()
