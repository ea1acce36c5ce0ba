"""Every dashboard page's render time with 100,000 answers in one tracking project (issue 24: "each page
renders at a p50 of 100 ms or less with 100,000 answers in the project"), on SQLite and PostgreSQL.

One account, one tracking project saved through the tracking service (so its spec is the real one): 60
prompts (5 tags) × 4 engines (one model each, the United States where the engine takes a country), with
an own brand and 6 competitors. Its history is written straight into the tables, one run a day of the
project's 240 tasks (N answers, default 100,000: ~417 days ending today): ``tasks`` (done, with the
request, the data echo and a DataForSEO result of ~1.5 KB of Markdown citing 3 pages, as the tasks the
runs post), ``project_runs``, the mentions index as the indexer leaves it (each answer read by
``analysis.answer_index.index_answer`` for the project's brands: ``mention_answers``, ``mention_texts``
(with the full-text indexes), ``mention_links``, ``mention_brands``) and a few alerts a day; then the
prompts and the rollups summed from the answers in SQL (``tests/analysis/rollup_rows.py``), then ANALYZE.
The own brand is named in ~20% of the answers, the competitors in 5% to 50%; citations go to ~200 domains
(the brands' own among them), Zipf-drawn.

The pages are read through the app in-process (httpx over ASGI, ``tests.conftest.running``), logged in
with the dashboard's own form (the session cookie), as a browser reads them: HTML, so the templates'
rendering counts. Each page with its default filters (the last 7 days) and with ``days=365``, every page
once per round (round-robin, one warm-up round first), R rounds; the answer page a random task each round.
The baseline, same client and run: ``/healthz`` and the login form (no database), so the fixed cost of a
request through the stack shows. The server keeps results (and their index) for ten years, not DataForSEO's
30 days (a project with a year of history has to), and its housekeeping sweep runs once at start, then
hourly: at 100,000 tasks it reads every task older than the deadline (~0.2 s on SQLite), which is not a page.

Run: .venv/bin/python bench/bench_dashboard.py [--answers N] [--repeat R] [--dialect sqlite|postgres|both]
[--keep DIR] (``--keep``: the databases stay in DIR, and a later run with the same DIR measures them again
without filling them: for looking into a page with EXPLAIN).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.analysis.rollup_rows import rebuild  # noqa: E402
from tests.conftest import running  # noqa: E402

from bench.harness import analyze  # noqa: E402
from llm_responses.analysis.answer_index import index_answer  # noqa: E402
from llm_responses.config import Settings  # noqa: E402
from llm_responses.store.mentions import host_rev  # noqa: E402
from llm_responses.store.postgres_database import dsn_of  # noqa: E402
from llm_responses.store.sqlite_database import sqlite_path  # noqa: E402
from llm_responses.tracking.plan import cells  # noqa: E402
from llm_responses.tracking.spec import ProjectSpec  # noqa: E402
from llm_responses.wire.envelope import format_datetime  # noqa: E402

ADMIN = os.environ.get("LLM_RESPONSES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_MS = 100.0
LOGIN, PASSWORD = "bench", "bench-password-0123456789"
PROJECT = "theme-parks"
MODELS = {"chat_gpt": "gpt-4.1-mini", "claude": "claude-haiku-4-5", "gemini": "gemini-2.5-flash",
          "perplexity": "sonar"}  # fmt: skip
TAGS = ("comparison", "discovery", "planning", "pricing", "family")
_ASKS = ("Which theme park is best for {}?", "What is the cheapest park for {}?",
         "Where should we go for {} this summer?", "Compare the big parks for {}.",
         "Is a season pass worth it for {}?", "Which park has the shortest queues for {}?",
         "Plan a two-day park trip for {}.", "What are the best rides for {}?",
         "Which parks are open in winter for {}?", "Which park hotel is best for {}?")  # fmt: skip
_WHO = ("a family with toddlers", "teenagers", "thrill seekers", "a school group", "a couple",
        "grandparents")  # fmt: skip
PROMPTS = [(ask.format(who), (TAGS[i % 5], TAGS[(i // 5) % 5]))
           for i, (ask, who) in enumerate((a, w) for a in _ASKS for w in _WHO)]  # fmt: skip
# (name, own, share of answers naming it, domain)
BRANDS = [("Acme Parks", True, 0.20, "acmeparks.com"), ("Thrill Valley", False, 0.50, "thrillvalley.com"),
          ("Funland", False, 0.35, "funland.com"), ("Wonder Coast", False, 0.25, "wondercoast.com"),
          ("Parc Soleil", False, 0.15, "parcsoleil.fr"), ("Dragon Peak", False, 0.10, "dragonpeak.com"),
          ("Lakeside Fun", False, 0.05, "lakesidefun.com")]  # fmt: skip
_SITES = ("wikipedia.org", "tripadvisor.com", "reddit.com", "youtube.com", "timeout.com", "lonelyplanet.com",
          "themeparkinsider.com", "coaster-count.com", "nytimes.com", "theguardian.com", "forbes.com",
          "cntraveler.com", "travelandleisure.com", "booking.com", "expedia.com", "yelp.com")  # fmt: skip


def _domains() -> list[str]:
    """200 domains, most cited first (Zipf): the reference sites, then guides, the brands' own sites among
    them from the 21st on (each in ~1-2% of the answers, besides where it is named)."""
    out = list(_SITES) + [f"park-guide-{i:03d}.com" for i in range(200 - len(_SITES) - len(BRANDS))]
    for rank, (*_, domain) in zip(range(20, 200, 6), BRANDS, strict=False):
        out.insert(rank, domain)
    return out


DOMAINS = _domains()
PAGES_PER_DOMAIN = 20
FILLER = (
    "Queues are shortest on weekday mornings outside the school holidays.",
    "Tickets bought online a week ahead are usually cheaper than at the gate.",
    "Most parks publish a height chart, so check it before promising a ride to a child.",
    "A two-day ticket costs little more than one day and lets you see the shows too.",
    "Food inside the parks is expensive; picnic areas near the entrance are free.",
    "Hotels on site include early entry, which is worth an hour of short queues.",
    "The water rides close first when it rains, the indoor dark rides stay open.",
    "Reviews from the last season matter more than rankings from five years ago.",
    "Weekend crowds double the waiting time for the headline coasters.",
    "Parking fills up by ten on summer Saturdays, so the shuttle buses are a good option.",
    "Seasonal events such as Halloween nights sell out weeks ahead.",
    "A fast pass pays for itself only on the busiest days of the year.",
)
ANSWER_CHARS = 1500  # the answer's length, in characters of Markdown
DAY = 86400
PER_DAY = len(PROMPTS) * len(MODELS)  # one run a day: every prompt on every engine


def spec_json() -> dict[str, Any]:
    return {
        "name": PROJECT,
        "description": "Benchmark: theme parks on four engines",
        "prompts": [{"text": text, "tags": list(tags)} for text, tags in PROMPTS],
        "engines": list(MODELS),
        "models": dict(MODELS),
        "countries": ["US"],
        "web_search": True,
        "max_output_tokens": 1000,
        "brands": [
            {"name": name, "aliases": [], "domains": [domain], "own": own, "category": "theme park"}
            for name, own, _, domain in BRANDS
        ],
        "schedule": None,  # the history is written below; nothing runs while the pages are read
        "background": True,
    }


def settings_for(url: str, tmp: str) -> Settings:
    return Settings(
        database_url=url,
        worker_enabled=False,
        access_log=False,
        log_level="WARNING",
        # a year of history: results (and their index) are kept for the whole range, not DataForSEO's 30 days
        result_retention_days=3650,
        # housekeeping's sweep reads every task older than the deadline (~0.2 s at 100,000 tasks on SQLite) once a
        # minute on the reader every page's point reads use: run once at start, then out of the measurement
        maintenance_interval_seconds=3600,
        secret_key_file=f"{tmp}/bench.key",
        search_index_path=f"{tmp}/index.db",
        # the engines' models must be served for the project to save; nothing calls these
        openai_api_key="sk-bench",
        openai_base_url="http://127.0.0.1:9/v1",
        anthropic_api_key="sk-ant-bench",
        anthropic_base_url="http://127.0.0.1:9",
        gemini_api_key="AIza-bench",
        gemini_base_url="http://127.0.0.1:9",
        perplexity_api_key="pplx-bench",
        perplexity_base_url="http://127.0.0.1:9",
    )


@dataclass
class Made:
    account_id: int
    project_id: int
    cells: list[dict[str, Any]]  # per cell of a run: the prepared task's columns


async def make_project(url: str, tmp: str) -> Made:
    """The account (its password for the login form) and the project through the tracking service; the
    tasks a run posts, prepared by the task service (request, data echo, prices)."""
    async with running(settings_for(url, tmp)) as h:
        hasher = h.api.auth.hasher
        account = await h.store.create_account(LOGIN, hasher.digest(PASSWORD), hasher.digest(uuid.uuid4().hex),
                                               10**15)  # fmt: skip
        saved = await h.api.tracking.save(account, spec_json())
        spec = ProjectSpec.from_json(saved.project.spec_json)
        prepared = []
        for c in cells(spec):
            t = h.api.service.prepare(c.engine, c.task, idle=spec.background)
            prepared.append({"se": t.se, "endpoint": t.endpoint, "request_json": t.request_json,
                             "data_json": t.data_json, "tag": t.tag, "base_price": t.base_price,
                             "prepayment": t.prepayment, "lane": t.lane, "prompt_key": c.key, "prompt": c.prompt,
                             "model": c.model, "country": c.country})  # fmt: skip
        return Made(account.id, saved.project.id, prepared)


def uuid7_at(at: float, rng: random.Random) -> str:
    """A UUIDv7 (as task ids are) for a past time."""
    value = (
        (int(at * 1000) << 80)
        | (0x7 << 76)
        | (rng.getrandbits(12) << 64)
        | (0b10 << 62)
        | rng.getrandbits(62)
    )
    return str(uuid.UUID(int=value))


def zipf_weights(n: int) -> list[float]:
    return [1 / (rank + 1) for rank in range(n)]


def answer_text(
    rng: random.Random, named: list[str], cited: list[tuple[str, str, str]]
) -> tuple[str, list[dict[str, Any]]]:
    """~1.5 KB of Markdown naming ``named`` in that order and citing ``cited`` (domain, url, title) inline
    as the engines do, and the url_citation annotations of those spans."""
    parts: list[str] = []
    notes: list[dict[str, Any]] = []
    size = 0

    def add(text: str) -> None:
        nonlocal size
        parts.append(text)
        size += len(text)

    def cite(i: int) -> None:
        domain, url, title = cited[i]
        start = size
        add(f" ([{domain}]({url}))")
        notes.append({"title": title, "url": url, "start_index": start + 1, "end_index": size})

    add(f"## {rng.choice(('Our pick', 'Short answer', 'The best options', 'What to choose'))}\n\n")
    if named:
        add(f"{named[0]} is the strongest choice here: {rng.choice(FILLER).lower()}")
    else:
        add(f"It depends on what you want from the day: {rng.choice(FILLER).lower()}")
    cite(0)
    add("\n\n")
    for brand in named[1:]:
        add(f"- **{brand}**: {rng.choice(FILLER)}\n")
    if len(named) > 1:
        add("\n")
    add(" ".join(rng.sample(FILLER, 3)))
    cite(1)
    add("\n\n### Tips\n\n")
    while size < ANSWER_CHARS - 120:
        add(f"- {rng.choice(FILLER)}\n")
    add("\n" + rng.choice(FILLER))
    cite(2)
    add(".")
    text = "".join(parts)
    for n in notes:
        n["text"] = text[n["start_index"] : n["end_index"]]
    return text, notes


TASK_COLUMNS = ["id", "account_id", "se", "endpoint", "status", "status_code", "status_message", "request_json",
                "data_json", "result_json", "tag", "base_price", "prepayment", "money_spent", "cost",
                "input_tokens", "output_tokens", "reasoning_tokens", "web_search_calls", "attempts", "run_after",
                "created_at", "finished_at", "lane", "project_id", "run_id", "prompt_key"]  # fmt: skip
RUN_COLUMNS = ["id", "project_id", "account_id", "period", "trigger", "status", "scheduled_for", "started_at",
               "finished_at", "tasks", "estimate", "cost"]  # fmt: skip
ANSWER_COLUMNS = ["id", "task_id", "account_id", "project_id", "run_id", "platform", "model_name", "location_code",
                  "language_code", "tag", "day", "asked_at", "web_search", "question", "cited_domains",
                  "result_domains", "brand_names", "brand_categories", "prompt_hash"]  # fmt: skip
TEXT_COLUMNS = ["id", "question", "answer", "fan_out", "brands"]
LINK_COLUMNS = ["answer_id", "account_id", "scope", "host_rev", "domain", "url", "title", "rank"]
BRAND_COLUMNS = ["answer_id", "account_id", "brand", "category", "competitor", "position", "mentioned", "cited",
                 "negated", "first_offset"]  # fmt: skip
ALERT_COLUMNS = ["id", "account_id", "project_id", "run_id", "kind", "brand", "subject", "message", "detail",
                 "dedupe", "created_at"]  # fmt: skip
TABLES = {"tasks": TASK_COLUMNS, "project_runs": RUN_COLUMNS, "mention_answers": ANSWER_COLUMNS,
          "mention_texts": TEXT_COLUMNS, "mention_links": LINK_COLUMNS, "mention_brands": BRAND_COLUMNS,
          "alerts": ALERT_COLUMNS}  # fmt: skip
BATCH = 10_000


def first_day(n: int, today: date) -> date:
    return today - timedelta(days=math.ceil(n / PER_DAY) - 1)


def generate(
    n: int, made: Made, today: date, rng: random.Random
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Batches of rows per table: the project's daily runs up to ``today``, the newest ``n`` cells."""
    spec = ProjectSpec.model_validate(spec_json())
    entities = spec.entities()
    own = spec.own_brand
    assert own is not None
    weights = zipf_weights(len(DOMAINS))
    brand_domain = {name: domain for name, _, _, domain in BRANDS}
    start = first_day(n, today)
    days = (today - start).days + 1
    skip = days * PER_DAY - n  # the oldest day's run is the part of it that fits
    acc, pid = made.account_id, made.project_id
    out: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
    answer_id = alert_id = 0
    for d in range(days):
        day = start + timedelta(days=d)
        run_id = d + 1
        slot = datetime(day.year, day.month, day.day, 0, 10, tzinfo=UTC).timestamp()
        run_cost = 0
        for c, cell in enumerate(made.cells):
            if d == 0 and c < skip:
                continue
            answer_id += 1
            asked = slot + c * 5.0
            finished = asked + rng.uniform(3.0, 30.0)
            named = [name for name, _, share, _ in BRANDS if rng.random() < share]
            rng.shuffle(named)
            cites = rng.choices(DOMAINS, weights, k=3)
            for name in named:  # a brand named is cited from its own site now and then
                if rng.random() < 0.2:
                    cites[rng.randrange(3)] = brand_domain[name]
            if rng.random() < 0.03:  # and a brand's site cited where it is not named
                cites[rng.randrange(3)] = brand_domain[rng.choice(BRANDS)[0]]
            cited = []
            for domain in cites:
                page = rng.randrange(PAGES_PER_DOMAIN)
                cited.append((domain, f"https://www.{domain}/guide/{page}", f"{domain}: park guide {page}"))
            text, notes = answer_text(rng, named, cited)
            tokens_in, tokens_out = rng.randint(800, 4000), rng.randint(300, 500)
            spent = rng.randint(200_000, 3_000_000)  # nano-dollars
            fan_out = [f"{cell['prompt'].rstrip('?.').lower()} {y}" for y in ("2026", "reviews")]
            result = {
                "model_name": cell["model"], "input_tokens": tokens_in, "output_tokens": tokens_out,
                "reasoning_tokens": 0, "web_search": True, "money_spent": spent / 1e9,
                "datetime": format_datetime(finished),
                "items": [{"type": "message", "sections": [{"type": "text", "text": text, "annotations": notes}]}],
                "fan_out_queries": fan_out,
            }  # fmt: skip
            task_id = uuid7_at(asked, rng)
            cost = cell["base_price"] + spent
            run_cost += cost
            out["tasks"].append(
                (task_id, acc, cell["se"], cell["endpoint"], "done", 20000, "Ok.", cell["request_json"],
                 cell["data_json"], json.dumps(result), cell["tag"], cell["base_price"], cell["prepayment"], spent,
                 cost, tokens_in, tokens_out, 0, 1, 1, asked, asked, finished, cell["lane"], pid, run_id,
                 cell["prompt_key"])
            )  # fmt: skip
            a = index_answer(platform=cell["se"], question=cell["prompt"], model_name=cell["model"],
                             country=cell["country"], result=result, entities=entities)  # fmt: skip
            mentioned = [b for b in a.brands if b.mentioned]
            out["mention_answers"].append(
                (answer_id, task_id, acc, pid, run_id, a.platform, a.model_name, a.location_code, None, cell["tag"],
                 day.isoformat(), asked, a.web_search, a.question, _array(x.domain for x in a.links if x.scope == "s"),
                 "[]", _array(b.brand for b in mentioned), _array(b.category for b in mentioned), a.prompt_hash)
            )  # fmt: skip
            out["mention_texts"].append(
                (answer_id, a.question, a.answer, "\n".join(a.fan_out), "\n".join(b.brand for b in mentioned))
            )
            out["mention_links"] += [
                (answer_id, acc, x.scope, host_rev(x.domain), x.domain, x.url, x.title, x.rank)
                for x in a.links
            ]
            out["mention_brands"] += [
                (answer_id, acc, b.brand, b.category, b.competitor, b.position, b.mentioned, b.cited, b.negated,
                 b.first_offset)
                for b in a.brands
            ]  # fmt: skip
        out["project_runs"].append(
            (run_id, pid, acc, datetime.fromtimestamp(slot, UTC).isoformat(), "schedule", "done", slot, slot,
             slot + PER_DAY * 5.0 + 60, PER_DAY - (skip if d == 0 else 0), run_cost, run_cost)
        )  # fmt: skip
        for k in range(rng.randint(2, 8)):  # what the rules found when the run finished
            brand = rng.choice(BRANDS)[0]
            prompt = rng.choice(PROMPTS)[0]
            kind = rng.choice(("new_mention", "lost_mention", "visibility_drop", "new_domain"))
            alert_id += 1
            out["alerts"].append(
                (alert_id, acc, pid, run_id, kind, brand, prompt,
                 f"{brand}: {kind.replace('_', ' ')} for “{prompt}”", json.dumps({"run_id": run_id}),
                 f"run:{run_id}:{kind}:{k}", slot + PER_DAY * 5.0 + 61)
            )  # fmt: skip
        if len(out["mention_answers"]) >= BATCH or d == days - 1:
            yield out
            out = {t: [] for t in TABLES}


