"""The endpoints' behaviour, independent of HTTP: task_post, live, task_get, tasks_ready.

Each method returns DataForSEO task objects (``wire.envelope.task``); the API layer only parses bodies,
authenticates and wraps these in the top-level envelope.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson

from llm_responses.billing.holds import task_hold
from llm_responses.billing.money import to_usd
from llm_responses.billing.pricing import Tariff
from llm_responses.catalog import Catalog
from llm_responses.config_views import ServiceConfig
from llm_responses.errors import ApiError, StatusCode
from llm_responses.observability import context
from llm_responses.store import Store
from llm_responses.store.records import Account, NewTask, Outcome, StoredTask, TaskRecord, TaskStatus
from llm_responses.tasks.live_slots import LiveSlots
from llm_responses.tasks.runner import Runner
from llm_responses.wire import envelope
from llm_responses.wire.engines import ENGINES
from llm_responses.wire.request import PostedTask, TaskRequest, read_task

log = logging.getLogger(__name__)
# a batch-lane task no batcher has gathered by then (none runs, or it keeps failing) goes the direct way
BATCH_FALLBACK_SECONDS = 3600.0
# (project id, run id, prompt key): the tracking run and cell a task answers
Origin = tuple[int, int, str]
# an idle-lane task is never due for the direct claim (a worker takes it through the idle claim only)
IDLE_LANE_DELAY = 10 * 365 * 86400.0


class TaskService:
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        runner: Runner,
        tariff: Tariff,
        owner: str,
        config: ServiceConfig,
        live_slots: LiveSlots,
        on_tasks_created: Callable[[], None] = lambda: None,
        check_webhook_url: Callable[[str], None] = lambda url: None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.runner = runner
        self.tariff = tariff
        self.owner = owner
        self.config = config
        self.live_slots = live_slots
        self.on_tasks_created = on_tasks_created
        # raises ValueError with a reason for a webhook URL that may never be called (the address guard)
        self.check_webhook_url = check_webhook_url
        self._warned_unserved: set[str] = set()

    # -- task_post -------------------------------------------------------------------------------

    async def post(self, account: Account, se: str, body: list[Any], started: float) -> list[dict[str, Any]]:
        path = envelope.llm_path(se, "task_post")
        out: list[dict[str, Any] | None] = [None] * len(body)
        pending: list[tuple[int, NewTask, dict[str, Any]]] = []
        for i, raw in enumerate(body):
            task_id = envelope.new_task_id()
            posted = self._read(raw, se, for_task_post=True)
            try:
                request = self._valid(posted)
                self._check_webhooks(request)
            except ApiError as exc:
                out[i] = _error_task(task_id, exc, started, path, posted.data)
                continue
            pending.append((i, self._new_task(task_id, se, "task_post", posted), posted.data))
        if pending:
            accepted = await self.store.create_tasks(account.id, [t for _, t, _ in pending], time.time())
            for (i, task, data), ok in zip(pending, accepted, strict=True):
                if ok:
                    out[i] = envelope.task(
                        task_id=task.id,
                        status=StatusCode.TASK_CREATED,
                        started=started,
                        cost=to_usd(task.base_price + task.prepayment),
                        path=path,
                        data=data,
                    )
                else:
                    out[i] = _error_task(
                        task.id, ApiError(StatusCode.INSUFFICIENT_FUNDS), started, path, data
                    )
            if any(accepted):
                self.on_tasks_created()
        return [t for t in out if t is not None]

    def prepare(self, se: str, raw: dict[str, Any], *, idle: bool = False) -> NewTask:
        """A tracking run's task (endpoint ``track``): checked as task_post checks a task (40501 naming the
        field, as ``ApiError``), held and laned as a posted one, not yet stored. Queued whatever the engine:
        a run is durable work, so Perplexity's tasks (live-only at DataForSEO) are queued too. ``idle``:
        a background project's, in the idle lane (a worker takes it only when it has nothing else)."""
        posted = self._read(raw, se, for_task_post="task_post" in ENGINES[se].functions)
        self._check_webhooks(self._valid(posted))
        task = self._new_task(envelope.new_task_id(), se, "track", posted)
        if idle and task.lane == "direct":  # a vendor batch runs at the vendor: it holds no worker anyway
            return replace(task, lane="idle", run_after_delay=IDLE_LANE_DELAY)
        return task

    def _read(self, raw: Any, se: str, *, for_task_post: bool) -> PostedTask:
        """The task's echo and validation (``wire/request.py::read_task``), a model this server knows but
        does not serve refused with why (logged once per model name)."""
        posted = read_task(
            raw,
            ENGINES[se],
            resolve_model=lambda name: self.catalog.resolve(name, se),
            for_task_post=for_task_post,
        )
        exc = posted.error
        name = raw.get("model_name") if isinstance(raw, dict) else None
        if exc is None or not isinstance(name, str) or exc.field != "model_name":
            return posted
        why = self.catalog.why_not_served(name, se)
        if why is None:
            return posted
        if name not in self._warned_unserved:
            self._warned_unserved.add(name)
            log.warning("a client asked for %s", why)
        return replace(
            posted, error=ApiError(StatusCode.INVALID_FIELD, f"Invalid Field: 'model_name'. {why}.")
        )

    @staticmethod
    def _valid(posted: PostedTask) -> TaskRequest:
        if posted.error is not None:
            raise posted.error
        assert posted.request is not None
        return posted.request

    def _check_webhooks(self, request: TaskRequest) -> None:
        for name, url in (("postback_url", request.postback_url), ("pingback_url", request.pingback_url)):
            if url:
                try:
                    self.check_webhook_url(url)
                except ValueError as exc:
                    raise ApiError(StatusCode.INVALID_FIELD, f"Invalid Field: '{name}'. {exc}.") from None

    def _new_task(self, task_id: str, se: str, endpoint: str, posted: PostedTask) -> NewTask:
        request = self._valid(posted)
        live = endpoint == "live"
        # a vendor batch when batching is on and the vendor runs it in one; else a direct worker takes it
        batched = not live and self.config.batch and self.runner.batching(request) is not None
        return NewTask(
            lane="batch" if batched else "direct",
            run_after_delay=BATCH_FALLBACK_SECONDS if batched else 0.0,
            id=task_id,
            se=se,
            endpoint=endpoint,
            request_json=posted.request_json,
            data_json=orjson.dumps(posted.data).decode(),
            tag=request.tag,
            postback_url=request.postback_url,
            pingback_url=request.pingback_url,
            base_price=self.tariff.live_base if live else self.tariff.task_post_base,
            # live holds what a task_post would prepay, and settles it the same way
            prepayment=self._hold(request),
        )

    def _hold(self, request: TaskRequest) -> int:
        entry = self.catalog.entry_of(request.model_name, request.model_id, request.se)
        if entry is None:
            return self.tariff.task_post_prepayment
        chars = (
            len(request.user_prompt)
            + len(request.system_message or "")
            + sum(len(t.message) for t in request.message_chain)
        )
        return task_hold(
            entry,
            prompt_chars=chars,
            output_tokens=self.runner.output_budget(request, entry),
            web_search=request.web_search,
            tariff=self.tariff,
            policy=self.config.hold_policy,
            search_tool=self.config.search_tool,
        )

    # -- live ------------------------------------------------------------------------------------

    async def live(
        self,
        account: Account,
        se: str,
        raw: Any,
        started: float,
        *,
        posted_at: float | None = None,
        origin: Origin | None = None,
    ) -> dict[str, Any]:
        """Run one task now. An account the fresh read of authentication shows short is refused before any
        call. On SQLite the upstream call starts before the hold commits, so the hold runs while the
        upstream works (docs/benchmarks.md), and a call that loses the race for the last funds is
        cancelled (40210). On PostgreSQL, where many processes race for the same balance, the hold comes
        first: a burst on a short balance sent 7-12 upstream calls for the one that was paid.
        ``posted_at``: when the task counts as posted (now; a demo project's past days), its settlement
        dated as long after as the call took, so its ledger rows and finish fall on its own day;
        ``origin``: the tracking run and cell it answers (the demo project's history)."""
        path = envelope.llm_path(se, "live")
        task_id = envelope.new_task_id()
        context.task_id.set(task_id)  # the request's own context: its later log lines carry the task id
        posted = self._read(raw, se, for_task_post=False)
        data = posted.data
        try:
            request = self._valid(posted)
            async with self.live_slots.take(account.id):
                task = self._new_task(task_id, se, "live", posted)
                if origin is not None:
                    task = replace(task, project_id=origin[0], run_id=origin[1], prompt_key=origin[2])
                if account.balance < task.base_price + task.prepayment:
                    raise ApiError(StatusCode.INSUFFICIENT_FUNDS)
                if self.store.cheap_holds:
                    outcome = await self._overlapped(account, task, request, posted_at)
                else:  # a hold lost to another process must not have sent an upstream call nobody pays for
                    await self._hold_or_refuse(account, task, posted_at)
                    outcome = await self._call(task_id, request)
                done = time.time() if posted_at is None else posted_at + time.perf_counter() - started
                await asyncio.shield(self.store.finish_task(task_id, 1, outcome, done))
        except ApiError as exc:
            return _error_task(task_id, exc, started, path, data)
        if not outcome.success:
            return _error_task(
                task_id,
                ApiError(StatusCode.of(outcome.status_code), outcome.status_message),
                started,
                path,
                data,
            )
        return envelope.task(
            task_id=task_id,
            started=started,
            cost=to_usd(self.tariff.live_base + outcome.money_spent),
            path=path,
            data=data,
            result=[orjson.loads(outcome.result_json or "null")],
        )

    async def _hold_or_refuse(self, account: Account, task: NewTask, posted_at: float | None = None) -> None:
        now = time.time()
        if not await self.store.start_live(
            account.id,
            task,
            self.owner,
            now + self.config.live_timeout_seconds + self.config.lease_seconds,
            now if posted_at is None else posted_at,  # a demo dataset's past days
        ):
            raise ApiError(StatusCode.INSUFFICIENT_FUNDS)

    async def _overlapped(
        self, account: Account, task: NewTask, request: TaskRequest, posted_at: float | None = None
    ) -> Outcome:
        """The upstream call started first, the hold taken while it is on the wire (where a hold is a
        local transaction of microseconds); a lost hold cancels the call."""
        call = asyncio.create_task(self._call(task.id, request))
        try:
            await asyncio.sleep(0)  # let the call reach its first wait (the request is on the wire)
            await self._hold_or_refuse(account, task, posted_at)
            return await call
        finally:
            if not call.done():
                call.cancel()
                await asyncio.gather(call, return_exceptions=True)

    async def _call(self, task_id: str, request: TaskRequest) -> Outcome:
        """The live call's outcome within the live timeout; a failed live call costs nothing."""
        try:
            async with asyncio.timeout(self.config.live_timeout_seconds):
                outcome = (await self.runner.run(task_id, request)).outcome
        except TimeoutError:
            log.warning(
                "live task %s: no answer from upstream within %gs (50401)",
                task_id,
                self.config.live_timeout_seconds,
            )
            outcome = Outcome(
                success=False,
                status_code=StatusCode.TIMEOUT,
                status_message=StatusCode.TIMEOUT.message,
                error_detail=f"live call exceeded {self.config.live_timeout_seconds}s",
            )
        return outcome if outcome.success else replace(outcome, refund_base=True)

    # -- task_get --------------------------------------------------------------------------------

    async def get(
        self, account: Account, se: str, task_id: str, started: float, *, collect: bool = True
    ) -> dict[str, Any]:
        """task_get's task object; ``collect=False`` renders it without marking it collected (postbacks)."""
        record = await self.store.get_task(account.id, task_id)
        return await self._task_get(account, se, task_id, record, started, collect=collect)

    async def _task_get(
        self,
        account: Account,
        se: str,
        task_id: str,
        record: TaskRecord | None,
        started: float,
        *,
        collect: bool,
    ) -> dict[str, Any]:
        path = envelope.llm_path(se, "task_get", task_id)
        if record is None or record.endpoint != "task_post" or record.se != se:
            return _error_task(
                task_id, ApiError(StatusCode.TASK_NOT_FOUND), started, path, envelope.base_data(se)
            )
        stored = StoredTask(record)
        data = stored.data if stored.data is not None else envelope.base_data(se)
        if (
            record.status is TaskStatus.PURGED
            or record.created_at < time.time() - self.config.retention_seconds
        ):
            return _error_task(task_id, ApiError(StatusCode.RESULTS_EXPIRED), started, path, data)
        if record.status is TaskStatus.QUEUED:
            return _error_task(task_id, ApiError(StatusCode.TASK_IN_QUEUE), started, path, data)
        if record.status in (TaskStatus.RUNNING, TaskStatus.BATCHED):
            return _error_task(task_id, ApiError(StatusCode.TASK_HANDED), started, path, data)
        if account.balance < 0:
            # "if your account balance is negative, you will not receive the results" (docs.dataforseo.com, task_get)
            return _error_task(task_id, ApiError(StatusCode.PAYMENT_REQUIRED), started, path, data)
        if collect:
            await self.store.mark_collected(task_id, time.time())
        if record.status is TaskStatus.FAILED:
            code = StatusCode.of(record.status_code or StatusCode.INTERNAL_ERROR)
            return _error_task(task_id, ApiError(code, record.status_message), started, path, data)
        return envelope.task(  # cost 0: results are free to collect (docs.dataforseo.com, task_get)
            task_id=task_id,
            started=started,
            path=path,
            data=data,
            result=[stored.result] if record.result_json else None,
        )

    async def webhook_payload(self, account_id: int, task_id: str) -> tuple[bytes, str | None] | None:
        """The full JSON task_get would answer for the task right now (for its postback), and its tag."""
        account = await self.store.account_by_id(account_id)
        record = await self.store.get_task(account_id, task_id)
        if account is None or record is None:
            return None
        started = time.perf_counter()
        task = await self._task_get(
            account, record.se, task_id, record, started, collect=False
        )  # one read, not two
        return orjson.dumps(envelope.response([task], started=started)), record.tag

    # -- tasks_ready -----------------------------------------------------------------------------

    async def ready(self, account: Account, se: str, started: float) -> dict[str, Any]:
        path = envelope.llm_path(se, "tasks_ready")
        rows = await self.store.tasks_ready(
            account.id, se, time.time() - self.config.ready_window_seconds, self.config.ready_limit
        )
        items = [
            {
                "id": r.id,
                "se": r.se,
                "se_type": "llm_responses",
                "date_posted": envelope.format_datetime(r.created_at),
                "tag": r.tag,
                "endpoint": envelope.llm_url(r.se, "task_get", r.id),
            }
            for r in rows
        ]
        return envelope.task(
            started=started,
            path=path,
            data=envelope.base_data(se, "tasks_ready"),
            result=items,
        )


def _error_task(
    task_id: str, exc: ApiError, started: float, path: list[str], data: dict[str, Any]
) -> dict[str, Any]:
    return envelope.task(task_id=task_id, error=exc, started=started, path=path, data=data)
