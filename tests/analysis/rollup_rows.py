"""The mentions index as the indexer leaves it, written straight into a database for the brand metrics' tests
and benchmark: answers (``mention_answers``), the brands found in them (``mention_brands``) and both rollup
tables with the prompts' texts, the rollups summed in SQL from the answers with the indexer's semantics
(``brand = ''``: the group's answers and those citing anything; a brand's row: answers naming it, citing it,
with a position, the positions' sum, negated first mentions).

``reference`` is the Python rescan the rollups replaced (the old ``analysis.metrics.Tally``), kept here as
the oracle the SQL answers are checked against.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from llm_responses.analysis.answer_index import location_code, prompt_hash
from llm_responses.store.postgres_database import dsn_of
from llm_responses.store.sqlite_database import sqlite_path


@dataclass(frozen=True, slots=True)
class Found:
    """One tracked brand in one answer (the index keeps those named or cited)."""

    brand: str
    competitor: bool = False
    mentioned: bool = True
    cited: bool = False
    position: int | None = None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    """One indexed answer."""

    account_id: int
    project_id: int = 0
    run_id: int | None = None
    engine: str = "chat_gpt"
    model: str = "gpt-4.1-mini"
    country: str = ""  # alpha-2, '' none
    tag: str = ""
    day: str = "2026-12-01"
    question: str = "best parks"
    cited_any: bool = False
    found: tuple[Found, ...] = ()


_COUNTS = "brand, competitor, answers, with_citations, mentions, citations, positions, position_sum, negated"
_SUMMED = ("brand, MAX(CASE WHEN competitor THEN 1 ELSE 0 END) = 1, SUM(answers), SUM(with_citations), SUM(mentions), "
           "SUM(citations), SUM(positions), SUM(position_sum), SUM(negated)")  # fmt: skip

# the rollups from the answers, as the indexer keeps them (every statement the same text on both databases)
REBUILD = [
    "DELETE FROM mention_rollups",
    "DELETE FROM mention_prompt_rollups",
    """INSERT INTO mention_rollups (account_id, project_id, day, platform, model_name, location_code, brand,
        competitor, answers, with_citations, mentions, citations, positions, position_sum, negated)
    SELECT account_id, project_id, day, platform, model_name, COALESCE(location_code, 0), '', false, COUNT(*),
        SUM(CASE WHEN cited_domains <> '[]' THEN 1 ELSE 0 END), 0, 0, 0, 0, 0
    FROM mention_answers GROUP BY account_id, project_id, day, platform, model_name, COALESCE(location_code, 0)""",
    """INSERT INTO mention_rollups (account_id, project_id, day, platform, model_name, location_code, brand,
        competitor, answers, with_citations, mentions, citations, positions, position_sum, negated)
    SELECT a.account_id, a.project_id, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0), b.brand,
        MAX(CASE WHEN b.competitor THEN 1 ELSE 0 END) = 1, 0, 0, SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END),
        SUM(CASE WHEN b.cited THEN 1 ELSE 0 END), COUNT(b.position), COALESCE(SUM(b.position), 0),
        SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
    FROM mention_answers a JOIN mention_brands b ON b.answer_id = a.id
    GROUP BY a.account_id, a.project_id, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0), b.brand""",
    """INSERT INTO mention_prompt_rollups (account_id, project_id, prompt_hash, day, platform, model_name,
        location_code, brand, competitor, answers, with_citations, mentions, citations, positions, position_sum,
        negated)
    SELECT a.account_id, a.project_id, p.prompt_hash, a.day, a.platform, a.model_name,
        COALESCE(a.location_code, 0), '', false, COUNT(*), SUM(CASE WHEN a.cited_domains <> '[]' THEN 1 ELSE 0 END),
        0, 0, 0, 0, 0
    FROM mention_answers a JOIN mention_prompts p ON p.account_id = a.account_id
        AND p.project_id = a.project_id AND p.question = a.question
    GROUP BY a.account_id, a.project_id, p.prompt_hash, a.day, a.platform, a.model_name,
        COALESCE(a.location_code, 0)""",
    """INSERT INTO mention_prompt_rollups (account_id, project_id, prompt_hash, day, platform, model_name,
        location_code, brand, competitor, answers, with_citations, mentions, citations, positions, position_sum,
        negated)
    SELECT a.account_id, a.project_id, p.prompt_hash, a.day, a.platform, a.model_name,
        COALESCE(a.location_code, 0), b.brand, MAX(CASE WHEN b.competitor THEN 1 ELSE 0 END) = 1, 0, 0,
        SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), SUM(CASE WHEN b.cited THEN 1 ELSE 0 END),
        COUNT(b.position), COALESCE(SUM(b.position), 0), SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
    FROM mention_answers a JOIN mention_prompts p ON p.account_id = a.account_id
        AND p.project_id = a.project_id AND p.question = a.question
        JOIN mention_brands b ON b.answer_id = a.id
    GROUP BY a.account_id, a.project_id, p.prompt_hash, a.day, a.platform, a.model_name,
        COALESCE(a.location_code, 0), b.brand""",
    # the coarser tables: the finer ones' sums
    "DELETE FROM mention_daily_rollups",
    "DELETE FROM mention_prompt_totals",
    f"""INSERT INTO mention_daily_rollups (account_id, project_id, day, platform, {_COUNTS})
    SELECT account_id, project_id, day, platform, {_SUMMED} FROM mention_rollups
    GROUP BY account_id, project_id, day, platform, brand""",
    f"""INSERT INTO mention_prompt_totals (account_id, project_id, prompt_hash, platform, {_COUNTS})
    SELECT account_id, project_id, prompt_hash, platform, {_SUMMED} FROM mention_prompt_rollups
    GROUP BY account_id, project_id, prompt_hash, platform, brand""",
]

_ANSWER = """INSERT INTO mention_answers (task_id, account_id, project_id, run_id, platform, model_name,
    location_code, language_code, tag, day, asked_at, web_search, question, cited_domains, result_domains,
    brand_names, brand_categories)
VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, 0, true, $10, $11, '[]', '[]', '[]') RETURNING id"""
_BRAND = """INSERT INTO mention_brands (answer_id, account_id, brand, category, competitor, position, mentioned,
    cited, negated, first_offset) VALUES ($1, $2, $3, 'brand', $4, $5, $6, $7, $8, NULL)"""


class Raw:
    """SQL on either database by URL, ``$n`` placeholders on both (no store in between)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite: sqlite3.Connection | None = None
        self.pg: asyncpg.Connection | None = None

    async def __aenter__(self) -> Raw:
        if self.url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(sqlite_path(self.url), isolation_level=None)
            self.sqlite.execute("BEGIN")
        else:
            self.pg = await asyncpg.connect(dsn_of(self.url))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.sqlite is not None:
            self.sqlite.execute("COMMIT")
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()

    async def execute(self, sql: str, *args: Any) -> None:
        if self.sqlite is not None:
            self.sqlite.execute(re.sub(r"\$(\d+)", r"?\1", sql), args)
        else:
            assert self.pg is not None
            await self.pg.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        if self.sqlite is not None:
            return self.sqlite.execute(re.sub(r"\$(\d+)", r"?\1", sql), args).fetchall()
        assert self.pg is not None
        return list(await self.pg.fetch(sql, *args))


async def rebuild(url: str) -> None:
    """Every rollup (and prompt text) again from the indexed answers: what the indexer would have written."""
    async with Raw(url) as db:
        questions = await db.fetch("SELECT DISTINCT account_id, project_id, question FROM mention_answers")
        await db.execute("DELETE FROM mention_prompts")
        for account_id, project_id, question in questions:
            await db.execute(
                "INSERT INTO mention_prompts (account_id, project_id, prompt_hash, question) VALUES ($1, $2, $3, $4)",
                account_id, project_id, prompt_hash(question), question,
            )  # fmt: skip
        for sql in REBUILD:
            await db.execute(sql)


async def insert(url: str, rows: Iterable[Row]) -> None:
    """The answers and the brands found in them, then the rollups over everything indexed."""
    async with Raw(url) as db:
        (start,) = (await db.fetch("SELECT COUNT(*) FROM mention_answers"))[0]
        for i, r in enumerate(rows, start):
            cited = json.dumps(["example.com"] if r.cited_any else [])
            args = (f"t-{i}", r.account_id, r.project_id, r.run_id, r.engine, r.model, location_code(r.country),
                    r.tag or None, r.day, r.question, cited)  # fmt: skip
            (answer_id,) = (await db.fetch(_ANSWER, *args))[0]
            for f in r.found:
                await db.execute(
                    _BRAND, answer_id, r.account_id, f.brand, f.competitor, f.position, f.mentioned, f.cited,
                    f.negated,
                )  # fmt: skip
    await rebuild(url)


def reference(
    rows: Iterable[Row], by: tuple[str, ...], keep: Callable[[Row], bool] = lambda r: True
) -> list[dict[str, Any]]:
    """The old ``Tally``: every answer read once, counted per group and brand, the same formulas."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for a in rows:
        if not keep(a):
            continue
        values = {"engine": a.engine, "model": a.model, "country": a.country, "day": a.day,
                  "prompt": a.question, "tag": a.tag}  # fmt: skip
        group = groups.setdefault(
            tuple(values[g] for g in by), {"answers": 0, "with_citations": 0, "entities": {}}
        )
        group["answers"] += 1
        group["with_citations"] += a.cited_any
        for h in a.found:
            t = group["entities"].setdefault(
                h.brand, {"competitor": h.competitor, "mentions": 0, "citations": 0, "positions": 0,
                          "position_sum": 0, "negated": 0},
            )  # fmt: skip
            t["mentions"] += h.mentioned
            t["citations"] += h.cited
            t["negated"] += h.negated
            if h.position is not None:
                t["positions"] += 1
                t["position_sum"] += h.position
    out: list[dict[str, Any]] = []
    for key in sorted(groups):
        group = groups[key]
        all_mentions = sum(t["mentions"] for t in group["entities"].values())
        for entity in sorted(group["entities"]):
            t = group["entities"][entity]
            out.append(
                {
                    **dict(zip(by, key, strict=True)), "entity": entity, "competitor": t["competitor"],
                    "answers": group["answers"], "mentions": t["mentions"],
                    "visibility": _ratio(t["mentions"], group["answers"]),
                    "share_of_voice": _ratio(t["mentions"], all_mentions), "citations": t["citations"],
                    "citation_share": _ratio(t["citations"], group["with_citations"]),
                    "average_position": round(t["position_sum"] / t["positions"], 4) if t["positions"] else None,
                    "negated": t["negated"],
                }
            )  # fmt: skip
    return out


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
