"""The tracker's tables (migration 0006): projects, their runs and alerts, each change one transaction,
every statement by name in ``sql/tracking.sql``. ``Store.tracking`` is this class over the same database."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from llm_responses.store import tasks
from llm_responses.store.connection import Connection, Database, Row
from llm_responses.store.records import NewTask

MAX_PROJECTS = 1000  # per account: a listing is one bounded read


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    account_id: int
    name: str
    spec_json: str  # tracking.spec.ProjectSpec as JSON
    paused: bool
    next_run_at: float | None
    version: int
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class NewAlert:
    """A rule's finding (``tracking/alerts.py``); ``dedupe`` names it, so it is recorded once."""

    kind: str  # visibility_drop, share_of_voice_drop, new_mention, lost_mention, overtaken, new_domain,
    # run_failed, over_budget; digest (a day's alerts in one message)
    message: str  # one line a person reads
    dedupe: str
    brand: str | None = None
    subject: str | None = None  # the prompt, domain or competitor it is about
    detail: dict[str, Any] = field(default_factory=dict)  # the numbers behind it


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    account_id: int
    project_id: int
    project: str  # the project's name
    run_id: int | None
    kind: str
    brand: str | None
    subject: str | None
    message: str
    detail: dict[str, Any]
    created_at: float


def alert_of(row: Row) -> Alert:
    r = list(row)
    r[9] = json.loads(r[9])
    return Alert(*r)


