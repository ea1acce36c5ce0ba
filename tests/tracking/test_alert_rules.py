"""The alert rules over metric rows: what fires, at which threshold, named once (dedupe keys), bounded."""

from __future__ import annotations

from llm_responses.tracking.alerts import MAX_PER_RULE, Snapshot, evaluate
from llm_responses.tracking.spec import Alerts


def row(entity: str, visibility: float, sov: float = 0.0, answers: int = 20, **keys):
    return {"entity": entity, "competitor": entity != "Own", "answers": answers, "mentions": round(visibility * answers),
            "visibility": visibility, "share_of_voice": sov, **keys}  # fmt: skip


def snap(*rows, named: dict[str, set[str]] | None = None) -> Snapshot:
    """As the mentions index answers: rows only for the brands a prompt's answers named; the answered prompts
    apart (a prompt naming no brand has no row)."""
    by_prompt = [
        {"prompt": p, "entity": e, "mentions": 1} for p, names in (named or {}).items() for e in names
    ]
    return Snapshot.of(rows, by_prompt, answered=list(named or {}))


def kinds(found):
    return sorted((a.kind, a.brand, a.subject) for a in found)


def test_a_drop_of_at_least_the_threshold_fires_and_a_smaller_one_does_not():
    before = snap(row("Own", 0.50, 0.40), row("Rival", 0.30, 0.30))
    after = snap(row("Own", 0.41, 0.35), row("Rival", 0.20, 0.29))
    found = evaluate(Alerts(), run_id=7, own="Own", current=after, baseline=before, previous=before,
                     new_domains=[], status="done")  # fmt: skip
    assert kinds(found) == [("visibility_drop", "Rival", None)]  # Own fell 9 points, Rival 10
    assert found[0].message == "Rival's visibility fell 10 points to 20.0% (from 30.0%, previous run)"
    assert found[0].dedupe == "run:7:visibility_drop:Rival"
    assert found[0].detail["answers"] == 20
    strict = Alerts(visibility_drop_points=5, share_of_voice_drop_points=5)
    found = evaluate(strict, run_id=7, own="Own", current=after, baseline=before, previous=before,
                     new_domains=[], status="done")  # fmt: skip
    assert kinds(found) == [("share_of_voice_drop", "Own", None), ("visibility_drop", "Own", None),
                            ("visibility_drop", "Rival", None)]  # fmt: skip
    off = Alerts(visibility_drop_points=0, share_of_voice_drop_points=0)
    assert evaluate(off, run_id=7, own="Own", current=after, baseline=before, previous=None, new_domains=[],
                    status="done") == []  # fmt: skip


def test_a_competitor_overtaking_the_own_brand_fires_once_per_run():
    before = snap(row("Own", 0.50), row("Rival", 0.45), row("Other", 0.10))
    after = snap(row("Own", 0.44), row("Rival", 0.46), row("Other", 0.12))
    found = evaluate(Alerts(visibility_drop_points=0, share_of_voice_drop_points=0), run_id=3, own="Own",
                     current=after, baseline=before, previous=None, new_domains=[], status="done")  # fmt: skip
    assert kinds(found) == [("overtaken", "Own", "Rival")]
    assert found[0].message == "Rival overtook Own: 46.0% against 44.0%"


def test_mention_changes_per_prompt_and_new_domains_against_the_previous_run():
    before = snap(row("Own", 0.5), row("Rival", 0.5), named={"p1": {"Own"}, "p2": {"Rival"}, "gone": {"Own"}})
    after = snap(
        row("Own", 0.5), row("Rival", 0.5), named={"p1": {"Own", "Rival"}, "p2": set(), "new": {"Own"}}
    )
    found = evaluate(Alerts(), run_id=9, own="Own", current=after, baseline=before, previous=before,
                     new_domains=["example.org"], status="done")  # fmt: skip
    assert kinds(found) == [("lost_mention", "Rival", "p2"), ("new_domain", None, "example.org"),
                            ("new_mention", "Rival", "p1")]  # fmt: skip
    assert {a.dedupe for a in found if a.kind == "new_domain"} == {
        "domain:example.org"
    }  # new once per project


def test_a_first_run_reports_only_its_problems():
    current = snap(row("Own", 0.0))
    found = evaluate(Alerts(), run_id=1, own="Own", current=current, baseline=None, previous=None,
                     new_domains=["a.com"], status="partial", problem="run 1: 2 of 12 tasks failed")  # fmt: skip
    assert [(a.kind, a.message) for a in found] == [("run_failed", "run 1: 2 of 12 tasks failed")]
    assert evaluate(Alerts(run_problems=False), run_id=1, own="Own", current=current, baseline=None,
                    previous=None, new_domains=[], status="failed") == []  # fmt: skip


def test_findings_of_one_rule_are_bounded_and_the_rest_counted():
    before = snap(row("Own", 0.5), named={f"p{i}": {"Own"} for i in range(50)})
    after = snap(row("Own", 0.5), named={f"p{i}": set() for i in range(50)})
    found = evaluate(Alerts(), run_id=2, own="Own", current=after, baseline=before, previous=before,
                     new_domains=[f"d{i}.com" for i in range(30)], status="done")  # fmt: skip
    lost = [a for a in found if a.kind == "lost_mention"]
    assert len(lost) == MAX_PER_RULE and lost[-1].message == "and 31 more lost mention findings in this run"
    assert len([a for a in found if a.kind == "new_domain"]) == MAX_PER_RULE
