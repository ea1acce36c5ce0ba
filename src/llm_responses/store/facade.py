"""The ``Store``: accounts, the ledger, the task queue and webhook deliveries, each change one transaction.

One class for both databases. Every transaction is written once (``accounts``, ``tasks``, ``settle``,
``deliveries``) over the small ``Connection`` interface, and every statement once, by name, in
``sql/common.sql`` with PostgreSQL's overrides in ``sql/postgres.sql``. This class only says, per
operation, which transaction runs and how: its durability, and whether it is quick enough for SQLite to
run on the event loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from llm_responses.store import (
    accounts,
    alert_deliveries,
    batches,
    deliveries,
    mention_outbox,
    mentions,
    tasks,
)
from llm_responses.store.alert_deliveries import Day, DigestTarget
from llm_responses.store.connection import LOSSY, PROMISED, QUICK, QUICK_SINGLE, Connection, Database
from llm_responses.store.fair_claim import Rotation
from llm_responses.store.queries import Dialect
from llm_responses.store.records import (
    Account,
    AlertFormat,
    AnswerIndex,
    BatchRow,
    ClaimedDelivery,
    ClaimedTask,
    DeliveryAttempt,
    DeliveryKind,
    DeliveryStatus,
    DeliveryView,
    LedgerEntry,
    LedgerKind,
    NewTask,
    Outcome,
    ReadyTask,
    ResendResult,
    TaskRecord,
    TaskStatus,
    WebhookSecrets,
)
from llm_responses.store.rows import read_account, read_claimed, read_task, read_tasks
from llm_responses.store.settle import finish
from llm_responses.store.tracking import Alert, TrackingStore

T = TypeVar("T")
HEARTBEAT_PREFIX = "worker:"  # meta keys of worker heartbeats: worker:<owner> = when, in Unix seconds


def _seconds(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        # True where a hold is a local transaction of microseconds that may overlap the upstream call
        # (SQLite, one process); False where other processes race for the same balance (PostgreSQL)
        self.cheap_holds = db.cheap_holds
        self._rotation = Rotation()  # per process: each worker rotates on its own
        self.tracking = TrackingStore(db)  # projects, runs, alerts (store/tracking.py)

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    async def ping(self) -> None:
        """Raise unless the database answers (readiness)."""
        await self.db.read(lambda c: c.fetchval("ping"))

    async def subscribe(self, on_tasks: Callable[[], None], on_deliveries: Callable[[], None]) -> None:
        """Call back when another process queues tasks or deliveries (a no-op where polling must do)."""
        await self.db.listen({tasks.TASKS_CHANNEL: on_tasks, deliveries.DELIVERIES_CHANNEL: on_deliveries})

    # -- meta ------------------------------------------------------------------------------------

    async def meta_set(self, key: str, value: str) -> None:
        await self.db.write(lambda c: c.execute("meta_set", key, value))

    async def meta_get_or_set(self, key: str, value: str) -> str:
        """The stored value for ``key``, storing ``value`` first when there is none."""
        return await self.db.write(lambda c: accounts.meta_get_or_set(c, key, value))

    async def worker_heartbeat(self, owner: str, at: float, forget_before: float) -> None:
        """Worker ``owner`` is alive at ``at`` (meta ``worker:<owner>``, no table of its own); heartbeats
        older than ``forget_before`` (workers killed without a goodbye) are dropped, so the keys stay few."""

        async def beat(c: Connection) -> None:
            await c.execute("meta_set", HEARTBEAT_PREFIX + owner, repr(at))
            for key, value in await c.fetch("meta_with_prefix", HEARTBEAT_PREFIX):
                if _seconds(value) < forget_before:
                    await c.execute("meta_delete", key)

        await self.db.write(beat, QUICK)

    async def worker_stopped(self, owner: str) -> None:
        await self.db.write(lambda c: c.execute("meta_delete", HEARTBEAT_PREFIX + owner), QUICK)

    async def worker_heartbeats(self) -> dict[str, float]:
        """Each worker's last heartbeat, by owner."""
        rows = await self.db.read(lambda c: c.fetch("meta_with_prefix", HEARTBEAT_PREFIX), quick=True)
        return {str(r[0])[len(HEARTBEAT_PREFIX) :]: _seconds(r[1]) for r in rows}

    async def schema_revision(self) -> str | None:
        """The migration the database is at (readiness compares it with the code's head)."""
        return await self.db.read(lambda c: c.fetchval("schema_revision"))

    async def queue_stats(self, statuses: tuple[str, ...], limit: int) -> list[tuple[str, str, int, float]]:
        """(engine, status, tasks, oldest created_at) for tasks in ``statuses``, reading at most ``limit``
        rows per status (metrics at scrape time: bounded whatever the backlog)."""

        async def stats(c: Connection) -> list[tuple[str, str, int, float]]:
            out: list[tuple[str, str, int, float]] = []
            for status in statuses:
                rows = await c.fetch("queue_stats", status, limit)
                out += [(str(r[0]), status, int(r[1]), float(r[2])) for r in rows]
            return out

        return await self.db.read(stats)

    # -- accounts and money ----------------------------------------------------------------------

    async def create_account(self, login: str, password_hash: str, token_hash: str, balance: int) -> Account:
        now = time.time()
        return await self.db.write(
            lambda c: accounts.create_account(c, login, password_hash, token_hash, balance, now),
            PROMISED,
        )

    async def account_by_login(self, login: str) -> Account | None:
        return await self.db.read(lambda c: accounts.account(c, "account_by_login", login=login), quick=True)

    async def account_by_id(self, account_id: int) -> Account | None:
        return await self.db.read(lambda c: accounts.account(c, "account_by_id", id=account_id), quick=True)

    async def account_by_token_hash(self, token_hash: str) -> Account | None:
        return await self.db.read(
            lambda c: accounts.account(c, "account_by_token_hash", token_hash=token_hash), quick=True
        )

    async def list_accounts(self) -> list[Account]:
        return [read_account(r) for r in await self.db.read(lambda c: c.fetch("list_accounts"))]

    async def top_up(self, login: str, amount: int) -> Account:
        now = time.time()
        return await self.db.write(lambda c: accounts.top_up(c, login, amount, now), PROMISED)

    async def reset_credentials(self, login: str, password_hash: str, token_hash: str) -> Account:
        return await self.db.write(lambda c: accounts.reset_credentials(c, login, password_hash, token_hash))

    async def ledger_sum(self, account_id: int) -> int:
        return int(await self.db.read(lambda c: c.fetchval("ledger_sum", account_id)))

    async def ledger_entries(self, account_id: int, *, limit: int = 1000) -> list[LedgerEntry]:
        """The account's ledger rows, oldest first."""
        rows = await self.db.read(lambda c: c.fetch("ledger_entries", account_id, limit))
        return [LedgerEntry(LedgerKind(r[0]), r[1], r[2], r[3]) for r in rows]

    async def topped_up(self, account_id: int) -> int:
        """Nano-dollars ever added to the account (its top-up ledger rows)."""
        topups = LedgerKind.TOPUP.value
        return int(await self.db.read(lambda c: c.fetchval("ledger_sum_of_kind", account_id, topups)))

    async def spending_since(self, account_id: int, since: float) -> int:
        """Nano-dollars charged (net of refunds) since ``since``; for user_data statistics."""
        topups = LedgerKind.TOPUP.value
        net = await self.db.read(
            lambda c: c.fetchval("ledger_sum_since_except_kind", account_id, since, topups)
        )
        return -int(net)

    # -- tasks -----------------------------------------------------------------------------------

    async def create_tasks(self, account_id: int, new: list[NewTask], now: float) -> list[bool]:
        """Insert and charge tasks in order while the balance covers them; returns which were accepted."""
        return await self.db.write(lambda c: tasks.create_tasks(c, account_id, new, now), PROMISED)

    async def start_live(
        self, account_id: int, task: NewTask, owner: str, lease_until: float, now: float
    ) -> bool:
        """Insert a live task already running under ``owner`` and hold its price; False when unfunded."""
        return await self.db.write(
            lambda c: tasks.start_live(c, account_id, task, owner, lease_until, now), QUICK
        )

    async def claim_tasks(self, owner: str, limit: int, lease_until: float, now: float) -> list[ClaimedTask]:
        # a lost claim only puts the task back in the queue, where its attempt can no longer settle
        order, claimed = await self.db.write(
            lambda c: tasks.claim(c, self._rotation, owner, limit, lease_until, now), LOSSY
        )
        self._rotation.advance(order, {r["account_id"] for r in claimed})
        return [read_claimed(r) for r in claimed]

    async def busy(self, now: float) -> bool:
        """Whether any task (but an idle-lane one) is due or running."""
        return await self.db.read(lambda c: c.fetchval("work_waiting", now), quick=True) is not None

    async def claim_idle_tasks(
        self, owner: str, limit: int, lease_until: float, now: float
    ) -> list[ClaimedTask]:
        """Up to ``limit`` idle-lane tasks (background projects'), oldest first."""
        queued, running = TaskStatus.QUEUED.value, TaskStatus.RUNNING.value
        claimed = await self.db.write(
            lambda c: c.fetch(
                "claim_idle",
                queued=queued,
                running=running,
                owner=owner,
                lease_until=lease_until,
                limit=limit,
            ),
            LOSSY,
        )
        return [read_claimed(r) for r in claimed]

    async def extend_leases(self, owner: str, task_ids: list[str], lease_until: float) -> None:
        if task_ids:
            running = TaskStatus.RUNNING.value
            await self.db.write(
                lambda c: c.execute("extend_leases", lease_until, task_ids, owner, running), LOSSY
            )

    async def finish_task(self, task_id: str, attempt: int, outcome: Outcome, now: float) -> bool:
        """Settle an attempt exactly once; False when the attempt no longer owns the task."""
        return (await self.db.write(lambda c: finish(c, [(task_id, attempt, outcome)], now), QUICK))[0]

    async def finish_tasks(self, items: list[tuple[str, int, Outcome]], now: float) -> list[bool]:
        """``finish_task`` for many attempts in one transaction (one commit, one fsync): group settlement."""
        return await self.db.write(lambda c: finish(c, items, now))

    async def retry_later(self, task_id: str, attempt: int, run_after: float, error: str) -> bool:
        return await self.db.write(lambda c: tasks.retry_later(c, task_id, attempt, run_after, error))

    async def recover_expired_leases(self, now: float, abandoned: Outcome) -> tuple[int, int]:
        """Requeue queued-method tasks whose worker vanished; end abandoned live calls with ``abandoned``.
        (requeued, ended)"""
        return await self.db.write(lambda c: tasks.recover_expired_leases(c, now, abandoned))

    async def expire_overdue(self, created_before: float, now: float, outcome: Outcome) -> int:
        return await self.db.write(lambda c: tasks.expire_overdue(c, created_before, now, outcome))

    async def purge_results(self, created_before: float) -> int:
        """Purge old results and their mentions index together."""
        done, failed = TaskStatus.DONE.value, TaskStatus.FAILED.value

        async def tx(c: Connection) -> int:
            await c.execute("purge_mentions", done, failed, created_before)
            return await c.execute("purge_results", TaskStatus.PURGED.value, done, failed, created_before)

        return await self.db.write(tx)

    # -- vendor batches (batching/) ---------------------------------------------------------------

    async def batch_candidates(self, limit: int) -> list[tuple[str, str, float]]:
        """(id, request JSON, created_at) of queued batch-lane tasks, oldest first."""
        rows = await self.db.read(lambda c: c.fetch("batch_candidates", limit))
        return [(r[0], r[1], r[2]) for r in rows]

    async def to_direct_lane(self, task_ids: list[str], now: float) -> None:
        """Batch-lane tasks no vendor batch will take: the direct workers', now."""
        if task_ids:
            await self.db.write(lambda c: _to_direct(c, task_ids, now))

    async def open_batch(
        self, batch_id: str, provider: str, group: str, task_ids: list[str], owner: str, lease_until: float,
        now: float,
    ) -> list[str]:  # fmt: skip
        """Record a batch and move the still-queued ``task_ids`` into it, in one transaction."""
        return await self.db.write(
            lambda c: batches.open_batch(c, batch_id, provider, group, task_ids, owner, lease_until, now),
            PROMISED,
        )

    async def batch_submitted(self, batch_id: str, vendor_id: str, input_file: str | None, now: float,
                              next_poll_at: float) -> None:  # fmt: skip
        await self.db.write(
            lambda c: c.execute("batch_submitted", batch_id, vendor_id, input_file, now, next_poll_at),
            PROMISED,
        )

    async def claim_due_batches(
        self, owner: str, lease_until: float, now: float, limit: int
    ) -> list[BatchRow]:
        rows = await self.db.write(
            lambda c: c.fetch("claim_due_batches", owner, lease_until, now, limit), LOSSY
        )
        return [batches.batch_row(r) for r in rows]

    async def reschedule_batch(self, batch_id: str, next_poll_at: float, error: str | None = None) -> None:
        await self.db.write(lambda c: c.execute("reschedule_batch", batch_id, next_poll_at, error))

    async def end_batch(self, batch_id: str, now: float, error: str | None = None) -> None:
        await self.db.write(lambda c: c.execute("end_batch", batch_id, now, error))

    async def batch_requests(self, batch_id: str, task_ids: list[str]) -> dict[str, str]:
        """The request JSON of those of ``task_ids`` still in the batch."""
        rows = await self.db.read(lambda c: c.fetch("batch_requests", batch_id, task_ids))
        return {r[0]: r[1] for r in rows}

    async def batch_requests_all(self, batch_id: str) -> list[tuple[str, str]]:
        """(id, request JSON) of every task still in the batch (a submission to repeat)."""
        return [(r[0], r[1]) for r in await self.db.read(lambda c: c.fetch("batch_requests_all", batch_id))]

    async def batch_leftovers(self, batch_id: str) -> list[str]:
        return [r[0] for r in await self.db.read(lambda c: c.fetch("batch_leftovers", batch_id))]

    async def settle_batch_lines(
        self, batch_id: str, items: list[tuple[str, Outcome]], now: float
    ) -> list[bool]:
        """Settle lines of an ended batch in one transaction (one commit for the chunk)."""
        return await self.db.write(lambda c: batches.settle_lines(c, batch_id, items, now))

    async def requeue_from_batch(self, batch_id: str, task_ids: list[str], now: float) -> int:
        if not task_ids:
            return 0
        return await self.db.write(lambda c: batches.requeue(c, batch_id, task_ids, now), PROMISED)

    async def count_batches(self, status: str) -> int:
        return int(await self.db.read(lambda c: c.fetchval("count_batches_with_status", status)))

    # -- the mentions index ------------------------------------------------------------------------

    async def index_answers(self, items: list[tuple[str, AnswerIndex]], *, replace: bool = False) -> int:
        """Index answers already settled (the backfill; ``replace``: those indexed already too); how many."""
        return await self.db.write(lambda c: mentions.index_answers(c, items, replace=replace))

    async def claim_index_batch(self, owner: str, lease: float, limit: int) -> list[tuple[str, bool]]:
        """Outbox rows (task id, replace) for ``owner`` to index (``store.mention_outbox``)."""
        now = time.time()
        return await self.db.write(lambda c: mention_outbox.claim(c, owner, now, lease, limit), QUICK)

    async def outbox_tasks(self, task_ids: list[str]) -> list[tuple[TaskRecord, int]]:
        return await self.db.read(lambda c: mention_outbox.tasks_of(c, task_ids))

    async def index_claimed(
        self,
        owner: str,
        task_ids: list[str],
        fresh: list[tuple[str, AnswerIndex]],
        again: list[tuple[str, AnswerIndex]],
    ) -> int:
        """The claimed batch's index rows and rollups written and its outbox rows released, at once."""
        return await self.db.write(lambda c: mention_outbox.index_claimed(c, owner, task_ids, fresh, again))

    async def enqueue_account(self, account_id: int, *, again: bool) -> int:
        """Queue the account's answers not indexed yet (``again``: all of them, to be read again); how many."""
        now = time.time()
        name = "enqueue_account_all" if again else "enqueue_account_unindexed"
        return await self.db.write(lambda c: c.execute(name, account_id, now))

    async def enqueue_reindex(self, project_id: int) -> int:
        """Queue every answer of a project to be read again with its current brands; how many."""
        now = time.time()
        return await self.db.write(lambda c: mention_outbox.enqueue_project(c, project_id, now))

    async def index_backlog(self) -> tuple[int, float]:
        """(answers waiting for the indexer, the oldest one's wait in seconds)."""
        now = time.time()
        return await self.db.read(lambda c: mention_outbox.backlog(c, now), quick=True)

    async def spend_by_day(self, account_id: int, since: float) -> list[tuple[str, str, int, int, int, int]]:
        """(day, engine, tasks, answered, nano-dollars, nano-dollars batching saved) for the tasks posted since
        ``since``, newest day first."""
        rows = await self.db.read(lambda c: c.fetch("spend_by_day", account_id, since))
        return [(r[0], r[1], int(r[2]), int(r[3]), int(r[4] or 0), int(r[5] or 0)) for r in rows]

    async def mention_locations(self, account_id: int) -> list[tuple[int | None, str | None, str, int]]:
        """(location_code, language_code, engine, answers) of the account's mentions index."""
        rows = await self.db.read(lambda c: c.fetch("mention_locations", account_id), heavy=True)
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def count_indexed(self, account_id: int) -> int:
        return int(await self.db.read(lambda c: c.fetchval("count_mention_answers", account_id)))

    async def mention_query(self, fn: Callable[[Connection, Dialect], Coroutine[Any, Any, T]]) -> T:
        """Run a mentions-index read (``store.mention_queries``) on a heavy-read connection (``Busy`` when
        none comes free in time)."""
        return await self.db.read(lambda c: fn(c, self.db.dialect), heavy=True)

    async def get_task(self, account_id: int, task_id: str) -> TaskRecord | None:
        row = await self.db.read(
            lambda c: c.fetchrow("get_task", id=task_id, account_id=account_id), quick=True
        )
        return None if row is None else read_task(row)

    async def finished_tasks(
        self,
        account_id: int,
        *,
        after: tuple[float, str] = (0.0, ""),
        se: str | None = None,
        tag: str | None = None,
        limit: int = 500,
    ) -> list[TaskRecord]:
        """A page of the account's finished tasks in the order they finished, after ``(finished_at, id)``."""
        page = await self.db.read(
            lambda c: c.fetch(
                "finished_tasks_page",
                account_id=account_id,
                after_finished=after[0],
                after_id=after[1],
                se=se,
                tag=tag,
                limit=limit,
            )  # fmt: skip
        )
        return read_tasks(page)

    async def latest_tasks(
        self,
        account_id: int,
        *,
        before: tuple[float, str] | None = None,
        se: str | None = None,
        tag: str | None = None,
        outcome: str | None = None,
        limit: int = 50,
    ) -> list[TaskRecord]:
        """A page of the account's finished tasks newest first, before ``(finished_at, id)``; ``outcome``
        'done' or 'failed' filters before the page is cut (a page is full whenever more match)."""
        at, task_id = before or (math.inf, "")
        page = await self.db.read(
            lambda c: c.fetch(
                "latest_tasks_page",
                account_id=account_id,
                before_finished=at,
                before_id=task_id,
                se=se,
                tag=tag,
                outcome=outcome,
                limit=limit,
            )  # fmt: skip
        )
        return read_tasks(page)

    async def each_finished_task(
        self,
        account_id: int,
        *,
        after: tuple[float, str] = (0.0, ""),
        se: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        page: int = 500,
    ) -> AsyncIterator[TaskRecord]:
        """``finished_tasks`` page after page (one page in memory at a time), up to ``limit`` tasks."""
        left = limit
        while left is None or left > 0:
            rows = await self.finished_tasks(
                account_id, after=after, se=se, tag=tag, limit=page if left is None else min(page, left)
            )
            if not rows:
                return
            for record in rows:
                yield record
            if left is not None:
                left -= len(rows)
            after = (rows[-1].finished_at or 0.0, rows[-1].id)

    async def mark_collected(self, task_id: str, now: float) -> None:
        await self.db.write(lambda c: c.execute("mark_collected", task_id, now), QUICK_SINGLE)

    async def tasks_ready(
        self, account_id: int, se: str, finished_after: float, limit: int
    ) -> list[ReadyTask]:
        """The account's finished, uncollected tasks of engine ``se``, oldest first."""
        done, failed = TaskStatus.DONE.value, TaskStatus.FAILED.value
        rows = await self.db.read(
            lambda c: c.fetch("tasks_ready", account_id, finished_after, done, failed, limit, se)
        )
        return [ReadyTask(*r) for r in rows]

    async def count_tasks(self, status: TaskStatus | None = None) -> int:
        return await self.db.read(lambda c: _count(c, "count_tasks", status))

    # -- webhooks (finishing a task with postback_url / pingback_url enqueues its deliveries) ------

    async def claim_deliveries(
        self, owner: str, limit: int, lease_until: float, now: float
    ) -> list[ClaimedDelivery]:
        """Due pending deliveries not leased by a live dispatcher, leased to ``owner``."""
        pending = DeliveryStatus.PENDING.value
        rows = await self.db.write(
            lambda c: c.fetch("claim_deliveries", owner, lease_until, pending, now, limit),
            LOSSY,  # a lost lease only makes the delivery due again
        )
        return [
            ClaimedDelivery(
                r[0],
                r[1],
                r[2],
                DeliveryKind(r[3]),
                r[4],
                r[5] + 1,
                r[6],
                AlertFormat(r[7]) if r[7] else None,
            )
            for r in rows
        ]

    async def record_delivery_attempt(
        self, delivery_id: int, attempt: DeliveryAttempt, *, delivered: bool, retry_at: float | None
    ) -> bool:
        """Record one attempt: delivered; else retried at ``retry_at``; else failed for good. Once per attempt."""
        return await self.db.write(
            lambda c: deliveries.record_attempt(
                c, delivery_id, attempt, delivered=delivered, retry_at=retry_at
            )
        )

    async def resend_webhooks(self, account_id: int, task_ids: list[str], now: float) -> list[ResendResult]:
        return await self.db.write(lambda c: deliveries.resend(c, account_id, task_ids, now))

    async def deliveries_of(
        self, account_id: int, task_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[DeliveryView] | None:
        """A page of the task's deliveries (oldest first) with every attempt; None when the task is not the
        account's."""
        return await self.db.read(lambda c: deliveries.page(c, account_id, task_id, limit, offset))

    async def alert_deliveries(self, account_id: int, alert_id: int) -> list[DeliveryView] | None:
        """The alert's deliveries (one per webhook) with every attempt; None when it is not the account's."""
        return await self.db.read(lambda c: alert_deliveries.history(c, account_id, alert_id))

    async def digest_state(self, target: DigestTarget, day: Day) -> tuple[bool, int]:
        """(the project's digest of ``day`` is recorded, how many alerts the day had)."""
        return await self.db.read(lambda c: alert_deliveries.digest_state(c, target, day), quick=True)

    async def record_digest(self, target: DigestTarget, day: Day, now: float) -> Alert | None:
        """Record the day's digest and queue it to the digest webhooks, once per project and day."""
        return await self.db.write(lambda c: alert_deliveries.record_digest(c, target, day, now))

    async def webhook_secrets(self, account_id: int, candidate: str) -> WebhookSecrets:
        """The account's signing secrets, storing ``candidate`` as the secret when it has none yet."""

        async def tx(c: Connection) -> WebhookSecrets:
            await c.execute("set_secret_if_missing", account_id=account_id, secret=candidate)
            return await deliveries.secrets(c, account_id)

        return await self.db.write(tx)

    async def rotate_webhook_secret(self, account_id: int, new_secret: str, now: float) -> WebhookSecrets:
        async def tx(c: Connection) -> WebhookSecrets:
            await c.execute("rotate_secret", account_id=account_id, secret=new_secret, now=now)
            return await deliveries.secrets(c, account_id)

        return await self.db.write(tx, PROMISED)

    async def count_deliveries(self, status: DeliveryStatus | None = None) -> int:
        return await self.db.read(lambda c: _count(c, "count_deliveries", status))


async def _to_direct(c: Connection, task_ids: list[str], now: float) -> None:
    if await c.execute("to_direct_lane", task_ids, now):
        await c.notify(tasks.TASKS_CHANNEL)


async def _count(c: Connection, query: str, status: TaskStatus | DeliveryStatus | None) -> int:
    if status is None:
        return int(await c.fetchval(query))
    return int(await c.fetchval(f"{query}_with_status", status.value))
