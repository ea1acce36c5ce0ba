"""The mentions indexer: reads settled answers into the mentions index, in batches, off the live path.

A settlement leaves one outbox row per answer (``store/settle.py``); this loop, in every worker process,
claims rows under a lease, reads each answer with the brands it is tracked for (its project's, or the
server's ``[[brands]]``), and writes the index rows, the rollups and the rows' release in one transaction
(``store/mention_outbox.py``). Finding the brands in an answer is CPU work, so it runs in a thread.

It polls rather than waking at each settlement: woken per answer it wrote one transaction per live call
beside the next call (measured: the live p99 went up); polling takes what settled meanwhile in one batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from llm_responses.analysis.answer_index import index_stored
from llm_responses.analysis.mentions import Entity
from llm_responses.store import Store
from llm_responses.store.records import AnswerIndex, StoredTask, TaskRecord
from llm_responses.waiting import first_of

log = logging.getLogger(__name__)

EntitiesOf = Callable[[int], Awaitable[list[Entity]]]  # a project's brands (0: the server's)

BATCH = 200
LEASE_SECONDS = 60.0
POLL_SECONDS = 0.25  # an answer waits at most about this long before it is read
FAILED_PAUSE_SECONDS = 2.0


class Indexer:
    def __init__(
        self, store: Store, entities_of: EntitiesOf, owner: str, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.store = store
        self.entities_of = entities_of
        self.owner = owner
        self.poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self.index_once():
                    continue
            except Exception:  # the batch's lease runs out and it is taken again; nothing is lost
                log.exception("indexing a batch of answers failed; it will be retried")
                await first_of(stop, within=FAILED_PAUSE_SECONDS)
                continue
            await first_of(stop, within=self.poll_seconds)

    async def index_once(self, limit: int = BATCH) -> int:
        """Claim and index one batch; how many outbox rows it took (0: none waiting)."""
        claimed = await self.store.claim_index_batch(self.owner, LEASE_SECONDS, limit)
        if not claimed:
            return 0
        replace = dict(claimed)
        records = await self.store.outbox_tasks(list(replace))
        entities = {p: await self.entities_of(p) for p in {project for _, project in records}}
        built = await asyncio.to_thread(_read_all, records, entities)
        fresh = [(task_id, a) for task_id, a in built if not replace[task_id]]
        again = [(task_id, a) for task_id, a in built if replace[task_id]]
        await self.store.index_claimed(self.owner, list(replace), fresh, again)
        return len(claimed)

    async def drain(self) -> int:
        """Index until the outbox is empty (a command's or a test's wait); how many rows it took."""
        total = 0
        while n := await self.index_once():
            total += n
        return total


def _read_all(
    records: list[tuple[TaskRecord, int]], entities: dict[int, list[Entity]]
) -> list[tuple[str, AnswerIndex]]:
    out = []
    for record, project in records:
        try:
            index = index_stored(StoredTask(record), entities[project])
        except (ValueError, TypeError, KeyError):  # a stored result we cannot read: left out, logged
            log.exception("task %s: its answer could not be read into the mentions index", record.id)
            continue
        if index is not None:
            out.append((record.id, index))
    return out
