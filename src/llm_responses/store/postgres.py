"""PostgreSQL store (asyncpg): many API processes and workers on one database, which stays the queue.

The same contract as the SQLite store, kept by the same tests. What differs is how concurrency is made
safe: workers claim with ``FOR UPDATE SKIP LOCKED`` (no two claim one task, none waits on another), money
moves under the account's row lock (``SELECT … FOR UPDATE``), so concurrent posts for one account are
serialized and can never take the balance below what the rules allow, and finishing is conditional on
(task, attempt) as everywhere. New work is announced with NOTIFY on commit; idle workers LISTEN.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from llm_responses.store.base import (
    Account,
    AccountExists,
    AccountNotFound,
    ClaimedTask,
    LedgerKind,
    NewTask,
    Outcome,
    ReadyTask,
    TaskRecord,
    TaskStatus,
)
from llm_responses.store.fair_claim import ACCOUNTS_WITH_WORK_SQL, Rotation
from llm_responses.store.migrate import upgrade
from llm_responses.store.postgres_deliveries import DELIVERIES_CHANNEL, PostgresDeliveries, enqueue_deliveries
from llm_responses.store.rows import ACCOUNT_COLUMNS, TASK_COLUMNS, settlement, task_row

T = TypeVar("T")
TASKS_CHANNEL = "llm_responses_tasks"

_TASK_COLUMNS = (
    "id", "account_id", "se", "endpoint", "status", "request_json", "data_json", "tag", "postback_url",
    "pingback_url", "base_price", "prepayment", "cost", "attempts", "lease_owner", "lease_until", "run_after", "created_at",
)  # fmt: skip
_LEDGER_COLUMNS = ("account_id", "task_id", "kind", "amount", "created_at")
_INSERT_TASK = (
    f"INSERT INTO tasks ({', '.join(_TASK_COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(18))})"
)
_INSERT_LEDGER = f"INSERT INTO ledger ({', '.join(_LEDGER_COLUMNS)}) VALUES ($1, $2, $3, $4, $5)"
# many rows in one statement, one round trip (COPY takes two, which a lone live settlement waits for)
_INSERT_LEDGER_ROWS = (
    f"INSERT INTO ledger ({', '.join(_LEDGER_COLUMNS)}) "
    "SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::float8[])"
)


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://"))


def dsn_of(url: str) -> str:
    """Any accepted spelling → the plain ``postgresql://`` DSN asyncpg takes."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class PostgresStore(PostgresDeliveries):
    cheap_holds = False  # see Store.cheap_holds

    def __init__(self, database_url: str, *, pool_size: int = 10, command_timeout: float = 30.0) -> None:
        self.url = database_url
        self.dsn = dsn_of(database_url)
        self.pool_size = pool_size
        # every wait on the database is bounded: a statement (server- and client-side), a connection from
        # the pool, a new connection; a hung or locked-up database fails a request instead of freezing it
        self.command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._rotation = Rotation()

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        await asyncio.to_thread(upgrade, "postgresql+asyncpg://" + self.dsn[len("postgresql://") :])
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.pool_size, reset=_no_session_state,
            command_timeout=self.command_timeout, timeout=min(self.command_timeout, 10.0),
            server_settings={"statement_timeout": str(int(self.command_timeout * 1000))},
        )  # fmt: skip

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def subscribe(self, on_tasks: Callable[[], None], on_deliveries: Callable[[], None]) -> None:
        """Call back when any process queues tasks or deliveries (LISTEN on a connection of its own)."""
        self._listener = await asyncpg.connect(self.dsn, timeout=min(self.command_timeout, 10.0))
        await self._listener.add_listener(TASKS_CHANNEL, lambda *_: on_tasks())
        await self._listener.add_listener(DELIVERIES_CHANNEL, lambda *_: on_deliveries())

    async def ping(self) -> None:
        await self._run(lambda c: c.fetchval("SELECT 1"))

    async def _run(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        assert self._pool is not None, "store is not open"
        async with self._pool.acquire(timeout=self.command_timeout) as conn:
            return await fn(conn)

    async def _tx(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], *, durable: bool = True) -> T:
        """One transaction. ``durable=False`` commits without waiting for the WAL flush: only for changes
        whose loss in a database crash is safe by construction (a lost claim or lease extension only puts a
        task back in the queue; its attempt can then no longer settle). Measured: claims waiting on fsync
        were what held a worker at ~400 tasks/s with 1,000 tasks in flight."""
        assert self._pool is not None, "store is not open"
        async with self._pool.acquire(timeout=self.command_timeout) as conn, conn.transaction():
            if not durable:
                await conn.execute("SET LOCAL synchronous_commit TO OFF")
            return await fn(conn)

    # the mixin's names for the same two things
    async def _write(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], *, durable: bool = True) -> T:
        return await self._tx(fn, durable=durable)

    async def _read(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        return await self._run(fn)

    # -- meta ------------------------------------------------------------------------------------

    async def meta_set(self, key: str, value: str) -> None:
        await self._tx(
            lambda c: c.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
                key,
                value,
            )
        )

    async def meta_get_or_set(self, key: str, value: str) -> str:
        async def tx(c: asyncpg.Connection) -> str:
            await c.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, value
            )
            return await c.fetchval("SELECT value FROM meta WHERE key = $1", key)

        return await self._tx(tx)

    # -- accounts --------------------------------------------------------------------------------

    async def create_account(self, login: str, password_hash: str, token_hash: str, balance: int) -> Account:
        now = time.time()

        async def tx(c: asyncpg.Connection) -> Account:
            try:
                account_id = await c.fetchval(
                    "INSERT INTO accounts (login, password_hash, token_hash, balance, created_at) "
                    "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    login, password_hash, token_hash, balance, now,
                )  # fmt: skip
            except asyncpg.UniqueViolationError as exc:
                raise AccountExists(login) from exc
            if balance:
                await c.execute(_INSERT_LEDGER, account_id, None, LedgerKind.TOPUP.value, balance, now)
            return await _existing_account(c, "id = $1", account_id)

        return await self._tx(tx)

    async def account_by_login(self, login: str) -> Account | None:
        return await self._run(lambda c: _one_account(c, "login = $1", login))

    async def account_by_id(self, account_id: int) -> Account | None:
        return await self._run(lambda c: _one_account(c, "id = $1", account_id))

    async def account_by_token_hash(self, token_hash: str) -> Account | None:
        return await self._run(lambda c: _one_account(c, "token_hash = $1", token_hash))

    async def list_accounts(self) -> list[Account]:
        rows = await self._run(lambda c: c.fetch(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"))
        return [Account(*r) for r in rows]

    async def top_up(self, login: str, amount: int) -> Account:
        now = time.time()

        async def tx(c: asyncpg.Connection) -> Account:
            account_id = await c.fetchval(
                "UPDATE accounts SET balance = balance + $1 WHERE login = $2 RETURNING id", amount, login
            )
            if account_id is None:
                raise AccountNotFound(login)
            await c.execute(_INSERT_LEDGER, account_id, None, LedgerKind.TOPUP.value, amount, now)
            return await _existing_account(c, "id = $1", account_id)

        return await self._tx(tx)

    async def reset_credentials(self, login: str, password_hash: str, token_hash: str) -> Account:
        async def tx(c: asyncpg.Connection) -> Account:
            account_id = await c.fetchval(
                "UPDATE accounts SET password_hash = $1, token_hash = $2 WHERE login = $3 RETURNING id",
                password_hash, token_hash, login,
            )  # fmt: skip
            if account_id is None:
                raise AccountNotFound(login)
            return await _existing_account(c, "id = $1", account_id)

        return await self._tx(tx)

    async def ledger_sum(self, account_id: int) -> int:
        return await self._run(
            lambda c: c.fetchval(
                "SELECT COALESCE(SUM(amount), 0)::bigint FROM ledger WHERE account_id = $1", account_id
            )
        )

    async def topped_up(self, account_id: int) -> int:
        return await self._run(
            lambda c: c.fetchval(
                "SELECT COALESCE(SUM(amount), 0)::bigint FROM ledger WHERE account_id = $1 AND kind = $2",
                account_id,
                LedgerKind.TOPUP.value,
            )  # fmt: skip
        )

    async def spending_since(self, account_id: int, since: float) -> int:
        total = await self._run(
            lambda c: c.fetchval(
                "SELECT COALESCE(SUM(amount), 0)::bigint FROM ledger WHERE account_id = $1 AND created_at >= $2 AND kind != $3",
                account_id,
                since,
                LedgerKind.TOPUP.value,
            )  # fmt: skip
        )
        return -total

    # -- tasks: creation -------------------------------------------------------------------------

    async def create_tasks(self, account_id: int, tasks: list[NewTask], now: float) -> list[bool]:
        async def tx(c: asyncpg.Connection) -> list[bool]:
            # The rows go in first and the account's row lock is taken last, so the lock that serializes
            # every money movement of the account is held for three short statements and the commit, not
            # for the whole batch's inserts: concurrent posts for one account overlap their inserts
            # (docs/benchmarks.md, ingest). In the rare batch the balance cannot cover, the refused
            # tasks' rows are deleted again before commit, so nobody ever sees them.
            await c.copy_records_to_table(
                "tasks", records=[task_row(account_id, t, TaskStatus.QUEUED, now, None, None) for t in tasks],
                columns=_TASK_COLUMNS,
            )  # fmt: skip
            ledger_rows = [
                row
                for t in tasks
                for row in (
                    (account_id, t.id, LedgerKind.BASE.value, -t.base_price, now),
                    (account_id, t.id, LedgerKind.PREPAY.value, -t.prepayment, now),
                )
                if row[3] != 0
            ]
            await c.copy_records_to_table("ledger", records=ledger_rows, columns=_LEDGER_COLUMNS)
            balance = await c.fetchval(
                "SELECT balance FROM accounts WHERE id = $1 FOR NO KEY UPDATE", account_id
            )
            accepted: list[bool] = []
            total = 0
            for t in tasks:
                charge = t.base_price + t.prepayment
                ok = balance - total >= charge
                accepted.append(ok)
                if ok:
                    total += charge
            refused = [t.id for t, ok in zip(tasks, accepted, strict=True) if not ok]
            if refused:
                await c.execute("DELETE FROM ledger WHERE task_id = ANY($1::text[])", refused)
                await c.execute("DELETE FROM tasks WHERE id = ANY($1::text[])", refused)
            if total:
                await c.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", total, account_id)
                await c.execute("SELECT pg_notify($1, '')", TASKS_CHANNEL)  # delivered at commit
            return accepted

        return await self._tx(tx)

    async def start_live(
        self, account_id: int, task: NewTask, owner: str, lease_until: float, now: float
    ) -> bool:
        async def tx(c: asyncpg.Connection) -> bool:
            balance = await c.fetchval(
                "SELECT balance FROM accounts WHERE id = $1 FOR NO KEY UPDATE", account_id
            )
            hold = task.base_price + task.prepayment
            if balance < hold:
                return False
            await c.execute(
                _INSERT_TASK, *task_row(account_id, task, TaskStatus.RUNNING, now, owner, lease_until)
            )
            await c.executemany(_INSERT_LEDGER, [
                (account_id, task.id, LedgerKind.BASE.value, -task.base_price, now),
                (account_id, task.id, LedgerKind.PREPAY.value, -task.prepayment, now),
            ])  # fmt: skip
            await c.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", hold, account_id)
            return True

        return await self._tx(tx)

    # -- tasks: the queue ------------------------------------------------------------------------

    async def claim_tasks(self, owner: str, limit: int, lease_until: float, now: float) -> list[ClaimedTask]:
        """Round-robin across accounts not in debt (``fair_claim``), each account's rows skip-locked."""

        async def tx(c: asyncpg.Connection) -> tuple[list[int], list[asyncpg.Record]]:
            queued = TaskStatus.QUEUED.value
            after = [r[0] for r in await c.fetch(ACCOUNTS_WITH_WORK_SQL, queued, self._rotation.after, limit)]
            start = (
                [r[0] for r in await c.fetch(ACCOUNTS_WITH_WORK_SQL, queued, 0, limit)]
                if len(after) < limit
                else []
            )
            order = self._rotation.order(after, start)
            if not order:
                return order, []
            claimed = await c.fetch(
                _FAIR_CLAIM, order, queued, now, limit, TaskStatus.RUNNING.value, owner, lease_until
            )
            return order, claimed

        order, rows = await self._tx(tx, durable=False)
        self._rotation.advance(order, {r[1] for r in rows})
        return [ClaimedTask(*r) for r in rows]

    async def extend_leases(self, owner: str, task_ids: list[str], lease_until: float) -> None:
        if task_ids:
            await self._tx(
                lambda c: c.execute(
                    "UPDATE tasks SET lease_until = $1 WHERE id = ANY($2::text[]) AND lease_owner = $3 AND status = $4",
                    lease_until,
                    task_ids,
                    owner,
                    TaskStatus.RUNNING.value,
                ),  # fmt: skip
                durable=False,
            )

    async def finish_task(self, task_id: str, attempt: int, outcome: Outcome, now: float) -> bool:
        return (await self.finish_tasks([(task_id, attempt, outcome)], now))[0]

    async def finish_tasks(self, items: list[tuple[str, int, Outcome]], now: float) -> list[bool]:
        """All in one transaction of a handful of set-based statements, however large the batch. Account rows
        are updated in ascending id order, so two batches can wait for each other but not deadlock; should
        PostgreSQL still report one, the batch is simply tried again (every finish in it is conditional)."""

        async def tx(c: asyncpg.Connection) -> list[bool]:
            return await _finish_many(c, items, now)

        for attempt in range(3):
            try:
                return await self._tx(tx)
            except asyncpg.DeadlockDetectedError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def retry_later(self, task_id: str, attempt: int, run_after: float, error: str) -> bool:
        async def tx(c: asyncpg.Connection) -> bool:
            status = await c.execute(
                "UPDATE tasks SET status = $1, lease_owner = NULL, lease_until = NULL, run_after = $2, error_detail = $3 "
                "WHERE id = $4 AND status = $5 AND attempts = $6",
                TaskStatus.QUEUED.value, run_after, error, task_id, TaskStatus.RUNNING.value, attempt,
            )  # fmt: skip
            if status == "UPDATE 1":
                await c.execute("SELECT pg_notify($1, '')", TASKS_CHANNEL)
                return True
            return False

        return await self._tx(tx)

    async def recover_expired_leases(self, now: float) -> tuple[int, int]:
        async def tx(c: asyncpg.Connection) -> tuple[int, int]:
            requeued = _count(await c.execute(
                "UPDATE tasks SET status = $1, lease_owner = NULL, lease_until = NULL "
                "WHERE status = $2 AND endpoint = 'task_post' AND lease_until < $3",
                TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, now,
            ))  # fmt: skip
            abandoned = await c.fetch(
                "SELECT id, attempts FROM tasks WHERE status = $1 AND endpoint = 'live' AND lease_until < $2",
                TaskStatus.RUNNING.value, now,
            )  # fmt: skip
            outcome = Outcome(
                success=False,
                status_code=50000,
                status_message="Internal Error.",
                refund_base=True,
                error_detail="live call abandoned: the process serving it stopped",
            )
            failed = 0
            for task_id, attempt in abandoned:
                failed += await _finish(c, task_id, attempt, outcome, now)
            if requeued:
                await c.execute("SELECT pg_notify($1, '')", TASKS_CHANNEL)
            return requeued, failed

        return await self._tx(tx)

    async def expire_overdue(self, created_before: float, now: float) -> int:
        outcome = Outcome(
            success=False,
            status_code=40103,
            status_message="Task execution failed, please try to resubmit the task.",
            error_detail="not completed within the task deadline",
        )

        async def tx(c: asyncpg.Connection) -> int:
            rows = await c.fetch(
                "SELECT id, attempts, status FROM tasks WHERE status IN ($1, $2) AND endpoint = 'task_post' AND created_at < $3",
                TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, created_before,
            )  # fmt: skip
            done = 0
            for task_id, attempt, status in rows:
                done += await _finish(c, task_id, attempt, outcome, now, from_status=status)
            return done

        return await self._tx(tx)

    async def purge_results(self, created_before: float) -> int:
        return _count(
            await self._tx(
                lambda c: c.execute(
                    "UPDATE tasks SET status = $1, request_json = NULL, data_json = NULL, result_json = NULL "
                    "WHERE status IN ($2, $3) AND created_at < $4",
                    TaskStatus.PURGED.value,
                    TaskStatus.DONE.value,
                    TaskStatus.FAILED.value,
                    created_before,
                )  # fmt: skip
            )
        )

    # -- tasks: reading --------------------------------------------------------------------------

    async def get_task(self, account_id: int, task_id: str) -> TaskRecord | None:
        row = await self._run(
            lambda c: c.fetchrow(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND account_id = $2", task_id, account_id
            )
        )
        return _task(row) if row else None

    async def mark_collected(self, task_id: str, now: float) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE tasks SET collected_at = $1 WHERE id = $2 AND collected_at IS NULL", now, task_id
            )
        )

    async def tasks_ready(self, account_id: int, finished_after: float, limit: int) -> list[ReadyTask]:
        rows = await self._run(
            lambda c: c.fetch(
                "SELECT id, se, tag, created_at FROM tasks WHERE account_id = $1 AND finished_at >= $2 "
                "AND collected_at IS NULL AND endpoint = 'task_post' AND status IN ($3, $4) "
                "AND (postback_url IS NULL OR postback_state IN ('failing', 'failed')) ORDER BY finished_at LIMIT $5",
                account_id,
                finished_after,
                TaskStatus.DONE.value,
                TaskStatus.FAILED.value,
                limit,
            )  # fmt: skip
        )
        return [ReadyTask(*r) for r in rows]

    async def count_tasks(self, status: TaskStatus | None = None) -> int:
        if status is None:
            return await self._run(lambda c: c.fetchval("SELECT COUNT(*) FROM tasks"))
        return await self._run(
            lambda c: c.fetchval("SELECT COUNT(*) FROM tasks WHERE status = $1", status.value)
        )


