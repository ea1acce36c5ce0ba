"""The store contract: queue and money invariants, on a real SQLite file and a real PostgreSQL database."""

import asyncio
import time
from dataclasses import replace

import pytest

from llm_responses.composition import make_store
from llm_responses.config import Settings
from llm_responses.errors import AccountExists, AccountNotFound
from llm_responses.store.deliveries import MAX_DELIVERIES_PER_TASK
from llm_responses.store.migrate import head_revision
from llm_responses.store.records import (
    DeliveryAttempt,
    DeliveryStatus,
    NewTask,
    Outcome,
    ResendResult,
    TaskStatus,
)
from llm_responses.tasks.maintenance import ABANDONED_LIVE, OVERDUE
from tests.store.test_schema import shape

PREPAY, BASE = 10_000_000, 200_000


def new_task(i: int, endpoint: str = "task_post") -> NewTask:
    return NewTask(
        id=f"00000000-0000-0000-0000-{i:012d}",
        se="chat_gpt",
        endpoint=endpoint,
        request_json="{}",
        data_json="{}",
        tag=None,
        postback_url=None,
        pingback_url=None,
        base_price=BASE,
        prepayment=PREPAY,
    )


def success(spent: int) -> Outcome:
    return Outcome(success=True, status_code=20000, status_message="Ok.", result_json="{}", money_spent=spent)


async def test_migrations_are_idempotent(database_url):
    """Every open migrates to the head; a second changes nothing: the same revision, tables, columns and
    indexes, and the rows written in between are still there."""
    seen = []
    for opening in range(2):
        s = make_store(Settings(database_url=database_url))
        await s.open()
        if opening == 0:
            await s.create_account("a", "h", "t", 5)
        assert (await s.account_by_login("a")).balance == 5
        revision = await s.schema_revision()
        await s.close()
        seen.append((revision, await shape(database_url)))
    assert seen[0][0] == head_revision() is not None
    assert seen[1] == seen[0]


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
    assert await store.recover_expired_leases(now, ABANDONED_LIVE) == (1, 0)
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
    assert await store.recover_expired_leases(now, ABANDONED_LIVE) == (0, 1)
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


async def test_concurrent_claimers_never_share_a_task(store):
    """Many claimers at once (on PostgreSQL: separate connections racing with SKIP LOCKED)."""
    acc = await store.create_account("a", "h", "t", 10**12)
    await store.create_tasks(acc.id, [new_task(i) for i in range(100)], time.time())
    now = time.time()
    batches = await asyncio.gather(*(store.claim_tasks(f"w{i}", 7, now + 60, now) for i in range(20)))
    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == len(set(ids)) == 100


async def test_concurrent_posts_never_overspend(store):
    """Covers 7 charges of the 20 posted at once, one task each: exactly 7 accepted, balance never below 0."""
    acc = await store.create_account("a", "h", "t", 7 * (BASE + PREPAY) + 5)
    results = await asyncio.gather(
        *(store.create_tasks(acc.id, [new_task(i)], time.time()) for i in range(20))
    )
    assert sum(ok for [ok] in results) == 7
    balance = (await store.account_by_login("a")).balance
    assert balance == 5 and await store.ledger_sum(acc.id) == balance


async def test_a_batch_the_balance_covers_in_part_keeps_only_the_covered_tasks(store):
    acc = await store.create_account("a", "h", "t", 3 * (BASE + PREPAY) + 5)
    accepted = await store.create_tasks(acc.id, [new_task(i) for i in range(5)], time.time())
    assert accepted == [True, True, True, False, False]
    assert await store.count_tasks() == 3  # the refused tasks left no row behind
    assert await store.get_task(acc.id, new_task(3).id) is None
    claimed = await store.claim_tasks("w", 10, time.time() + 60, time.time())
    assert sorted(t.id for t in claimed) == [new_task(i).id for i in range(3)]
    balance = (await store.account_by_login("a")).balance
    assert balance == 5 and await store.ledger_sum(acc.id) == balance


