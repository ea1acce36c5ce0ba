"""Fresh PostgreSQL databases for tests: migrated once into a template, then copied per test (fast).

The real server at 127.0.0.1:5432 (user postgres, trust auth). Where none answers the PostgreSQL tests
skip with the reason, except under CI (``CI=true``), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid

import asyncpg

from tests.ci import missing

ADMIN_DSN = os.environ.get("LLM_RESPONSES_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEMPLATE = f"llmr_template_{os.getpid()}"


def _dsn(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(ADMIN_DSN, timeout=5)


async def available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        conn = await _admin()
        await conn.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable server"
        return f"no PostgreSQL at {ADMIN_DSN}: {exc}"
    return None


async def require() -> None:
    reason = await available()
    if reason is None:
        return
    missing("PostgreSQL", reason)


class Databases:
    """Creates the migrated template on first use; ``new()`` copies it; ``drop_all()`` cleans up."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.template_ready = False

    async def _ensure_template(self) -> None:
        if self.template_ready:
            return
        from llm_responses.store import Store
        from llm_responses.store.postgres_database import PostgresDatabase

        conn = await _admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
            await conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        finally:
            await conn.close()
        store = Store(PostgresDatabase(_dsn(TEMPLATE)))
        await store.open()  # runs the migrations
        await store.close()
        self.template_ready = True

    async def new(self) -> str:
        await self._ensure_template()
        name = f"llmr_test_{uuid.uuid4().hex[:12]}"
        conn = await _admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        finally:
            await conn.close()
        self.created.append(name)
        return _dsn(name)

    async def drop_all(self) -> None:
        conn = await _admin()
        try:
            for name in [*self.created, TEMPLATE]:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.created.clear()
        self.template_ready = False
