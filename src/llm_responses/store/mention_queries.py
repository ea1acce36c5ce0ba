"""The LLM Mentions reads over one account's mentions index, each a bounded statement or two.

Every aggregate starts from ``m``: the account's answers that the targets match, past the platform,
location, language and ``initial_dataset_filters`` (materialized once per statement). Grouped endpoints
then key those answers (``k``: by cited domain, page, brand or target group), rank the keys (``g``), and
break each key's answers down by platform, location, language, cited domains and brands, the top
``internal_list_limit`` of each. Times are bounded (``QUERY_SECONDS``, then 50401), rows by ``limit``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_responses.store.connection import Connection, Row
from llm_responses.store.mention_sql import (
    ROW_COLUMNS,
    Params,
    in_list,
    matching,
    metric_filter,
    row_filter,
)
from llm_responses.store.queries import Dialect
from llm_responses.store.records import parse_stored
from llm_responses.wire.mentions_request import ITEM_KEYS, MentionsQuery, Target
from llm_responses.wire.mentions_result import DIMENSIONS

QUERY_SECONDS = 20.0


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
    result: dict[str, Any] | None  # the task's rendered result (``records.parse_stored``)
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


# carried along from the answer's row, so no breakdown looks anything up again: the dimensions, and the
# answer's cited domains and brands as JSON arrays (``facets``)
_CARRY = ("platform", "location_code", "language_code", "cited_domains", "brand_names", "brand_categories")
_DIMS = ", ".join(f"a.{c}" for c in _CARRY)
_M_DIMS = ", ".join(f"m.{c}" for c in _CARRY)


def facets(column: str, dialect: Dialect) -> str:
    """A row source of the values of a JSON array column, as ``j(value)``."""
    if dialect == "sqlite":
        return f"json_each({column}) j"
    return f"json_array_elements_text({column}::json) AS j(value)"


def _matched(q: MentionsQuery, p: Params, dialect: Dialect) -> str:
    return (
        f"WITH m AS MATERIALIZED (SELECT a.id, a.day, a.question, {_DIMS} FROM mention_answers a "
        f"WHERE {_base(q, p, dialect)})"
    )


def _keyed(q: MentionsQuery, p: Params, dialect: Dialect) -> str:
    """``k`` (answer_id, key and what ``_CARRY`` carries): the CTE every grouped endpoint starts from."""
    f = q.function
    if f == "multi_target_metrics":
        arms = [
            f"SELECT a.id AS answer_id, CAST({p(key)} AS TEXT) AS key, {_DIMS} FROM mention_answers a "
            f"WHERE {_base(q, p, dialect, targets)}"
            for key, targets in q.groups
        ]
        return "WITH k AS MATERIALIZED (" + " UNION ALL ".join(arms) + ")"
    head = _matched(q, p, dialect)
    if f == "target_metrics":
        # one key: k is m under another name, never a copy
        return head + f", k AS NOT MATERIALIZED (SELECT m.id AS answer_id, '' AS key, {_M_DIMS} FROM m)"
    if f == "top_mentioned_pages":
        where = [f"l.scope = {p(q.links_scope)}", *_key_lists("l.url", q, p, dialect)]
        return (
            head + f", k AS MATERIALIZED (SELECT DISTINCT l.answer_id, l.url AS key, {_M_DIMS} FROM m "
            f"JOIN mention_links l ON l.answer_id = m.id WHERE {' AND '.join(where)})"
        )
    if f in ("top_mentioned_domains", "top_mentioned_brands", "top_mentioned_brand_categories"):
        if f == "top_mentioned_brands":
            column = "m.brand_names"
        elif f == "top_mentioned_brand_categories":
            column = "m.brand_categories"
        else:
            column = "m.cited_domains" if q.links_scope == "s" else "'[]'"  # no search results: see below
        where = ["1 = 1", *_key_lists("j.value", q, p, dialect)]
        return (
            head + f", k AS MATERIALIZED (SELECT m.id AS answer_id, CAST(j.value AS TEXT) AS key, {_M_DIMS} "
            f"FROM m, {facets(column, dialect)} WHERE {' AND '.join(where)})"
        )
    raise ValueError(f"not a grouped function: {f}")


def _key_lists(column: str, q: MentionsQuery, p: Params, dialect: Dialect) -> list[str]:
    """``include_*`` / ``exclude_*`` (domains, pages, brands) as conditions on the key ``column``."""
    out = [in_list(column, q.include_keys, p, dialect)] if q.include_keys else []
    if q.exclude_keys:
        out.append(in_list(column, q.exclude_keys, p, dialect, negate=True))
    return out


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
    mentions and breakdowns: one statement, so the matched answers are looked up once."""
    key_field = ITEM_KEYS.get(q.function, "key")
    p = Params(account_id)
    rows = await c.fetch_composed(_ranked_sql(q, p, dialect, key_field), p.values, QUERY_SECONDS)
    page = sorted((r for r in rows if r[1] == _PAGE), key=lambda r: r[4])
    if not page:
        return Ranked(0, [])
    by: dict[str, dict[str, list[tuple[str | None, int]]]] = {r[0]: {d: [] for d in DIMENSIONS} for r in page}
    combos: dict[str, dict[str, Counter[str | None]]] = {r[0]: {d: Counter() for d in _SPLIT} for r in page}
    for key, dim, value, n, _ in rows:
        if dim == _DIMS_ROW:
            for d, part in zip(_SPLIT, str(value).split("|"), strict=True):
                combos[key][d][part or None] += int(n)
        elif dim != _PAGE:
            by[key][dim].append((None if value is None else str(value), int(n)))
    for key, counters in combos.items():
        for d, counter in counters.items():
            ranked_values = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
            by[key][d] = ranked_values[: q.internal_list_limit]
    items = [(key, Breakdown(int(n), by[key])) for key, _, _, n, _ in page]
    return Ranked(int(page[0][2]), items)


