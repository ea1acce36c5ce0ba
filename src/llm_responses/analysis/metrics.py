"""Visibility metrics over many answers, with the formulas written down (the GEO tools' definitions,
``shared/reference/field_2026-12.md`` §3.3):

- ``answers``: answers in the group; ``mentions``: answers naming the entity (presence, not frequency).
- ``visibility`` = mentions / answers (Elmo, Peec, AirOps' mention rate).
- ``share_of_voice`` = mentions / Σ mentions of every tracked entity in the group (Peec, Elmo).
- ``citations``: answers citing the entity's domains; ``citation_share`` = citations / answers with at least
  one citation (AirOps' citation rate; several URLs of one domain count once).
- ``average_position`` = mean 1-based position among tracked entities, over the answers naming it.
- ``negated``: answers whose first mention follows a negation (to review, still counted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llm_responses.analysis.mentions import Hit

GROUPS = ("tag", "engine", "model", "country", "day")


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer, reduced to what the metrics group by and what was found in it."""

    task_id: str
    tag: str
    engine: str
    model: str
    country: str
    day: str  # YYYY-MM-DD of finishing
    cited_any: bool
    hits: tuple[Hit, ...]


def metrics(answers: Iterable[Answer], by: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One row per (group, entity): the counts and the ratios above, rounded to 4 decimals."""
    unknown = [g for g in by if g not in GROUPS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}: use {', '.join(GROUPS)}")
    groups: dict[tuple[str, ...], list[Answer]] = defaultdict(list)
    for a in answers:
        groups[tuple(getattr(a, g) for g in by)].append(a)
    rows: list[dict[str, Any]] = []
    for key in sorted(groups):
        members = groups[key]
        with_citations = sum(a.cited_any for a in members)
        totals: dict[str, dict[str, Any]] = {}
        for a in members:
            for h in a.hits:
                t = totals.setdefault(
                    h.entity,
                    {
                        "competitor": h.competitor,
                        "mentions": 0,
                        "citations": 0,
                        "positions": [],
                        "negated": 0,
                    },
                )
                t["mentions"] += h.mentioned
                t["citations"] += h.cited
                t["negated"] += h.negated
                if h.position is not None:
                    t["positions"].append(h.position)
        all_mentions = sum(t["mentions"] for t in totals.values())
        for entity, t in totals.items():
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "entity": entity,
                    "competitor": t["competitor"],
                    "answers": len(members),
                    "mentions": t["mentions"],
                    "visibility": _ratio(t["mentions"], len(members)),
                    "share_of_voice": _ratio(t["mentions"], all_mentions),
                    "citations": t["citations"],
                    "citation_share": _ratio(t["citations"], with_citations),
                    "average_position": round(sum(t["positions"]) / len(t["positions"]), 4)
                    if t["positions"]
                    else None,
                    "negated": t["negated"],
                }
            )
    return rows


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
