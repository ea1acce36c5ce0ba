"""Group settlement: the worker's finished attempts are settled in batches, one transaction each.

Every settlement moves money on the account's row, so one commit per task serializes a worker on the
database's commit latency (an fsync each: measured ~180 tasks/s on PostgreSQL here). Attempts that finish
while a batch commits wait and go together in the next one, so the commit cost is shared by however many
finished meanwhile — under load, dozens — while a lone task still settles at once. Each settlement stays
conditional on (task, attempt): batching changes the cost, not the exactly-once rule.
"""

from __future__ import annotations

import asyncio
import logging

from llm_responses.store import Store
from llm_responses.store.records import Outcome

log = logging.getLogger(__name__)


class Settler:
    def __init__(self, store: Store, *, max_batch: int = 200) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: list[tuple[str, int, Outcome, float, asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def finish(self, task_id: str, attempt: int, outcome: Outcome, now: float) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((task_id, attempt, outcome, now, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            now = max(item[3] for item in batch)
            try:
                results = await self.store.finish_tasks([(t, a, o) for t, a, o, _, _ in batch], now)
            except Exception as exc:  # the tasks stay leased and are re-run: nothing is lost or settled twice
                log.exception("settling %d tasks failed", len(batch))
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), ok in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(ok)
