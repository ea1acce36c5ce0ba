"""The batcher: queued task_post tasks through the vendors' batch APIs, at their batch prices.

It runs in every worker process when ``TASK_POST_BATCH`` is on, on the same database as the direct workers:

1. **Gather.** Queued tasks of the batch lane (``tasks.lane``: chosen at task_post for a vendor that runs
   the request in a batch) are grouped by provider and the vendor's grouping (OpenAI: one model per file).
   A group is flushed when it fills a batch (the vendor's count or byte limit) or when its oldest task has
   waited ``max_age``. Flushing records the batch and marks its tasks ``batched`` in one transaction, then
   creates the vendor batch under our batch id (an idempotency key or a label), then records the vendor's
   id. A process that dies in between leaves a ``submitting`` row: once its lease runs out, another process
   asks the vendor whether that batch exists (``find``) and submits it again only if it does not.
2. **Poll.** Batches due a poll are leased to one process and polled, with a backoff (``poll_delay``).
3. **Settle.** An ended batch's lines are read as a stream and settled in chunks, each line through the
   direct path's pricing, rendering and mentions index (``Runner.outcome``) and ``settle.finish``: a line
   whose task has left the batch (expired past its deadline) settles nothing. An error line is classified as
   a direct call's would be; a transient one, and a line that did not run (expired, cancelled, refused in
   batches), goes back to the queue on the direct lane, due now, to finish before the 72-hour deadline.
   Tasks the batch never answered go back the same way.

A client cannot tell a batched task from a direct one but by its price and how long it took: task_get says
40601 while it is in a batch, tasks_ready and webhooks behave as for any task.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from llm_responses.config_views import BatchConfig
from llm_responses.core import BatchClient, BatchHandle, LineResult, LlmRequest
from llm_responses.errors import ErrorKind
from llm_responses.store import Store
from llm_responses.store.records import BatchRow, Outcome
from llm_responses.tasks.runner import Runner
from llm_responses.waiting import first_of
from llm_responses.wire.request import TaskRequest

log = logging.getLogger(__name__)

GATHER_LIMIT = 100_000  # queued batch-lane tasks looked at per pass
SETTLE_CHUNK = 500  # lines settled per transaction
POLLS_AT_ONCE = 4
MAX_POLL_SECONDS = 300.0


def poll_delay(polls: int, first: float) -> float:
    """Seconds until a batch's next poll: ``first`` doubling to 5 minutes (most batches end within the
    hour; ``first`` is 2.5 batcher rounds, 5 s by default)."""
    return min(first * 2.0 ** min(polls, 10), MAX_POLL_SECONDS)


@dataclass
class Group:
    provider: str
    key: str
    client: BatchClient
    lines: list[tuple[str, bytes, float]] = field(default_factory=list)  # (task id, encoded line, created)
    size: int = 0

    def add(self, task_id: str, line: bytes, created_at: float) -> None:
        self.lines.append((task_id, line, created_at))
        self.size += len(line) + 1

    def full_chunks(self, now: float, max_age: float) -> list[list[tuple[str, bytes, float]]]:
        """Batches to send now: every full one, and the rest when its oldest line has waited ``max_age``."""
        out: list[list[tuple[str, bytes, float]]] = []
        chunk: list[tuple[str, bytes, float]] = []
        size = 0
        for line in self.lines:
            if chunk and (
                len(chunk) >= self.client.max_requests or size + len(line[1]) + 1 > self.client.max_bytes
            ):
                out.append(chunk)
                chunk, size = [], 0
            chunk.append(line)
            size += len(line[1]) + 1
        if chunk and now - min(created for _, _, created in chunk) >= max_age:
            out.append(chunk)
        return out


class Batcher:
    def __init__(
        self,
        *,
        store: Store,
        runner: Runner,
        owner: str,
        config: BatchConfig,
        on_finished: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.owner = owner
        self.config = config
        self.on_finished = on_finished  # a settled task may have a webhook due
        self._first_poll = config.poll_seconds * 2.5

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.gather(time.time())
                await self.poll_due(time.time())
            except Exception:  # a bug or a database hiccup: say so, try again next round
                log.exception("batcher round failed; trying again")
            await first_of(stop, within=self.config.poll_seconds)

    # -- gathering ---------------------------------------------------------------------------------

    async def gather(self, now: float) -> int:
        """Flush every group that is full or old enough; how many tasks went into batches."""
        groups: dict[tuple[str, str], Group] = {}
        direct: list[str] = []
        for task_id, request_json, created_at in await self.store.batch_candidates(GATHER_LIMIT):
            batching = self.runner.batching(TaskRequest.from_json(orjson.loads(request_json)))
            if batching is None:  # the vendor's batch API went away, or the request no longer fits one
                direct.append(task_id)
                continue
            provider, client, request = batching
            group = groups.setdefault(
                (provider, client.group(request)), Group(provider, client.group(request), client)
            )
            group.add(task_id, client.encode(task_id, request), created_at)
        await self.store.to_direct_lane(direct, now)
        sent = 0
        for group in groups.values():
            for chunk in group.full_chunks(now, self.config.max_age_seconds):
                sent += await self._open(group, chunk, now)
        return sent

    async def _open(self, group: Group, chunk: list[tuple[str, bytes, float]], now: float) -> int:
        batch_id = str(uuid.uuid4())
        marked = set(
            await self.store.open_batch(
                batch_id,
                group.provider,
                group.key,
                [task_id for task_id, _, _ in chunk],
                self.owner,
                now + self.config.lease_seconds,
                now,
            )  # fmt: skip
        )
        if not marked:
            return 0
        lines = [line for task_id, line, _ in chunk if task_id in marked]
        await self._submit(batch_id, group.client, lines, now)
        return len(marked)

    async def _submit(self, batch_id: str, client: BatchClient, lines: list[bytes], now: float) -> None:
        try:
            handle = await client.submit(batch_id, lines)
        except Exception as exc:  # perhaps created, perhaps not: the recovery asks the vendor (find)
            log.warning(
                "batch %s: submitting %d lines failed (%s); will check and retry", batch_id, len(lines), exc
            )
            await self.store.reschedule_batch(
                batch_id, time.time() + poll_delay(0, self._first_poll), self.runner.redact(str(exc))
            )
            return
        await self.store.batch_submitted(
            batch_id, handle.vendor_id, handle.input_file, time.time(), time.time() + self._first_poll
        )
        log.info("batch %s: %d tasks submitted as %s", batch_id, len(lines), handle.vendor_id)

    # -- polling and settling ----------------------------------------------------------------------

    async def poll_due(self, now: float) -> None:
        for batch in await self.store.claim_due_batches(
            self.owner, now + self.config.lease_seconds, now, POLLS_AT_ONCE
        ):
            client = self._client(batch)
            if client is None:  # its provider is no longer configured: its tasks go the direct way
                await self._give_up(batch, "the batch's provider is not configured")
                continue
            try:
                if batch.status == "submitting":
                    await self._recover(batch, client)
                else:
                    await self._poll(batch, client)
            except Exception as exc:
                log.warning("batch %s: poll failed (%s); will try again", batch.id, exc)
                await self.store.reschedule_batch(
                    batch.id,
                    time.time() + poll_delay(batch.polls, self._first_poll),
                    self.runner.redact(str(exc)),
                )

    def _client(self, batch: BatchRow) -> BatchClient | None:
        provider = self.runner.providers.get(batch.provider)
        client: BatchClient | None = getattr(provider, "batch", None)
        return client

    async def _recover(self, batch: BatchRow, client: BatchClient) -> None:
        """A batch whose submitting process died: adopt the vendor's batch if it exists, else submit again."""
        handle = await client.find(batch.id, batch.created_at - 60, count=batch.tasks)
        if handle is not None:
            await self.store.batch_submitted(
                batch.id, handle.vendor_id, handle.input_file, time.time(), time.time()
            )
            log.info(
                "batch %s: found at the vendor as %s after an interrupted submission",
                batch.id,
                handle.vendor_id,
            )
            return
        requests = await self.store.batch_requests_all(batch.id)
        if not requests:
            await self.store.end_batch(batch.id, time.time(), "no task left in it")
            return
        lines = []
        for task_id, request_json in requests:
            request = self._request(client, task_id, request_json)
            lines.append(client.encode(task_id, request))
        await self._submit(batch.id, client, lines, time.time())

    def _request(self, client: BatchClient, task_id: str, request_json: str) -> LlmRequest:
        task = TaskRequest.from_json(orjson.loads(request_json))
        entry = self.runner.catalog.entry_of(task.model_name, task.model_id, task.se)
        assert entry is not None
        return self.runner.llm_request(task_id, task, entry)

    async def _poll(self, batch: BatchRow, client: BatchClient) -> None:
        assert batch.vendor_id is not None
        handle = BatchHandle(batch.vendor_id, batch.input_file)
        poll = await client.poll(handle)
        if not poll.ended:
            await self.store.reschedule_batch(
                batch.id, time.time() + poll_delay(batch.polls, self._first_poll)
            )
            return
        if poll.failed:
            log.warning(
                "batch %s: the vendor refused it (%s); its tasks go the direct way", batch.id, poll.failed
            )
            await self._give_up(batch, poll.failed)
            return
        settled = requeued = 0
        chunk: list[LineResult] = []
        async for line in client.results(handle):
            chunk.append(line)
            if len(chunk) >= SETTLE_CHUNK:
                s, r = await self._settle(batch, chunk)
                settled, requeued, chunk = settled + s, requeued + r, []
        if chunk:
            s, r = await self._settle(batch, chunk)
            settled, requeued = settled + s, requeued + r
        leftovers = await self.store.batch_leftovers(batch.id)  # lines the vendor never answered
        requeued += await self.store.requeue_from_batch(batch.id, leftovers, time.time())
        await self.store.end_batch(batch.id, time.time())
        log.info("batch %s ended: %d tasks settled, %d back to the direct way", batch.id, settled, requeued)

    async def _settle(self, batch: BatchRow, lines: list[LineResult]) -> tuple[int, int]:
        """Settle one chunk of lines; (settled, sent back to the direct way)."""
        requests = await self.store.batch_requests(batch.id, [line.custom_id for line in lines])
        outcomes: list[tuple[str, Outcome]] = []
        direct: list[str] = []
        for line in lines:
            request_json = requests.get(line.custom_id)
            if request_json is None:  # not (or no longer) in this batch
                continue
            task = TaskRequest.from_json(orjson.loads(request_json))
            entry = self.runner.catalog.entry_of(task.model_name, task.model_id, task.se)
            if line.result is not None and entry is not None:
                outcomes.append(
                    (
                        line.custom_id,
                        self.runner.outcome(line.custom_id, task, entry, batch.provider, line.result),
                    )
                )
            elif line.error is not None and line.error.kind not in (ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT):
                outcomes.append(
                    (line.custom_id, self.runner.failed(line.custom_id, batch.provider, line.error).outcome)
                )
            else:  # did not run, or failed in a way a direct call may not: the direct way
                direct.append(line.custom_id)
        now = time.time()
        done = await self.store.settle_batch_lines(batch.id, outcomes, now) if outcomes else []
        requeued = await self.store.requeue_from_batch(batch.id, direct, now)
        if any(done):
            self.on_finished()
        return sum(done), requeued

    async def _give_up(self, batch: BatchRow, why: str) -> None:
        leftovers = await self.store.batch_leftovers(batch.id)
        await self.store.requeue_from_batch(batch.id, leftovers, time.time())
        await self.store.end_batch(batch.id, time.time(), why)