async def test_postback_tasks_are_ready_only_while_delivery_fails(store):
    acc = await store.create_account("a", "h", "t", 10**12)
    task = replace(
        new_task(1), postback_url="https://hooks.example/$id", pingback_url="https://hooks.example/p"
    )
    await store.create_tasks(acc.id, [task, new_task(2)], time.time())
    now = time.time()
    for c in await store.claim_tasks("w", 10, now + 60, now):
        assert await store.finish_task(c.id, c.attempt, success(1), now)
    assert [r.id for r in await store.tasks_ready(acc.id, "chat_gpt", 0, 10)] == [new_task(2).id]
    deliveries = await store.claim_deliveries("d1", 10, now + 30, now)
    assert sorted(d.kind.value for d in deliveries) == ["pingback", "postback"]
    assert await store.claim_deliveries("d2", 10, now + 30, now) == []  # leased
    postback = next(d for d in deliveries if d.kind.value == "postback")
    failed = DeliveryAttempt(attempt=1, at=now, url="u", http_status=503, error="HTTP 503", latency_ms=3.0)
    assert await store.record_delivery_attempt(postback.id, failed, delivered=False, retry_at=now + 5)
    assert not await store.record_delivery_attempt(
        postback.id, failed, delivered=False, retry_at=now + 5
    )  # once
    assert {r.id for r in await store.tasks_ready(acc.id, "chat_gpt", 0, 10)} == {
        new_task(1).id,
        new_task(2).id,
    }
    [again] = await store.claim_deliveries("d2", 10, now + 60, now + 6)
    assert (again.id, again.attempt) == (postback.id, 2)
    ok = DeliveryAttempt(attempt=2, at=now + 6, url="u", http_status=200, error=None, latency_ms=2.0)
    assert await store.record_delivery_attempt(again.id, ok, delivered=True, retry_at=None)
    assert [r.id for r in await store.tasks_ready(acc.id, "chat_gpt", 0, 10)] == [new_task(2).id]
    [view_post, view_ping] = await store.deliveries_of(acc.id, new_task(1).id)
    assert view_post.status is DeliveryStatus.DELIVERED and [a.http_status for a in view_post.history] == [
        503,
        200,
    ]
    assert view_ping.status is DeliveryStatus.PENDING and view_ping.history == ()
    assert await store.deliveries_of(acc.id + 1, new_task(1).id) is None
    # no resend while a delivery of the task is still under way (the pingback)
    assert await store.resend_webhooks(acc.id, [new_task(1).id, new_task(2).id, "nope"], now) == [
        ResendResult.PENDING,
        ResendResult.NO_WEBHOOK,
        ResendResult.NOT_FOUND,
    ]
    assert await store.count_deliveries(DeliveryStatus.PENDING) == 1
    ping_ok = DeliveryAttempt(attempt=1, at=now + 7, url="u", http_status=200, error=None, latency_ms=1.0)
    assert await store.record_delivery_attempt(view_ping.id, ping_ok, delivered=True, retry_at=None)
    assert await store.resend_webhooks(acc.id, [new_task(1).id], now) == [ResendResult.QUEUED]
    assert await store.count_deliveries(DeliveryStatus.PENDING) == 2
    # pages, oldest first, attempts with their delivery
    first = await store.deliveries_of(acc.id, new_task(1).id, limit=1, offset=0)
    second = await store.deliveries_of(acc.id, new_task(1).id, limit=1, offset=1)
    assert [v.id for v in first] == [view_post.id] and [a.http_status for a in first[0].history] == [503, 200]
    assert [v.id for v in second] == [view_ping.id]
    assert await store.deliveries_of(acc.id, new_task(1).id, offset=10) == []


async def test_resends_per_task_are_capped(store):
    acc = await store.create_account("a", "h", "t", 10**9)
    now = time.time()
    task = replace(new_task(1), postback_url="http://hooks.example/x")
    await store.create_tasks(acc.id, [task], now)
    [c] = await store.claim_tasks("w1", 1, now + 60, now)
    assert await store.finish_task(c.id, c.attempt, success(1), now)
    ok = DeliveryAttempt(attempt=1, at=now, url="u", http_status=200, error=None, latency_ms=1.0)
    for _ in range(MAX_DELIVERIES_PER_TASK):
        [d] = await store.claim_deliveries("d", 10, now + 30, now + 100)
        assert await store.record_delivery_attempt(d.id, ok, delivered=True, retry_at=None)
        verdict = await store.resend_webhooks(acc.id, [task.id], now)
    assert verdict == [ResendResult.LIMIT]


async def test_webhook_secrets_are_created_once_and_rotate(store):
    acc = await store.create_account("a", "h", "t", 0)
    first = await store.webhook_secrets(acc.id, "s1")
    assert (first.current, first.previous) == ("s1", None)
    assert (await store.webhook_secrets(acc.id, "s2")).current == "s1"
    rotated = await store.rotate_webhook_secret(acc.id, "s3", 123.0)
    assert (rotated.current, rotated.previous, rotated.rotated_at) == ("s3", "s1", 123.0)


async def test_overdue_tasks_fail_with_a_refund_and_results_are_purged(store):
    acc = await store.create_account("a", "h", "t", 10**12)
    await store.create_tasks(acc.id, [new_task(1), new_task(2)], 1000.0)
    assert await store.expire_overdue(2000.0, 2000.0, OVERDUE) == 2
    assert await store.ledger_sum(acc.id) == (await store.account_by_login("a")).balance == 10**12 - 2 * BASE
    record = await store.get_task(acc.id, new_task(1).id)
    assert (record.status, record.status_code) == (TaskStatus.FAILED, 40103)
    assert await store.purge_results(3000.0) == 2
    assert (await store.get_task(acc.id, new_task(1).id)).status is TaskStatus.PURGED


