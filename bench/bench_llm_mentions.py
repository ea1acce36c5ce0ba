"""LLM Mentions over a large mentions index: latency of a 10-target query on SQLite and PostgreSQL.

Generates N answers (default 1,000,000) for one account: ~60 words each, 2-5 of 2,000 brand names and 0-6
cited links on 5,000 domains, both Zipf-distributed, spread over 120 days, four engines and five countries.
They are written straight into the tables (tasks, mention_answers, mention_links, mention_brands) in bulk —
the index itself (FTS5 / tsvector / pg_trgm) is built by the schema exactly as it is when answers settle.
Then each query runs ``--repeat`` times through ``api.mentions_routes.answer`` (parse, SQL, render; no HTTP):

- search_mentions, target_metrics, top_mentioned_domains with 10 keyword targets (a brand and 9 competitors,
  mid-popularity: each in ~0.3-1% of answers), and target_metrics with 10 domain targets;
- the baseline, in the same run: the 10-keyword target_metrics question answered by a scan (``LIKE``
  over every answer, the query an unindexed store would run).

Run: .venv/bin/python bench/bench_llm_mentions.py [--answers N] [--dialect sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from llm_responses.api.mentions_routes import answer  # noqa: E402
from llm_responses.composition import make_store  # noqa: E402
from llm_responses.config import Settings  # noqa: E402
from llm_responses.store.mentions import host_rev  # noqa: E402
from llm_responses.store.records import Account, AnswerIndex, IndexedBrand, IndexedLink  # noqa: E402
from llm_responses.wire.mentions_request import parse_query  # noqa: E402

ADMIN = os.environ.get("LLM_RESPONSES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PLATFORMS = ("chat_gpt", "claude", "gemini", "perplexity")
COUNTRIES = (2840, 2826, 2250, 2276, None)
DAYS = 120
SYLLABLES = "ka lo mi ne ru sa ti vo ze pa qui ber dan fel gor hin jus kem lun mar nor".split()


def brand_names(n: int, rng: random.Random, syllables: int = 3) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize())
    return sorted(names)


def zipf_cumulative(n: int) -> list[float]:
    """Cumulative Zipf weights (rank i has weight 1/i), for random.choices(cum_weights=...)."""
    out, total = [], 0.0
    for i in range(n):
        total += 1 / (i + 1)
        out.append(total)
    return out


class Corpus:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.brands = brand_names(2000, rng)
        rng.shuffle(self.brands)  # rank i: the i-th most mentioned
        self.domains = [f"{w.lower()}{i}.example" for i, w in enumerate(brand_names(5000, rng))]
        # two syllables: no filler word is ever a (three-syllable) brand name
        self.words = [w.lower() for w in brand_names(400, rng, syllables=2)]
        self.brand_w = zipf_cumulative(len(self.brands))
        self.domain_w = zipf_cumulative(len(self.domains))

    def answer(self) -> tuple[str, list[str], list[str]]:
        rng = self.rng
        words = rng.choices(self.words, k=60)
        named = list(dict.fromkeys(rng.choices(self.brands, cum_weights=self.brand_w, k=rng.randint(2, 5))))
        for name in named:
            words.insert(rng.randrange(len(words)), name)
        cited = list(dict.fromkeys(rng.choices(self.domains, cum_weights=self.domain_w, k=rng.randint(0, 6))))
        return " ".join(words), named, cited


def rows(corpus: Corpus, n: int, account_id: int, now: float):
    rng = corpus.rng
    for i in range(1, n + 1):
        text, named, cited = corpus.answer()
        asked = now - rng.random() * DAYS * 86400
        day = time.strftime("%Y-%m-%d", time.gmtime(asked))
        platform = rng.choice(PLATFORMS)
        task_id = str(uuid.UUID(int=i))
        question = f"which {rng.choice(corpus.words)} is best"
        answer_row = (
            i, task_id, account_id, platform, "model-" + platform, rng.choice(COUNTRIES), None, "bench", day, asked,
            bool(cited), question, json.dumps(cited), "[]", json.dumps(named), '["brand"]' if named else "[]",
        )  # fmt: skip
        text_row = (i, question, text, "", "\n".join(named))
        links = [
            (i, account_id, "s", host_rev(d), d, f"https://{d}/page{rng.randint(1, 20)}", None, r)
            for r, d in enumerate(cited, 1)
        ]
        brands = [
            (i, account_id, b, "brand", False, p, True, False, False, 0) for p, b in enumerate(named, 1)
        ]
        yield task_id, asked, answer_row, text_row, links, brands


TASK_COLUMNS = (
    "(id, account_id, se, endpoint, status, base_price, prepayment, cost, run_after, created_at, result_json)"
)
ANSWER_COLUMNS = (
    "(id, task_id, account_id, platform, model_name, location_code, language_code, tag, day, asked_at, "
    "web_search, question, cited_domains, result_domains, brand_names, brand_categories)"
)
TEXT_COLUMNS = "(id, question, answer, fan_out, brands)"
LINK_COLUMNS = "(answer_id, account_id, scope, host_rev, domain, url, title, rank)"
BRAND_COLUMNS = (
    "(answer_id, account_id, brand, category, competitor, position, mentioned, cited, negated, first_offset)"
)
RESULT = '{"items": []}'


def load_sqlite(path: str, corpus: Corpus, n: int, account_id: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    batch: dict[str, list[Any]] = {"t": [], "a": [], "x": [], "l": [], "b": []}

    def flush() -> None:
        conn.executemany(f"INSERT INTO tasks {TASK_COLUMNS} VALUES (?,?,?,?,?,0,0,0,?,?,?)", batch["t"])
        conn.executemany(
            f"INSERT INTO mention_answers {ANSWER_COLUMNS} VALUES ({','.join('?' * 16)})", batch["a"]
        )
        conn.executemany(f"INSERT INTO mention_texts {TEXT_COLUMNS} VALUES ({','.join('?' * 5)})", batch["x"])
        conn.executemany(f"INSERT INTO mention_links {LINK_COLUMNS} VALUES ({','.join('?' * 8)})", batch["l"])
        conn.executemany(
            f"INSERT INTO mention_brands {BRAND_COLUMNS} VALUES ({','.join('?' * 10)})", batch["b"]
        )
        conn.commit()
        for v in batch.values():
            v.clear()

    for task_id, asked, a, x, links, brands in rows(corpus, n, account_id, time.time()):
        batch["t"].append((task_id, account_id, a[3], "task_post", "done", asked, asked, RESULT))
        batch["a"].append(a)
        batch["x"].append(x)
        batch["l"] += links
        batch["b"] += brands
        if len(batch["a"]) >= 20_000:
            flush()
    flush()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


async def load_postgres(dsn: str, corpus: Corpus, n: int, account_id: int) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute("SET maintenance_work_mem = '1GB'")
    # bulk load without the full-text indexes, then build them once (what a restore does)
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'mention_texts' "
        "AND (indexname LIKE '%trgm' OR indexname = 'mention_texts_words')"
    )
    for r in indexes:
        await conn.execute(f'DROP INDEX "{r["indexname"]}"')
    batch: dict[str, list[Any]] = {"t": [], "a": [], "x": [], "l": [], "b": []}

    async def flush() -> None:
        await conn.copy_records_to_table(
            "tasks", records=batch["t"], columns=TASK_COLUMNS.strip("()").replace(" ", "").split(",")
        )
        for table, key, cols in (
            ("mention_answers", "a", ANSWER_COLUMNS),
            ("mention_texts", "x", TEXT_COLUMNS),
            ("mention_links", "l", LINK_COLUMNS),
            ("mention_brands", "b", BRAND_COLUMNS),
        ):
            await conn.copy_records_to_table(
                table, records=batch[key], columns=cols.strip("()").replace(" ", "").split(",")
            )
        for v in batch.values():
            v.clear()

    for task_id, asked, a, x, links, brands in rows(corpus, n, account_id, time.time()):
        batch["t"].append((task_id, account_id, a[3], "task_post", "done", 0, 0, 0, asked, asked, RESULT))
        batch["a"].append(a)
        batch["x"].append(x)
        batch["l"] += links
        batch["b"] += brands
        if len(batch["a"]) >= 20_000:
            await flush()
    await flush()
    for r in indexes:
        await conn.execute(r["indexdef"])
    await conn.execute("SELECT setval(pg_get_serial_sequence('mention_answers', 'id'), $1)", n)
    await conn.execute("ANALYZE")
    await conn.close()


# which 10 brands (and domains) a query targets, by popularity rank in the Zipf draw: together they are
# named in about 0.7%, 3% and 9% of the answers
TIERS = {"rare": 1500, "typical": 400, "heavy": 100}


def queries(corpus: Corpus, tier: str) -> dict[str, tuple[str, dict[str, Any]]]:
    rank = TIERS[tier]
    ten = [{"keyword": b} for b in corpus.brands[rank : rank + 10]]
    domains = [{"domain": d, "include_subdomains": True} for d in corpus.domains[rank : rank + 10]]
    return {
        "search_mentions, limit 100": ("search_mentions", {"target": ten, "limit": 100}),
        "target_metrics": ("target_metrics", {"target": ten}),
        "target_metrics, 10 domains": ("target_metrics", {"target": domains}),
        "top_mentioned_domains, limit 10": ("top_mentioned_domains", {"target": ten, "limit": 10}),
        "timeseries_new_lost, weekly": (
            "timeseries_new_lost",
            {
                "target": ten,
                "date_from": time.strftime("%Y-%m-%d", time.gmtime(time.time() - DAYS * 86400)),
                "date_to": time.strftime("%Y-%m-%d"),
                "group_range": "week",
            },
        ),  # fmt: skip
    }


async def scan_baseline(store: Any, corpus: Corpus, account_id: int, dialect: str) -> float:
    """The 10-keyword mentions count by LIKE over every answer: what an unindexed store runs."""
    like = "ILIKE" if dialect == "postgres" else "LIKE"
    rank = TIERS["typical"]
    terms = corpus.brands[rank : rank + 10]
    where = " OR ".join(f"answer {like} ${i + 2}" for i in range(len(terms)))
    sql = (
        "SELECT a.platform, count(*) FROM mention_answers a JOIN mention_texts t ON t.id = a.id "
        f"WHERE a.account_id = $1 AND ({where}) GROUP BY a.platform"
    )
    args = [account_id, *[f"%{t}%" for t in terms]]
    started = time.perf_counter()
    await store.mention_query(lambda c, d: c.fetch_composed(sql, args, 600.0))
    return (time.perf_counter() - started) * 1000


async def measure(
    url: str, corpus: Corpus, n: int, repeat: int, dialect: str, loaded: bool, load_only: bool = False
) -> None:
    store = make_store(Settings(database_url=url))
    await store.open()
    try:
        account = await store.account_by_login("bench")
        if account is None:
            account = await store.create_account("bench", "x" * 64, uuid.uuid4().hex * 2, 0)
        if not loaded:
            started = time.perf_counter()
            if dialect == "sqlite":
                await asyncio.to_thread(load_sqlite, url[len("sqlite:///") :], corpus, n, account.id)
            else:
                await load_postgres(url, corpus, n, account.id)
            print(f"  loaded {n:,} answers in {time.perf_counter() - started:.0f} s")
        if load_only:
            return
        acct = Account(account.id, "bench", "", "", 0, 0.0)
        for tier in TIERS:
            for label, (function, task) in queries(corpus, tier).items():
                q = parse_query(function, task)
                result = await answer(store, acct, q)  # warm the cache once
                times = sorted([await _timed(store, acct, q) for _ in range(repeat)])
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                if function == "target_metrics":
                    matched = result["aggregated_metrics"]["total"]["mentions"]
                else:
                    total = await answer(
                        store, acct, parse_query("target_metrics", {"target": task["target"]})
                    )
                    matched = total["aggregated_metrics"]["total"]["mentions"]
                print(f"  {tier:<8} {label:<34} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   "
                      f"({matched:,} answers matched)")  # fmt: skip
        baseline = await scan_baseline(store, corpus, account.id, dialect)
        q = parse_query("target_metrics", queries(corpus, "typical")["target_metrics"][1])
        indexed = statistics.median([await _timed(store, acct, q) for _ in range(repeat)])
        print(f"  baseline (typical): LIKE scan of every answer for the 10 keywords {baseline:7.1f} ms; "
              f"indexed target_metrics {indexed:.1f} ms ({baseline / indexed:.0f}x)")  # fmt: skip
    finally:
        await store.close()


async def _timed(store: Any, acct: Account, q: Any) -> float:
    started = time.perf_counter()
    await answer(store, acct, q)
    return (time.perf_counter() - started) * 1000


async def write_cost(url: str, dialect: str, corpus: Corpus, n: int = 2000) -> None:
    """What indexing adds to settling an answer: ``Store.index_answers`` in batches of 200 (the settler's
    group commit), for answers of ~1,500 characters with 4 links and 3 tracked brands."""
    store = make_store(Settings(database_url=url))
    await store.open()
    try:
        account = await store.create_account("writer", "x" * 64, uuid.uuid4().hex * 2, 0)
        ids = [str(uuid.uuid4()) for _ in range(n)]
        now = time.time()

        async def tasks(c: Any) -> None:
            for task_id in ids:
                await c.fetch_composed(
                    f"INSERT INTO tasks {TASK_COLUMNS} VALUES ($1, $2, 'chat_gpt', 'live', 'done', 0, 0, 0, $3, $3, $4)"
                    " RETURNING id",
                    [task_id, account.id, now, RESULT],
                    10.0,
                )

        await store.db.write(tasks)
        items = []
        for task_id in ids:
            text = " ".join(corpus.answer()[0] for _ in range(3))[:1500]
            links = tuple(
                IndexedLink("s", d, f"https://{d}/p", None, r)
                for r, d in enumerate(corpus.rng.sample(corpus.domains[:200], 4), 1)
            )
            brands = tuple(
                IndexedBrand(b, "brand", False, p, True, False, False, 0)
                for p, b in enumerate(corpus.rng.sample(corpus.brands[:50], 3), 1)
            )
            items.append(
                (
                    task_id,
                    AnswerIndex(
                        "chat_gpt", "m", 2840, None, True, "which is best", text, ("q",), links, brands
                    ),
                )
            )
        started = time.perf_counter()
        for i in range(0, n, 200):
            await store.index_answers(items[i : i + 200])
        per = (time.perf_counter() - started) / n * 1000
        print(f"  indexing at settle: {per:.2f} ms per answer ({n:,} answers, batches of 200)")
    finally:
        await store.close()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--dialect", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--keep", default=None, help="a SQLite file to keep (and reuse when it exists)")
    ap.add_argument(
        "--keep-pg", default=None, help="a PostgreSQL database name to keep (and reuse when it exists)"
    )
    ap.add_argument(
        "--load-only", action="store_true", help="load (--keep/--keep-pg) and stop: measure later"
    )
    ap.add_argument("--write-only", action="store_true", help="only what indexing adds to settling an answer")
    args, _ = ap.parse_known_args()
    dialects = ["sqlite", "postgres"] if args.dialect == "both" else [args.dialect]
    for dialect in dialects:
        corpus = Corpus(random.Random(7))
        if not args.load_only:
            await _fresh(dialect, lambda url, d=dialect: write_cost(url, d, Corpus(random.Random(8))))
        if args.write_only:
            continue
        print(f"{dialect}: {args.answers:,} answers, 10-target queries x{args.repeat}")
        if dialect == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                path = args.keep or f"{tmp}/bench.db"
                loaded = bool(args.keep) and os.path.exists(path)  # noqa: ASYNC240  (once, before any work)
                await measure(
                    f"sqlite:///{path}", corpus, args.answers, args.repeat, dialect, loaded, args.load_only
                )
            continue
        name = args.keep_pg or f"llmr_mentions_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(ADMIN)
        loaded = bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        if not loaded:
            await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        try:
            url = ADMIN.rsplit("/", 1)[0] + "/" + name
            await measure(url, corpus, args.answers, args.repeat, dialect, loaded, args.load_only)
        finally:
            if not args.keep_pg:
                admin = await asyncpg.connect(ADMIN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()


async def _fresh(dialect: str, run: Any) -> None:
    """``run(url)`` on a new, empty database of the dialect, removed afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite:///{tmp}/write.db")
        return
    name = f"llmr_write_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        await run(ADMIN.rsplit("/", 1)[0] + "/" + name)
    finally:
        admin = await asyncpg.connect(ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
