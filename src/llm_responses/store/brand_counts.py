"""The counts brand metrics are made of, each read one composed statement on a heavy-read connection with a
time limit (``QueryTimeout``).

Two paths, the same rows. The rollups are kept by the indexer per day × engine × model × country × brand
(``mention_rollups``), the same per prompt (``mention_prompt_rollups``), and coarser for the breakdowns asked
most: per day × engine (``mention_daily_rollups``) and per prompt × engine over all time
(``mention_prompt_totals``); a query reads the smallest that has its keys (``smallest_table``), so a
project's year of answers is a few thousand rows summed, never the answers. What no rollup keeps, one
tracking run's own answers and the task tags of answers outside projects, is counted from the indexed answers
(``mention_answers`` ⋈ ``mention_brands``): a run's answers are few, and a tag is the caller's subset.

A statement is put together from fixed fragments, as ``store/mention_sql.py``'s are: its GROUP BY names only
the requested keys' columns (picked by name from ``ROLLUP_COLUMNS``/``ANSWER_COLUMNS``) and its WHERE only the filters
given, every value a parameter. A fixed statement keying every group by ``CASE WHEN $n THEN column END``
was measured 3× slower on SQLite, which sorts by every GROUP BY term, constant or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_responses.store.connection import Connection, Row
from llm_responses.store.queries import Dialect

QUERY_SECONDS = 20.0
KEYS = ("engine", "model", "country", "day", "prompt", "tag")  # the group keys every row carries
ROLLUP_KEYS = frozenset(("engine", "model", "country", "day"))


@dataclass(frozen=True, slots=True)
class CountFilter:
    """Which answers are counted: every field None counts all of the project's."""

    project_id: int = 0
    engine: str | None = None
    model: str | None = None
    location_code: int | None = None  # 0: answers without a country
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None
    run_id: int | None = None
    tag: str | None = None  # a task tag (the answers path only)
    prompts: tuple[str, ...] | None = None  # only these prompts (texts); None: all


@dataclass(frozen=True, slots=True)
class CountRow:
    """One group's own row (``brand == ''``: answers, with_citations) or one brand's counts in it."""

    engine: str
    model: str
    location_code: int
    day: str
    prompt: str
    tag: str
    brand: str
    competitor: bool
    answers: int
    with_citations: int
    mentions: int
    citations: int
    positions: int
    position_sum: int
    negated: int


# the group keys' columns, per table: the only text a request chooses (by name, from these)
ROLLUP_COLUMNS = {"engine": "platform", "model": "model_name", "country": "location_code", "day": "day",
           "prompt": "prompt_hash"}  # fmt: skip
ANSWER_COLUMNS = {"engine": "a.platform", "model": "a.model_name", "country": "COALESCE(a.location_code, 0)",
            "day": "a.day", "prompt": "a.question", "tag": "COALESCE(a.tag, '')"}  # fmt: skip
_SUMS = ("SUM(answers), SUM(with_citations), SUM(mentions), SUM(citations), SUM(positions), SUM(position_sum), "
         "SUM(negated)")  # fmt: skip