# called in the transaction that records alerts: queues their webhook deliveries (store/alert_deliveries.py)
AlertOutlet = Callable[[Connection, int, list[Alert], float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    project_id: int
    account_id: int
    period: str
    trigger: str  # schedule | manual
    status: str  # running, done, partial (some cells failed), failed, over_budget
    scheduled_for: float
    started_at: float
    finished_at: float | None
    tasks: int
    estimate: int  # nano-dollars
    cost: int | None  # nano-dollars, once finished
    error: str | None


@dataclass(frozen=True, slots=True)
class RunStart:
    """A period claimed (``run``) and what posting its tasks did: which the balance covered."""

    run: Run
    accepted: list[bool]


def _project(row: object) -> Project:
    r = list(row)  # type: ignore[call-overload]
    r[4] = bool(r[4])
    return Project(*r)


def _run(row: Row) -> Run:
    return Run(*row)


class TrackingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save_project(
        self, account_id: int, name: str, spec_json: str, next_run_at: float | None, now: float
    ) -> tuple[Project, bool]:
        """Create the account's project ``name``, or replace its spec (a new version); (it, created)."""

        async def tx(c: Connection) -> tuple[Project, bool]:
            created = await c.fetchval("insert_project", account_id, name, spec_json, False, next_run_at, now)
            if created is None:
                await c.execute("update_project", account_id, name, spec_json, next_run_at, now)
            row = await c.fetchrow("project_by_name", account_id, name)
            assert row is not None, "written in this transaction"
            return _project(row), created is not None

        return await self.db.write(tx)

    async def project(self, account_id: int, name: str) -> Project | None:
        row = await self.db.read(lambda c: c.fetchrow("project_by_name", account_id, name), quick=True)
        return None if row is None else _project(row)

    async def project_by_id(self, project_id: int) -> Project | None:
        row = await self.db.read(lambda c: c.fetchrow("project_by_id", project_id), quick=True)
        return None if row is None else _project(row)

    async def projects(self, account_id: int) -> list[Project]:
        rows = await self.db.read(lambda c: c.fetch("projects_of", account_id, MAX_PROJECTS))
        return [_project(r) for r in rows]

    async def digest_projects(self, limit: int = 10_000) -> list[Project]:
        """Projects (every account's) with a digest webhook."""
        return [_project(r) for r in await self.db.read(lambda c: c.fetch("digest_projects", limit))]

    async def specs(self, project_ids: list[int]) -> dict[int, tuple[str, int]]:
        """(spec JSON, version) of each project that still exists: the brands its answers are read for."""
        if not project_ids:
            return {}
        rows = await self.db.read(lambda c: c.fetch("project_specs", sorted(set(project_ids))), quick=True)
        return {int(r[0]): (r[1], int(r[2])) for r in rows}

    async def delete_project(self, account_id: int, name: str) -> bool:
        """The project, its runs, alerts and rollups; its tasks and their answers stay the account's."""

        async def tx(c: Connection) -> bool:
            project_id = await c.fetchval("delete_project", account_id, name)
            if project_id is None:
                return False
            for statement in (
                "delete_project_rollups",
                "delete_project_prompt_rollups",
                "delete_project_prompts",
            ):
                await c.execute(statement, account_id, project_id)
            return True

        return await self.db.write(tx)

    async def set_paused(
        self, account_id: int, name: str, paused: bool, next_run_at: float | None, now: float
    ) -> bool:
        found = await self.db.write(
            lambda c: c.fetchval("set_project_paused", account_id, name, paused, next_run_at, now)
        )
        return found is not None

    async def record_alerts(
        self,
        account_id: int,
        project_id: int,
        run_id: int | None,
        found: list[NewAlert],
        now: float,
        outlet: AlertOutlet | None = None,
    ) -> list[Alert]:
        """Record the findings not recorded before, and (``outlet``) queue their deliveries in the same
        transaction: an alert is never recorded without its webhooks, nor sent twice."""

        async def tx(c: Connection) -> list[Alert]:
            new: list[Alert] = []
            for a in found:
                alert_id = await c.fetchval(
                    "insert_alert", account_id, project_id, run_id, a.kind, a.brand, a.subject, a.message,
                    json.dumps(a.detail, ensure_ascii=False), a.dedupe[:255], now,
                )  # fmt: skip
                if alert_id is not None:
                    row = await c.fetchrow("alert_by_id", alert_id)
                    assert row is not None, "written in this transaction"
                    new.append(alert_of(row))
            if new and outlet is not None:
                await outlet(c, account_id, new, now)
            return new

        return await self.db.write(tx)

    async def alerts(
        self, account_id: int, *, project_id: int = 0, since: float = 0.0, limit: int = 100
    ) -> list[Alert]:
        """The account's alerts (one project's: ``project_id``), newest first; digests are not listed."""
        rows = await self.db.read(
            lambda c: c.fetch("alerts_of_account", account_id, project_id, since, limit)
        )
        return [alert_of(r) for r in rows]

    async def alert(self, alert_id: int) -> Alert | None:
        row = await self.db.read(lambda c: c.fetchrow("alert_by_id", alert_id), quick=True)
        return None if row is None else alert_of(row)

    # -- runs ------------------------------------------------------------------------------------

    async def due_projects(self, now: float, limit: int = 100) -> list[Project]:
        rows = await self.db.read(lambda c: c.fetch("due_projects", now, limit))
        return [_project(r) for r in rows]

    async def start_run(
        self,
        project: Project,
        *,
        period: str,
        trigger: str,
        scheduled_for: float,
        advance: tuple[float, float | None] | None,
        estimate: int,
        new: list[NewTask],
        now: float,
        status: str = "running",
        error: str | None = None,
    ) -> RunStart | None:
        """Claim the project's ``period`` and post its tasks, in one transaction: a process that dies
        midway leaves nothing, and of any number of workers one claims a period, once. ``advance``
        (expected next_run_at, the next one) moves a scheduled project on, compare-and-set; a run that
        does not start (``status`` over_budget) still consumes its period. None: claimed elsewhere."""

        async def tx(c: Connection) -> RunStart | None:
            if advance is not None and not await c.execute("advance_project", project.id, *advance):
                return None
            finished = None if status in ("running", "posting") else now
            run_id = await c.fetchval(
                "insert_run", project.id, project.account_id, period, trigger, status, scheduled_for, now,
                finished, estimate, error,
            )  # fmt: skip
            if run_id is None:
                return None
            accepted = await _post(c, project.account_id, run_id, new, now)
            row = await c.fetchrow("run_by_id", run_id)
            assert row is not None, "written in this transaction"
            return RunStart(_run(row), accepted)

        return await self.db.write(tx)

    async def resume_run(self, run: Run, new: list[NewTask], now: float) -> RunStart:
        """Post ``new`` (the cells without an answer) into the run again, and reopen it."""

        async def tx(c: Connection) -> RunStart:
            await c.execute("reopen_run", run.id)
            accepted = await _post(c, run.account_id, run.id, new, now)
            row = await c.fetchrow("run_by_id", run.id)
            assert row is not None, "the run exists: it was read before"
            return RunStart(_run(row), accepted)

        return await self.db.write(tx)

    async def run(self, run_id: int) -> Run | None:
        row = await self.db.read(lambda c: c.fetchrow("run_by_id", run_id), quick=True)
        return None if row is None else _run(row)

    async def runs(self, project_id: int, limit: int = 50) -> list[Run]:
        return [_run(r) for r in await self.db.read(lambda c: c.fetch("runs_of", project_id, limit))]

    async def open_runs(self, limit: int = 100) -> list[Run]:
        return [_run(r) for r in await self.db.read(lambda c: c.fetch("open_runs", limit))]

    async def earlier_runs(self, run: Run, since: float, limit: int = 30) -> list[Run]:
        """The project's answered runs before ``run`` started since ``since``, newest first."""
        rows = await self.db.read(lambda c: c.fetch("earlier_runs", run.project_id, run.id, since, limit))
        return [_run(r) for r in rows]

    async def run_progress(self, run_id: int) -> dict[str, tuple[int, int]]:
        """{task status: (tasks, nano-dollars)} of the run's tasks."""
        rows = await self.db.read(lambda c: c.fetch("run_progress", run_id))
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    async def open_cells(self, run_id: int) -> set[str]:
        """The run's cells answered or on their way (a resume posts the others)."""
        return {r[0] for r in await self.db.read(lambda c: c.fetch("run_open_keys", run_id))}

    async def finish_run(
        self, run_id: int, status: str, cost: int, tasks: int, now: float, error: str | None = None
    ) -> bool:
        """End a running run once, with its cost and its tasks' count; False when it was ended already."""
        return bool(
            await self.db.write(lambda c: c.execute("finish_run", run_id, status, now, cost, error, tasks))
        )

    async def answered_prompts(self, run_id: int) -> list[str]:
        """The prompts the run's indexed answers answer (naming a brand or not)."""
        rows = await self.db.read(lambda c: c.fetch("run_answered_prompts", run_id))
        return [r[0] for r in rows]

    async def unindexed(self, run_id: int) -> int:
        """The run's answers not in the mentions index yet (still in its outbox)."""
        return int(await self.db.read(lambda c: c.fetchval("run_unindexed", run_id)))

    async def new_domains(self, run_id: int, limit: int = 100) -> list[str]:
        """Domains the run's answers cite for the first time in their project."""
        return [
            r[0] for r in await self.db.read(lambda c: c.fetch("run_new_domains", run_id, limit), heavy=True)
        ]

    async def spent_since(self, project_id: int, since: float) -> int:
        """Nano-dollars the project's tasks posted since ``since`` cost (holds, for those unsettled)."""
        return int(await self.db.read(lambda c: c.fetchval("project_spent_since", project_id, since)))


async def _post(c: Connection, account_id: int, run_id: int, new: list[NewTask], now: float) -> list[bool]:
    """The run's tasks through the task queue's own insert and charge (``tasks.create_tasks``)."""
    if not new:
        return []
    accepted = await tasks.create_tasks(c, account_id, [replace(t, run_id=run_id) for t in new], now)
    posted = sum(accepted)
    status, finished, error = "running", None, None
    if posted < len(new):
        error = f"the balance covered {posted} of {len(new)} tasks: top up and resume the run"
        if not posted:
            status, finished = "failed", now
    await c.execute("add_run_tasks", run_id, posted, status, finished, error)
    return accepted
