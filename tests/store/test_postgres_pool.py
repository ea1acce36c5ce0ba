"""Pooled PostgreSQL connections are reused without a reset query: nothing one use does may reach the next."""

from __future__ import annotations

import time

import pytest
import pytest_asyncio

from llm_responses.store import Store
from llm_responses.store.connection import LOSSY
from llm_responses.store.postgres_database import PostgresDatabase
from llm_responses.store.records import NewTask
from tests import pg


@pytest_asyncio.fixture
async def one_connection_db(pg_databases):
    await pg.require()
    db = PostgresDatabase(await pg_databases.new(), pool_size=1)  # every call gets the same connection
    await db.open()
    yield db
    await db.close()


def _task(i: int) -> NewTask:
    return NewTask(
        id=f"00000000-0000-0000-0000-{i:012d}",
        se="chat_gpt",
        endpoint="task_post",
        request_json="{}",
        data_json="{}",
        tag=None,
        postback_url=None,
        pingback_url=None,
        base_price=1,
        prepayment=1,
    )


async def test_a_non_durable_claim_leaves_durable_commits_for_the_next_user(one_connection_db):
    store = Store(one_connection_db)
    account = await store.create_account("a", "h", "t", 1_000)
    await store.create_tasks(account.id, [_task(1)], time.time())
    now = time.time()
    assert await store.claim_tasks("w", 10, now + 60, now)  # commits with synchronous_commit off (SET LOCAL)
    async with one_connection_db.pool.acquire() as conn:
        setting = await conn.fetchval("SELECT current_setting('synchronous_commit')")
    assert setting == "on"  # a settlement on this connection next must still wait for its WAL flush


async def test_a_failed_transaction_is_rolled_back_before_the_connection_is_reused(one_connection_db):
    async def fails(c):
        await c.execute("meta_set", "k", "written before the failure")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await one_connection_db.write(fails, LOSSY)

    async with one_connection_db.pool.acquire() as conn:
        in_transaction = conn.is_in_transaction()
        value = await conn.fetchval("SELECT value FROM meta WHERE key = 'k'")
        setting = await conn.fetchval("SELECT current_setting('synchronous_commit')")
    assert (in_transaction, value, setting) == (False, None, "on")  # rolled back, its SET LOCAL gone too
