"""The mentions index's outbox: a settled answer's row waits here until an indexer reads it into the index.

Claimed with a lease (``SKIP LOCKED`` on PostgreSQL), so any number of workers share the backlog and a
batch whose indexer died is taken again once its lease runs out; the batch's index rows, its rollups and
the outbox rows' deletion commit together, so an answer is indexed exactly once however often it is claimed.
"""

from __future__ import annotations

from collections.abc import Sequence

from llm_responses.store.connection import Connection
from llm_responses.store.mentions import index_answers
from llm_responses.store.records import AnswerIndex, TaskRecord
from llm_responses.store.rows import read_tasks


async def claim(c: Connection, owner: str, now: float, lease: float, limit: int) -> list[tuple[str, bool]]:
    """Up to ``limit`` (task id, replace) rows, oldest first, leased to ``owner`` for ``lease`` seconds."""
    rows = await c.fetch("claim_mention_outbox", now, now + lease, owner, limit)
    return [(r[0], bool(r[1])) for r in rows]


async def tasks_of(c: Connection, task_ids: Sequence[str]) -> list[tuple[TaskRecord, int]]:
    """The claimed tasks still answered, each with its project (0: none)."""
    rows = await c.fetch("outbox_tasks", ids=list(task_ids))
    return list(zip(read_tasks(rows), [int(r["project_id"]) for r in rows], strict=True))


async def index_claimed(
    c: Connection,
    owner: str,
    task_ids: Sequence[str],
    fresh: Sequence[tuple[str, AnswerIndex]],
    again: Sequence[tuple[str, AnswerIndex]],
) -> int:
    """Index the batch (``again``: re-reads replacing what was indexed) and release its outbox rows; a row
    another indexer took over meanwhile (this lease ran out) is left to it, and its answers are skipped."""
    indexed = await index_answers(c, list(fresh)) + await index_answers(c, list(again), replace=True)
    await c.execute("delete_mention_outbox", list(task_ids), owner)
    return indexed


async def enqueue_project(c: Connection, project_id: int, now: float) -> int:
    """Every answer of the project, to be read again (its brands changed); how many."""
    return await c.execute("enqueue_project_reindex", project_id, now)


BACKLOG_READ_LIMIT = 100_000  # rows a scrape counts at most: a longer backlog shows as this many


async def backlog(c: Connection, now: float) -> tuple[int, float]:
    """(rows waiting, the oldest one's age in seconds), reading at most ``BACKLOG_READ_LIMIT`` rows."""
    row = await c.fetchrow("mention_outbox_backlog", now, BACKLOG_READ_LIMIT)
    return (int(row[0]), float(row[1])) if row else (0, 0.0)
