"""SQLite store: one writer thread, one reader thread, WAL.

As in datasette, every write runs on a single dedicated thread that owns the write connection, each as
one ``BEGIN IMMEDIATE`` transaction executed in a single hop (a whole task_post is one function call in
that thread, not a dozen awaits). Reads use their own connection, which WAL lets run beside the writer.

Durability is chosen per transaction. Accepting tasks and moving money a client was promised commit with
``synchronous=FULL`` (configurable): once task_post answers 20100 the task survives even a power cut.
Everything else commits with ``NORMAL``, which in WAL mode survives any crash of the process but may lose
the newest commits on power loss; every such loss is safe by construction (a lost settlement leaves the
task leased, so it is re-run and settled once; a lost live hold only forgets a charge).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
from llm_responses.store.fair_claim import ACCOUNTS_WITH_WORK_SQL, Rotation, round_robin
from llm_responses.store.migrate import upgrade
from llm_responses.store.rows import ACCOUNT_COLUMNS, TASK_COLUMNS, settlement, sqlite_sql, task_row
from llm_responses.store.sqlite_deliveries import SqliteDeliveries, enqueue_deliveries
from llm_responses.store.sqlite_lane import BUSY_TIMEOUT_MS, Lane

T = TypeVar("T")


def sqlite_path(database_url: str) -> str:
    """``sqlite:///relative.db`` or ``sqlite:////abs/path.db`` → a filesystem path."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise ValueError(f"not a SQLite URL: {database_url!r}")
    return database_url[len(prefix) :]


