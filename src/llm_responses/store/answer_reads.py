"""The dashboard's reads of single answers from the mentions index: a filtered list newest first, what a
list row shows of each answer (country, citations, a snippet, the brands it names), the domains and pages
answers cite (per brand, and the gap: cited where competitors are named and the own brand is not), and which
prompts name which brand day by day (new and lost).

Each is one statement on a heavy-read connection with a time limit, composed as ``store/brand_counts.py``'s
are (the same ``CountFilter``, only the filters given become SQL, every value a parameter). A list is a
page cut by the index on (project, asked_at) or (project, prompt, asked_at) (migration 0007), never a sort
of a project's answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from llm_responses.store.brand_counts import (
    ANSWER_COLUMNS,
    QUERY_SECONDS,
    ROLLUP_COLUMNS,
    CountFilter,
    TypedParams,
    where_of,
)
from llm_responses.store.connection import Connection
from llm_responses.store.queries import Dialect

SNIPPET = 400  # characters of an answer a list shows


@dataclass(frozen=True, slots=True)
class AnswerRow:
    task_id: str
    asked_at: float
    engine: str
    model: str
    location_code: int  # 0: no country
    day: str
    question: str
    run_id: int | None
    project_id: int
    prompt_hash: str


@dataclass(frozen=True, slots=True)
class NamedBrand:
    brand: str
    competitor: bool
    position: int | None
    mentioned: bool
    cited: bool


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    """What a list shows of one answer besides its task."""

    location_code: int
    citations: int  # distinct cited URLs
    snippet: str  # the answer's start, URLs blanked (as the index keeps it)
    brands: tuple[NamedBrand, ...]  # named or cited, by position


@dataclass(frozen=True, slots=True)
class Presence:
    """One day's answers of a prompt on an engine (``brand == ''``) or a brand named in them."""

    day: str
    prompt_hash: str
    engine: str
    brand: str


_ROW = (
    "a.task_id, a.asked_at, a.platform, a.model_name, COALESCE(a.location_code, 0), a.day, a.question, a.run_id, "
    "a.project_id, COALESCE(a.prompt_hash, '')"
)


def _answers_where(
    p: TypedParams, account_id: int, f: CountFilter, brand: str | None, prompt_hash: str | None
) -> str:
    where = where_of(p, account_id, f, ANSWER_COLUMNS, "a.")
    if prompt_hash is not None:
        where += f" AND a.prompt_hash = {p(prompt_hash, 'text')}"
    if f.prompts is not None:
        where += " AND " + p.in_list("a.question", f.prompts)
    if f.run_id is not None:
        where += f" AND a.run_id = {p(f.run_id, 'integer')}"
    if f.tag is not None:
        where += f" AND COALESCE(a.tag, '') = {p(f.tag, 'text')}"
    if brand is not None:
        where += (
            " AND EXISTS (SELECT 1 FROM mention_brands b WHERE b.answer_id = a.id AND b.mentioned "
            f"AND b.brand = {p(brand, 'text')})"
        )
    return where


async def answer_list(
    c: Connection,
    dialect: Dialect,
    account_id: int,
    f: CountFilter,
    *,
    brand: str | None = None,
    prompt_hash: str | None = None,
    before: tuple[float, str] | None = None,
    limit: int = 50,
) -> list[AnswerRow]:
    """A page of the indexed answers matching ``f`` (naming ``brand``, of one prompt), newest first, before
    ``(asked_at, task_id)``."""
    p = TypedParams(dialect)
    where = _answers_where(p, account_id, f, brand, prompt_hash)
    # the dates again as times: ``day`` is ``asked_at``'s UTC date (the indexer writes both from the task's
    # created_at), and on ``asked_at`` the range and the order are one index range, read newest first up to the
    # page; on ``day`` alone the planner takes (project, day) and sorts every answer in the range first
    if f.date_from is not None:
        where += f" AND a.asked_at >= {p(_epoch(f.date_from), 'double precision')}"
    if f.date_to is not None:
        where += f" AND a.asked_at < {p(_epoch(f.date_to, 1), 'double precision')}"
    if before is not None:
        at, task_id = before
        where += (
            f" AND (a.asked_at < {p(at, 'double precision')} OR (a.asked_at = {p(at, 'double precision')} "
            f"AND a.task_id < {p(task_id, 'text')}))"
        )
    sql = (
        f"SELECT {_ROW} FROM mention_answers a WHERE {where} "
        f"ORDER BY a.asked_at DESC, a.task_id DESC LIMIT {p(limit, 'integer')}"
    )
    return [AnswerRow(*r) for r in await c.fetch_composed(sql, p.values, QUERY_SECONDS)]


