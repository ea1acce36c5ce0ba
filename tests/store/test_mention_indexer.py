"""The mentions index fed through its outbox, on SQLite and PostgreSQL: a settled answer waits in the
outbox, the indexer reads it with the brands it is tracked for, and the rollups always equal the index rows
(however often a batch is claimed, by however many indexers, and after a re-index with other brands)."""

import asyncio
import json
import time

from llm_responses.analysis.mentions import Entity
from llm_responses.store import mention_queries
from llm_responses.store.records import NewTask, Outcome
from llm_responses.tasks.indexer import Indexer
from llm_responses.wire.mentions_request import parse_query

ACME = Entity("Acme", ("ACME Corp",), ("acme.com",), False)
GLOBEX = Entity("Globex", (), ("globex.com",), True)
INITECH = Entity("Initech", (), (), True)

ANSWERS = [  # (engine, model, country, prompt, text, cited urls)
    ("chat_gpt", "gpt-4.1-mini", "FR", "best anvils?", "Acme leads, Globex follows.", ["https://acme.com/a"]),
    ("chat_gpt", "gpt-4.1-mini", "FR", "best anvils?", "Globex, then Acme.", []),
    ("chat_gpt", "gpt-4.1", None, "best anvils?", "Nothing to name here.", ["https://example.org/x"]),
    (
        "claude",
        "claude-sonnet-4-5",
        "US",
        "cheap rockets?",
        "Not Acme: Globex is cheaper.",
        ["https://globex.com/r"],
    ),
    (
        "claude",
        "claude-sonnet-4-5",
        "US",
        "cheap rockets?",
        "Acme.",
        ["https://acme.com/r", "https://acme.com/s"],
    ),
    ("gemini", "gemini-2.5-flash", "US", "best anvils?", "Initech and Acme and Globex.", []),
]


def result(text: str, urls: list[str]) -> str:
    annotations = [
        {"type": "url_citation", "url": u, "title": u, "start_index": 0, "end_index": 1} for u in urls
    ]
    return json.dumps(
        {"web_search": bool(urls), "fan_out_queries": [],
         "items": [{"type": "message", "sections": [{"type": "text", "text": text, "annotations": annotations}]}]}
    )  # fmt: skip


async def settle_answers(store, account_id: int, answers=ANSWERS, project_id=None) -> list[str]:
    """Each answer posted, claimed and settled as a worker does: what leaves an outbox row."""
    tasks = []
    for i, (engine, model, country, prompt, _, _) in enumerate(answers):
        data = {"user_prompt": prompt, "model_name": model}
        if country:
            data["web_search_country_iso_code"] = country
        tasks.append(
            NewTask(id=f"00000000-0000-0000-0000-{i + 1:012d}", se=engine, endpoint="task_post",
                    request_json="{}", data_json=json.dumps(data), tag=None, postback_url=None,
                    pingback_url=None, base_price=0, prepayment=0, project_id=project_id)
        )  # fmt: skip
    await store.create_tasks(account_id, tasks, time.time())
    now = time.time()
    claimed = {c.id: c for c in await store.claim_tasks("w", 100, now + 60, now)}
    for task, (_, _, _, _, text, urls) in zip(tasks, answers, strict=True):
        c = claimed[task.id]
        outcome = Outcome(
            success=True, status_code=20000, status_message="Ok.", result_json=result(text, urls)
        )
        assert await store.finish_task(c.id, c.attempt, outcome, now)
    return [t.id for t in tasks]


def entities(brands: list[Entity]):
    async def of(project_id: int) -> list[Entity]:
        return brands

    return of


async def rollups(store, table: str = "mention_rollups") -> dict[tuple, tuple]:
    key = "day, platform, model_name, location_code, brand"
    if table == "mention_prompt_rollups":
        key = "prompt_hash, " + key
    rows = await store.db.read(
        lambda c: c.fetch_composed(
            f"SELECT {key}, competitor, answers, with_citations, mentions, citations, positions, position_sum,"
            f" negated FROM {table}",
            [],
            10.0,
        )
    )
    width = len(key.split(","))
    return {tuple(r[:width]): tuple(int(v) for v in r[width:]) for r in rows}


