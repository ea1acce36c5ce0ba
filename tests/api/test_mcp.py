"""The read-only MCP endpoint, through the official ``mcp`` client over streamable HTTP (in-process ASGI)."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.analysis.rollup_rows import Found, Row, insert
from tests.conftest import LLM
from tests.tracking.conftest import PROMPTS, spec

BRANDS = [
    {"name": "Parc Astérix", "domains": ["wikipedia.org"]},  # the fake cites fr.wikipedia.org
    {"name": "Disneyland", "competitor": True},
]


@asynccontextmanager
async def mcp_session(harness, headers, client=("127.0.0.1", 123)):
    http = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=harness.app, client=client),
        base_url="http://test",
        headers=headers,
    )
    async with http, streamable_http_client("http://test/mcp/", http_client=http) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


def payload(result):
    assert not result.is_error, result.content
    return (
        json.loads(result.content[0].text)
        if len(result.content) == 1
        else [json.loads(c.text) for c in result.content]
    )


async def test_tools_read_the_accounts_answers_and_metrics(running_with):
    async with running_with(brands=BRANDS) as h:
        alice, bob = await h.account(), await h.account("bob")
        for tag in ("parks", "parks", "other"):
            body = await h.post(
                f"{LLM}/live",
                alice,
                [
                    {
                        "user_prompt": "amusement parks in France",
                        "model_name": "gpt-4.1-mini",
                        "web_search": True,
                        "tag": tag,
                    }
                ],
            )
            assert body["tasks"][0]["status_code"] == 20000
        await h.post(
            f"{LLM}/live", bob, [{"user_prompt": "bob's own", "model_name": "gpt-4.1-mini", "tag": "secret"}]
        )
        await h.indexed()
        async with mcp_session(h, alice.basic) as mcp:
            names = {t.name for t in (await mcp.list_tools()).tools}
            assert names == {
                "list_tags",
                "list_answers",
                "get_answer",
                "mention_metrics",
                "list_projects",
                "list_alerts",
            }
            tags = payload(await mcp.call_tool("list_tags", {}))
            assert sorted((t["tag"], t["answers"]) for t in (tags if isinstance(tags, list) else [tags])) == [
                ("other", 1),
                ("parks", 2),
            ]
            page = payload(await mcp.call_tool("list_answers", {"tag": "parks", "limit": 1}))
            assert len(page["items"]) == 1 and page["next"]
            rest = payload(await mcp.call_tool("list_answers", {"tag": "parks", "after": page["next"]}))
            assert len(rest["items"]) == 1 and rest["items"][0]["id"] != page["items"][0]["id"]
            answer = payload(await mcp.call_tool("get_answer", {"task_id": page["items"][0]["id"]}))
            assert answer["text"] and answer["citations"]
            for c in answer["citations"]:
                assert answer["text"][c["start_index"] : c["end_index"]] == c["text"]
            rows = payload(await mcp.call_tool("mention_metrics", {"by": ["tag"]}))
            rows = rows if isinstance(rows, list) else [rows]
            asterix = {r["tag"]: r for r in rows if r["entity"] == "Parc Astérix"}
            assert asterix["parks"]["answers"] == 2 and asterix["parks"]["citation_share"] == 1.0
            missing = await mcp.call_tool("get_answer", {"task_id": "00000000-0000-0000-0000-000000000000"})
            assert missing.is_error
            bad_cursor = await mcp.call_tool("list_answers", {"after": "garbage"})
            assert bad_cursor.is_error and "not a page cursor" in bad_cursor.content[0].text


async def test_every_tool_needs_the_accounts_credentials(harness):
    # the harness fixture enters the app's lifespan in one task and leaves it in another
    async with mcp_session(harness, {"Authorization": "Basic bm9ib2R5Om5vcGU="}) as mcp:
        for tool, args in (("list_tags", {}), ("list_answers", {}), ("get_answer", {"task_id": "x"})):
            result = await mcp.call_tool(tool, args)
            assert result.is_error and "40100" in result.content[0].text


async def test_wrong_tokens_lock_out_only_their_own_address(running_with):
    """Failed logins are throttled per client address, as on the REST API: one MCP client's wrong tokens
    never lock out another's."""
    async with running_with(auth_failures_per_address=5) as h:
        alice = await h.account()
        async with mcp_session(h, {"Authorization": "Bearer lr_wrong"}, client=("10.0.0.1", 1)) as guesser:
            for _ in range(7):
                await guesser.call_tool("list_tags", {})
            throttled = await guesser.call_tool("list_tags", {})
            assert throttled.is_error and "Too many failed attempts" in throttled.content[0].text
        async with mcp_session(h, alice.bearer, client=("10.0.0.2", 1)) as other:
            assert not (await other.call_tool("list_tags", {})).is_error


async def test_a_browser_on_another_site_gets_nothing(harness):
    alice = await harness.account()
    async with mcp_session(harness, {**alice.basic, "Sec-Fetch-Site": "cross-site"}) as mcp:
        result = await mcp.call_tool("list_tags", {})
        assert result.is_error and "40100" in result.content[0].text


async def test_mention_metrics_reads_a_projects_rollups_with_its_filters(idle_harness, settings):
    h = idle_harness
    alice = await h.account()
    await h.post("/v3/tracking/projects", alice, [spec(name="parks")])
    parks = await h.store.tracking.project(alice.account_id, "parks")
    disney = Found("Disneyland Paris", position=1)
    await insert(
        settings.database_url,
        [
            Row(alice.account_id, parks.id, country="FR", question=PROMPTS[0], found=(disney,)),
            Row(alice.account_id, parks.id, country="US", day="2026-12-02", question=PROMPTS[1], found=(disney,)),
            Row(alice.account_id, parks.id, country="FR", day="2026-12-03", question=PROMPTS[1]),
        ],
    )  # fmt: skip
    async with mcp_session(h, alice.basic) as mcp:

        async def rows(args):
            out = payload(await mcp.call_tool("mention_metrics", args))
            return out if isinstance(out, list) else [out]

        found = await rows({"project": "parks", "by": ["country"]})
        assert [(r["country"], r["answers"], r["visibility"]) for r in found] == [
            ("FR", 2, 0.5),
            ("US", 1, 1.0),
        ]
        found = await rows({"project": "parks", "by": ["tag"], "country": "FR", "date_to": "2026-12-02"})
        assert [(r["tag"], r["answers"]) for r in found] == [("comparison", 1)]  # PROMPTS[0]'s tag
        for bad in (
            {"by": ["weekday"], "project": "parks"},
            {"project": "nope"},
            {"project": "parks", "country": "XX"},
        ):
            result = await mcp.call_tool("mention_metrics", bad)
            assert result.is_error
        no_brands = await mcp.call_tool("mention_metrics", {})  # the test settings configure no [[brands]]
        assert no_brands.is_error and "name a project" in no_brands.content[0].text
