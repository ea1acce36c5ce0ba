"""Brand metrics from the rollups (and, for runs and task tags, from the indexed answers) equal what reading
every answer in Python computed, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import dataclasses
import itertools
import random

import pytest
import pytest_asyncio

from llm_responses.analysis.brand_metrics import GROUPS, BrandQuery, BrandScope, brand_metrics
from llm_responses.composition import make_store
from llm_responses.config import Settings
from tests.analysis.rollup_rows import Found, Row, insert, reference

BRANDS = {"Disneyland Paris": False, "Parc Astérix": True, "Futuroscope": True, "Puy du Fou": True}
PROMPTS = ("best parks", "parks near Paris", "rainy day ideas", "cheap tickets")
PROJECT = 7
TAGS = {"best parks": ("x",), "parks near Paris": ("x", "y"), "rainy day ideas": ()}  # the last one untagged


def answers(rng: random.Random, account_id: int, n: int) -> list[Row]:
    out = []
    for _ in range(n):
        named = rng.sample(list(BRANDS), rng.randrange(len(BRANDS) + 1))
        found = []
        position = 0
        for brand in named:
            mentioned = rng.random() < 0.8
            cited = not mentioned or rng.random() < 0.3
            position += mentioned
            found.append(
                Found(brand, BRANDS[brand], mentioned, cited, position if mentioned else None,
                      mentioned and rng.random() < 0.2)
            )  # fmt: skip
        out.append(
            Row(
                account_id=account_id,
                project_id=rng.choice((0, PROJECT)),
                run_id=rng.choice((None, 1, 2)),
                engine=rng.choice(("chat_gpt", "claude")),
                model=rng.choice(("m1", "m2")),
                country=rng.choice(("", "FR", "US")),
                tag=rng.choice(("", "a", "b")),
                day=rng.choice(("2026-11-30", "2026-12-01", "2026-12-02")),
                question=rng.choice(PROMPTS),
                cited_any=bool(found) and any(f.cited for f in found) or rng.random() < 0.2,
                found=tuple(found),
            )  # fmt: skip
        )
    return out


@pytest_asyncio.fixture
async def filled(database_url, rng):
    store = make_store(Settings(database_url=database_url))
    await store.open()
    alice = await store.create_account("alice", "ph", "th", 0)
    bob = await store.create_account("bob", "ph2", "th2", 0)
    rows = answers(rng, alice.id, 60) + answers(rng, bob.id, 15)
    await insert(database_url, rows)
    yield store, alice.id, rows
    await store.close()


def _mine(account_id: int, project_id: int):
    return lambda r: r.account_id == account_id and r.project_id == project_id


async def test_every_grouping_equals_reading_every_answer(filled):
    store, alice, rows = filled
    rollup_groups = [g for g in GROUPS if g != "tag"]
    combos = [
        (),
        *[(g,) for g in rollup_groups],
        *itertools.combinations(rollup_groups, 2),
        tuple(rollup_groups),
    ]
    for project_id in (0, PROJECT):
        for by in combos:
            found = await brand_metrics(store, alice, BrandQuery(by=by, project_id=project_id))
            assert found == reference(rows, by, _mine(alice, project_id)), (project_id, by)
            assert found  # the data has mentions in every grouping
    # a task tag of answers outside projects: counted from the answers themselves
    for by in (("tag",), ("tag", "engine"), ("day", "tag", "prompt")):
        assert await brand_metrics(store, alice, BrandQuery(by=by)) == reference(rows, by, _mine(alice, 0))


async def test_filters_equal_reading_the_answers_they_keep(filled):
    store, alice, rows = filled
    mine = _mine(alice, PROJECT)
    cases = [
        (BrandQuery(engine="claude"), lambda r: r.engine == "claude"),
        (BrandQuery(model="m2"), lambda r: r.model == "m2"),
        (BrandQuery(country="FR"), lambda r: r.country == "FR"),
        (BrandQuery(country=""), lambda r: r.country == ""),
        (BrandQuery(date_from="2026-12-01"), lambda r: r.day >= "2026-12-01"),
        (BrandQuery(date_from="2026-12-01", date_to="2026-12-01"), lambda r: r.day == "2026-12-01"),
        (BrandQuery(run_id=2), lambda r: r.run_id == 2),
        (BrandQuery(run_id=1, engine="chat_gpt"), lambda r: r.run_id == 1 and r.engine == "chat_gpt"),
    ]
    for q, keep in cases:
        for by in ((), ("engine", "day"), ("prompt",)):
            q = dataclasses.replace(q, by=by, project_id=PROJECT)
            assert await brand_metrics(store, alice, q) == reference(
                rows, by, lambda r, keep=keep: mine(r) and keep(r)
            ), q
    tagged = BrandQuery(by=("engine",), tag="a")
    assert await brand_metrics(store, alice, tagged) == reference(
        rows, ("engine",), lambda r: _mine(alice, 0)(r) and r.tag == "a"
    )


async def test_a_projects_tags_are_its_prompts_tags(filled):
    store, alice, rows = filled
    scope = BrandScope(prompt_tags=TAGS)
    # each answer counted once under every tag of its prompt ('' for a prompt without tags or no longer listed)
    per_tag = [
        dataclasses.replace(r, tag=tag)
        for r in rows
        if _mine(alice, PROJECT)(r)
        for tag in TAGS.get(r.question, ()) or ("",)
    ]
    for by in (("tag",), ("tag", "engine"), ("prompt", "tag")):
        found = await brand_metrics(store, alice, BrandQuery(by=by, project_id=PROJECT), scope)
        assert found == reference(per_tag, by), by
    only_y = BrandQuery(by=("engine",), project_id=PROJECT, tag="y")
    assert await brand_metrics(store, alice, only_y, scope) == reference(
        rows, ("engine",), lambda r: _mine(alice, PROJECT)(r) and r.question == "parks near Paris"
    )
    by_run = BrandQuery(by=("tag",), project_id=PROJECT, run_id=1, tag="x")
    assert await brand_metrics(store, alice, by_run, scope) == reference(
        [dataclasses.replace(r, tag="x") for r in rows if r.run_id == 1 and "x" in TAGS.get(r.question, ())],
        ("tag",),
        _mine(alice, PROJECT),
    )
    nobody = BrandQuery(project_id=PROJECT, tag="nobody")
    assert await brand_metrics(store, alice, nobody, scope) == []


async def test_another_accounts_answers_are_never_counted(filled):
    store, alice, rows = filled
    bob = next(r.account_id for r in rows if r.account_id != alice)
    theirs = await brand_metrics(store, bob, BrandQuery(by=("engine",)))
    assert theirs == reference(rows, ("engine",), _mine(bob, 0))
    assert await brand_metrics(store, alice + bob + 1, BrandQuery()) == []


async def test_unknown_groups_and_countries_are_refused(filled):
    store, alice, _ = filled
    with pytest.raises(ValueError, match="cannot group by weekday: use prompt, tag"):
        await brand_metrics(store, alice, BrandQuery(by=("engine", "weekday")))
    with pytest.raises(ValueError, match="not an ISO 3166"):
        await brand_metrics(store, alice, BrandQuery(country="XX"))