def _array(values: Any) -> str:
    return json.dumps(list(dict.fromkeys(values)), ensure_ascii=False)


def load_sqlite(url: str, n: int, made: Made, today: date) -> None:
    conn = sqlite3.connect(sqlite_path(url))
    conn.execute("PRAGMA synchronous=OFF")
    for batch in generate(n, made, today, random.Random(24)):
        for table, columns in TABLES.items():
            conn.executemany(
                f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                batch[table],
            )
        conn.commit()
    conn.close()


async def load_postgres(url: str, n: int, made: Made, today: date) -> None:
    conn = await asyncpg.connect(dsn_of(url))
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        # bulk load without the full-text indexes, then build them once (what a restore does)
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'mention_texts' "
            "AND (indexname LIKE '%trgm' OR indexname = 'mention_texts_words')"
        )
        for r in indexes:
            await conn.execute(f'DROP INDEX "{r["indexname"]}"')
        batches = generate(n, made, today, random.Random(24))
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            for table, columns in TABLES.items():
                await conn.copy_records_to_table(table, records=batch[table], columns=columns)
        for r in indexes:
            await conn.execute(r["indexdef"])
        for table in ("mention_answers", "project_runs", "alerts"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )
    finally:
        await conn.close()


async def counts(url: str) -> dict[str, int]:
    tables = [*TABLES, "mention_prompts", "mention_rollups", "mention_prompt_rollups", "mention_daily_rollups",
              "mention_prompt_totals"]  # fmt: skip
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t})" for t in tables)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url))
        row = conn.execute(sql).fetchone()
        conn.close()
    else:
        pg = await asyncpg.connect(dsn_of(url))
        row = await pg.fetchrow(sql)
        await pg.close()
    return dict(zip(tables, row, strict=True))


