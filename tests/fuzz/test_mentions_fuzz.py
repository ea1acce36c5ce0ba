"""The LLM Mentions endpoints under generated hostile input, on SQLite and PostgreSQL: requests built from
the real fields with the values that broke them before (NUL, lone surrogates, numbers past every column's
range, LIKE patterns ending in their escape character, one- and two-letter substrings, deep nesting).
Every answer is HTTP 200 with a documented code, and the account's answers are all still there after."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from llm_responses.wire.mentions_request import FUNCTIONS as ALLOWED
from llm_responses.wire.mentions_request import ROW_FIELD_TYPES
from tests.api.test_llm_mentions import MENTIONS, PROMPTS, _seeded, ok, post_answers
from tests.conftest import LLM

CASES = 150
# values that pass the checks and must then be harmless in SQL, and values the checks must refuse
PASSING = ["acme", "' OR 1=1 --", '"', "NEAR(a b)", "é" * 300, "\u202e", "🦄" * 10, "%a_b%", "\\\\", "*",
           "{question}:x", "a%\\%", "Acme Corp"]  # fmt: skip
REFUSED = ["a\x00b", "\x00", "ab", "a", "\\", "x\\", "%\\", "\ud800", " ", "", "a" * 2001, "\t\n"]
STRINGS = PASSING * 2 + REFUSED
NUMBERS = [0, -1, 1, 2**31, 2**31 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 1.5, float("1e308"), True]
TOKENS = ["1_99999999999999999999", "inf_99999999999", "nan_1", "-inf_-1", "1e999_1", "1.0_", "_", "x_y", ""]
FIELDS = ["platform", "model_name", "location_code", "language_code", "question", "answer",
          "first_response_at", "is_web_search_based", "ai_search_volume", "mentions", "key", "brand"]  # fmt: skip
OPS = ["=", "<>", "<", ">=", "in", "not_in", "like", "not_like", "ilike", "match", "not_match", "regex"]
FUNCTIONS = [
    "search_mentions", "target_metrics", "multi_target_metrics", "top_mentioned_domains",
    "top_mentioned_pages", "top_mentioned_brands", "top_mentioned_brand_categories", "historical",
    "timeseries_delta", "timeseries_new_lost", "top_mentioned_brands_lite", "target_metrics_lite",
]  # fmt: skip


class Draw:
    """Random values for one request: ``clean`` requests draw only what passes the checks (and must then
    be harmless in SQL); the others draw anything."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.clean = rng.random() < 0.5

    def text(self) -> str:
        return self.rng.choice(PASSING if self.clean else STRINGS)

    def value(self) -> Any:
        rng = self.rng
        pick = rng.random()
        if pick < 0.5:
            return self.text()
        if pick < 0.8:
            return rng.choice([1, 2840, 2**31 - 1]) if self.clean else rng.choice(NUMBERS)
        return [self.text() for _ in range(rng.randint(1, 3))]

    def target(self) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < 0.2:
            return {
                "domain": rng.choice(
                    ["acme.example", "münchen.de", "wikipedia.org"] + ([] if self.clean else STRINGS)
                )
            }
        t: dict[str, Any] = {"keyword": self.text()}
        if rng.random() < 0.5:
            t["match_type"] = rng.choice(["partial_match", "word_match"] + ([] if self.clean else ["regex"]))
        if rng.random() < 0.3:
            scopes = [["answer"], ["question", "brand_entities"], "any"]
            t["search_scope"] = rng.choice(scopes if self.clean else [*scopes, [None]])
        return t

    def condition(self, fields: list[str], depth: int = 0) -> Any:
        rng = self.rng
        if depth < 3 and rng.random() < 0.3:
            join = rng.choice(["and", "or"] + ([] if self.clean else ["xor"]))
            return [self.condition(fields, depth + 1), join, self.condition(fields, depth + 1)]
        field = rng.choice(fields if self.clean else FIELDS)
        if self.clean:  # a value the field takes
            kind = ROW_FIELD_TYPES.get(field, int)
            if kind is bool:
                return [field, rng.choice(["=", "<>"]), rng.random() < 0.5]
            if kind is int:
                return [field, rng.choice(["=", "<", ">=", "in"]), rng.choice([2840, [2840, 2250]])]
            if kind == "datetime":
                return [field, rng.choice(["<", ">="]), "2026-01-01"]
            return [field, rng.choice(["=", "like", "not_like", "ilike", "match", "not_match"]), self.text()]
        return [field, rng.choice(OPS), self.value()]


