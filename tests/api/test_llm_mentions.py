"""The LLM Mentions endpoints over the caller's own answers, on SQLite and PostgreSQL: answers indexed as
they settle (brands, cited links, fan-out), every function's result shape, targets, scopes, filters,
ordering, paging, isolation between accounts, and clear 40xxx errors for bad input."""

from __future__ import annotations

import pytest

from tests.conftest import LLM

MENTIONS = "/v3/ai_optimization/llm_mentions"
BRANDS = [
    {"name": "Acme", "aliases": ["Acme Corp"], "domains": ["acme.example"], "category": "software"},
    {"name": "Globex", "competitor": True},
    {"name": "Initech", "competitor": True},
]
PROMPTS = [
    ("Acme or Globex for a small team?", False, "crm"),
    ("Is Acme Corp better than Initech?", False, "crm"),
    ("Globex pricing in 2026", False, "pricing"),
    ("highlights of amusement parks", True, "parks"),  # web search: the fake cites its sources
    ("lighting for a parking lot", False, "other"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request, settings, pg_databases):
    return request.param


async def _seeded(running_with, db, pg_databases):
    changes = {"brands": BRANDS}
    if db == "postgresql":
        from tests import pg

        await pg.require()
        changes["database_url"] = await pg_databases.new()
    return running_with(**changes)


async def post_answers(h, creds, prompts=PROMPTS):
    for prompt, web, tag in prompts:
        task = {"user_prompt": prompt, "model_name": "gpt-4.1-mini", "tag": tag}
        if web:
            task |= {"web_search": True, "web_search_country_iso_code": "FR"}
        body = await h.post(f"{LLM}/live", creds, [task])
        assert body["tasks"][0]["status_code"] == 20000, body
    await h.indexed()


async def mentions(h, creds, function, task):
    body = await h.post(f"{MENTIONS}/{function}/live", creds, [task])
    assert body["status_code"] == 20000, body
    return body["tasks"][0]


def ok(task):
    assert task["status_code"] == 20000, task["status_message"]
    assert task["cost"] == 0
    return task["result"][0]


async def test_every_function_over_indexed_answers(running_with, db_settings, pg_databases):
    async with await _seeded(running_with, db_settings, pg_databases) as h:
        alice, bob = await h.account(), await h.account("bob")
        await post_answers(h, alice)
        await post_answers(h, bob, [("Acme for bob only", False, "b")])

        found = ok(await mentions(h, alice, "search_mentions", {"target": [{"keyword": "acme"}]}))
        assert found["total_count"] == 2 and found["items_count"] == 2
        questions = {i["question"] for i in found["items"]}
        assert questions == {"Acme or Globex for a small team?", "Is Acme Corp better than Initech?"}
        item = found["items"][0]
        assert item["platform"] == "chat_gpt" and item["answer"].startswith("Here is an answer about")
        assert [b["title"] for b in item["brand_entities"]][0] == "Acme"
        assert item["brand_entities"][0]["category"] == "software" and item["brand_entities"][0]["rank"] == 1

        # word_match is whole words; partial_match finds the substring inside longer words
        words = ok(await mentions(h, alice, "search_mentions", {"target": [{"keyword": "light"}]}))
        assert words["total_count"] == 0
        parts = ok(
            await mentions(
                h, alice, "search_mentions", {"target": [{"keyword": "light", "match_type": "partial_match"}]}
            )
        )
        assert {i["question"] for i in parts["items"]} == {
            "highlights of amusement parks",
            "lighting for a parking lot",
        }

        # scope: question only, exclude filter
        scoped = ok(
            await mentions(
                h,
                alice,
                "search_mentions",
                {
                    "target": [
                        {"keyword": "globex", "search_scope": ["question"]},
                        {"keyword": "pricing", "search_filter": "exclude"},
                    ]
                },
            )
        )
        assert [i["question"] for i in scoped["items"]] == ["Acme or Globex for a small team?"]

        # a domain target: the web-search answer cites the fake's sources
        metrics = ok(
            await mentions(
                h,
                alice,
                "target_metrics",
                {"target": [{"domain": "wikipedia.org", "include_subdomains": True}]},
            )
        )
        agg = metrics["aggregated_metrics"]
        assert agg["total"] == {"mentions": 1, "ai_search_volume": None}
        assert agg["platform"] == [{"key": "chat_gpt", "mentions": 1, "ai_search_volume": None}]
        assert agg["location"] == [{"key": "2250", "mentions": 1, "ai_search_volume": None}]  # France
        assert any(d["key"].endswith("wikipedia.org") for d in agg["sources_domain"])
        none = ok(await mentions(h, alice, "target_metrics", {"target": [{"domain": "wikipedia.org"}]}))
        assert none["aggregated_metrics"]["total"]["mentions"] == 0  # fr.wikipedia.org is a subdomain

        brands = ok(
            await mentions(
                h, alice, "top_mentioned_brands", {"target": [{"keyword": "acme"}, {"keyword": "globex"}]}
            )
        )
        assert [(i["brand"], i["total"]["mentions"]) for i in brands["items"]] == [
            ("Acme", 2),
            ("Globex", 2),
            ("Initech", 1),
        ]
        multi = ok(
            await mentions(
                h,
                alice,
                "multi_target_metrics",
                {
                    "targets": [
                        {"key": "us", "target": [{"keyword": "acme"}]},
                        {"key": "them", "target": [{"keyword": "globex"}, {"keyword": "initech"}]},
                    ]
                },
            )
        )
        assert {i["key"]: i["total"]["mentions"] for i in multi["items"]} == {"us": 2, "them": 3}

        domains = ok(
            await mentions(
                h, alice, "top_mentioned_domains", {"target": [{"keyword": "amusement"}], "limit": 1}
            )
        )
        assert domains["items_count"] == 1 and domains["total_count"] >= 1
        retrieved = ok(
            await mentions(
                h,
                alice,
                "top_mentioned_domains",
                {"target": [{"keyword": "amusement"}], "links_scope": "search_results"},
            )
        )
        assert retrieved["total_count"] == 0 and retrieved["items"] == []  # no engine reports uncited results
        pages = ok(await mentions(h, alice, "top_mentioned_pages", {"target": [{"keyword": "amusement"}]}))
        assert all(i["page"].startswith("http") for i in pages["items"])

        history = ok(await mentions(h, alice, "historical", {"target": [{"keyword": "acme"}]}))
        assert history["items"][-1]["metrics"]["mentions"] == 2
        today = __import__("datetime").date.today().isoformat()
        delta = ok(
            await mentions(
                h,
                alice,
                "timeseries_delta",
                {"target": [{"keyword": "acme"}], "date_from": today, "date_to": today, "group_range": "day"},
            )
        )
        assert delta["items"] == [{"date": today, "delta_mentions": 2, "delta_ai_search_volume": None}]
        new_lost = ok(
            await mentions(
                h,
                alice,
                "timeseries_new_lost",
                {
                    "target": [{"keyword": "acme"}],
                    "date_from": today,
                    "date_to": today,
                    "group_range": "month",
                },
            )
        )
        assert new_lost["items"][0]["new_mentions"] == 2 and new_lost["items"][0]["lost_mentions"] == 0

        # bob sees only his own answer
        his = ok(await mentions(h, bob, "search_mentions", {"target": [{"keyword": "acme"}]}))
        assert [i["question"] for i in his["items"]] == ["Acme for bob only"]


async def test_bad_input_is_a_clear_task_error(harness):
    alice = await harness.account()
    cases = [
        ("search_mentions", {}, 40501),
        ("search_mentions", {"target": [{"keyword": "x", "domain": "y.com"}]}, 40501),
        ("search_mentions", {"target": [{"keyword": "x"}] * 11}, 40501),
        ("search_mentions", {"target": [{"keyword": "x", "match_type": "fuzzy"}]}, 40501),
        ("search_mentions", {"target": [{"keyword": "x"}], "limit": 1001}, 40501),
        (
            "search_mentions",
            {"target": [{"keyword": "x"}], "filters": [["location_code", "=", "abc"]]},
            40501,
        ),
        ("search_mentions", {"target": [{"keyword": "x"}], "filters": [["nope", "=", 1]]}, 40501),
        ("search_mentions", {"target": [{"keyword": "x"}], "bogus": 1}, 40506),
        ("target_metrics", {"target": [{"domain": "not a domain"}]}, 40501),
        ("timeseries_delta", {"target": [{"keyword": "x"}], "date_from": "2026-01-01"}, 40501),
        ("historical", {"target": [{"keyword": "x"}], "date_from": "2024-01-01"}, 40501),
        ("top_mentioned_domains", {"target": [{"keyword": "x"}], "links_scope": "everything"}, 40501),
    ]
    for function, task, code in cases:
        got = await mentions(harness, alice, function, task)
        assert got["status_code"] == code, (function, task, got["status_message"])
        assert got["result"] is None
    response = await harness.client.post(f"{MENTIONS}/no_such_function/live", json=[{}], headers=alice.basic)
    assert response.status_code == 404


async def test_filters_ordering_and_lists(running_with, db_settings, pg_databases):
    async with await _seeded(running_with, db_settings, pg_databases) as h:
        alice = await h.account()
        await post_answers(h, alice)
        everything = [{"keyword": "answer", "search_scope": ["answer"]}]  # the fake's every plain answer
        only = ok(
            await mentions(
                h,
                alice,
                "search_mentions",
                {
                    "target": everything,
                    "filters": [
                        ["question", "like", "%Acme%"],
                        "or",
                        ["question", "like", "Globex%"],
                    ],
                    "order_by": ["question,asc"],
                },
            )
        )
        assert [i["question"] for i in only["items"]] == [
            "Acme or Globex for a small team?",
            "Globex pricing in 2026",
            "Is Acme Corp better than Initech?",
        ]
        past = ok(await mentions(h, alice, "search_mentions", {"target": everything, "offset": 10}))
        assert past["total_count"] == 4 and past["items"] == []  # paged past the end: the total still said
        none = ok(
            await mentions(
                h,
                alice,
                "search_mentions",
                {"target": everything, "filters": [["platform", "in", ["claude", "gemini"]]]},
            )
        )
        assert none["total_count"] == 0 and none["items"] == []

        brands = ok(
            await mentions(
                h,
                alice,
                "top_mentioned_brands",
                {
                    "target": everything,
                    "order_by": ["mentions,asc", "brand,desc"],
                    "filters": [["mentions", ">=", 1]],
                    "exclude_brands": ["Globex"],
                },
            )
        )
        assert [(i["brand"], i["total"]["mentions"]) for i in brands["items"]] == [
            ("Initech", 1),
            ("Acme", 2),
        ]
        paged = ok(
            await mentions(h, alice, "top_mentioned_brands", {"target": everything, "limit": 1, "offset": 1})
        )
        assert paged["total_count"] == 3 and paged["offset"] == 1 and len(paged["items"]) == 1


async def test_purged_answers_leave_the_index(running_with, db_settings, pg_databases):
    import time

    async with await _seeded(running_with, db_settings, pg_databases) as h:
        alice = await h.account()
        await post_answers(h, alice, PROMPTS[:2])
        target = {"target": [{"keyword": "acme"}]}
        assert (
            ok(await mentions(h, alice, "target_metrics", target))["aggregated_metrics"]["total"]["mentions"]
            == 2
        )
        assert await h.store.purge_results(time.time() + 1) == 2
        assert (
            ok(await mentions(h, alice, "target_metrics", target))["aggregated_metrics"]["total"]["mentions"]
            == 0
        )
        partial = {"target": [{"keyword": "acm", "match_type": "partial_match"}]}  # the trigram index too
        assert ok(await mentions(h, alice, "search_mentions", partial))["total_count"] == 0


async def test_a_runaway_read_is_stopped(running_with, db_settings, pg_databases):
    from llm_responses.errors import QueryTimeout

    async with await _seeded(running_with, db_settings, pg_databases) as h:
        endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
        started = __import__("time").monotonic()
        with pytest.raises(QueryTimeout):
            await h.store.mention_query(lambda c, d: c.fetch_composed(endless, [], 0.3))
        assert __import__("time").monotonic() - started < 5


HOSTILE = [
    {"target": [{"keyword": '" OR 1=1 --'}]},
    {"target": [{"keyword": 'NEAR(a b) "x" * ^ {question} : y'}]},
    {"target": [{"keyword": "%%%_\\", "match_type": "partial_match"}]},
    {"target": [{"keyword": "ab", "match_type": "partial_match", "search_scope": ["question", "answer"]}]},
    {"target": [{"keyword": "x" * 2000}]},
    {"target": [{"keyword": "é" * 1999, "match_type": "partial_match"}]},
    {"target": [{"keyword": "...!!!"}]},
    {"target": [{"keyword": "acme"}], "filters": [["is_web_search_based", "in", [True, False]]]},
    {"target": [{"keyword": "acme"}], "filters": [["location_code", "in", [2840, 2250]]]},
    {"target": [{"keyword": "acme"}], "filters": [["location_code", "=", 2840.5]]},
    {"target": [{"keyword": "acme"}], "filters": [["location_code", "=", 2**70]]},
    {"target": [{"keyword": "acme"}], "filters": [["first_response_at", ">", "2026-01-01"]]},
    {"target": [{"keyword": "acme"}], "filters": [["first_response_at", ">", "yesterday"]]},
    {"target": [{"keyword": "acme"}], "filters": [["answer", "match", "%_\\"]]},
    {
        "target": [{"keyword": "acme"}],
        "filters": [[["platform", "=", "x"], "and", ["platform", "=", "y"]], "or", ["question", "like", "%"]],
    },
    {
        "target": [{"keyword": "acme"}],
        "filters": [["platform", "=", "x"], "and", ["platform", "=", "y"], "or", ["a", "=", 1]],
    },
    {"target": [{"keyword": "acme"}], "filters": [[[[[[[[[[["platform", "=", "x"]]]]]]]]]]]},
    {"target": [{"keyword": "acme"}], "order_by": ["question,sideways"]},
    {"target": [{"keyword": "acme"}], "search_after_token": "garbage"},
    {"target": [{"keyword": "acme"}], "search_after_token": "1e999_-5"},
    {"target": [{"domain": "münchen.de"}]},
    {"target": [{"domain": "https://www.Example.com:8080/path?q=1", "include_subdomains": "yes"}]},
    {"target": [{"keyword": "acme", "search_scope": "answer"}]},
    {"target": [{"keyword": "acme", "search_scope": []}]},
    {"target": "acme"},
    {"target": [None]},
    {"target": [{"keyword": 5}]},
    {"target": [{"keyword": "acme"}], "location_name": "Atlantis"},
    {"target": [{"keyword": "acme"}], "location_code": "2840"},
    {"target": [{"keyword": "acme"}], "language_code": "'; DROP TABLE tasks; --"},
    {"target": [{"keyword": "acme"}], "limit": True},
    {"target": [{"keyword": "acme"}], "offset": 1_000_001},
]


async def test_hostile_input_never_breaks_a_query(running_with, db_settings, pg_databases):
    async with await _seeded(running_with, db_settings, pg_databases) as h:
        alice = await h.account()
        await post_answers(h, alice, PROMPTS[:2])
        for task in HOSTILE:
            for function in ("search_mentions", "target_metrics"):
                if function == "target_metrics":
                    task = {
                        k: v
                        for k, v in task.items()
                        if k not in ("filters", "order_by", "search_after_token", "limit", "offset")
                    }
                response = await h.client.post(
                    f"{MENTIONS}/{function}/live", json=[task], headers=alice.basic
                )
                assert response.status_code == 200, (function, task, response.text[:300])
                got = response.json()["tasks"][0]
                assert got["status_code"] in (20000, 40501, 40503, 40506), (
                    function,
                    task,
                    got["status_message"],
                )
        # and nothing was dropped
        assert (
            ok(await mentions(h, alice, "target_metrics", {"target": [{"keyword": "acme"}]}))[
                "aggregated_metrics"
            ]["total"]["mentions"]
            == 2
        )


async def test_lite_endpoints_and_brand_categories(running_with, db_settings, pg_databases):
    async with await _seeded(running_with, db_settings, pg_databases) as h:
        alice = await h.account()
        await post_answers(h, alice)
        acme = [{"keyword": "acme"}]
        flat = ok(await mentions(h, alice, "target_metrics_lite", {"target": acme}))
        assert flat["aggregated_metrics"] is None
        assert flat["items"] == [
            {
                "location": None,
                "language": None,
                "platform": "chat_gpt",
                "metrics": {"mentions": 2, "ai_search_volume": None},
            }
        ]
        brands = ok(await mentions(h, alice, "top_mentioned_brands_lite", {"target": acme, "limit": 1}))
        assert brands["total_count"] == 3 and brands["items"][0]["brand"] == "Acme"
        assert brands["items"][0]["metrics"]["mentions"] == 2
        categories = ok(
            await mentions(h, alice, "top_mentioned_brand_categories", {"target": [{"keyword": "answer"}]})
        )
        assert {i["brand_category"]: i["total"]["mentions"] for i in categories["items"]} == {
            "competitor": 3,  # Globex twice, Initech once: three answers
            "software": 2,  # Acme's own category
        }
        lite = ok(
            await mentions(
                h, alice, "top_mentioned_brand_categories_lite",
                {"target": [{"keyword": "answer"}], "exclude_brand_categories": ["software"]},
            )
        )  # fmt: skip
        assert [(i["brand_category"], i["metrics"]["mentions"]) for i in lite["items"]] == [("competitor", 3)]


# Each of these was an HTTP 500 (a database error) before: each is now a 40501 naming the field.
AUDIT_500S = [
    ("search_mentions", {"target": [{"keyword": "acme\x00"}]}, "target.keyword"),
    ("top_mentioned_brands", {"target": [{"keyword": "acme"}], "include_brands": ["Acme\x00"]}, "include_brands"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "search_after_token": "1_99999999999999999999"}, "search_after_token"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "search_after_token": "inf_99999999999"}, "search_after_token"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "filters": [["is_web_search_based", "like", "t%"]]}, "filters"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "filters": [["question", "like", "\\"]]}, "filters"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "filters": [["question", "ilike", "%ab\\"]]}, "filters"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "filters": [["first_response_at", "like", "2026%"]]}, "filters"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "filters": [["location_code", "=", 2**40]]}, "filters"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "filters": [["question", "=", "a\x00b"]]}, "filters"),
    ("search_mentions", {"target": [{"keyword": "acme"}], "tag": "t\x00"}, "tag"),
    ("multi_target_metrics", {"targets": [{"key": "k\x00", "target": [{"keyword": "acme"}]}]}, "targets.key"),
    ("search_mentions", {"target": [{"keyword": "ac", "match_type": "partial_match"}]}, "target.keyword"),
]  # fmt: skip


async def test_the_audits_500s_are_each_a_40501_naming_the_field(running_with, db_settings, pg_databases):
    async with await _seeded(running_with, db_settings, pg_databases) as h:
        alice = await h.account()
        await post_answers(h, alice, PROMPTS[:2])
        for function, task, field in AUDIT_500S:
            r = await h.client.post(f"{MENTIONS}/{function}/live", json=[task], headers=alice.basic)
            assert r.status_code == 200, (task, r.text[:300])
            got = r.json()["tasks"][0]
            assert got["status_code"] == 40501 and f"'{field}'" in got["status_message"], (task, got)
        short = await mentions(
            h, alice, "search_mentions", {"target": [{"keyword": "ac", "match_type": "partial_match"}]}
        )
        assert "at least 3 characters" in short["status_message"]


async def test_a_nul_in_a_basic_login_is_a_40100(running_with, db_settings, pg_databases):
    import base64

    async with await _seeded(running_with, db_settings, pg_databases) as h:
        for raw in (b"al\x00ice:pw", b"alice:p\x00w"):
            header = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
            r = await h.client.get("/v3/appendix/user_data", headers=header)
            assert r.status_code == 401 and r.json()["status_code"] == 40100