def _epoch(day: str, later: int = 0) -> float:
    """The start of ``day`` (YYYY-MM-DD, UTC) plus ``later`` days, in seconds."""
    return (datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=later)).timestamp()


async def answer_of(c: Connection, dialect: Dialect, account_id: int, task_id: str) -> AnswerRow | None:
    p = TypedParams(dialect)
    sql = (
        f"SELECT {_ROW} FROM mention_answers a WHERE a.account_id = {p(account_id, 'integer')} "
        f"AND a.task_id = {p(task_id, 'text')}"
    )
    rows = await c.fetch_composed(sql, p.values, QUERY_SECONDS)
    return AnswerRow(*rows[0]) if rows else None


async def answer_facts(
    c: Connection, dialect: Dialect, account_id: int, task_ids: Sequence[str]
) -> dict[str, AnswerFacts]:
    """Per task id (those indexed): country, citations, snippet and brands; two statements for a page."""
    if not task_ids:
        return {}
    p = TypedParams(dialect)
    ids = p.in_list("a.task_id", list(task_ids))
    account = p(account_id, "integer")
    rows = await c.fetch_composed(
        f"SELECT a.task_id, COALESCE(a.location_code, 0), (SELECT COUNT(DISTINCT l.url) FROM mention_links l "
        f"WHERE l.answer_id = a.id AND l.scope = 's'), substr(COALESCE(t.answer, ''), 1, {SNIPPET}) "
        f"FROM mention_answers a LEFT JOIN mention_texts t ON t.id = a.id WHERE a.account_id = {account} AND {ids}",
        p.values,
        QUERY_SECONDS,
    )
    named = await c.fetch_composed(
        "SELECT a.task_id, b.brand, b.competitor, b.position, b.mentioned, b.cited FROM mention_answers a "
        f"JOIN mention_brands b ON b.answer_id = a.id WHERE a.account_id = {account} AND {ids} "
        "AND (b.mentioned OR b.cited) ORDER BY a.task_id, COALESCE(b.position, 1000), b.brand",
        p.values,
        QUERY_SECONDS,
    )
    brands: dict[str, list[NamedBrand]] = {}
    for task_id, brand, competitor, position, mentioned, cited in named:
        brands.setdefault(task_id, []).append(
            NamedBrand(brand, bool(competitor), position, bool(mentioned), bool(cited))
        )
    return {
        task_id: AnswerFacts(code, int(n), " ".join(snippet.split()), tuple(brands.get(task_id, ())))
        for task_id, code, n, snippet in rows
    }


Kind = Literal["domain", "url"]


async def cited(
    c: Connection,
    dialect: Dialect,
    account_id: int,
    f: CountFilter,
    kind: Kind,
    *,
    brand: str | None = None,
    limit: int = 50,
) -> tuple[int, list[tuple[str, int]]]:
    """(answers matching, the domains or pages most of them cite with how many cite each): an answer counts
    once per domain however many of its pages it cites."""
    p = TypedParams(dialect)
    where = _answers_where(p, account_id, f, brand, None)
    column = "l.domain" if kind == "domain" else "l.url"
    sql = (
        f"WITH a AS NOT MATERIALIZED (SELECT a.id FROM mention_answers a WHERE {where}) "
        f"SELECT '', COUNT(*) FROM a UNION ALL SELECT * FROM (SELECT {column}, COUNT(DISTINCT l.answer_id) AS n "
        f"FROM a JOIN mention_links l ON l.answer_id = a.id AND l.scope = 's' GROUP BY {column} "
        f"ORDER BY n DESC, {column} LIMIT {p(limit, 'integer')}) top"
    )
    rows = await c.fetch_composed(sql, p.values, QUERY_SECONDS)
    return int(rows[0][1]), [(key, int(n)) for key, n in rows[1:]]


async def gap(
    c: Connection, dialect: Dialect, account_id: int, f: CountFilter, own: str, *, limit: int = 50
) -> list[tuple[str, int, int]]:
    """(domain, answers citing it that name a competitor and not ``own``, answers citing it that name
    ``own``): the sources where the competitors are talked about and the own brand is not."""
    p = TypedParams(dialect)
    where = _answers_where(p, account_id, f, None, None)
    us = p(own, "text")
    sql = (
        "WITH a AS (SELECT a.id, MAX(CASE WHEN b.mentioned AND b.brand = "
        + us
        + " THEN 1 ELSE 0 END) AS us, "
        "MAX(CASE WHEN b.mentioned AND b.competitor THEN 1 ELSE 0 END) AS them FROM mention_answers a "
        f"JOIN mention_brands b ON b.answer_id = a.id WHERE {where} GROUP BY a.id) "
        "SELECT * FROM (SELECT l.domain, COUNT(DISTINCT CASE WHEN a.them = 1 AND a.us = 0 THEN a.id END) AS gap, "
        "COUNT(DISTINCT CASE WHEN a.us = 1 THEN a.id END) AS with_us FROM a "
        "JOIN mention_links l ON l.answer_id = a.id AND l.scope = 's' GROUP BY l.domain) g "
        f"WHERE g.gap > 0 ORDER BY g.gap DESC, g.with_us, g.domain LIMIT {p(limit, 'integer')}"
    )
    return [(d, int(n), int(w)) for d, n, w in await c.fetch_composed(sql, p.values, QUERY_SECONDS)]