class SqliteStore(SqliteDeliveries):
    CHECKPOINT_EVERY = 500  # commits between WAL checkpoints, which run on the writer's thread

    cheap_holds = True  # see Store.cheap_holds

    def __init__(self, database_url: str, *, synchronous: str = "FULL") -> None:
        self.path = sqlite_path(database_url)
        self.url = database_url
        self._synchronous = synchronous
        self._writer = Lane("sqlite-writer")
        self._reader = Lane("sqlite-reader")
        self._commits = 0
        self._rotation = Rotation()
        self._checkpoint: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(upgrade, self.url)
        await self._writer.open(lambda: self._connect(writer=True))
        await self._reader.open(self._connect)

    def _connect(self, *, writer: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # raised per transaction where it matters (_write)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        if (
            writer
        ):  # a checkpoint may fsync: it runs on the writer's thread (_count_commit), never on the loop
            conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    async def close(self) -> None:
        if self._checkpoint is not None:
            await self._checkpoint
        await self._writer.close()
        await self._reader.close()

    async def _write(
        self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = False, quick: bool = False
    ) -> T:
        """``fn`` in one ``BEGIN IMMEDIATE`` transaction. ``quick``: small and bounded, so it may run on
        the event loop (``Lane.run_quick``); durable commits (an fsync) always go to the thread."""

        def transaction(conn: sqlite3.Connection) -> T:
            if durable:
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return out
            finally:
                if durable:
                    conn.execute("PRAGMA synchronous=NORMAL")

        if quick and not durable:
            out = await self._writer.run_quick(transaction)
        else:
            out = await self._writer.run(transaction)
        self._count_commit()
        return out

    def _count_commit(self) -> None:
        self._commits += 1
        if self._commits >= self.CHECKPOINT_EVERY and self._checkpoint is None:
            self._commits = 0
            self._checkpoint = asyncio.create_task(self._run_checkpoint())

    async def _run_checkpoint(self) -> None:
        try:
            await self._writer.run(lambda c: c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        finally:
            self._checkpoint = None

    async def _read(self, fn: Callable[[sqlite3.Connection], T], *, quick: bool = False) -> T:
        """``fn`` on the reader's connection; ``quick``: a point read, which may run on the event loop."""
        return await (self._reader.run_quick(fn) if quick else self._reader.run(fn))

    async def ping(self) -> None:
        await self._read(lambda c: c.execute("SELECT 1").fetchone())

    async def subscribe(self, on_tasks: Callable[[], None], on_deliveries: Callable[[], None]) -> None:
        """One process owns a SQLite file's queue; what it posts wakes its own worker directly."""

    # -- meta ------------------------------------------------------------------------------------

    async def meta_set(self, key: str, value: str) -> None:
        await self._write(
            lambda c: c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        )

    async def meta_get_or_set(self, key: str, value: str) -> str:
        def tx(c: sqlite3.Connection) -> str:
            c.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            return c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

        return await self._write(tx)

    # -- accounts --------------------------------------------------------------------------------

    async def create_account(self, login: str, password_hash: str, token_hash: str, balance: int) -> Account:
        now = time.time()

        def tx(c: sqlite3.Connection) -> Account:
            try:
                cur = c.execute(
                    "INSERT INTO accounts (login, password_hash, token_hash, balance, created_at) VALUES (?, ?, ?, ?, ?)",
                    (login, password_hash, token_hash, balance, now),
                )
            except sqlite3.IntegrityError as exc:
                raise AccountExists(login) from exc
            account_id = cur.lastrowid
            assert account_id is not None  # an INSERT that succeeded has a row id
            if balance:
                _ledger(c, account_id, None, LedgerKind.TOPUP, balance, now)
            return _account(
                c.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,)).fetchone()
            )

        return await self._write(tx, durable=True)

    async def account_by_login(self, login: str) -> Account | None:
        return await self._read(lambda c: _one_account(c, "login = ?", login), quick=True)

    async def account_by_id(self, account_id: int) -> Account | None:
        return await self._read(lambda c: _one_account(c, "id = ?", account_id), quick=True)

    async def account_by_token_hash(self, token_hash: str) -> Account | None:
        return await self._read(lambda c: _one_account(c, "token_hash = ?", token_hash), quick=True)

    async def list_accounts(self) -> list[Account]:
        return await self._read(
            lambda c: [_account(r) for r in c.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id")]
        )

    async def top_up(self, login: str, amount: int) -> Account:
        now = time.time()

        def tx(c: sqlite3.Connection) -> Account:
            row = c.execute("SELECT id FROM accounts WHERE login = ?", (login,)).fetchone()
            if row is None:
                raise AccountNotFound(login)
            c.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, row[0]))
            _ledger(c, row[0], None, LedgerKind.TOPUP, amount, now)
            return _existing_account(c, "id = ?", row[0])

        return await self._write(tx, durable=True)

    async def reset_credentials(self, login: str, password_hash: str, token_hash: str) -> Account:
        def tx(c: sqlite3.Connection) -> Account:
            cur = c.execute(
                "UPDATE accounts SET password_hash = ?, token_hash = ? WHERE login = ?",
                (password_hash, token_hash, login),
            )
            if cur.rowcount == 0:
                raise AccountNotFound(login)
            return _existing_account(c, "login = ?", login)

        return await self._write(tx)

    async def ledger_sum(self, account_id: int) -> int:
        return await self._read(
            lambda c: c.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = ?", (account_id,)
            ).fetchone()[0]
        )

    async def topped_up(self, account_id: int) -> int:
        return await self._read(
            lambda c: c.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = ? AND kind = ?",
                (account_id, LedgerKind.TOPUP.value),
            ).fetchone()[0]
        )

    async def spending_since(self, account_id: int, since: float) -> int:
        return await self._read(
            lambda c: (
                -c.execute(
                    "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = ? AND created_at >= ? AND kind != ?",
                    (account_id, since, LedgerKind.TOPUP.value),
                ).fetchone()[0]
            )
        )

    # -- tasks: creation -------------------------------------------------------------------------

    async def create_tasks(self, account_id: int, tasks: list[NewTask], now: float) -> list[bool]:
        def tx(c: sqlite3.Connection) -> list[bool]:
            balance = c.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
            accepted: list[bool] = []
            rows, ledger_rows, total = [], [], 0
            for t in tasks:
                charge = t.base_price + t.prepayment
                ok = balance - total >= charge
                accepted.append(ok)
                if not ok:
                    continue
                total += charge
                rows.append(task_row(account_id, t, TaskStatus.QUEUED, now, None, None))
                ledger_rows.append((account_id, t.id, LedgerKind.BASE.value, -t.base_price, now))
                ledger_rows.append((account_id, t.id, LedgerKind.PREPAY.value, -t.prepayment, now))
            if rows:
                c.executemany(_INSERT_TASK, rows)
                c.executemany(_INSERT_LEDGER, [r for r in ledger_rows if r[3] != 0])
                c.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (total, account_id))
            return accepted

        return await self._write(tx, durable=True)

    async def start_live(
        self, account_id: int, task: NewTask, owner: str, lease_until: float, now: float
    ) -> bool:
        def tx(c: sqlite3.Connection) -> bool:
            balance = c.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
            hold = task.base_price + task.prepayment
            if balance < hold:
                return False
            c.execute(_INSERT_TASK, task_row(account_id, task, TaskStatus.RUNNING, now, owner, lease_until))
            c.executemany(
                _INSERT_LEDGER,
                [
                    (account_id, task.id, LedgerKind.BASE.value, -task.base_price, now),
                    (account_id, task.id, LedgerKind.PREPAY.value, -task.prepayment, now),
                ],
            )
            c.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (hold, account_id))
            return True

        return await self._write(tx, quick=True)

    # -- tasks: the queue ------------------------------------------------------------------------

    async def claim_tasks(self, owner: str, limit: int, lease_until: float, now: float) -> list[ClaimedTask]:
        """Round-robin across accounts not in debt (``fair_claim``); one writer, so nothing to skip-lock."""

        def tx(c: sqlite3.Connection) -> list[ClaimedTask]:
            accounts_sql = sqlite_sql(ACCOUNTS_WITH_WORK_SQL)
            queued = TaskStatus.QUEUED.value
            after = [r[0] for r in c.execute(accounts_sql, (queued, self._rotation.after, limit))]
            start = [r[0] for r in c.execute(accounts_sql, (queued, 0, limit))] if len(after) < limit else []
            order = self._rotation.order(after, start)
            if not order:
                return []
            marks = ",".join("?" * len(order))
            solvent = {
                r[0]
                for r in c.execute(f"SELECT id FROM accounts WHERE id IN ({marks}) AND balance >= 0", order)
            }
            order = [a for a in order if a in solvent]
            candidates = {
                account: [r[0] for r in c.execute(
                    "SELECT id FROM tasks WHERE status = ? AND account_id = ? AND run_after <= ? ORDER BY run_after LIMIT ?",
                    (queued, account, now, limit),
                )]
                for account in order
            }  # fmt: skip
            chosen = round_robin(candidates, order, limit)
            if not chosen:
                self._rotation.advance(order, set())
                return []
            rows = c.execute(
                "UPDATE tasks SET status = ?, lease_owner = ?, lease_until = ?, attempts = attempts + 1 "
                f"WHERE id IN ({','.join('?' * len(chosen))}) "
                "RETURNING id, account_id, se, endpoint, request_json, attempts",
                (TaskStatus.RUNNING.value, owner, lease_until, *chosen),
            ).fetchall()
            self._rotation.advance(order, {r[1] for r in rows})
            return [ClaimedTask(*r) for r in rows]

        return await self._write(tx)

    async def extend_leases(self, owner: str, task_ids: list[str], lease_until: float) -> None:
        if not task_ids:
            return

        def tx(c: sqlite3.Connection) -> None:
            c.executemany(
                "UPDATE tasks SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = ?",
                [(lease_until, tid, owner, TaskStatus.RUNNING.value) for tid in task_ids],
            )

        await self._write(tx)

    async def finish_task(self, task_id: str, attempt: int, outcome: Outcome, now: float) -> bool:
        return await self._write(lambda c: _finish(c, task_id, attempt, outcome, now), quick=True)

    async def finish_tasks(self, items: list[tuple[str, int, Outcome]], now: float) -> list[bool]:
        return await self._write(
            lambda c: [_finish(c, task_id, attempt, o, now) for task_id, attempt, o in items]
        )

    async def retry_later(self, task_id: str, attempt: int, run_after: float, error: str) -> bool:
        def tx(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "UPDATE tasks SET status = ?, lease_owner = NULL, lease_until = NULL, run_after = ?, error_detail = ? "
                "WHERE id = ? AND status = ? AND attempts = ?",
                (TaskStatus.QUEUED.value, run_after, error, task_id, TaskStatus.RUNNING.value, attempt),
            )
            return cur.rowcount == 1

        return await self._write(tx)

    async def recover_expired_leases(self, now: float) -> tuple[int, int]:
        def tx(c: sqlite3.Connection) -> tuple[int, int]:
            requeued = c.execute(
                "UPDATE tasks SET status = ?, lease_owner = NULL, lease_until = NULL "
                "WHERE status = ? AND endpoint = 'task_post' AND lease_until < ?",
                (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, now),
            ).rowcount
            abandoned = c.execute(
                "SELECT id, attempts FROM tasks WHERE status = ? AND endpoint = 'live' AND lease_until < ?",
                (TaskStatus.RUNNING.value, now),
            ).fetchall()
            outcome = Outcome(
                success=False,
                status_code=50000,
                status_message="Internal Error.",
                refund_base=True,
                error_detail="live call abandoned: the process serving it stopped",
            )
            failed = sum(_finish(c, tid, attempt, outcome, now) for tid, attempt in abandoned)
            return requeued, failed

        return await self._write(tx)

    async def expire_overdue(self, created_before: float, now: float) -> int:
        outcome = Outcome(
            success=False,
            status_code=40103,
            status_message="Task execution failed, please try to resubmit the task.",
            error_detail="not completed within the task deadline",
        )

        def tx(c: sqlite3.Connection) -> int:
            rows = c.execute(
                "SELECT id, attempts, status FROM tasks WHERE status IN (?, ?) AND endpoint = 'task_post' AND created_at < ?",
                (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, created_before),
            ).fetchall()
            return sum(
                _finish(c, tid, attempt, outcome, now, from_status=status) for tid, attempt, status in rows
            )

        return await self._write(tx)

    async def purge_results(self, created_before: float) -> int:
        def tx(c: sqlite3.Connection) -> int:
            return c.execute(
                "UPDATE tasks SET status = ?, request_json = NULL, data_json = NULL, result_json = NULL "
                "WHERE status IN (?, ?) AND created_at < ?",
                (TaskStatus.PURGED.value, TaskStatus.DONE.value, TaskStatus.FAILED.value, created_before),
            ).rowcount

        return await self._write(tx)

    # -- tasks: reading --------------------------------------------------------------------------

    async def get_task(self, account_id: int, task_id: str) -> TaskRecord | None:
        def q(c: sqlite3.Connection) -> TaskRecord | None:
            row = c.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ? AND account_id = ?", (task_id, account_id)
            ).fetchone()
            return _task(row) if row else None

        return await self._read(q, quick=True)

    async def mark_collected(self, task_id: str, now: float) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE tasks SET collected_at = ? WHERE id = ? AND collected_at IS NULL", (now, task_id)
            ),
            quick=True,
        )

    async def tasks_ready(self, account_id: int, finished_after: float, limit: int) -> list[ReadyTask]:
        def q(c: sqlite3.Connection) -> list[ReadyTask]:
            rows = c.execute(
                "SELECT id, se, tag, created_at FROM tasks WHERE account_id = ? AND finished_at >= ? "
                "AND collected_at IS NULL AND endpoint = 'task_post' AND status IN (?, ?) "
                # a postback task is listed only when its delivery failed (DataForSEO's documented rule)
                "AND (postback_url IS NULL OR postback_state IN ('failing', 'failed')) ORDER BY finished_at LIMIT ?",
                (account_id, finished_after, TaskStatus.DONE.value, TaskStatus.FAILED.value, limit),
            ).fetchall()
            return [ReadyTask(*r) for r in rows]

        return await self._read(q)

    async def count_tasks(self, status: TaskStatus | None = None) -> int:
        if status is None:
            return await self._read(lambda c: c.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])
        return await self._read(
            lambda c: c.execute("SELECT COUNT(*) FROM tasks WHERE status = ?", (status.value,)).fetchone()[0]
        )


