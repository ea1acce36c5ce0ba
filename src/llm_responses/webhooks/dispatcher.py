"""The delivery loop: claims due deliveries under a lease, sends them concurrently, records every attempt.

It runs beside the task worker with its own concurrency, and a receiver that never answers costs a
waiting coroutine, not a worker slot: thousands of slow deliveries do not hold up task processing. A
delivery that was due when the process died is claimed again once its lease runs out. Retries back off
exponentially with jitter, spread so that ``max_attempts`` tries span about ``retry_horizon`` seconds.
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
from llm_responses.store.records import ClaimedDelivery, DeliveryAttempt, DeliveryKind
from llm_responses.store.store import Store
from llm_responses.waiting import first_of
from llm_responses.webhooks import signing
from llm_responses.webhooks.guard import AddressGuard
from llm_responses.webhooks.sender import send
from llm_responses.webhooks.urls import fill

log = logging.getLogger(__name__)

USER_AGENT = "llm-responses-webhooks/1"
GONE = "the task no longer exists"


@dataclass(frozen=True, slots=True)
class Payload:
    """What a delivery sends for a task: task_get's JSON (for a postback) and the tag (for ``$tag``)."""

    task_get_json: bytes
    tag: str | None


Render = Callable[[int, str], Awaitable[Payload | None]]


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
            payload = await self.render(d.account_id, d.task_id)
            if payload is None:  # purged in the meantime: nothing left to send
                await self._record(d, d.url, None, GONE, 0.0, retryable=False)
                return
            url = fill(d.url, d.task_id, payload.tag)
            headers = {signing.TASK_HEADER: d.task_id, signing.DELIVERY_HEADER: str(d.id)}
            if d.kind is DeliveryKind.POSTBACK:
                method, body = "POST", gzip.compress(payload.task_get_json)
                headers |= {"Content-Type": "application/json", "Content-Encoding": "gzip"}
            else:
                method, body = "GET", b""
            headers[signing.HEADER] = signing.signature_header(
                await self._secrets_of(d.account_id), d.task_id, body
            )
            result = await send(
                self._client,
                self.guard,
                method,
                url,
                body=body,
                headers=headers,
                timeout_seconds=self.config.timeout_seconds,
            )
            await self._record(
                d,
                url,
                result.http_status,
                result.error,
                result.latency_ms,
                retryable=result.retryable,
                delivered=result.delivered,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "delivery %s of task %s failed unexpectedly; retried after its lease", d.id, d.task_id
            )

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
    ) -> None:
        now = time.time()
        retry_at = None
        if not delivered and retryable and d.attempt < self.config.max_attempts:
            retry_at = now + self.delays[d.attempt - 1] * random.uniform(0.8, 1.2)
        if delivered:
            outcome = "delivered"
        elif retry_at:
            outcome = "retry"
        else:
            outcome = "dropped" if error == GONE else "failed"  # dropped: the task was purged meanwhile
        self.metrics.delivery(d.kind.value, outcome, latency / 1000)
        if not delivered:
            log.info(
                "%s of task %s, attempt %d: %s%s",
                d.kind.value,
                d.task_id,
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