def pages(own: str) -> list[tuple[str, str, str]]:
    """(page, the default view's path, the same over 365 days or '' where the range does not apply)."""
    p = quote(PROJECT)
    b = quote(own)
    return [
        ("overview `/dashboard`", "/dashboard", "/dashboard?days=365"),
        ("matrix", "/dashboard/matrix", "/dashboard/matrix?days=365"),
        ("answers of the project (`tasks?project=`)", f"/dashboard/tasks?project={p}",
         f"/dashboard/tasks?project={p}&days=365"),
        ("answers naming the own brand (`&brand=`)", f"/dashboard/tasks?project={p}&brand={b}",
         f"/dashboard/tasks?project={p}&brand={b}&days=365"),
        ("tasks table (`tasks`, no filter)", "/dashboard/tasks", ""),
        ("one answer (`answer/{id}`, a random task)", "/dashboard/answer/{task}", ""),
        ("brands", "/dashboard/brands", "/dashboard/brands?days=365"),
        ("sources: domains", "/dashboard/sources", "/dashboard/sources?days=365"),
        ("sources: pages (`kind=pages`)", "/dashboard/sources?kind=pages", "/dashboard/sources?kind=pages&days=365"),
        ("sources: gap (`view=gap`)", "/dashboard/sources?view=gap", "/dashboard/sources?view=gap&days=365"),
        ("changes", "/dashboard/changes", "/dashboard/changes?days=365"),
        ("spend (90 days, fixed)", "/dashboard/spend", ""),
        ("alerts", "/dashboard/alerts", ""),
    ]  # fmt: skip