async def test_accounts(store):
    acc = await store.create_account("a", "ph", "th", 5)
    assert (await store.account_by_token_hash("th")).id == acc.id == (await store.account_by_id(acc.id)).id
    with pytest.raises(AccountExists):
        await store.create_account("a", "x", "y", 0)
    assert (await store.top_up("a", 10)).balance == 15
    with pytest.raises(AccountNotFound):
        await store.top_up("nobody", 1)
    assert (await store.reset_credentials("a", "p2", "t2")).token_hash == "t2"
    assert await store.topped_up(acc.id) == 15
    assert [a.login for a in await store.list_accounts()] == ["a"]
    assert await store.meta_get_or_set("k", "v1") == "v1" and await store.meta_get_or_set("k", "v2") == "v1"


def task_of(owner: str, i: int) -> NewTask:
    return replace(new_task(i), id=f"{owner}0000000-0000-0000-0000-{i:012d}"[:36])


async def test_claims_are_fair_across_accounts(store):
    # one account's big backlog must not hold back another account's single task
    big = await store.create_account("big", "h1", "t1", 10**12)
    small = await store.create_account("small", "h2", "t2", 10**12)
    now = time.time()
    assert all(await store.create_tasks(big.id, [task_of("a", i) for i in range(300)], now - 10))
    assert all(await store.create_tasks(small.id, [task_of("b", 1)], now))
    claimed = await store.claim_tasks("w1", 4, now + 60, now)
    assert len(claimed) == 4
    assert [c.account_id for c in claimed].count(small.id) == 1
    assert {c.id for c in claimed if c.account_id == big.id} <= {
        task_of("a", i).id for i in range(4)
    }  # oldest first


async def test_a_claim_takes_every_accounts_oldest_task_before_anyones_second(store):
    accounts = [await store.create_account(f"acc{i}", f"h{i}", f"t{i}", 10**12) for i in range(3)]
    now = time.time()
    for n, (acc, count) in enumerate(zip(accounts, (3, 1, 2), strict=True)):
        tasks = [task_of(str(n), i) for i in range(count)]
        assert all(await store.create_tasks(acc.id, tasks, now - 10 + n))
    claimed = {c.id for c in await store.claim_tasks("w1", 5, now + 60, now)}
    assert claimed == {
        task_of("0", 0).id,
        task_of("0", 1).id,
        task_of("1", 0).id,
        task_of("2", 0).id,
        task_of("2", 1).id,
    }
    [last] = await store.claim_tasks("w1", 5, now + 60, now)
    assert last.id == task_of("0", 2).id


async def test_claims_rotate_over_more_accounts_than_one_claim_takes(store):
    accounts = [await store.create_account(f"acc{i}", f"h{i}", f"t{i}", 10**12) for i in range(3)]
    now = time.time()
    for n, acc in enumerate(accounts):
        assert all(await store.create_tasks(acc.id, [task_of(str(n), i) for i in range(5)], now))
    served = [(await store.claim_tasks("w1", 1, now + 60, now))[0].account_id for _ in range(6)]
    assert served == [a.id for a in accounts] * 2


async def test_tasks_of_an_account_in_debt_are_not_claimed(store):
    debtor = await store.create_account("debtor", "h1", "t1", 10**9)
    other = await store.create_account("other", "h2", "t2", 10**9)
    now = time.time()
    assert all(await store.create_tasks(debtor.id, [task_of("d", 1), task_of("d", 2)], now))
    assert all(await store.create_tasks(other.id, [task_of("o", 1)], now))
    await store.top_up("debtor", -(10**9))  # the balance is now below zero
    assert (await store.account_by_id(debtor.id)).balance < 0
    claimed = await store.claim_tasks("w1", 10, now + 60, now)
    assert [c.account_id for c in claimed] == [other.id]
    await store.top_up("debtor", 10**9)
    assert len(await store.claim_tasks("w1", 10, now + 60, now)) == 2


async def test_finished_tasks_page_in_finishing_order_with_filters(store):
    acc = await store.create_account("exporter", "ph", "th", 10**12)
    other = await store.create_account("other", "ph2", "th2", 10**12)
    now = time.time()
    tasks = [
        replace(new_task(500 + i), tag="a" if i % 2 else "b", se="claude" if i < 3 else "chat_gpt")
        for i in range(6)
    ]
    assert all(await store.create_tasks(acc.id, tasks, now))
    assert all(await store.create_tasks(other.id, [new_task(600)], now))
    claimed = await store.claim_tasks("w", 10, now + 60, now)
    for n, c in enumerate(sorted((c for c in claimed if c.id != new_task(600).id), key=lambda c: c.id)[:5]):
        assert await store.finish_task(c.id, c.attempt, success(1), now + 10 - n)  # finished newest-id first
    pages, after = [], (0.0, "")
    while page := await store.finished_tasks(acc.id, after=after, limit=2):
        pages.append([t.id for t in page])
        after = (page[-1].finished_at, page[-1].id)
    ids = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [2, 2, 1]  # five finished, the sixth still running, others' not listed
    assert ids == [f"00000000-0000-0000-0000-{500 + i:012d}" for i in (4, 3, 2, 1, 0)]
    claude_a = await store.finished_tasks(acc.id, se="claude", tag="a")
    assert [t.id for t in claude_a] == [new_task(501).id] and claude_a[0].status is TaskStatus.DONE
