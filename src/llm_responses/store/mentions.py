"""Writing the mentions index: an answer's row, its links and its brands, and its counts added to the
rollups, in one transaction: the indexer's (``tasks/indexer.py``, from the outbox a settlement fills) or the
backfill's. Re-indexing a task replaces its rows and takes its old counts out of the rollups first (the
brands may have changed since), so indexing is idempotent and the rollups always equal the rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from llm_responses.store.connection import Connection
from llm_responses.store.records import AnswerIndex


def _array(values: Iterable[str]) -> str:
    """Distinct values, in order, as a JSON array (the breakdowns count one row per answer and value)."""
    return json.dumps(list(dict.fromkeys(values)), ensure_ascii=False)


def host_rev(domain: str) -> str:
    """``www.example.com`` → ``com.example.www``: a domain's subdomains become one index range."""
    return ".".join(reversed(domain.lower().split(".")))


# each rollup table's statements: per day x engine x model x country, the same per prompt, per day x engine,
# per prompt x engine over all time (store/sql/mention_index.sql)
ROLLUPS = ("rollup_answers", "rollup_brands", "rollup_prompt_answers", "rollup_prompt_brands", "rollup_daily_answers",
           "rollup_daily_brands", "rollup_prompt_totals_answers", "rollup_prompt_totals_brands")  # fmt: skip
PRUNES = (
    "prune_rollups",
    "prune_prompt_rollups",
    "prune_mention_daily_rollups",
    "prune_mention_prompt_totals",
)


async def index_answers(
    c: Connection, items: Sequence[tuple[str, AnswerIndex]], *, replace: bool = False
) -> int:
    """Index each (task id, answer), a batch in a handful of statements however large it is; how many were
    (a task that no longer exists, or one indexed already unless ``replace``, is skipped)."""
    if not items:
        return 0
    if replace:
        task_ids = [task_id for task_id, _ in items]
        old = [r[0] for r in await c.fetch("answer_ids_of_tasks", task_ids)]
        if old:
            await add_to_rollups(c, old, -1)
        await c.execute("delete_mention_answers", task_ids)
    rows = []
    for task_id, a in items:
        named = [b for b in a.brands if b.mentioned]
        rows.append(
            [task_id, a.platform, a.model_name[:128], a.location_code, a.language_code, a.web_search, a.question,
             _array(x.domain for x in a.links if x.scope == "s"), _array(x.domain for x in a.links if x.scope == "r"),
             _array(b.brand for b in named), _array(b.category for b in named), a.prompt_hash]
        )  # fmt: skip
    inserted = {r[1]: (r[0], r[2]) for r in await c.fetch("insert_mention_answers", json.dumps(rows))}
    texts: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    brands: list[tuple[Any, ...]] = []
    for task_id, a in items:
        if task_id not in inserted:
            continue
        answer_id, account_id = inserted[task_id]
        named_text = "\n".join(b.brand for b in a.brands if b.mentioned)
        texts.append((answer_id, a.question, a.answer, "\n".join(a.fan_out), named_text))
        links += [
            (answer_id, account_id, x.scope, host_rev(x.domain)[:255], x.domain[:255], x.url, x.title, x.rank)
            for x in a.links
        ]
        brands += [
            (answer_id, account_id, b.brand[:255], b.category[:255], b.competitor, b.position, b.mentioned,
             b.cited, b.negated, b.first_offset)
            for b in a.brands
        ]  # fmt: skip
    await c.bulk("insert_mention_texts_bulk", texts)
    await c.bulk("insert_mention_links_bulk", links)
    await c.bulk("insert_mention_brands_bulk", brands)
    await add_to_rollups(c, [answer_id for answer_id, _ in inserted.values()], 1)
    if replace:
        for account_id in {account_id for _, account_id in inserted.values()}:
            for prune in PRUNES:
                await c.execute(prune, account_id)
    return len(inserted)


async def add_to_rollups(c: Connection, answer_ids: list[int], sign: int) -> None:
    """Add (1) or take out (-1) these indexed answers' counts, per day and per prompt: set-based, from the
    rows just written, so the rollups can never disagree with them."""
    if not answer_ids:
        return
    for name in ROLLUPS:
        await c.execute(name, answer_ids, sign)
    if sign > 0:
        await c.execute("rollup_prompt_texts", answer_ids)
