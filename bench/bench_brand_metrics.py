"""Brand metrics on a million answers: ``analysis.brand_metrics`` (the mentions index's rollups) on SQLite and
PostgreSQL, against the same counts taken from the answers (``mention_answers`` ⋈ ``mention_brands``
grouped in SQL: what a store without rollups runs) and the Python rescan it replaced, in the same run.

One account, one project: 50 prompts (5 tags) × 4 engines × 2 models × 3 countries over 365 days, each
answer drawn at random among those (N answers, default 1,000,000: ~2.3 per prompt, engine, model, country
and day). 10 tracked brands, each named in an answer independently: the own brand in ~4% (~40,000 answers),
the competitors in 30% down to 1%; 15% of a brand's hits only cite it, 30% of mentions cite it too, 5% are
negated. The answers and brands are written straight into the tables (COPY on PostgreSQL), then the rollups
summed from them in SQL (``tests/analysis/rollup_rows.py``: what the indexer keeps), then ANALYZE.

Run: .venv/bin/python bench/bench_brand_metrics.py [--answers N] [--repeat R] [--dialect sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.analysis.rollup_rows import rebuild  # noqa: E402

from bench.harness import analyze  # noqa: E402
from llm_responses.analysis.answer_index import location_code  # noqa: E402
from llm_responses.analysis.brand_metrics import BrandQuery, BrandScope, brand_metrics  # noqa: E402
from llm_responses.analysis.mentions import find  # noqa: E402
from llm_responses.composition import make_store  # noqa: E402
from llm_responses.config import Settings  # noqa: E402
from llm_responses.store.brand_counts import CountFilter, answer_counts  # noqa: E402
from llm_responses.store.postgres_database import dsn_of  # noqa: E402
from llm_responses.store.sqlite_database import sqlite_path  # noqa: E402

ADMIN = os.environ.get("LLM_RESPONSES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PROJECT = 1
PROMPTS = [f"prompt {i:02d}: which theme park is best for {w}?" for i, w in enumerate(range(50))]
TAGS = {p: (f"tag{i % 5}",) for i, p in enumerate(PROMPTS)}
ENGINES = ("chat_gpt", "claude", "gemini", "perplexity")
MODELS = ("model-a", "model-b")
COUNTRIES = ("US", "FR", "DE")
DAYS = [time.strftime("%Y-%m-%d", time.gmtime(1733011200 + d * 86400)) for d in range(365)]  # 2024-12-01 on
# (brand, competitor, share of answers naming or citing it): the own brand in ~4% of answers
BRANDS = [("Acme Parks", False, 0.04), ("Rival 1", True, 0.30), ("Rival 2", True, 0.20), ("Rival 3", True, 0.15),
          ("Rival 4", True, 0.10), ("Rival 5", True, 0.08), ("Rival 6", True, 0.06), ("Rival 7", True, 0.03),
          ("Rival 8", True, 0.02), ("Rival 9", True, 0.01)]  # fmt: skip
ANSWER_COLUMNS = ["id", "task_id", "account_id", "project_id", "run_id", "platform", "model_name", "location_code",
                  "tag", "day", "asked_at", "web_search", "question", "cited_domains", "result_domains",
                  "brand_names", "brand_categories"]  # fmt: skip
BRAND_COLUMNS = ["answer_id", "account_id", "brand", "category", "competitor", "position", "mentioned", "cited",
                 "negated"]  # fmt: skip
BATCH = 50_000


def generate(n: int, account_id: int, rng: random.Random):
    """Batches of (answers, brands) rows."""
    codes = {c: location_code(c) for c in COUNTRIES}
    answers: list[tuple[Any, ...]] = []
    brands: list[tuple[Any, ...]] = []
    for i in range(1, n + 1):
        found = []
        position = 0
        cited_any = False
        for name, competitor, share in BRANDS:
            if rng.random() >= share:
                continue
            mentioned = rng.random() >= 0.15
            cited = not mentioned or rng.random() < 0.3
            cited_any = cited_any or cited
            position += mentioned
            negated = mentioned and rng.random() < 0.05
            found.append((i, account_id, name, "brand", competitor, position if mentioned else None, mentioned,
                          cited, negated))  # fmt: skip
        rng.shuffle(found)  # positions are not in the brands' order
        answers.append(
            (i, f"t{i}", account_id, PROJECT, None, rng.choice(ENGINES), rng.choice(MODELS),
             codes[rng.choice(COUNTRIES)], None, rng.choice(DAYS), 0.0, True, rng.choice(PROMPTS),
             '["acme.example"]' if cited_any or rng.random() < 0.2 else "[]", "[]", "[]", "[]")
        )  # fmt: skip
        brands += found
        if len(answers) == BATCH:
            yield answers, brands
            answers, brands = [], []
    if answers:
        yield answers, brands


def load_sqlite(url: str, n: int, account_id: int) -> None:
    conn = sqlite3.connect(sqlite_path(url))
    conn.execute("PRAGMA synchronous=OFF")
    for answers, brands in generate(n, account_id, random.Random(7)):
        conn.executemany(
            f"INSERT INTO mention_answers ({','.join(ANSWER_COLUMNS)}) VALUES ({','.join('?' * len(ANSWER_COLUMNS))})",
            answers,
        )
        conn.executemany(
            f"INSERT INTO mention_brands ({','.join(BRAND_COLUMNS)}) VALUES ({','.join('?' * len(BRAND_COLUMNS))})",
            brands,
        )
        conn.commit()
    conn.close()


async def load_postgres(url: str, n: int, account_id: int) -> None:
    conn = await asyncpg.connect(dsn_of(url))
    try:
        for answers, brands in generate(n, account_id, random.Random(7)):
            await conn.copy_records_to_table("mention_answers", records=answers, columns=ANSWER_COLUMNS)
            await conn.copy_records_to_table("mention_brands", records=brands, columns=BRAND_COLUMNS)
    finally:
        await conn.close()


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, Any]:
    """(p50, p99) in ms over ``repeat`` runs after a warm-up, and the last result."""
    result = await fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(len(times) * 0.99) - 1)], result


def rescan_seconds_per_answer() -> float:
    """The retired path's cost per answer (finding 10 brands in a ~130-word answer and tallying it), measured
    now on bench_mentions.py's answers; reading and parsing each stored result came on top."""
    spec = importlib.util.spec_from_file_location("bench_mentions", ROOT / "bench" / "bench_mentions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = module.answers(3000, random.Random(7))
    started = time.perf_counter()
    for text, urls in data:
        find(text, urls, module.ENTITIES)
    return (time.perf_counter() - started) / len(data)


CASES: dict[str, BrandQuery] = {
    "project totals (10 brands)": BrandQuery(),
    "by engine": BrandQuery(by=("engine",)),
    "by day (365 days)": BrandQuery(by=("day",)),
    "by prompt (50)": BrandQuery(by=("prompt",)),
    "by engine, day": BrandQuery(by=("engine", "day")),
    "by tag (the prompts' 5 tags)": BrandQuery(by=("tag",)),
    "30 days, one country, by day": BrandQuery(
        by=("day",), date_from=DAYS[-30], date_to=DAYS[-1], country="FR"
    ),
    "one tag, by engine": BrandQuery(by=("engine",), tag="tag3"),
    "30 days, by prompt": BrandQuery(by=("prompt",), date_from=DAYS[-30], date_to=DAYS[-1]),
}


async def measure(url: str, dialect: str, n: int, repeat: int) -> list[str]:
    store = make_store(Settings(database_url=url))
    await store.open()
    try:
        account = await store.create_account("bench", "x" * 64, uuid.uuid4().hex * 2, 0)
        started = time.perf_counter()
        if dialect == "sqlite":
            await asyncio.to_thread(load_sqlite, url, n, account.id)
        else:
            await load_postgres(url, n, account.id)
        loaded = time.perf_counter() - started
        await rebuild(url)
        await analyze(url)
        rolled = time.perf_counter() - started - loaded
        counts = await store.mention_query(
            lambda c, d: c.fetch_composed(
                "SELECT (SELECT COUNT(*) FROM mention_brands), (SELECT COUNT(*) FROM mention_rollups), "
                "(SELECT COUNT(*) FROM mention_prompt_rollups), (SELECT COUNT(*) FROM mention_brands "
                "WHERE brand = 'Acme Parks')",
                [],
                60.0,
            )
        )
        brand_rows, rollups, prompt_rollups, own = counts[0]
        print(f"{dialect}: {n:,} answers, {brand_rows:,} brand rows (the own brand in {own:,} answers) loaded in "
              f"{loaded:.0f} s; {rollups:,} rollups and {prompt_rollups:,} per-prompt rollups summed in "
              f"{rolled:.0f} s")  # fmt: skip
        scope = BrandScope(prompt_tags=TAGS)
        lines = []
        for label, q in CASES.items():
            q = replace(q, project_id=PROJECT)
            p50, p99, rows = await timed(lambda q=q: brand_metrics(store, account.id, q, scope), repeat)
            if q.tag is None and "tag" not in q.by:
                f = CountFilter(PROJECT, q.engine, q.model, location_code(q.country) if q.country else None,
                                q.date_from, q.date_to)  # fmt: skip
                base, _, _ = await timed(
                    lambda q=q, f=f: store.mention_query(
                        lambda c, d: answer_counts(c, d, account.id, q.by, f)
                    ),
                    max(3, repeat // 5),
                )
                baseline = f"{base:8.0f} ms  {base / p50:6.0f}x"
            else:
                baseline = f"{'':>8}     {'':>7}"
            lines.append(
                f"| {dialect} | {label} | {len(rows):,} | **{p50:.0f}** / {p99:.0f} ms | {baseline} |"
            )
            print(lines[-1], flush=True)
        return lines
    finally:
        await store.close()


async def fresh(dialect: str, run: Callable[[str], Awaitable[list[str]]]) -> list[str]:
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return await run(f"sqlite:///{tmp}/bench.db")
    name = f"bench_brand_metrics_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        return await run(ADMIN.rsplit("/", 1)[0] + "/" + name)
    finally:
        admin = await asyncpg.connect(ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dialect", choices=("sqlite", "postgres", "both"), default="both")
    args, _ = parser.parse_known_args()
    rescan = rescan_seconds_per_answer()
    print(
        f"the retired Python rescan: {rescan * 1e6:.0f} µs per answer to find the brands (reading and parsing "
        f"each stored result not counted): {args.answers * rescan:,.0f} s for every query over {args.answers:,}"
    )
    lines = ["| database | query | rows | p50 / p99 | answers ⋈ brands in SQL (p50) | ratio |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for dialect in ("sqlite", "postgres") if args.dialect == "both" else (args.dialect,):
        lines += await fresh(dialect, lambda url, d=dialect: measure(url, d, args.answers, args.repeat))
    print("\n" + "\n".join(lines))
    print(json.dumps({"answers": args.answers, "repeat": args.repeat}))


if __name__ == "__main__":
    asyncio.run(main())