BASELINE = [("baseline: `/healthz`", "/healthz"), ("baseline: login form", "/dashboard/login")]


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.95) - 1)]


async def measure(
    url: str, tmp: str, repeat: int, task_ids: list[str], rng: random.Random
) -> list[tuple[str, str, list[float], int]]:
    """(label, range, times in ms, bytes of the last page) per page and range."""
    own = next(name for name, is_own, _, _ in BRANDS if is_own)
    views: list[tuple[str, str, str]] = [(label, "", path) for label, path in BASELINE]
    for label, default, year in pages(own):
        views.append((label, "7 days" if year else "", default))
        if year:
            views.append((label, "365 days", year))
    times: dict[int, list[float]] = {i: [] for i in range(len(views))}
    size: dict[int, int] = {}
    async with running(settings_for(url, tmp)) as h:
        client = h.client
        r = await client.post(
            "/dashboard/login", data={"login": LOGIN, "password": PASSWORD, "next": "/dashboard"}
        )
        assert r.status_code == 303 and "set-cookie" in r.headers, (r.status_code, r.text[:300])
        for round_ in range(repeat + 1):  # round 0: the warm-up
            for i, (_, _, path) in enumerate(views):
                if "{task}" in path:
                    path = path.format(task=rng.choice(task_ids))
                started = time.perf_counter()
                r = await client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
                if round_:
                    times[i].append(elapsed)
                size[i] = len(r.content)
    return [(label, span, times[i], size[i]) for i, (label, span, _) in enumerate(views)]


