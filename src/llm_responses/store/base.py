"""The ``Store`` interface: accounts, the ledger and the task queue, each change in one transaction.

Money and the rows that explain it always move together: every balance change writes a ledger row in the
same transaction, so ``balance == sum(ledger)`` holds for every account at every commit. The database is
the queue: a task is claimed under a lease and finished by a conditional update keyed by (task, attempt),
so a task re-run after a crash can never settle its money twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    PURGED = "purged"  # past retention: only the id remains, to answer 40403


class LedgerKind(StrEnum):
    TOPUP = "topup"
    BASE = "base"  # the fixed per-task price
    PREPAY = "prepay"  # task_post prepayment / live hold
    REFUND = "refund"  # unused prepayment returned (positive)
    OVERAGE = "overage"  # LLM cost above the prepayment (negative)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    login: str
    password_hash: str
    token_hash: str
    balance: int  # nano-dollars
    created_at: float
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class NewTask:
    id: str
    se: str
    endpoint: str  # "task_post" | "live"
    request_json: str  # the validated TaskRequest
    data_json: str  # the echo shown in ``data``
    tag: str | None
    postback_url: str | None
    pingback_url: str | None
    base_price: int  # nano-dollars charged for good
    prepayment: int  # nano-dollars held until the task settles


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: str
    account_id: int
    se: str
    endpoint: str
    status: TaskStatus
    status_code: int | None
    status_message: str | None
    data_json: str | None
    result_json: str | None
    tag: str | None
    cost: int
    created_at: float
    finished_at: float | None
    collected_at: float | None


@dataclass(frozen=True, slots=True)
class ClaimedTask:
    id: str
    account_id: int
    se: str
    endpoint: str
    request_json: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended. ``result_json`` is the rendered DataForSEO result (success only)."""

    success: bool
    status_code: int
    status_message: str
    result_json: str | None = None
    money_spent: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_calls: int = 0
    refund_base: bool = False  # failures of live calls cost nothing
    error_detail: str | None = None  # for the operator's log, never shown to clients


@dataclass(frozen=True, slots=True)
class ReadyTask:
    id: str
    se: str
    tag: str | None
    created_at: float


class DeliveryKind(StrEnum):
    POSTBACK = "postback"  # POST of the gzipped task_get JSON
    PINGBACK = "pingback"  # GET: "task $id is ready"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # for good: attempts exhausted or a refusing answer