async def coarser(store, table: str) -> dict[tuple, tuple]:
    key = "day, platform" if table == "mention_daily_rollups" else "prompt_hash, platform"
    rows = await store.db.read(
        lambda c: c.fetch_composed(
            f"SELECT {key}, brand, competitor, answers, with_citations, mentions, citations, positions,"
            f" position_sum, negated FROM {table}",
            [],
            10.0,
        )
    )
    return {tuple(r[:3]): tuple(int(v) for v in r[3:]) for r in rows}


def summed(finer: dict[tuple, tuple], table: str) -> dict[tuple, tuple]:
    """The finer rollups summed to a coarser table's keys: what the coarser table must hold."""
    out: dict[tuple, list[int]] = {}
    for k, v in finer.items():
        key = (k[0], k[1], k[-1]) if table == "mention_daily_rollups" else (k[0], k[2], k[-1])
        row = out.setdefault(key, [0] * 8)
        row[0] = v[0]
        for i in range(1, 8):
            row[i] += v[i]
    return {k: tuple(v) for k, v in out.items()}


async def counted(store) -> dict[tuple, tuple]:
    """The per-day rollups as they must be: counted from the index rows themselves."""
    answers = await store.db.read(
        lambda c: c.fetch_composed(
            "SELECT id, day, platform, model_name, COALESCE(location_code, 0), cited_domains FROM mention_answers",
            [],
            10.0,
        )
    )
    brands = await store.db.read(
        lambda c: c.fetch_composed(
            "SELECT answer_id, brand, competitor, mentioned, cited, position, negated FROM mention_brands",
            [],
            10.0,
        )
    )
    group = {r[0]: tuple(r[1:5]) for r in answers}
    out: dict[tuple, list[int]] = {}
    for r in answers:
        row = out.setdefault((*group[r[0]], ""), [0, 0, 0, 0, 0, 0, 0, 0])
        row[1] += 1
        row[2] += r[5] != "[]"
    for answer_id, brand, competitor, mentioned, cited, position, negated in brands:
        row = out.setdefault((*group[answer_id], brand), [0, 0, 0, 0, 0, 0, 0, 0])
        row[0] = int(bool(competitor))
        row[3] += bool(mentioned)
        row[4] += bool(cited)
        row[5] += position is not None
        row[6] += position or 0
        row[7] += bool(negated)
    return {k: tuple(v) for k, v in out.items()}


async def test_a_settled_answer_waits_in_the_outbox_and_is_indexed_once_with_its_rollups(store):
    acc = await store.create_account("a", "h", "t", 10**12)
    await settle_answers(store, acc.id)
    backlog, lag = await store.index_backlog()
    assert backlog == len(ANSWERS) and lag >= 0
    assert await rollups(store) == {}  # nothing indexed while the settlement ran
    indexer = Indexer(store, entities([ACME, GLOBEX, INITECH]), "w")
    assert await indexer.drain() == len(ANSWERS)
    assert (await store.index_backlog())[0] == 0
    got = await rollups(store)
    assert got == await counted(store)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    # the hand count of the fixture: 2 chat_gpt/gpt-4.1-mini/FR answers, both naming Acme and Globex
    assert got[(day, "chat_gpt", "gpt-4.1-mini", 2250, "")][1:3] == (2, 1)
    assert got[(day, "chat_gpt", "gpt-4.1-mini", 2250, "Acme")][3:] == (2, 1, 2, 3, 0)  # positions 1 and 2
    assert got[(day, "claude", "claude-sonnet-4-5", 2840, "Acme")][3:] == (
        2,
        1,
        2,
        2,
        1,
    )  # "Not Acme": negated
    assert got[(day, "chat_gpt", "gpt-4.1", 0, "")][1:3] == (1, 1)
    prompts = await rollups(store, "mention_prompt_rollups")
    by_prompt: dict[tuple, list[int]] = {}
    for (_, *rest), values in prompts.items():
        total = by_prompt.setdefault(tuple(rest), [0] * 8)
        total[0] = values[0]
        for i in range(1, 8):
            total[i] += values[i]
    assert {k: tuple(v) for k, v in by_prompt.items()} == got  # summed over prompts: the per-day rollups
    for table in ("mention_daily_rollups", "mention_prompt_totals"):
        coarse = await coarser(store, table)
        assert coarse == summed(got if table == "mention_daily_rollups" else prompts, table), table
    texts = await store.db.read(
        lambda c: c.fetch_composed("SELECT question FROM mention_prompts ORDER BY question", [], 10.0)
    )
    assert [r[0] for r in texts] == ["best anvils?", "cheap rockets?"]
    assert await indexer.drain() == 0  # nothing twice


