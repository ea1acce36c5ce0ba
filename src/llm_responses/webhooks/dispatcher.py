"""The delivery loop: claims due deliveries under a lease, sends them concurrently, records every attempt.

It runs beside the task worker with its own concurrency, and a receiver that never answers costs a
waiting coroutine, not a worker slot: thousands of slow deliveries do not hold up task processing. A
delivery that was due when the process died is claimed again once its lease runs out. Retries back off
exponentially with jitter, spread so that ``max_attempts`` tries span about ``retry_horizon`` seconds, and
never sooner than a 429 (503) asked (``Retry-After``, Discord's ``retry_after``; at most the horizon).

A task's delivery is its postback or pingback; an alert's (``DeliveryKind.ALERT``) is the alert row rendered
in the webhook's format (``alert_payloads.py``) as plain JSON, signed with ``alert:<id>`` in place of a task
id. A task purged, or an alert deleted with its project, before its turn is dropped, not retried.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from llm_responses.config_views import WebhookConfig
from llm_responses.observability import context
from llm_responses.observability.metrics import Metrics
from llm_responses.store import Store
from llm_responses.store.records import AlertFormat, ClaimedDelivery, DeliveryAttempt, DeliveryKind
from llm_responses.waiting import first_of
from llm_responses.webhooks import alert_payloads, signing
from llm_responses.webhooks.guard import AddressGuard
from llm_responses.webhooks.sender import send
from llm_responses.webhooks.urls import fill

log = logging.getLogger(__name__)

USER_AGENT = "llm-responses-webhooks/1"
GONE = "the task no longer exists"
ALERT_GONE = "the alert no longer exists (its project was deleted)"


@dataclass(frozen=True, slots=True)
class Payload:
    """What a delivery sends for a task: task_get's JSON (for a postback) and the tag (for ``$tag``)."""

    task_get_json: bytes
    tag: str | None


Render = Callable[[int, str], Awaitable[Payload | None]]


