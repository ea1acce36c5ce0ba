"""The MCP tools over tracking projects: an agent lists the account's projects with their latest runs,
and the alerts, with the account's own credentials (another account's stay invisible)."""

from __future__ import annotations

from tests.api.test_mcp import mcp_session, payload
from tests.tracking.conftest import spec

T = "/v3/tracking"


async def test_projects_and_alerts_through_mcp(idle_harness):
    h = idle_harness
    alice, bob = await h.account("alice"), await h.account("bob")
    await h.post(f"{T}/projects", alice, [spec(budget_usd_monthly="0.01")])
    await h.post(f"{T}/projects", bob, [spec(name="bobs")])
    started = await h.post(f"{T}/projects/parks/run", alice, None)
    assert started["tasks"][0]["result"][0]["status"] == "over_budget"
    async with mcp_session(h, alice.basic) as mcp:
        projects = payload(await mcp.call_tool("list_projects", {}))
        projects = projects if isinstance(projects, list) else [projects]
        assert [p["name"] for p in projects] == ["parks"]
        assert projects[0]["own_brand"] == "Disneyland Paris"
        assert [r["status"] for r in projects[0]["runs"]] == ["over_budget"]
        alerts = payload(await mcp.call_tool("list_alerts", {"project": "parks"}))
        alerts = alerts if isinstance(alerts, list) else [alerts]
        assert [a["kind"] for a in alerts] == ["over_budget"] and "monthly budget" in alerts[0]["message"]
        missing = await mcp.call_tool("list_alerts", {"project": "bobs"})
        assert missing.is_error and "40400" in missing.content[0].text
