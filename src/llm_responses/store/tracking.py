"""The tracker's tables (migration 0006): projects, their runs and alerts, each change one transaction,
every statement by name in ``sql/tracking.sql``. ``Store.tracking`` is this class over the same database."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_responses.store.connection import Connection, Database

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


def alert_of(row: Sequence[Any]) -> Alert:
    r = list(row)
    r[9] = json.loads(r[9])
    return Alert(*r)


# called in the transaction that records alerts: queues their webhook deliveries (store/alert_deliveries.py)
AlertOutlet = Callable[[Connection, int, list[Alert], float], Awaitable[None]]


def _project(row: object) -> Project:
    r = list(row)  # type: ignore[call-overload]
    r[4] = bool(r[4])
    return Project(*r)


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
            await c.execute("delete_project_rollups", account_id, project_id)
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