# -- SQL helpers (inside a transaction) ----------------------------------------------------------


def _count(status: str) -> int:
    """asyncpg's command tag (``UPDATE 3``) → 3."""
    return int(status.rsplit(" ", 1)[-1])


# the accounts in ``$1`` (in visiting order) that are not in debt give up to $4 due tasks each, locked and
# skipped past other claimers' locks; the first of every account, then the second, ... are taken
_FAIR_CLAIM = """
WITH picked AS (
    SELECT t.id, t.account_id, t.run_after, a.ord
    FROM unnest($1::int[]) WITH ORDINALITY AS a(id, ord)
    JOIN accounts acc ON acc.id = a.id AND acc.balance >= 0
    CROSS JOIN LATERAL (
        SELECT id, account_id, run_after FROM tasks
        WHERE status = $2 AND account_id = a.id AND run_after <= $3
        ORDER BY run_after LIMIT $4 FOR UPDATE SKIP LOCKED
    ) t
), ranked AS (
    SELECT id, ord, row_number() OVER (PARTITION BY account_id ORDER BY run_after) AS rn FROM picked
)
UPDATE tasks SET status = $5, lease_owner = $6, lease_until = $7, attempts = attempts + 1
WHERE id IN (SELECT id FROM ranked ORDER BY rn, ord LIMIT $4)
RETURNING id, account_id, se, endpoint, request_json, attempts
"""