async def cited_by_day(
    c: Connection,
    dialect: Dialect,
    account_id: int,
    f: CountFilter,
    kind: Kind,
    keys: Sequence[str],
    *,
    brand: str | None = None,
) -> list[tuple[str, str, int]]:
    """(day, key, answers citing it) for the given domains or pages, and (day, '', answers) per day."""
    if not keys:
        return []
    p = TypedParams(dialect)
    where = _answers_where(p, account_id, f, brand, None)
    column = "l.domain" if kind == "domain" else "l.url"
    sql = (
        f"WITH a AS NOT MATERIALIZED (SELECT a.id, a.day FROM mention_answers a WHERE {where}) "
        "SELECT a.day, '', COUNT(*) FROM a GROUP BY a.day UNION ALL "
        f"SELECT a.day, {column}, COUNT(DISTINCT a.id) FROM a JOIN mention_links l ON l.answer_id = a.id "
        f"AND l.scope = 's' WHERE {p.in_list(column, list(keys))} GROUP BY a.day, {column}"
    )
    return [(day, key, int(n)) for day, key, n in await c.fetch_composed(sql, p.values, QUERY_SECONDS)]


async def presence(
    c: Connection, dialect: Dialect, account_id: int, f: CountFilter, hashes: Sequence[str] | None = None
) -> list[Presence]:
    """Per day, prompt and engine: that it was answered (brand '') and each brand its answers named, from
    the per-prompt rollups (the answers are not read); ``hashes``: only these prompts."""
    p = TypedParams(dialect)
    where = where_of(p, account_id, f, ROLLUP_COLUMNS)
    if hashes is not None:
        where += " AND " + p.in_list("prompt_hash", list(hashes))
    sql = (
        "SELECT day, prompt_hash, platform, brand FROM mention_prompt_rollups "
        f"WHERE {where} AND ((brand = '' AND answers > 0) OR mentions > 0) "
        "GROUP BY day, prompt_hash, platform, brand"
    )
    return [Presence(*r) for r in await c.fetch_composed(sql, p.values, QUERY_SECONDS)]


async def prompt_texts(
    c: Connection, dialect: Dialect, account_id: int, project_id: int, hashes: Sequence[str]
) -> dict[str, str]:
    if not hashes:
        return {}
    p = TypedParams(dialect)
    sql = (
        f"SELECT prompt_hash, question FROM mention_prompts WHERE account_id = {p(account_id, 'integer')} "
        f"AND project_id = {p(project_id, 'integer')} AND {p.in_list('prompt_hash', list(hashes))}"
    )
    return {h: q for h, q in await c.fetch_composed(sql, p.values, QUERY_SECONDS)}


async def incomplete_reason(c: Connection, dialect: Dialect, account_id: int, task_id: str) -> str | None:
    """Why an answered task's text stopped early (``incomplete: max_output_tokens``), when it did."""
    p = TypedParams(dialect)
    sql = f"SELECT error_detail FROM tasks WHERE id = {p(task_id, 'text')} AND account_id = {p(account_id, 'integer')}"
    rows = await c.fetch_composed(sql, p.values, QUERY_SECONDS)
    detail = rows[0][0] if rows else None
    return (
        detail.removeprefix("incomplete: ")
        if isinstance(detail, str) and detail.startswith("incomplete")
        else None
    )


async def models(c: Connection, dialect: Dialect, account_id: int, project_id: int) -> list[str]:
    """The model names a project's answers came from (as the index keeps them: the vendor's snapshot)."""
    p = TypedParams(dialect)
    sql = (
        f"SELECT DISTINCT model_name FROM mention_rollups WHERE account_id = {p(account_id, 'integer')} "
        f"AND project_id = {p(project_id, 'integer')} ORDER BY model_name"
    )
    return [m for (m,) in await c.fetch_composed(sql, p.values, QUERY_SECONDS)]