def kept(dialect: str, keep: str) -> tuple[str, bool] | None:
    """A kept database in ``keep``: (its URL, whether it holds the data already), None for a PostgreSQL one
    not made yet."""
    os.makedirs(keep, exist_ok=True)
    if dialect == "sqlite":
        path = os.path.join(os.path.abspath(keep), "bench.db")
        return f"sqlite:///{path}", os.path.exists(path)
    marker = os.path.join(keep, "postgres-database")
    if not os.path.exists(marker):
        return None
    with open(marker) as named:
        return ADMIN.rsplit("/", 1)[0] + "/" + named.read().strip(), True


def remember(keep: str, name: str) -> None:
    with open(os.path.join(keep, "postgres-database"), "w") as named:
        named.write(name)


@asynccontextmanager
async def fresh(dialect: str, keep: str | None) -> AsyncIterator[tuple[str, str, bool]]:
    """(database URL, a directory for the server's key, whether the data is there already) for one run,
    dropped afterwards; ``keep``: a directory where the SQLite file (or the PostgreSQL database's name) and
    the key stay, to look into a page later (a kept database is measured again, not filled again)."""
    found = kept(dialect, keep) if keep else None
    if keep and found:
        yield found[0], keep, found[1]
        return
    with tempfile.TemporaryDirectory() as tmp:
        if dialect == "sqlite":
            yield f"sqlite:///{tmp}/bench.db", tmp, False
            return
        name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        done = False
        try:
            yield ADMIN.rsplit("/", 1)[0] + "/" + name, keep or tmp, False
            if keep:
                remember(keep, name)
                done = True
        finally:
            if not done:
                admin = await asyncpg.connect(ADMIN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()


async def run(
    dialect: str, n: int, repeat: int, say: Callable[[str], None], keep: str | None = None
) -> dict[tuple[str, str], tuple[float, float]]:
    async with fresh(dialect, keep and os.path.join(keep, dialect)) as (url, tmp, reused):
        started = time.perf_counter()
        today = datetime.now(UTC).date()
        if not reused:
            made = await make_project(url, tmp)
            if dialect == "sqlite":
                await asyncio.to_thread(load_sqlite, url, n, made, today)
            else:
                await load_postgres(url, n, made, today)
        loaded = time.perf_counter() - started
        if not reused:
            await rebuild(url)
            await analyze(url)
        rolled = time.perf_counter() - started - loaded
        c = await counts(url)
        say(
            f"{dialect}: {c['mention_answers']:,} answers ({first_day(c['mention_answers'], today)} to {today}, "
            f"{c['tasks']:,} tasks, "
            f"{c['project_runs']:,} runs, {c['alerts']:,} alerts), {c['mention_links']:,} cited links, "
            f"{c['mention_brands']:,} brand rows, loaded in {loaded:.0f} s; {c['mention_rollups']:,} rollups, "
            f"{c['mention_prompt_rollups']:,} per-prompt rollups, {c['mention_daily_rollups']:,} per-day and "
            f"{c['mention_prompt_totals']:,} per-prompt totals summed in {rolled:.0f} s"
        )
        found = await measure(url, tmp, repeat, await task_ids(url), random.Random(7))
        out: dict[tuple[str, str], tuple[float, float]] = {}
        for label, span, times, size in found:
            p50, p95 = percentiles(times)
            out[(label, span)] = (p50, p95)
            say(f"{dialect}: {label:<46} {span or '':<8} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                 f"{p50 / TARGET_MS:5.2f}x target  ({size / 1024:.0f} KiB)")  # fmt: skip
        return out


async def task_ids(url: str) -> list[str]:
    """The answer page's tasks: any of the project's."""
    sql = "SELECT task_id FROM mention_answers ORDER BY id"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url))
        ids = [r[0] for r in conn.execute(sql)]
        conn.close()
        return ids
    pg = await asyncpg.connect(dsn_of(url))
    ids = [r[0] for r in await pg.fetch(sql)]
    await pg.close()
    return ids


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dialect", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--keep", metavar="DIR", help="keep the databases (DIR/sqlite/bench.db, the PostgreSQL "
                        "database named in DIR/postgres/); measure them again, not filled, when there")  # fmt: skip
    args, _ = parser.parse_known_args()
    for name in ("mcp", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    dialects = ("sqlite", "postgres") if args.dialect == "both" else (args.dialect,)
    results: dict[str, dict[tuple[str, str], tuple[float, float]]] = {}
    for dialect in dialects:
        results[dialect] = await run(
            dialect, args.answers, args.repeat, lambda line: print(line, flush=True), args.keep
        )
    own = next(name for name, is_own, _, _ in BRANDS if is_own)
    keys = [(label, "") for label, _ in BASELINE]
    for label, _, year in pages(own):
        keys.append((label, "7 days" if year else ""))
        if year:
            keys.append((label, "365 days"))
    head = "| page | range | " + " | ".join(f"{d} p50 / p95 | {d} p50 ÷ 100 ms" for d in dialects) + " |"
    lines = [head, "| --- | --- |" + " --- | --- |" * len(dialects)]
    for key in keys:
        cells_ = []
        for d in dialects:
            p50, p95 = results[d][key]
            mark = "**" if p50 <= TARGET_MS and not key[0].startswith("baseline") else ""
            cells_.append(f"{mark}{p50:.0f}{mark} / {p95:.0f} ms | {p50 / TARGET_MS:.2f}")
        lines.append(f"| {key[0]} | {key[1] or '—'} | " + " | ".join(cells_) + " |")
    print("\n" + "\n".join(lines))
    print(json.dumps({"answers": args.answers, "repeat": args.repeat, "dialects": list(dialects)}))


if __name__ == "__main__":
    asyncio.run(main())