# -- SQL helpers (run inside the writer/reader threads) -----------------------------------------

_INSERT_TASK = (
    "INSERT INTO tasks (id, account_id, se, endpoint, status, request_json, data_json, tag, postback_url, "
    "pingback_url, base_price, prepayment, cost, attempts, lease_owner, lease_until, run_after, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_LEDGER = "INSERT INTO ledger (account_id, task_id, kind, amount, created_at) VALUES (?, ?, ?, ?, ?)"


def _ledger(
    c: sqlite3.Connection, account_id: int, task_id: str | None, kind: LedgerKind, amount: int, now: float
) -> None:
    c.execute(_INSERT_LEDGER, (account_id, task_id, kind.value, amount, now))


def _finish(
    c: sqlite3.Connection,
    task_id: str,
    attempt: int,
    o: Outcome,
    now: float,
    *,
    from_status: str = TaskStatus.RUNNING.value,
) -> bool:
    """Settle one attempt: the status change and the money move together, or not at all."""
    row = c.execute(
        "SELECT account_id, base_price, prepayment, endpoint, postback_url, pingback_url FROM tasks "
        "WHERE id = ? AND status = ? AND attempts = ?",
        (task_id, from_status, attempt),
    ).fetchone()
    if row is None:
        return False
    account_id, base_price, prepayment, endpoint, postback_url, pingback_url = row
    refund, cost = settlement(o, base_price, prepayment)
    c.execute(
        "UPDATE tasks SET status = ?, status_code = ?, status_message = ?, result_json = ?, money_spent = ?, "
        "cost = ?, input_tokens = ?, output_tokens = ?, reasoning_tokens = ?, web_search_calls = ?, "
        "finished_at = ?, lease_owner = NULL, lease_until = NULL, error_detail = ? WHERE id = ?",
        (
            TaskStatus.DONE.value if o.success else TaskStatus.FAILED.value, o.status_code, o.status_message,
            o.result_json, o.money_spent, cost, o.input_tokens, o.output_tokens, o.reasoning_tokens,
            o.web_search_calls, now, o.error_detail, task_id,
        ),
    )  # fmt: skip
    if refund:
        kind = LedgerKind.REFUND if refund > 0 else LedgerKind.OVERAGE
        _ledger(c, account_id, task_id, kind, refund, now)
        c.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (refund, account_id))
    if endpoint == "task_post":
        enqueue_deliveries(c, task_id, account_id, postback_url, pingback_url, now)
    return True


def _account(row: tuple) -> Account:
    return Account(*row)


def _one_account(c: sqlite3.Connection, where: str, value: object) -> Account | None:
    row = c.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {where}", (value,)).fetchone()
    return _account(row) if row else None


def _existing_account(c: sqlite3.Connection, where: str, value: object) -> Account:
    """An account the same transaction just wrote (so it exists)."""
    account = _one_account(c, where, value)
    if account is None:
        raise AccountNotFound(str(value))
    return account


def _task(row: tuple) -> TaskRecord:
    values = list(row)
    values[4] = TaskStatus(values[4])
    return TaskRecord(*values)
