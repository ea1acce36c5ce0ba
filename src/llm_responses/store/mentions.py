"""Writing the mentions index: an answer's row, its links and its brands, in the transaction that settles
the task (``settle.finish``) or in the backfill's. Re-indexing a task replaces its rows (the brands may
have changed since), so indexing is idempotent."""

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


async def index_answers(c: Connection, items: Sequence[tuple[str, AnswerIndex]]) -> int:
    """Index each (task id, answer); how many were (a task that no longer exists is skipped)."""
    links: list[tuple[Any, ...]] = []
    brands: list[tuple[Any, ...]] = []
    texts: list[tuple[Any, ...]] = []
    indexed = 0
    for task_id, a in items:
        await c.execute("delete_mention_answer", task_id)
        named = [b for b in a.brands if b.mentioned]
        row = await c.fetchrow(
            "insert_mention_answer", task_id, a.platform, a.model_name[:128], a.location_code, a.language_code,
            a.web_search, a.question, _array(x.domain for x in a.links if x.scope == "s"),
            _array(x.domain for x in a.links if x.scope == "r"), _array(b.brand for b in named),
            _array(b.category for b in named),
        )  # fmt: skip
        if row is None:
            continue
        indexed += 1
        answer_id, account_id = row[0], row[1]
        texts.append(
            (
                answer_id,
                a.question,
                a.answer,
                "\n".join(a.fan_out),
                "\n".join(b.brand for b in a.brands if b.mentioned),
            )
        )
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
    return indexed
