"""What the store reads and writes, as values: accounts, tasks, outcomes, deliveries (``store/facade.py``
is the interface that moves them)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

import orjson

from llm_responses.wire.result import ResultReading, read_result


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    PURGED = "purged"  # past retention: only the id remains, to answer 40403
    BATCHED = "batched"  # inside a vendor batch (batching/): running, as far as a client can tell


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
class LedgerEntry:
    kind: LedgerKind
    amount: int  # nano-dollars, negative when charged
    task_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class NewTask:
    id: str
    se: str
    endpoint: str  # "task_post" | "live" | "track" (a tracking run's: queued, priced as task_post's)
    request_json: str  # the validated TaskRequest
    data_json: str  # the echo shown in ``data``
    tag: str | None
    postback_url: str | None
    pingback_url: str | None
    base_price: int  # nano-dollars charged for good
    prepayment: int  # nano-dollars held until the task settles
    # "batch": gathered into a vendor batch (batching/); a direct worker takes it only after run_after_delay
    lane: str = "direct"
    run_after_delay: float = 0.0
    # posted by a tracking project's run (tracking/): the run, and the cell of its plan the task answers
    project_id: int | None = None
    run_id: int | None = None
    prompt_key: str | None = None


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


def parse_stored(text: str | None) -> Any:
    """Stored JSON (a task's ``data`` echo or its rendered result) as Python values; None when none is kept.
    Both were written by ``orjson.dumps``, so ``orjson`` reads them back exactly."""
    return orjson.loads(text) if text else None


@dataclass(frozen=True)
class StoredTask:
    """A stored task as its readers use it: the record, and its JSON parsed once, on first use (a list of
    prompts never parses the answers). Every reader of ``data_json`` and ``result_json`` goes through this,
    so each is read one way, in one place."""

    record: TaskRecord

    @cached_property
    def data(self) -> dict[str, Any] | None:
        """The posted task as ``data`` echoes it; None when none is kept (purged)."""
        data: dict[str, Any] | None = parse_stored(self.record.data_json)
        return data

    @cached_property
    def result(self) -> dict[str, Any] | None:
        """The rendered DataForSEO result (task_get's ``result[0]``); None for a task without one."""
        result: dict[str, Any] | None = parse_stored(self.record.result_json)
        return result

    @cached_property
    def reading(self) -> ResultReading:
        """The answer's text, citations and reasoning, read from ``result``."""
        return read_result(self.result)

    def _posted(self, key: str) -> str | None:
        value = (self.data or {}).get(key)
        return value if isinstance(value, str) else None

    @property
    def user_prompt(self) -> str | None:
        return self._posted("user_prompt")

    @property
    def model_name(self) -> str | None:
        """The model the task asked for (the one that answered is ``result["model_name"]``)."""
        return self._posted("model_name")

    @property
    def country(self) -> str | None:
        """``web_search_country_iso_code`` as posted."""
        return self._posted("web_search_country_iso_code")


@dataclass(frozen=True, slots=True)
class ClaimedTask:
    id: str
    account_id: int
    se: str
    endpoint: str
    request_json: str
    attempt: int


@dataclass(frozen=True, slots=True)
class IndexedLink:
    scope: str  # "s": a cited source; "r": a search result
    domain: str
    url: str
    title: str | None
    rank: int  # 1-based, in the order the answer cites them


@dataclass(frozen=True, slots=True)
class IndexedBrand:
    brand: str
    category: str
    competitor: bool
    position: int | None
    mentioned: bool
    cited: bool
    negated: bool
    first_offset: int | None


@dataclass(frozen=True, slots=True)
class AnswerIndex:
    """What the mentions index keeps of one answer (``analysis.answer_index`` builds it): the question, the
    answer's text with URLs blanked, its fan-out queries, cited links and the tracked brands found in it."""

    platform: str
    model_name: str
    location_code: int | None
    language_code: str | None
    web_search: bool
    question: str
    answer: str
    fan_out: tuple[str, ...]
    links: tuple[IndexedLink, ...]
    brands: tuple[IndexedBrand, ...]

    @property
    def prompt_hash(self) -> str:
        return prompt_hash(self.question)


def prompt_hash(question: str) -> str:
    """A prompt's key in the per-prompt rollups: 16 hex digits of its SHA-256 (its text kept once beside)."""
    return hashlib.sha256(question.encode()).hexdigest()[:16]


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
    batch_saved: int = 0  # nano-dollars a vendor batch saved against the direct price


@dataclass(frozen=True, slots=True)
class ReadyTask:
    id: str
    se: str
    tag: str | None
    created_at: float


class DeliveryKind(StrEnum):
    POSTBACK = "postback"  # POST of the gzipped task_get JSON
    PINGBACK = "pingback"  # GET: "task $id is ready"
    ALERT = "alert"  # POST of a tracking alert (or a day's digest) as plain JSON, in the receiver's format


class AlertFormat(StrEnum):
    """The body an alert delivery posts (``webhooks/alert_payloads.py``)."""

    JSON = "json"  # our own documented shape
    SLACK = "slack"  # a Slack incoming-webhook message
    DISCORD = "discord"  # a Discord "Execute Webhook" message


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
    task_id: str | None  # None: an alert's delivery
    account_id: int
    kind: DeliveryKind
    url: str  # as posted, with $id / $tag still in it
    attempt: int  # the number of the attempt about to be made, from 1
    alert_id: int | None = None
    format: AlertFormat | None = None  # an alert's


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
    task_id: str | None  # None: an alert's delivery
    kind: DeliveryKind
    url: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float | None  # None once delivered or failed
    created_at: float
    finished_at: float | None
    history: tuple[DeliveryAttempt, ...]
    alert_id: int | None = None
    format: AlertFormat | None = None  # an alert's


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    current: str
    previous: str | None
    rotated_at: float | None


def finished_cursor(record: TaskRecord) -> str:
    """The ``after`` of the page following ``record`` in ``Store.finished_tasks`` order."""
    return f"{record.finished_at}|{record.id}"


def parse_finished_cursor(text: str) -> tuple[float, str]:
    """``finished_cursor``'s text back (empty: from the start); ValueError when it is not one."""
    if not text:
        return 0.0, ""
    finished, sep, task_id = text.partition("|")
    if not sep or len(task_id) > 64 or not task_id.isprintable():
        raise ValueError("not a page cursor")
    value = float(finished)
    if not math.isfinite(value):
        raise ValueError("not a page cursor")
    return value, task_id


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A vendor batch as the store keeps it (``batches``): ``status`` submitting, submitted or ended."""

    id: str
    provider: str
    group: str
    status: str
    vendor_id: str | None
    input_file: str | None
    polls: int
    created_at: float
    tasks: int