async def lite(
    c: Connection, dialect: Dialect, account_id: int, q: MentionsQuery
) -> tuple[int, list[tuple[str, int | None, str | None, str, int]]]:
    """The Lite endpoints: (total rows, a page of (key, location, language, platform, mentions))."""
    key_field = ITEM_KEYS.get(q.function, "key")
    p = Params(account_id)
    where = f" WHERE {metric_filter(q.filters, p, dialect, key_field)}" if q.filters else ""
    rows = await c.fetch_composed(
        f"{_keyed(q, p, dialect)}, g AS (SELECT key, location_code, language_code, platform, count(*) AS mentions "
        "FROM k GROUP BY key, location_code, language_code, platform) "
        f"SELECT g.key, g.location_code, g.language_code, g.platform, g.mentions, count(*) OVER () FROM g{where} "
        f"ORDER BY {_order(q, key_field)}, g.platform, g.location_code, g.language_code "
        f"LIMIT {p(q.limit)} OFFSET {p(q.offset)}",
        p.values,
        QUERY_SECONDS,
    )
    total = int(rows[0][5]) if rows else 0
    return total, [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


_PAGE = "#"  # the rows naming the page's keys: (key, '#', total_count, mentions, position)
_DIMS_ROW = "dims"  # (key, 'dims', 'platform|location|language', mentions)
_SPLIT = ("platform", "location", "language")


def _ranked_sql(q: MentionsQuery, p: Params, dialect: Dialect, key_field: str) -> str:
    where = f" WHERE {metric_filter(q.filters, p, dialect, key_field)}" if q.filters else ""
    order = _order(q, key_field)
    page = (
        "g AS (SELECT key, count(*) AS mentions FROM k GROUP BY key), "
        f"page AS MATERIALIZED (SELECT g.key, g.mentions, count(*) OVER () AS total, "
        f"row_number() OVER (ORDER BY {order}) AS pos FROM g{where} ORDER BY {order} "
        f"LIMIT {p(q.limit)} OFFSET {p(q.offset)}), "
        + (
            "pk AS NOT MATERIALIZED (SELECT * FROM k)"  # the one key of target_metrics: every row of k
            if q.function == "target_metrics"
            else "pk AS MATERIALIZED (SELECT * FROM k WHERE key IN (SELECT key FROM page))"
        )
    )
    # platform, location and language in one pass (their combinations are few); split apart in ``ranked``
    arms = [
        f"SELECT key, '{_DIMS_ROW}' AS dim, platform || '|' || coalesce(CAST(location_code AS TEXT), '') || '|' || "
        "coalesce(language_code, '') AS value, count(*) AS n FROM pk GROUP BY key, platform, location_code, language_code"
    ]
    # each answer's arrays hold distinct values: counting rows counts answers
    # search_results_domain stays empty: no engine reports the results it retrieved without citing them
    # (the index keeps a column for them, result_domains), and its pass cost 19 ms of 240 on PostgreSQL
    for dim, column in (
        ("sources_domain", "cited_domains"),
        ("brand_entities_title", "brand_names"),
        ("brand_entities_category", "brand_categories"),
    ):
        arms.append(
            f"SELECT pk.key, '{dim}', CAST(j.value AS TEXT), count(*) FROM pk, {facets('pk.' + column, dialect)} "
            "GROUP BY pk.key, j.value"
        )
    limit = p(q.internal_list_limit)
    return (
        f"{_keyed(q, p, dialect)}, {page}, d AS ({' UNION ALL '.join(arms)}) "
        "SELECT key, dim, value, n, rn FROM (SELECT key, dim, value, n, "
        "row_number() OVER (PARTITION BY key, dim ORDER BY n DESC, value) AS rn FROM d) x "
        f"WHERE rn <= {limit} OR dim = '{_DIMS_ROW}' "
        f"UNION ALL SELECT key, '{_PAGE}', CAST(total AS TEXT), mentions, pos FROM page"
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


async def search(
    c: Connection, dialect: Dialect, account_id: int, q: MentionsQuery
) -> tuple[int, list[FoundAnswer]]:
    """(total matched, one page of them): newest first, or as ``order_by`` says."""
    p = Params(account_id)
    where = _base(q, p, dialect)
    if q.filters is not None:
        where += " AND " + row_filter(q.filters, p, dialect)
    # the matched answers are found once: the total rides along on each of them, the page is read from them
    matched = f"WITH m AS MATERIALIZED (SELECT a.id, count(*) OVER () AS total FROM mention_answers a WHERE {where})"
    matched_args = list(p.values)
    after = "1 = 1"
    if q.search_after is not None:
        after = f"(a.asked_at < {p(q.search_after[0])} OR (a.asked_at = {p(q.search_after[0])} "
        after += f"AND a.id < {p(q.search_after[1])}))"
    rules = [f"{ROW_COLUMNS[f]} {'DESC' if d else 'ASC'}" for f, d in q.order_by if f in ROW_COLUMNS]
    order = ", ".join([*rules, "a.asked_at DESC", "a.id DESC"])
    rows = await c.fetch_composed(
        f"{matched} SELECT a.id, a.task_id, a.platform, a.model_name, a.location_code, a.language_code, a.question, "
        "a.asked_at, a.web_search, t.result_json, x.fan_out, m.total FROM m JOIN mention_answers a ON a.id = m.id "
        f"JOIN tasks t ON t.id = a.task_id JOIN mention_texts x ON x.id = a.id WHERE {after} ORDER BY {order} "
        f"LIMIT {p(q.limit)} OFFSET {p(q.offset if q.search_after is None else 0)}",
        p.values,
        QUERY_SECONDS,
    )
    if rows:
        total = int(rows[0][11])
    elif q.offset or q.search_after is not None:  # paged past the end: the total still has to be said
        counted = await c.fetch_composed(f"{matched} SELECT count(*) FROM m", matched_args, QUERY_SECONDS)
        total = int(counted[0][0])
    else:
        total = 0
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
    return total, [_found(r, brands[r[0]]) for r in rows]


def _found(r: Row, brands: list[tuple[int | None, str, str]]) -> FoundAnswer:
    return FoundAnswer(
        answer_id=r[0],
        task_id=r[1],
        platform=r[2],
        model_name=r[3],
        location_code=r[4],
        language_code=r[5],
        question=r[6],
        asked_at=float(r[7]),
        web_search=bool(r[8]),
        result=parse_stored(r[9]),
        fan_out=r[10],
        brands=brands,
    )
