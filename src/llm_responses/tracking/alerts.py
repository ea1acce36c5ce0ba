"""A project's alert rules over a finished run, as pure functions of brand-metric rows (the shape
``analysis`` gives: ``entity``, ``competitor``, ``answers``, ``mentions``, ``visibility``,
``share_of_voice`` ... and the group keys): what changed against the baseline, as ``NewAlert``s.

Each finding has a dedupe key, so evaluating a run twice records nothing twice, and a domain is new once
per project. The first answered run of a project has no baseline: only run problems are reported for it
(everything would be "new").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from llm_responses.store.tracking import NewAlert
from llm_responses.tracking.spec import Alerts

MAX_PER_RULE = 20  # findings of one rule in one run; more are summed up in the last one


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a run (or a baseline window) said: per brand its metrics, per prompt the brands it named."""

    brands: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity → its metrics row
    named: dict[str, set[str]] = field(default_factory=dict)  # prompt → the brands named in its answers

    @classmethod
    def of(
        cls,
        totals: Iterable[dict[str, Any]],
        by_prompt: Iterable[dict[str, Any]] = (),
        answered: Iterable[str] = (),
    ) -> Snapshot:
        """``answered``: the prompts with an answer, those naming no brand included (a brand named for one
        of them next time is new)."""
        named: dict[str, set[str]] = {prompt: set() for prompt in answered}
        for r in by_prompt:
            names = named.setdefault(r["prompt"], set())
            if r["mentions"]:
                names.add(r["entity"])
        return cls({r["entity"]: r for r in totals if r["answers"]}, named)


def evaluate(
    rules: Alerts,
    *,
    run_id: int,
    own: str | None,
    current: Snapshot,
    baseline: Snapshot | None,
    previous: Snapshot | None,
    new_domains: list[str],
    status: str,
    problem: str | None = None,
) -> list[NewAlert]:
    """Every finding of ``rules`` for run ``run_id``: ``baseline`` is what drops are measured against
    (the previous run or the 7-day average), ``previous`` the run before (for mention changes)."""
    out: list[NewAlert] = []
    if rules.run_problems and status in ("failed", "partial", "over_budget"):
        kind = "over_budget" if status == "over_budget" else "run_failed"
        out.append(NewAlert(kind, problem or f"the run ended {status}", f"run:{run_id}:{kind}",
                            detail={"run_id": run_id, "status": status}))  # fmt: skip
    if baseline is not None:
        for metric, points in (
            ("visibility", rules.visibility_drop_points),
            ("share_of_voice", rules.share_of_voice_drop_points),
        ):
            if points:
                out += _drops(run_id, metric, points, current, baseline, rules.against)
        if rules.competitor_overtakes and own:
            out += _overtaken(run_id, own, current, baseline)
    if previous is not None and rules.mention_changes:
        out += _changes(run_id, current, previous)
    if previous is not None and rules.new_domains:
        out += _capped(
            [
                NewAlert(
                    "new_domain",
                    f"{d} is cited for the first time",
                    f"domain:{d}",
                    subject=d,
                    detail={"domain": d, "run_id": run_id},
                )
                for d in sorted(new_domains)
            ],  # fmt: skip
            "new_domain",
            run_id,
        )
    return out


def _drops(
    run_id: int, metric: str, points: float, current: Snapshot, baseline: Snapshot, against: str
) -> list[NewAlert]:
    label = metric.replace("_", " ")
    out = []
    for brand, before in baseline.brands.items():
        now = current.brands.get(brand)
        if now is None:
            continue
        drop = round((before[metric] - now[metric]) * 100, 1)
        if drop >= points:
            out.append(NewAlert(
                f"{metric}_drop",
                f"{brand}'s {label} fell {drop:g} points to {now[metric] * 100:.1f}% "
                f"(from {before[metric] * 100:.1f}%, {against.replace('_', ' ')})",
                f"run:{run_id}:{metric}_drop:{brand}",
                brand=brand,
                detail={"metric": metric, "before": before[metric], "now": now[metric], "points": drop,
                        "against": against, "answers": now["answers"], "run_id": run_id},
            ))  # fmt: skip
    return out


def _overtaken(run_id: int, own: str, current: Snapshot, baseline: Snapshot) -> list[NewAlert]:
    mine_now, mine_before = current.brands.get(own), baseline.brands.get(own)
    if mine_now is None or mine_before is None:
        return []
    out = []
    for brand, now in current.brands.items():
        before = baseline.brands.get(brand)
        if brand == own or before is None:
            continue
        if before["visibility"] <= mine_before["visibility"] and now["visibility"] > mine_now["visibility"]:
            out.append(NewAlert(
                "overtaken",
                f"{brand} overtook {own}: {now['visibility'] * 100:.1f}% against {mine_now['visibility'] * 100:.1f}%",
                f"run:{run_id}:overtaken:{brand}",
                brand=own,
                subject=brand,
                detail={"competitor": brand, "competitor_visibility": now["visibility"],
                        "own_visibility": mine_now["visibility"], "run_id": run_id},
            ))  # fmt: skip
    return out


def _changes(run_id: int, current: Snapshot, previous: Snapshot) -> list[NewAlert]:
    new, lost = [], []
    for prompt, names in sorted(current.named.items()):
        if prompt not in previous.named:
            continue  # a prompt the previous run did not answer: nothing to compare
        before = previous.named[prompt]
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
        for brand in sorted(names - before):
            new.append(NewAlert("new_mention", f"{brand} is now named for \u201c{_short(prompt)}\u201d",
                                f"run:{run_id}:new_mention:{brand}:{digest}", brand=brand, subject=prompt,
                                detail={"prompt": prompt, "run_id": run_id}))  # fmt: skip
        for brand in sorted(before - names):
            lost.append(NewAlert("lost_mention", f"{brand} is no longer named for \u201c{_short(prompt)}\u201d",
                                 f"run:{run_id}:lost_mention:{brand}:{digest}", brand=brand, subject=prompt,
                                 detail={"prompt": prompt, "run_id": run_id}))  # fmt: skip
    return _capped(new, "new_mention", run_id) + _capped(lost, "lost_mention", run_id)


def _capped(found: list[NewAlert], kind: str, run_id: int) -> list[NewAlert]:
    """At most ``MAX_PER_RULE`` findings; the rest counted in one more."""
    if len(found) <= MAX_PER_RULE:
        return found
    rest = len(found) - MAX_PER_RULE + 1
    summary = NewAlert(kind, f"and {rest} more {kind.replace('_', ' ')} findings in this run",
                       f"run:{run_id}:{kind}:more", detail={"more": rest, "run_id": run_id})  # fmt: skip
    return [*found[: MAX_PER_RULE - 1], summary]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
