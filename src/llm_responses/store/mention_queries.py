"""The LLM Mentions reads over one account's mentions index, each a bounded statement or two.

Every aggregate starts from ``m``: the account's answers that the targets match, past the platform,
location, language and ``initial_dataset_filters`` (materialized once per statement). Grouped endpoints
then key those answers (``k``: by cited domain, page, brand or target group), rank the keys (``g``), and
break each key's answers down by platform, location, language, cited domains and brands, the top
``internal_list_limit`` of each. Times are bounded (``QUERY_SECONDS``, then 50401), rows by ``limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llm_responses.store.connection import Connection
from llm_responses.store.mention_sql import Dialect, Params, in_list, matching, metric_filter, row_filter
from llm_responses.wire.mentions_request import ITEM_KEYS, MentionsQuery, Target

QUERY_SECONDS = 20.0
DIMENSIONS = (
    "location", "language", "platform", "sources_domain", "search_results_domain", "brand_entities_title",
    "brand_entities_category",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Breakdown:
    mentions: int
    by: dict[str, list[tuple[str | None, int]]]  # dimension → [(key, mentions)], most first


@dataclass(frozen=True, slots=True)
class Ranked:
    total_count: int
    items: list[tuple[str, Breakdown]]


@dataclass(frozen=True, slots=True)
class FoundAnswer:
    answer_id: int
    task_id: str
    platform: str
    model_name: str
    location_code: int | None
    language_code: str | None
    question: str
    asked_at: float
    web_search: bool
    result_json: str | None
    fan_out: str
    brands: list[tuple[int | None, str, str]]  # (position, name, category)


def _base(q: MentionsQuery, p: Params, dialect: Dialect, targets: Sequence[Target] | None = None) -> str:
    """The WHERE of the account's matched answers (alias ``a``); the account is parameter $1."""
    where = ["a.account_id = $1"]
    if q.platform:
        where.append(f"a.platform = {p(q.platform)}")
    if q.location_code is not None:
        where.append(f"a.location_code = {p(q.location_code)}")
    if q.language_code is not None:
        where.append(f"a.language_code = {p(q.language_code)}")
    if q.initial_filters is not None:
        where.append(row_filter(q.initial_filters, p, dialect))
    if q.date_from:
        where.append(f"a.day >= {p(q.date_from)}")
    if q.date_to:
        where.append(f"a.day <= {p(q.date_to)}")
    where.append(matching(q.targets if targets is None else targets, "$1", p, dialect))
    return " AND ".join(where)


def _matched(q: MentionsQuery, p: Params, dialect: Dialect) -> str:
    return (
        "WITH m AS MATERIALIZED (SELECT a.id, a.day, a.platform, a.question FROM mention_answers a "
        f"WHERE {_base(q, p, dialect)})"
    )


def _keyed(q: MentionsQuery, p: Params, dialect: Dialect) -> str:
    """``m`` and ``k`` (answer_id, key): the CTEs every grouped endpoint shares."""
    f = q.function
    if f == "multi_target_metrics":
        arms = [
            f"SELECT a.id AS answer_id, CAST({p(key)} AS TEXT) AS key FROM mention_answers a "
            f"WHERE {_base(q, p, dialect, targets)}"
            for key, targets in q.groups
        ]
        return "WITH k AS MATERIALIZED (" + " UNION ALL ".join(arms) + ")"
    head = _matched(q, p, dialect)
    if f == "target_metrics":
        return head + ", k AS (SELECT id AS answer_id, '' AS key FROM m)"
    if f in ("top_mentioned_domains", "top_mentioned_pages"):
        column = "l.domain" if f == "top_mentioned_domains" else "l.url"
        where = [f"l.scope = {p(q.links_scope)}"]
        if q.include_keys:
            where.append(in_list(column, q.include_keys, p, dialect))
        if q.exclude_keys:
            where.append(in_list(column, q.exclude_keys, p, dialect, negate=True))
        return (
            head + f", k AS (SELECT DISTINCT l.answer_id, {column} AS key FROM m "
            f"JOIN mention_links l ON l.answer_id = m.id WHERE {' AND '.join(where)})"
        )
    if f == "top_mentioned_brands":
        where = ["b.mentioned"]
        if q.include_keys:
            where.append(in_list("b.brand", q.include_keys, p, dialect))
        if q.exclude_keys:
            where.append(in_list("b.brand", q.exclude_keys, p, dialect, negate=True))
        return (
            head + ", k AS (SELECT b.answer_id, b.brand AS key FROM m "
            f"JOIN mention_brands b ON b.answer_id = m.id WHERE {' AND '.join(where)})"
        )
    raise ValueError(f"not a grouped function: {f}")