class TypedParams:
    """Values in ``$n`` placeholders, typed for PostgreSQL (a NULL must know its type)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.values: list[Any] = []

    def __call__(self, value: Any, pg_type: str = "") -> str:
        self.values.append(value)
        cast = f"::{pg_type}" if pg_type and self.dialect == "postgres" else ""
        return f"${len(self.values)}{cast}"

    def in_list(self, column: str, values: Sequence[str]) -> str:
        if self.dialect == "postgres":
            return f"{column} = ANY({self(list(values), 'text[]')})"
        return f"{column} IN (SELECT value FROM json_each({self(list(values))}))"


def where_of(p: TypedParams, account_id: int, f: CountFilter, cols: dict[str, str], prefix: str = "") -> str:
    """Only the filters given become SQL: the planner sees nothing it need not."""
    where = [f"{prefix}account_id = {p(account_id)}", f"{prefix}project_id = {p(f.project_id)}"]
    for key, value in (("engine", f.engine), ("model", f.model), ("country", f.location_code)):
        if value is not None:
            where.append(f"{cols[key]} = {p(value, 'integer' if key == 'country' else 'text')}")
    if f.date_from is not None:
        where.append(f"{cols['day']} >= {p(f.date_from, 'text')}")
    if f.date_to is not None:
        where.append(f"{cols['day']} <= {p(f.date_to, 'text')}")
    return " AND ".join(where)


# the rollup tables, smallest first, each with the keys it can group and filter by
TABLES = (
    ("mention_prompt_totals", frozenset(("prompt", "engine"))),
    ("mention_daily_rollups", frozenset(("day", "engine"))),
    ("mention_rollups", ROLLUP_KEYS),
    ("mention_prompt_rollups", ROLLUP_KEYS | {"prompt"}),
)


def smallest_table(groups: Sequence[str], f: CountFilter, by_prompts: bool) -> str:
    """The first of ``TABLES`` that keeps every key the query groups or filters by: a year by day reads the
    per-day × engine rows, not those per model and country too."""
    needed = set(groups) | {k for k, v in (("engine", f.engine), ("model", f.model), ("country", f.location_code))
                            if v is not None}  # fmt: skip
    if f.date_from is not None or f.date_to is not None:
        needed.add("day")
    if by_prompts:
        needed.add("prompt")
    return next(table for table, keys in TABLES if needed <= keys)


async def rollup_counts(
    c: Connection,
    dialect: Dialect,
    account_id: int,
    groups: Sequence[str],
    f: CountFilter,
    hashes: list[str] | None,
) -> list[CountRow]:
    """From the rollups: per-prompt ones when ``prompt`` is a group or ``hashes`` (prompt hashes) filters."""
    unknown = set(groups) - ROLLUP_KEYS - {"prompt"}
    if unknown or f.run_id is not None or f.tag is not None:
        raise ValueError(f"the rollups keep no {', '.join(sorted(unknown)) or 'run or tag'}")
    p = TypedParams(dialect)
    keys = [ROLLUP_COLUMNS[g] for g in KEYS if g in groups]
    where = where_of(p, account_id, f, ROLLUP_COLUMNS)
    if hashes is not None:
        where += " AND " + p.in_list("prompt_hash", hashes)
    table = smallest_table(groups, f, hashes is not None)
    grouped = (
        f"SELECT {', '.join([*keys, 'brand'])}, MAX(CASE WHEN competitor THEN 1 ELSE 0 END) AS competitor, {_SUMS} "
        f"FROM {table} WHERE {where} GROUP BY {', '.join([*keys, 'brand'])}"
    )
    if "prompt" in groups:  # the prompts' texts, once each
        sql = (
            f"SELECT r.*, COALESCE(q.question, '') FROM ({grouped}) r LEFT JOIN mention_prompts q "
            f"ON q.account_id = {p(account_id)} AND q.project_id = {p(f.project_id)} AND q.prompt_hash = r.prompt_hash"
        )
    else:
        sql = grouped
    rows = await c.fetch_composed(sql, p.values, QUERY_SECONDS)
    return _rows(rows, [g for g in KEYS if g in groups], text_of_prompt="prompt" in groups)


async def answer_counts(
    c: Connection, dialect: Dialect, account_id: int, groups: Sequence[str], f: CountFilter
) -> list[CountRow]:
    """From the indexed answers themselves: a run's, or by or for a task tag."""
    if unknown := set(groups) - set(KEYS):
        raise ValueError(f"cannot group by {', '.join(sorted(unknown))}")
    p = TypedParams(dialect)
    where = where_of(p, account_id, f, ANSWER_COLUMNS, "a.")
    if f.run_id is not None:
        where += f" AND a.run_id = {p(f.run_id, 'integer')}"
    if f.tag is not None:
        where += f" AND COALESCE(a.tag, '') = {p(f.tag, 'text')}"
    if f.prompts is not None:
        where += " AND " + p.in_list("a.question", f.prompts)
    names = [g for g in KEYS if g in groups]
    keys = [f"{ANSWER_COLUMNS[g]} AS k_{g}" for g in names]
    outer = [f"a.k_{g}" for g in names]
    sql = (
        f"WITH a AS (SELECT a.id, {', '.join([*keys, ''])}"
        f"CASE WHEN a.cited_domains <> '[]' THEN 1 ELSE 0 END AS cited_any FROM mention_answers a WHERE {where}) "
        f"SELECT {', '.join([*outer, ''])}'' AS brand, 0, COUNT(*), SUM(a.cited_any), 0, 0, 0, 0, 0 FROM a"
        f"{' GROUP BY ' + ', '.join(outer) if outer else ''} "
        f"UNION ALL SELECT {', '.join([*outer, ''])}b.brand, MAX(CASE WHEN b.competitor THEN 1 ELSE 0 END), 0, 0, "
        "SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), SUM(CASE WHEN b.cited THEN 1 ELSE 0 END), COUNT(b.position), "
        "COALESCE(SUM(b.position), 0), SUM(CASE WHEN b.negated THEN 1 ELSE 0 END) "
        f"FROM a JOIN mention_brands b ON b.answer_id = a.id GROUP BY {', '.join([*outer, 'b.brand'])}"
    )
    return _rows(await c.fetch_composed(sql, p.values, QUERY_SECONDS), names)


def _rows(rows: Sequence[Row], names: list[str], *, text_of_prompt: bool = False) -> list[CountRow]:
    """Rows of (the group keys in ``KEYS``' order, brand, competitor, the seven counts[, the prompt's text])
    as ``CountRow``s, a key not grouped by being ''."""
    out = []
    width = len(names)
    for r in rows:
        key = dict(zip(names, r[:width], strict=True))
        if text_of_prompt:
            key["prompt"] = r[width + 9]
        n = [int(v or 0) for v in r[width + 2 : width + 9]]
        out.append(
            CountRow(str(key.get("engine", "")), str(key.get("model", "")), int(key.get("country") or 0),
                     str(key.get("day", "")), str(key.get("prompt", "")), str(key.get("tag", "")), str(r[width]),
                     bool(r[width + 1]), n[0], n[1], n[2], n[3], n[4], n[5], n[6])
        )  # fmt: skip
    return out