async def test_a_batch_whose_indexer_died_is_indexed_once_by_another(store):
    acc = await store.create_account("a", "h", "t", 10**12)
    await settle_answers(store, acc.id)
    dead = await store.claim_index_batch("dead", -1.0, 3)  # its lease is already over: it "died"
    assert len(dead) == 3
    a, b = Indexer(store, entities([ACME, GLOBEX]), "a"), Indexer(store, entities([ACME, GLOBEX]), "b")
    taken = await asyncio.gather(a.drain(), b.drain())  # two indexers at once
    assert sum(taken) == len(ANSWERS)
    assert (await store.index_backlog())[0] == 0
    got = await rollups(store)
    assert got == await counted(store)
    assert sum(v[1] for k, v in got.items() if k[-1] == "") == len(ANSWERS)  # every answer counted once
    # the dead indexer coming back cannot release rows it no longer holds, nor count anything again
    assert await store.index_claimed("dead", [t for t, _ in dead], [], []) == 0
    assert await rollups(store) == got


async def test_a_reindex_with_other_brands_takes_the_old_counts_out(store):
    acc = await store.create_account("a", "h", "t", 10**12)
    await settle_answers(store, acc.id, project_id=7)
    await Indexer(store, entities([ACME, GLOBEX]), "w").drain()
    before = await rollups(store)
    assert any(k[-1] == "Globex" for k in before)
    assert await store.enqueue_reindex(7) == len(ANSWERS)
    await Indexer(store, entities([ACME, INITECH]), "w").drain()
    after = await rollups(store)
    assert after == await counted(store)
    assert not any(k[-1] == "Globex" for k in after)  # no brand row left behind with zero counts
    assert await coarser(store, "mention_daily_rollups") == summed(after, "mention_daily_rollups")
    assert {k for k in after if k[-1] == "Initech"}
    assert sum(v[1] for k, v in after.items() if k[-1] == "") == len(ANSWERS)


async def test_a_domain_with_a_trailing_dot_is_one_domain_in_answers_queries_and_brands(store):
    """``example.com.`` (the DNS root's dot) and ``example.com`` are one domain, whichever side has the dot:
    an answer citing either is found by a target written either way, and cites a brand configured either
    way."""
    acc = await store.create_account("a", "h", "t", 10**12)
    dotted, plain = "https://Example.com./a", "https://www.example.org/b"
    answers = [
        ("chat_gpt", "gpt-4.1-mini", None, "q1", "One.", [dotted]),
        ("chat_gpt", "gpt-4.1-mini", None, "q2", "Two.", [plain]),
    ]
    ids = await settle_answers(store, acc.id, answers)
    brands = [Entity("Com", (), ("example.com",), False), Entity("Org", (), ("example.org.",), True)]
    assert await Indexer(store, entities(brands), "w").drain() == 2

    async def found(domain: str) -> list[str]:
        q = parse_query("search_mentions", {"target": [{"domain": domain}]})
        _, rows = await store.mention_query(lambda c, d: mention_queries.search(c, d, acc.id, q))
        return [r.task_id for r in rows]

    assert await found("example.com") == await found("example.com.") == [ids[0]]
    assert await found("example.org") == await found("example.org.") == [ids[1]]
    cited = await store.db.read(
        lambda c: c.fetch_composed("SELECT brand, cited FROM mention_brands ORDER BY brand", [], 10.0)
    )
    assert [(brand, bool(c)) for brand, c in cited] == [("Com", True), ("Org", True)]