def _order(q: MentionsQuery, key_field: str) -> str:
    rules = []
    for field, desc in q.order_by or (("mentions", True),):
        column = "g.key" if field == key_field else "g.mentions"
        if "ai_search_volume" in field:
            continue  # none held: every row ties
        rules.append(f"{column} {'DESC' if desc else 'ASC'}")
    return ", ".join([*rules, "g.key"])


async def ranked(c: Connection, dialect: Dialect, account_id: int, q: MentionsQuery) -> Ranked:
    """A page of keys (domains, pages, brands, target groups, or the one target set) with each one's
    mentions and breakdowns."""
    key_field = ITEM_KEYS.get(q.function, "key")
    p = Params(account_id)
    having = f" HAVING {metric_filter(q.filters, p, dialect, key_field)}" if q.filters else ""
    page = await c.fetch_composed(
        f"{_keyed(q, p, dialect)}, g AS (SELECT key, count(*) AS mentions FROM k GROUP BY key{having}) "
        f"SELECT g.key, g.mentions, count(*) OVER () FROM g ORDER BY {_order(q, key_field)} "
        f"LIMIT {p(q.limit)} OFFSET {p(q.offset)}",
        p.values,
        QUERY_SECONDS,
    )
    if not page:
        return Ranked(0, [])
    keys = [r[0] for r in page]
    p = Params(account_id)
    rows = await c.fetch_composed(_breakdown_sql(q, p, dialect, keys), p.values, QUERY_SECONDS)
    by: dict[str, dict[str, list[tuple[str | None, int]]]] = {k: {d: [] for d in DIMENSIONS} for k in keys}
    for key, dim, value, n in rows:
        by[key][dim].append((None if value is None else str(value), int(n)))
    items = [(key, Breakdown(int(n), by[key])) for key, n, _ in page]
    return Ranked(int(page[0][2]), items)


def _breakdown_sql(q: MentionsQuery, p: Params, dialect: Dialect, keys: list[str]) -> str:
    keyed = _keyed(q, p, dialect)
    pk = f"pk AS (SELECT answer_id, key FROM k WHERE {in_list('key', keys, p, dialect)})"
    answers = "FROM pk JOIN mention_answers a ON a.id = pk.answer_id"
    arms = [
        f"SELECT pk.key, 'platform' AS dim, a.platform AS value, count(*) AS n {answers} GROUP BY pk.key, a.platform",
        f"SELECT pk.key, 'location', CAST(a.location_code AS TEXT), count(*) {answers} "
        "GROUP BY pk.key, a.location_code",
        f"SELECT pk.key, 'language', a.language_code, count(*) {answers} GROUP BY pk.key, a.language_code",
    ]
    for dim, scope in (("sources_domain", "s"), ("search_results_domain", "r")):
        arms.append(
            f"SELECT pk.key, '{dim}', l.domain, count(DISTINCT l.answer_id) FROM pk "
            f"JOIN mention_links l ON l.answer_id = pk.answer_id AND l.scope = '{scope}' GROUP BY pk.key, l.domain"
        )
    for dim, column in (("brand_entities_title", "b.brand"), ("brand_entities_category", "b.category")):
        arms.append(
            f"SELECT pk.key, '{dim}', {column}, count(DISTINCT b.answer_id) FROM pk "
            f"JOIN mention_brands b ON b.answer_id = pk.answer_id AND b.mentioned GROUP BY pk.key, {column}"
        )
    limit = p(q.internal_list_limit)
    return (
        f"{keyed}, {pk}, d AS ({' UNION ALL '.join(arms)}) "
        "SELECT key, dim, value, n FROM (SELECT key, dim, value, n, "
        "row_number() OVER (PARTITION BY key, dim ORDER BY n DESC, value) AS rn FROM d) x "
        f"WHERE rn <= {limit} ORDER BY key, dim, rn"
    )


