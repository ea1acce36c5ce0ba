"""The store's queue and money invariants on a real SQLite file."""

import time

import pytest_asyncio

from llm_responses.store.base import NewTask, Outcome, TaskStatus
from llm_responses.store.sqlite import SqliteStore

PREPAY, BASE = 10_000_000, 200_000


@pytest_asyncio.fixture
async def store(tmp_path):
    s = SqliteStore(f"sqlite:///{tmp_path}/store.db", synchronous="NORMAL")
    await s.open()
    yield s
    await s.close()


def new_task(i: int, endpoint: str = "task_post") -> NewTask:
    return NewTask(id=f"00000000-0000-0000-0000-{i:012d}", se="chat_gpt", endpoint=endpoint, request_json="{}",
                   data_json="{}", tag=None, postback_url=None, pingback_url=None, base_price=BASE, prepayment=PREPAY)


def success(spent: int) -> Outcome:
    return Outcome(success=True, status_code=20000, status_message="Ok.", result_json="{}", money_spent=spent)


async def test_migrations_are_idempotent(tmp_path):
    for _ in range(2):
        s = SqliteStore(f"sqlite:///{tmp_path}/m.db")
        await s.open()
        await s.close()


async def test_finishing_twice_settles_once(store):
    acc = await store.create_account("a", "h", "t", 1_000_000_000)
    await store.create_tasks(acc.id, [new_task(1)], time.time())
    now = time.time()
    [claimed] = await store.claim_tasks("w1", 10, now + 60, now)
    assert await store.finish_task(claimed.id, claimed.attempt, success(3_000_000), now)
    assert not await store.finish_task(claimed.id, claimed.attempt, success(3_000_000), now)
    balance = (await store.account_by_login("a")).balance
    assert balance == 1_000_000_000 - BASE - 3_000_000
    assert await store.ledger_sum(acc.id) == balance


async def test_a_dead_workers_task_is_reclaimed_and_the_old_attempt_cannot_settle(store):
    acc = await store.create_account("a", "h", "t", 1_000_000_000)
    await store.create_tasks(acc.id, [new_task(1)], time.time())
    now = time.time()
    [first] = await store.claim_tasks("w1", 10, now - 1, now)  # lease already over: w1 "died"
    assert await store.recover_expired_leases(now) == (1, 0)
    [second] = await store.claim_tasks("w2", 10, now + 60, now)
    assert (first.id, second.attempt) == (second.id, 2)
    assert not await store.finish_task(first.id, first.attempt, success(1), now)
    assert await store.finish_task(second.id, second.attempt, success(1), now)
    assert await store.ledger_sum(acc.id) == (await store.account_by_login("a")).balance


async def test_abandoned_live_calls_are_refunded_in_full(store):
    acc = await store.create_account("a", "h", "t", 1_000_000_000)
    now = time.time()
    assert await store.start_live(acc.id, new_task(7, "live"), "w1", now - 1, now)
    assert (await store.account_by_login("a")).balance == 1_000_000_000 - BASE - PREPAY
    assert await store.recover_expired_leases(now) == (0, 1)
    assert (await store.account_by_login("a")).balance == 1_000_000_000
    assert await store.count_tasks(TaskStatus.FAILED) == 1


async def test_claims_never_hand_out_a_task_twice(store):
    acc = await store.create_account("a", "h", "t", 1_000_000_000)
    await store.create_tasks(acc.id, [new_task(i) for i in range(30)], time.time())
    now = time.time()
    seen = []
    for owner in ("w1", "w2", "w3", "w4"):
        seen += [c.id for c in await store.claim_tasks(owner, 8, now + 60, now)]
    assert len(seen) == len(set(seen)) == 30
    assert await store.claim_tasks("w5", 8, now + 60, now) == []


async def test_retry_later_waits_for_run_after(store):
    acc = await store.create_account("a", "h", "t", 1_000_000_000)
    await store.create_tasks(acc.id, [new_task(1)], time.time())
    now = time.time()
    [c] = await store.claim_tasks("w1", 1, now + 60, now)
    assert await store.retry_later(c.id, c.attempt, now + 100, "503")
    assert await store.claim_tasks("w1", 1, now + 60, now) == []
    assert [t.attempt for t in await store.claim_tasks("w1", 1, now + 200, now + 101)] == [2]