async def _finish(
    c: asyncpg.Connection,
    task_id: str,
    attempt: int,
    o: Outcome,
    now: float,
    *,
    from_status: str = TaskStatus.RUNNING.value,
) -> bool:
    """Settle one attempt: the status change and the money move together, or not at all."""
    row = await c.fetchrow(
        "SELECT account_id, base_price, prepayment, endpoint, postback_url, pingback_url FROM tasks "
        "WHERE id = $1 AND status = $2 AND attempts = $3 FOR UPDATE",
        task_id, from_status, attempt,
    )  # fmt: skip
    if row is None:
        return False
    account_id, base_price, prepayment, endpoint, postback_url, pingback_url = row
    refund, cost = settlement(o, base_price, prepayment)
    await c.execute(
        "UPDATE tasks SET status = $1, status_code = $2, status_message = $3, result_json = $4, money_spent = $5, "
        "cost = $6, input_tokens = $7, output_tokens = $8, reasoning_tokens = $9, web_search_calls = $10, "
        "finished_at = $11, lease_owner = NULL, lease_until = NULL, error_detail = $12 WHERE id = $13",
        TaskStatus.DONE.value if o.success else TaskStatus.FAILED.value, o.status_code, o.status_message,
        o.result_json, o.money_spent, cost, o.input_tokens, o.output_tokens, o.reasoning_tokens,
        o.web_search_calls, now, o.error_detail, task_id,
    )  # fmt: skip
    if refund:
        kind = LedgerKind.REFUND if refund > 0 else LedgerKind.OVERAGE
        await c.execute(_INSERT_LEDGER, account_id, task_id, kind.value, refund, now)
        await c.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", refund, account_id)
    if endpoint == "task_post":
        await enqueue_deliveries(c, task_id, account_id, postback_url, pingback_url, now)
    return True


