"""The counts brand metrics are made of, read in one statement from ``store/sql/brand_metrics.sql``.

Two paths, the same rows. The rollups (``mention_rollups``; ``mention_prompt_rollups`` when a prompt is a
group key or a filter) are kept by the indexer per day × engine × model × country × brand, so a project's
year of answers is a few hundred thousand rows summed at most, never the answers. What no rollup keeps, one
tracking run's own answers and the task tags of non-project answers, is counted from the indexed answers
(``mention_answers`` ⋈ ``mention_brands``): a run's answers are few, and a tag is the caller's choice of a
subset. Which groups a statement keys by are parameters (flags), so every statement is fixed text, checked
against the schema with the others. A read runs on a heavy-read connection with a time limit
(``QueryTimeout``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_responses.store.connection import Connection
from llm_responses.store.queries import Dialect, load

QUERY_SECONDS = 20.0
KEYS = ("engine", "model", "country", "day", "prompt", "tag")  # the group keys every row carries
ROLLUP_KEYS = frozenset(("engine", "model", "country", "day"))


@dataclass(frozen=True, slots=True)
class CountFilter:
    """Which answers are counted: every field None counts all of the project's."""

    project_id: int = 0
    engine: str | None = None
    model: str | None = None
    location_code: int | None = None  # 0: answers without a country
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None
    run_id: int | None = None
    tag: str | None = None  # a task tag (the answers path only)
    prompts: tuple[str, ...] | None = None  # only these prompts (texts); None: all


@dataclass(frozen=True, slots=True)
class CountRow:
    """One group's own row (``brand == ''``: answers, with_citations) or one brand's counts in it."""

    engine: str
    model: str
    location_code: int
    day: str
    prompt: str
    tag: str
    brand: str
    competitor: bool
    answers: int
    with_citations: int
    mentions: int
    citations: int
    positions: int
    position_sum: int
    negated: int


async def rollup_counts(
    c: Connection,
    dialect: Dialect,
    account_id: int,
    groups: Sequence[str],
    f: CountFilter,
    hashes: list[str] | None,
) -> list[CountRow]:
    """From the rollups: per-prompt ones when ``prompt`` is a group or ``hashes`` (prompt hashes) filters."""
    unknown = set(groups) - ROLLUP_KEYS - {"prompt"}
    if unknown or f.run_id is not None or f.tag is not None:
        raise ValueError(f"the rollups keep no {', '.join(sorted(unknown)) or 'run or tag'}")
    flags = [k in groups for k in ("engine", "model", "country", "day")]
    filters = [f.engine, f.model, f.location_code, f.date_from, f.date_to]
    if "prompt" in groups or hashes is not None:
        sql = load(dialect)["brand_prompt_rollup_counts"].sql
        args = [account_id, f.project_id, *flags, *filters, "prompt" in groups, hashes]
    else:
        sql = load(dialect)["brand_rollup_counts"].sql
        args = [account_id, f.project_id, *flags, *filters]
    return _rows(await c.fetch_composed(sql, args, QUERY_SECONDS))


async def answer_counts(
    c: Connection, dialect: Dialect, account_id: int, groups: Sequence[str], f: CountFilter
) -> list[CountRow]:
    """From the indexed answers themselves: a run's, or by or for a task tag."""
    if unknown := set(groups) - set(KEYS):
        raise ValueError(f"cannot group by {', '.join(sorted(unknown))}")
    flags = [k in groups for k in KEYS]
    args = [
        account_id, f.project_id, *flags, f.run_id, f.engine, f.model, f.location_code, f.date_from, f.date_to,
        f.tag, None if f.prompts is None else list(f.prompts),
    ]  # fmt: skip
    sql = load(dialect)["brand_answer_counts"].sql
    return _rows(await c.fetch_composed(sql, args, QUERY_SECONDS))


def _rows(rows: Sequence[Sequence[Any]]) -> list[CountRow]:
    out = []
    for r in rows:
        n = [int(v or 0) for v in r[8:15]]
        out.append(
            CountRow(str(r[0]), str(r[1]), int(r[2] or 0), str(r[3]), str(r[4]), str(r[5]), str(r[6]), bool(r[7]),
                     n[0], n[1], n[2], n[3], n[4], n[5], n[6])
        )  # fmt: skip
    return out
