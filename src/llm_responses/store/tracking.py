"""The tracker's tables (migration 0006): projects, their runs and alerts, each change one transaction,
every statement by name in ``sql/tracking.sql``. ``Store.tracking`` is this class over the same database."""

from __future__ import annotations

from dataclasses import dataclass

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