async def _finish_many(
    c: asyncpg.Connection, items: list[tuple[str, int, Outcome]], now: float
) -> list[bool]:
    """``_finish`` for a batch of running attempts, in five statements instead of five per task."""
    rows = await c.fetch(
        "SELECT id, account_id, base_price, prepayment, endpoint, postback_url, pingback_url, status, attempts "
        "FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
        [task_id for task_id, _, _ in items],
    )
    by_id = {r["id"]: r for r in rows}
    done: list[bool] = []
    updates, ledger, hooks = [], [], []
    balances: dict[int, int] = {}
    for task_id, attempt, o in items:
        r = by_id.get(task_id)
        if r is None or r["status"] != TaskStatus.RUNNING.value or r["attempts"] != attempt:
            done.append(False)
            continue
        r = by_id.pop(task_id)  # a task twice in one batch settles once
        done.append(True)
        refund, cost = settlement(o, r["base_price"], r["prepayment"])
        updates.append((
            task_id, TaskStatus.DONE.value if o.success else TaskStatus.FAILED.value, o.status_code, o.status_message,
            o.result_json, o.money_spent, cost, o.input_tokens, o.output_tokens, o.reasoning_tokens,
            o.web_search_calls, o.error_detail,
        ))  # fmt: skip
        if refund:
            kind = LedgerKind.REFUND if refund > 0 else LedgerKind.OVERAGE
            ledger.append((r["account_id"], task_id, kind.value, refund, now))
            balances[r["account_id"]] = balances.get(r["account_id"], 0) + refund
        if r["endpoint"] == "task_post" and (r["postback_url"] or r["pingback_url"]):
            hooks.append((task_id, r["account_id"], r["postback_url"], r["pingback_url"]))
    if updates:
        columns = list(zip(*updates, strict=True))
        await c.execute(
            "UPDATE tasks AS t SET status = v.status, status_code = v.status_code, status_message = v.status_message, "
            "result_json = v.result_json, money_spent = v.money_spent, cost = v.cost, input_tokens = v.input_tokens, "
            "output_tokens = v.output_tokens, reasoning_tokens = v.reasoning_tokens, web_search_calls = v.web_search_calls, "
            "error_detail = v.error_detail, finished_at = $13, lease_owner = NULL, lease_until = NULL "
            "FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], "
            "$8::int[], $9::int[], $10::int[], $11::int[], $12::text[]) AS v(id, status, status_code, status_message, "
            "result_json, money_spent, cost, input_tokens, output_tokens, reasoning_tokens, web_search_calls, error_detail) "
            "WHERE t.id = v.id",
            *[list(col) for col in columns], now,
        )  # fmt: skip
    if ledger:
        await c.execute(_INSERT_LEDGER_ROWS, *[list(col) for col in zip(*ledger, strict=True)])
    for task_id, account_id, postback_url, pingback_url in hooks:
        await enqueue_deliveries(c, task_id, account_id, postback_url, pingback_url, now)
    if balances:
        ids = sorted(balances)
        # The accounts' row locks come last, so they are held for two statements and the commit, not for
        # the batch's writes and deliveries (measured: four workers x 1,000 in flight on one account queued
        # behind each other's settlements at ~190 tasks/s). Ascending id order; NO KEY UPDATE is what a
        # balance change needs and never conflicts with the KEY SHARE locks the foreign keys took above
        # (FOR UPDATE would: two transactions upgrading their KEY SHARE deadlock, seen in session 2).
        if len(ids) > 1:  # one account (a live call, most batches): its UPDATE takes the same lock itself
            await c.execute(
                "SELECT id FROM accounts WHERE id = ANY($1::int[]) ORDER BY id FOR NO KEY UPDATE", ids
            )
        await c.execute(
            "UPDATE accounts AS a SET balance = a.balance + v.amount "
            "FROM unnest($1::int[], $2::bigint[]) AS v(id, amount) WHERE a.id = v.id",
            ids, [balances[i] for i in ids],
        )  # fmt: skip
    return done


async def _one_account(c: asyncpg.Connection, where: str, value: Any) -> Account | None:
    row = await c.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {where}", value)
    return Account(*row) if row else None


async def _existing_account(c: asyncpg.Connection, where: str, value: Any) -> Account:
    """An account the same transaction just wrote (so it exists)."""
    account = await _one_account(c, where, value)
    if account is None:
        raise AccountNotFound(str(value))
    return account


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """The pool's reset on release, instead of asyncpg's default reset query (``CLOSE ALL; UNLISTEN *;
    RESET ALL; SELECT pg_advisory_unlock_all()``), a round trip each time a connection goes back to the pool:
    it was almost half of a point read (340-400 µs → 190-215 µs on loopback). Nothing here leaves session
    state on a pooled connection: settings are ``SET LOCAL``, LISTEN has a connection of its own, no cursors or
    advisory locks; asyncpg still rolls back a transaction left open before calling this
    (tests/store/test_postgres_pool.py)."""


def _task(row: Any) -> TaskRecord:
    values = list(row)
    values[4] = TaskStatus(values[4])
    return TaskRecord(*values)