@dataclass(frozen=True, slots=True)
class Request:
    """One attempt's request, and what its signature binds: the task id, or ``alert:<id>``."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    subject: str


def retry_delays(max_attempts: int, horizon: float) -> list[float]:
    """Delays before attempts 2..max_attempts, doubling each time and summing to ``horizon``."""
    gaps = max_attempts - 1
    if gaps <= 0:
        return []
    base = horizon / (2**gaps - 1)
    return [base * 2**i for i in range(gaps)]


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        guard: AddressGuard,
        render: Render,
        owner: str,
        config: WebhookConfig,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else Metrics()  # deliveries by outcome
        self.store = store
        self.guard = guard
        self.render = render
        self.owner = owner
        self.config = config
        self.delays = retry_delays(config.max_attempts, config.retry_horizon_seconds)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._secrets: dict[int, tuple[float, list[str]]] = {}
        limits = httpx.Limits(
            max_connections=config.concurrency, max_keepalive_connections=min(config.concurrency, 64)
        )
        self._client = httpx.AsyncClient(limits=limits, headers={"User-Agent": USER_AGENT})

    def notify(self) -> None:
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                if not await self._claim():
                    await self._sleep(stop)
        finally:
            for job in list(self._in_flight):
                job.cancel()  # unrecorded attempts are retried after the lease runs out
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._client.aclose()

    async def _sleep(self, stop: asyncio.Event) -> None:
        await first_of(self._wake, stop, within=self.config.poll_seconds)

    async def _claim(self) -> int:
        free = self.config.concurrency - len(self._in_flight)
        if free <= 0:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        self._wake.clear()
        now = time.time()
        try:
            claimed = await self.store.claim_deliveries(
                self.owner, free, now + self.config.timeout_seconds + 30, now
            )
        except Exception:
            log.exception("claiming deliveries failed; retrying after the poll interval")
            return 0
        for delivery in claimed:
            job = asyncio.create_task(self._deliver(delivery))
            self._in_flight.add(job)
            job.add_done_callback(self._in_flight.discard)
        return len(claimed)

    async def _deliver(self, d: ClaimedDelivery) -> None:
        context.task_id.set(d.task_id)  # this delivery's own context: its log lines carry the task id
        try:
            alert = d.kind is DeliveryKind.ALERT
            request = await (self._alert_request(d) if alert else self._task_request(d))
            if request is None:  # purged (deleted) in the meantime: nothing left to send
                await self._record(d, d.url, None, ALERT_GONE if alert else GONE, 0.0, retryable=False)
                return
            request.headers[signing.HEADER] = signing.signature_header(
                await self._secrets_of(d.account_id), request.subject, request.body
            )
            result = await send(
                self._client,
                self.guard,
                request.method,
                request.url,
                body=request.body,
                headers=request.headers,
                timeout_seconds=self.config.timeout_seconds,
            )
            await self._record(
                d,
                request.url,
                result.http_status,
                result.error,
                result.latency_ms,
                retryable=result.retryable,
                delivered=result.delivered,
                asked=result.retry_after,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery %s of %s failed unexpectedly; retried after its lease", d.id, _of(d))

    async def _task_request(self, d: ClaimedDelivery) -> Request | None:
        assert d.task_id is not None, "a postback or pingback has its task"
        payload = await self.render(d.account_id, d.task_id)
        if payload is None:
            return None
        url = fill(d.url, d.task_id, payload.tag)
        headers = {signing.TASK_HEADER: d.task_id, signing.DELIVERY_HEADER: str(d.id)}
        if d.kind is DeliveryKind.POSTBACK:
            method, body = "POST", gzip.compress(payload.task_get_json)
            headers |= {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        else:
            method, body = "GET", b""
        return Request(method, url, body, headers, d.task_id)

    async def _alert_request(self, d: ClaimedDelivery) -> Request | None:
        """Plain JSON (Slack and Discord take no gzip), the reply uncompressed so a 429's body can be read."""
        assert d.alert_id is not None, "an alert's delivery has its alert"
        alert = await self.store.tracking.alert(d.alert_id)
        if alert is None or alert.account_id != d.account_id:
            return None
        body = alert_payloads.render(alert, d.format or AlertFormat.JSON)
        headers = {
            signing.ALERT_HEADER: str(alert.id),
            signing.DELIVERY_HEADER: str(d.id),
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
        }
        return Request("POST", d.url, body, headers, signing.alert_subject(alert.id))

    async def _record(
        self,
        d: ClaimedDelivery,
        url: str,
        status: int | None,
        error: str | None,
        latency: float,
        *,
        retryable: bool,
        delivered: bool = False,
        asked: float | None = None,
    ) -> None:
        now = time.time()
        retry_at = None
        if not delivered and retryable and d.attempt < self.config.max_attempts:
            delay = self.delays[d.attempt - 1] * random.uniform(0.8, 1.2)
            if asked is not None:  # no sooner than the receiver asked, within the retry horizon
                delay = max(delay, min(asked, self.config.retry_horizon_seconds))
            retry_at = now + delay
        if delivered:
            outcome = "delivered"
        elif retry_at:
            outcome = "retry"
        else:  # dropped: the task was purged (the alert deleted) meanwhile
            outcome = "dropped" if error in (GONE, ALERT_GONE) else "failed"
        self.metrics.delivery(d.kind.value, outcome, latency / 1000)
        if not delivered:
            log.info(
                "%s of %s, attempt %d: %s%s",
                d.kind.value,
                _of(d),
                d.attempt,
                error,
                f"; next try in {retry_at - now:.0f}s" if retry_at else "; giving up",
            )
        attempt = DeliveryAttempt(
            attempt=d.attempt, at=now, url=url, http_status=status, error=error, latency_ms=latency
        )
        await self.store.record_delivery_attempt(d.id, attempt, delivered=delivered, retry_at=retry_at)

    async def _secrets_of(self, account_id: int) -> list[str]:
        cached = self._secrets.get(account_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        s = await self.store.webhook_secrets(account_id, signing.new_secret())
        keys = [s.current]
        if s.previous and s.rotated_at and time.time() - s.rotated_at < signing.ROTATION_GRACE_SECONDS:
            keys.append(s.previous)
        self._secrets[account_id] = (time.monotonic() + self.config.secret_cache_seconds, keys)
        return keys


def _of(d: ClaimedDelivery) -> str:
    return f"task {d.task_id}" if d.task_id is not None else f"alert {d.alert_id}"
