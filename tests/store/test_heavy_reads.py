"""Heavy reads (the mentions index) run on connections of their own, on both databases: while they are all
taken, a point read (authentication, task_get) still answers at once, and another heavy read waits at most
its bound and is then ``Busy`` (40209 at the API), never a crash or a stall."""

import asyncio
import os
import stat
import time

import pytest
import pytest_asyncio

from llm_responses.composition import make_store
from llm_responses.config import Settings
from llm_responses.errors import ApiError, Busy
from llm_responses.heavy_reads import HeavyReads


@pytest_asyncio.fixture
async def store(database_url):
    s = make_store(
        Settings(
            database_url=database_url,
            sqlite_synchronous="NORMAL",
            heavy_read_connections=1,
            heavy_read_wait_seconds=0.3,
        )
    )
    await s.open()
    yield s
    await s.close()


async def _slow(c, dialect: str) -> None:
    if dialect == "postgres":
        await c.fetch_composed("SELECT pg_sleep(1.5)", [], 10.0)
    else:  # the driver runs the transaction in the heavy lane's thread: a blocking wait holds that lane
        time.sleep(1.5)  # noqa: ASYNC251 - it runs in the lane's thread, never on the event loop


async def test_a_point_read_never_waits_behind_heavy_reads(store):
    await store.create_account("alice", "x" * 64, "y" * 64, 0)
    heavy = asyncio.create_task(store.mention_query(_slow))
    await asyncio.sleep(0.2)  # the one heavy connection is taken
    started = time.perf_counter()
    assert (await store.account_by_login("alice")).login == "alice"
    assert time.perf_counter() - started < 0.2
    started = time.perf_counter()
    with pytest.raises(Busy):
        await store.mention_query(lambda c, d: c.fetch_composed("SELECT 1", [], 5.0))
    assert 0.25 < time.perf_counter() - started < 1.0  # waited its bound, no longer
    await heavy
    assert await store.mention_query(lambda c, d: c.fetch_composed("SELECT 1", [], 5.0))  # free again


async def test_one_accounts_share_of_heavy_reads():
    reads = HeavyReads(per_account=2)
    async with reads.slot(1), reads.slot(1):
        with pytest.raises(ApiError) as refused:
            async with reads.slot(1):
                pass
        assert int(refused.value.status) == 40209
        async with reads.slot(2):  # another account has its own share
            pass
    async with reads.slot(1), reads.slot(1):  # released: the share is whole again
        pass


async def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    s = make_store(Settings(database_url=f"sqlite:///{tmp_path}/fresh.db"))
    await s.open()
    await s.create_account("alice", "x" * 64, "y" * 64, 0)
    await s.close()
    for name in os.listdir(tmp_path):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