class PostbackState(StrEnum):
    """A task's postback, as tasks_ready sees it: listed only while failing or failed (DataForSEO's rule)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILING = "failing"  # an attempt failed, another is scheduled
    FAILED = "failed"


class ResendResult(StrEnum):
    QUEUED = "queued"
    NOT_FOUND = "not_found"
    NOT_FINISHED = "not_finished"
    NO_WEBHOOK = "no_webhook"
    PENDING = "pending"  # a delivery of the task is still under way
    LIMIT = "limit"  # resent as often as a task may be


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    task_id: str
    account_id: int
    kind: DeliveryKind
    url: str  # as posted, with $id / $tag still in it
    attempt: int  # the number of the attempt about to be made, from 1


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    attempt: int
    at: float
    url: str  # the URL really requested
    http_status: int | None
    error: str | None
    latency_ms: float


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    task_id: str
    kind: DeliveryKind
    url: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float | None  # None once delivered or failed
    created_at: float
    finished_at: float | None
    history: tuple[DeliveryAttempt, ...]


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    current: str
    previous: str | None
    rotated_at: float | None


class AccountExists(Exception):
    pass


class AccountNotFound(Exception):
    pass


class Store(Protocol):
    # True where a hold is a local transaction of microseconds that may overlap the upstream call (SQLite,
    # one process); False where other processes race for the same balance (PostgreSQL): hold first
    cheap_holds: bool

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Raise unless the database answers (readiness)."""
        ...

    async def subscribe(self, on_tasks: Callable[[], None], on_deliveries: Callable[[], None]) -> None:
        """Call back when another process queues tasks or deliveries (a no-op where polling must do)."""
        ...

    # meta
    async def meta_set(self, key: str, value: str) -> None: ...
    async def meta_get_or_set(self, key: str, value: str) -> str:
        """The stored value for ``key``, storing ``value`` first when there is none."""
        ...

    # accounts and money
    async def create_account(
        self, login: str, password_hash: str, token_hash: str, balance: int
    ) -> Account: ...
    async def account_by_login(self, login: str) -> Account | None: ...
    async def account_by_id(self, account_id: int) -> Account | None: ...
    async def account_by_token_hash(self, token_hash: str) -> Account | None: ...
    async def list_accounts(self) -> list[Account]: ...
    async def top_up(self, login: str, amount: int) -> Account: ...
    async def reset_credentials(self, login: str, password_hash: str, token_hash: str) -> Account: ...
    async def ledger_sum(self, account_id: int) -> int: ...
    async def topped_up(self, account_id: int) -> int:
        """Nano-dollars ever added to the account (its top-up ledger rows)."""
        ...

    async def spending_since(self, account_id: int, since: float) -> int:
        """Nano-dollars charged (net of refunds) since ``since``; for user_data statistics."""
        ...

    # tasks
    async def create_tasks(self, account_id: int, tasks: list[NewTask], now: float) -> list[bool]:
        """Insert and charge tasks in order while the balance covers them; returns which were accepted."""
        ...

    async def start_live(
        self, account_id: int, task: NewTask, owner: str, lease_until: float, now: float
    ) -> bool:
        """Insert a live task already running under ``owner`` and hold its price; False when unfunded."""
        ...

    async def claim_tasks(
        self, owner: str, limit: int, lease_until: float, now: float
    ) -> list[ClaimedTask]: ...
    async def extend_leases(self, owner: str, task_ids: list[str], lease_until: float) -> None: ...
    async def finish_task(self, task_id: str, attempt: int, outcome: Outcome, now: float) -> bool:
        """Settle an attempt exactly once; False when the attempt no longer owns the task."""
        ...

    async def finish_tasks(self, items: list[tuple[str, int, Outcome]], now: float) -> list[bool]:
        """``finish_task`` for many attempts in one transaction (one commit, one fsync): group settlement."""
        ...

    async def retry_later(self, task_id: str, attempt: int, run_after: float, error: str) -> bool: ...
    async def recover_expired_leases(self, now: float) -> tuple[int, int]:
        """Requeue queued-method tasks whose worker vanished; fail abandoned live calls. (requeued, failed)"""
        ...

    async def expire_overdue(self, created_before: float, now: float) -> int: ...
    async def purge_results(self, created_before: float) -> int: ...

    async def get_task(self, account_id: int, task_id: str) -> TaskRecord | None: ...
    async def mark_collected(self, task_id: str, now: float) -> None: ...
    async def tasks_ready(self, account_id: int, finished_after: float, limit: int) -> list[ReadyTask]: ...
    async def count_tasks(self, status: TaskStatus | None = None) -> int: ...

    # webhooks (finishing a task with postback_url / pingback_url enqueues its deliveries, in the same transaction)
    async def claim_deliveries(
        self, owner: str, limit: int, lease_until: float, now: float
    ) -> list[ClaimedDelivery]:
        """Due pending deliveries not leased by a live dispatcher, leased to ``owner``."""
        ...

    async def record_delivery_attempt(
        self, delivery_id: int, attempt: DeliveryAttempt, *, delivered: bool, retry_at: float | None
    ) -> bool:
        """Record one attempt: delivered; else retried at ``retry_at``; else failed for good. Once per attempt."""
        ...

    async def resend_webhooks(
        self, account_id: int, task_ids: list[str], now: float
    ) -> list[ResendResult]: ...
    async def deliveries_of(
        self, account_id: int, task_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[DeliveryView] | None:
        """A page of the task's deliveries (oldest first) with every attempt; None when the task is not the
        account's."""
        ...

    async def webhook_secrets(self, account_id: int, candidate: str) -> WebhookSecrets:
        """The account's signing secrets, storing ``candidate`` as the secret when it has none yet."""
        ...

    async def rotate_webhook_secret(self, account_id: int, new_secret: str, now: float) -> WebhookSecrets: ...
    async def count_deliveries(self, status: DeliveryStatus | None = None) -> int: ...
