"""Visibility metrics over many answers, with the formulas written down (the GEO tools' definitions, as their
documentation states them):

- ``answers``: answers in the group; ``mentions``: answers naming the entity (presence, not frequency).
- ``visibility`` = mentions / answers (Elmo, Peec, AirOps' mention rate).
- ``share_of_voice`` = mentions / Σ mentions of every tracked entity in the group (Peec, Elmo).
- ``citations``: answers citing the entity's domains; ``citation_share`` = citations / answers with at least
  one citation (AirOps' citation rate; several URLs of one domain count once).
- ``average_position`` = mean 1-based position among tracked entities, over the answers naming it.
- ``negated``: answers whose first mention follows a negation (to review, still counted).

The counts come summed already (the mentions index's rollups, ``analysis/brand_metrics.py``); this module
is only the formulas over them, so every reader of brand metrics computes them one way. An entity has a
row in a group when at least one of the group's answers names or cites it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class BrandCounts:
    """One entity's counts in one group."""

    competitor: bool = False
    mentions: int = 0
    citations: int = 0
    positions: int = 0  # answers where it had a position
    position_sum: int = 0  # of 1-based positions
    negated: int = 0


@dataclass(slots=True)
class GroupCounts:
    """One group's answers, those citing anything, and each entity's counts."""

    answers: int = 0
    with_citations: int = 0
    entities: dict[str, BrandCounts] = field(default_factory=dict)


def metric_rows(by: tuple[str, ...], groups: Mapping[tuple[str, ...], GroupCounts]) -> list[dict[str, Any]]:
    """One row per (group, entity), sorted by group key then entity: the counts and the ratios above,
    rounded to 4 decimals. (Written for speed: a year by engine and day is ~15,000 rows.)"""
    rows: list[dict[str, Any]] = []
    append = rows.append
    for key in sorted(groups):
        group = groups[key]
        keys: dict[str, Any] = dict(zip(by, key, strict=True))
        answers, cited = group.answers, group.with_citations
        all_mentions = sum(t.mentions for t in group.entities.values())
        for entity in sorted(group.entities):
            t = group.entities[entity]
            row = keys.copy()
            row["entity"] = entity
            row["competitor"] = t.competitor
            row["answers"] = answers
            row["mentions"] = t.mentions
            row["visibility"] = round(t.mentions / answers, 4) if answers else 0.0
            row["share_of_voice"] = round(t.mentions / all_mentions, 4) if all_mentions else 0.0
            row["citations"] = t.citations
            row["citation_share"] = round(t.citations / cited, 4) if cited else 0.0
            row["average_position"] = round(t.position_sum / t.positions, 4) if t.positions else None
            row["negated"] = t.negated
            append(row)
    return rows


COLUMNS = ("entity", "competitor", "answers", "mentions", "visibility", "share_of_voice", "citations",
           "citation_share", "average_position", "negated")  # fmt: skip