async def per_day(
    c: Connection, dialect: Dialect, account_id: int, q: MentionsQuery
) -> list[tuple[str, int]]:
    """(day, matched answers) for each day with any, oldest first (historical and timeseries_delta)."""
    p = Params(account_id)
    rows = await c.fetch_composed(
        f"{_matched(q, p, dialect)} SELECT day, count(*) FROM m GROUP BY day ORDER BY day",
        p.values,
        QUERY_SECONDS,
    )
    return [(r[0], int(r[1])) for r in rows]


async def questions_per_day(
    c: Connection, dialect: Dialect, account_id: int, q: MentionsQuery
) -> list[tuple[str, str, str]]:
    """(day, platform, question) of every matched answer, once each (timeseries_new_lost)."""
    p = Params(account_id)
    rows = await c.fetch_composed(
        f"{_matched(q, p, dialect)} SELECT DISTINCT day, platform, question FROM m ORDER BY day",
        p.values,
        QUERY_SECONDS,
    )
    return [(r[0], r[1], r[2]) for r in rows]


_SEARCH_ORDER = {
    "platform": "a.platform", "model_name": "a.model_name", "location_code": "a.location_code",
    "language_code": "a.language_code", "question": "a.question", "answer": "a.answer",
    "first_response_at": "a.asked_at", "last_response_at": "a.asked_at", "is_web_search_based": "a.web_search",
}  # fmt: skip


async def search(
    c: Connection, dialect: Dialect, account_id: int, q: MentionsQuery
) -> tuple[int, list[FoundAnswer]]:
    """(total matched, one page of them): newest first, or as ``order_by`` says."""
    p = Params(account_id)
    where = _base(q, p, dialect)
    if q.filters is not None:
        where += " AND " + row_filter(q.filters, p, dialect)
    count_args = list(p.values)
    total = await c.fetch_composed(
        f"SELECT count(*) FROM mention_answers a WHERE {where}", count_args, QUERY_SECONDS
    )
    if q.search_after is not None:
        where += f" AND (a.asked_at < {p(q.search_after[0])} OR (a.asked_at = {p(q.search_after[0])} "
        where += f"AND a.id < {p(q.search_after[1])}))"
    rules = [f"{_SEARCH_ORDER[f]} {'DESC' if d else 'ASC'}" for f, d in q.order_by if f in _SEARCH_ORDER]
    order = ", ".join([*rules, "a.asked_at DESC", "a.id DESC"])
    rows = await c.fetch_composed(
        "SELECT a.id, a.task_id, a.platform, a.model_name, a.location_code, a.language_code, a.question, "
        "a.asked_at, a.web_search, t.result_json, a.fan_out FROM mention_answers a "
        f"JOIN tasks t ON t.id = a.task_id WHERE {where} ORDER BY {order} "
        f"LIMIT {p(q.limit)} OFFSET {p(q.offset if q.search_after is None else 0)}",
        p.values,
        QUERY_SECONDS,
    )
    brands: dict[int, list[tuple[int | None, str, str]]] = {r[0]: [] for r in rows}
    if rows:
        p = Params()
        found = await c.fetch_composed(
            "SELECT answer_id, position, brand, category FROM mention_brands "
            f"WHERE {in_list('answer_id', list(brands), p, dialect)} AND mentioned ORDER BY answer_id, position",
            p.values,
            QUERY_SECONDS,
        )
        for answer_id, position, brand, category in found:
            brands[answer_id].append((position, brand, category))
    return int(total[0][0]), [
        FoundAnswer(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], float(r[7]), bool(r[8]), r[9], r[10], brands[r[0]]
        )
        for r in rows
    ]