def request(rng: random.Random, function: str) -> dict[str, Any]:
    draw = Draw(rng)
    task: dict[str, Any] = {}
    if function == "multi_target_metrics":
        task["targets"] = [
            {"key": f"k{i}" if draw.clean else draw.text(), "target": [draw.target()]}
            for i in range(rng.randint(1, 3))
        ]
    else:
        task["target"] = [draw.target() for _ in range(rng.randint(1, 3))]
    row_fields = sorted(ROW_FIELD_TYPES)
    for name, make in (
        ("filters", lambda: draw.condition(row_fields)),
        ("initial_dataset_filters", lambda: draw.condition(row_fields)),
        ("order_by", lambda: [f"{rng.choice(FIELDS)},{rng.choice(['asc', 'desc', 'up', ''])}"]),
        ("search_after_token", lambda: rng.choice(TOKENS)),
        ("limit", lambda: rng.choice([10, 100, 1000] if draw.clean else NUMBERS)),
        ("offset", lambda: rng.choice([0, 5, 1_000_000] if draw.clean else NUMBERS)),
        ("location_code", lambda: rng.choice([2840, 2250] if draw.clean else NUMBERS)),
        ("language_code", lambda: rng.choice(["en", "fr"]) if draw.clean else draw.text()),
        ("tag", draw.text),
        ("include_brands", lambda: [draw.text()]),
        ("include_domains", lambda: ["acme.example"] if draw.clean else [draw.text()]),
        ("date_from", lambda: rng.choice(["2026-01-01", "2026-02-30", "9999-12-31", "\x00"])),
        ("group_range", lambda: rng.choice(["day", "week", "\x00"])),
    ):
        if (name in ALLOWED[function] or (not draw.clean and rng.random() < 0.05)) and rng.random() < 0.2:
            task[name] = make()
    return task


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request):
    return request.param


async def test_generated_hostile_mentions_requests(running_with, db_settings, pg_databases, rng):
    async with await _seeded(running_with, db_settings, pg_databases) as h:
        alice = await h.account()
        await post_answers(h, alice, PROMPTS[:2])
        seen: dict[int, int] = {}
        for _ in range(CASES):
            function = rng.choice(FUNCTIONS)
            task = request(rng, function)
            body = json.dumps([task]).encode()  # ASCII escapes: a lone surrogate travels as \\ud800
            r = await h.client.post(f"{MENTIONS}/{function}/live", content=body, headers=alice.basic)
            assert r.status_code == 200, (function, task, r.text[:300])
            body = r.json()
            code = body["tasks"][0]["status_code"] if body["tasks"] else body["status_code"]
            assert code in (20000, 40501, 40503, 40506), (function, task, body)
            seen[code] = seen.get(code, 0) + 1
        # the generator reaches the field checks past the field names, and the SQL past the checks
        assert seen.get(40501, 0) > CASES / 4 and seen.get(20000, 0) > CASES / 10, seen
        total = ok(
            (
                await h.client.post(
                    f"{MENTIONS}/target_metrics/live",
                    json=[{"target": [{"keyword": "acme"}]}],
                    headers=alice.basic,
                )
            ).json()["tasks"][0]
        )
        assert total["aggregated_metrics"]["total"]["mentions"] == 2
        assert (await h.get(f"{LLM}/tasks_ready", alice))["status_code"] == 20000
