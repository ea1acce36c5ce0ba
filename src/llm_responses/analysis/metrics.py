"""Visibility metrics over many answers, with the formulas written down (the GEO tools' definitions, as their
documentation states them):

- ``answers``: answers in the group; ``mentions``: answers naming the entity (presence, not frequency).
- ``visibility`` = mentions / answers (Elmo, Peec, AirOps' mention rate).
- ``share_of_voice`` = mentions / Σ mentions of every tracked entity in the group (Peec, Elmo).
- ``citations``: answers citing the entity's domains; ``citation_share`` = citations / answers with at least
  one citation (AirOps' citation rate; several URLs of one domain count once).
- ``average_position`` = mean 1-based position among tracked entities, over the answers naming it.
- ``negated``: answers whose first mention follows a negation (to review, still counted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llm_responses.analysis.mentions import Hit

GROUPS = ("prompt", "tag", "engine", "model", "country", "day")


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer, reduced to what the metrics group by and what was found in it."""

    task_id: str
    tag: str
    engine: str
    model: str
    country: str
    day: str  # YYYY-MM-DD (UTC) it was asked
    cited_any: bool
    hits: tuple[Hit, ...]
    prompt: str = ""  # the user_prompt


class Tally:
    """The metrics accumulated one answer at a time: memory grows with groups × entities, not answers."""

    def __init__(self, by: tuple[str, ...] = ()) -> None:
        unknown = [g for g in by if g not in GROUPS]
        if unknown:
            raise ValueError(f"cannot group by {', '.join(unknown)}: use {', '.join(GROUPS)}")
        self.by = by
        self._groups: dict[tuple[str, ...], dict[str, Any]] = {}

    def add(self, a: Answer) -> None:
        group = self._groups.setdefault(
            tuple(getattr(a, g) for g in self.by), {"answers": 0, "with_citations": 0, "entities": {}}
        )
        group["answers"] += 1
        group["with_citations"] += a.cited_any
        for h in a.hits:
            t = group["entities"].setdefault(
                h.entity,
                {
                    "competitor": h.competitor,
                    "mentions": 0,
                    "citations": 0,
                    "positions": 0,
                    "position_sum": 0,
                    "negated": 0,
                },
            )
            t["mentions"] += h.mentioned
            t["citations"] += h.cited
            t["negated"] += h.negated
            if h.position is not None:
                t["positions"] += 1
                t["position_sum"] += h.position

    def rows(self) -> list[dict[str, Any]]:
        """One row per (group, entity): the counts and the ratios above, rounded to 4 decimals."""
        rows: list[dict[str, Any]] = []
        for key in sorted(self._groups):
            group = self._groups[key]
            all_mentions = sum(t["mentions"] for t in group["entities"].values())
            for entity, t in group["entities"].items():
                rows.append(
                    {
                        **dict(zip(self.by, key, strict=True)),
                        "entity": entity,
                        "competitor": t["competitor"],
                        "answers": group["answers"],
                        "mentions": t["mentions"],
                        "visibility": _ratio(t["mentions"], group["answers"]),
                        "share_of_voice": _ratio(t["mentions"], all_mentions),
                        "citations": t["citations"],
                        "citation_share": _ratio(t["citations"], group["with_citations"]),
                        "average_position": round(t["position_sum"] / t["positions"], 4)
                        if t["positions"]
                        else None,
                        "negated": t["negated"],
                    }
                )
        return rows


def metrics(answers: Iterable[Answer], by: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``Tally`` over ``answers`` at once."""
    tally = Tally(by)
    for a in answers:
        tally.add(a)
    return tally.rows()


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
