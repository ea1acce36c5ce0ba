"""Pooled PostgreSQL connections are reused without a reset query: nothing one use does may reach the next."""

from __future__ import annotations

import time

import pytest
import pytest_asyncio

from llm_responses.store.base import NewTask
from llm_responses.store.postgres import PostgresStore
from tests import pg


@pytest_asyncio.fixture
async def one_connection_store(pg_databases):
    await pg.require()
    store = PostgresStore(await pg_databases.new(), pool_size=1)  # every call gets the same connection
    await store.open()
    yield store
    await store.close()


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


async def test_a_non_durable_claim_leaves_durable_commits_for_the_next_user(one_connection_store):
    store = one_connection_store
    account = await store.create_account("a", "h", "t", 1_000)
    await store.create_tasks(account.id, [_task(1)], time.time())
    now = time.time()
    assert await store.claim_tasks("w", 10, now + 60, now)  # commits with synchronous_commit off (SET LOCAL)
    setting = await store._run(lambda c: c.fetchval("SELECT current_setting('synchronous_commit')"))
    assert setting == "on"  # a settlement on this connection next must still wait for its WAL flush


async def test_a_failed_transaction_is_rolled_back_before_the_connection_is_reused(one_connection_store):
    store = one_connection_store

    async def fails(conn):
        await conn.execute("CREATE TEMP TABLE scratch (x int)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store._tx(fails)

    async def state(conn):
        return conn.is_in_transaction(), await conn.fetchval("SELECT to_regclass('pg_temp.scratch')")

    assert await store._run(state) == (False, None)  # the failed transaction and its table are gone
