"""The dashboard's brands page reads a tracking project's rollups: the account's first project by default,
another with ``?project=``, the server's brands with ``?project=`` empty, a project's tags being its prompts'."""

from __future__ import annotations

from tests.analysis.rollup_rows import Found, Row, insert
from tests.tracking.conftest import PROMPTS, spec

T = "/v3/tracking"


async def test_brands_page_reads_the_chosen_projects_rollups(idle_harness, settings):
    h = idle_harness
    alice, bob = await h.account("alice"), await h.account("bob")
    for name in ("parks", "zoos"):
        await h.post(f"{T}/projects", alice, [spec(name=name)])
    await h.post(f"{T}/projects", bob, [spec(name="secret")])
    parks = await h.store.tracking.project(alice.account_id, "parks")
    zoos = await h.store.tracking.project(alice.account_id, "zoos")
    disney = Found("Disneyland Paris", position=1)
    await insert(
        settings.database_url,
        [
            Row(alice.account_id, parks.id, question=PROMPTS[0], found=(disney,)),  # tagged "comparison"
            Row(alice.account_id, parks.id, question=PROMPTS[1]),
            Row(alice.account_id, zoos.id, engine="claude", question=PROMPTS[0], found=(disney,)),
            Row(alice.account_id, 0, found=(Found("Server Brand", position=1),)),
        ],
    )
    rows = (
        await h.client.get("/dashboard/brands.json", headers=alice.basic)
    ).json()  # "parks": first by name
    assert [(r["engine"], r["entity"], r["answers"], r["visibility"]) for r in rows] == [
        ("chat_gpt", "Disneyland Paris", 2, 0.5)
    ]
    rows = (await h.client.get("/dashboard/brands.json?project=zoos", headers=alice.basic)).json()
    assert [(r["engine"], r["answers"]) for r in rows] == [("claude", 1)]
    rows = (await h.client.get("/dashboard/brands.json?project=&by=day", headers=alice.basic)).json()
    assert [(r["day"], r["entity"]) for r in rows] == [("2026-12-01", "Server Brand")]
    rows = (await h.client.get("/dashboard/brands.json?by=tag", headers=alice.basic)).json()
    assert [(r["tag"], r["answers"], r["mentions"]) for r in rows] == [("comparison", 1, 1)]
    page = await h.client.get("/dashboard/brands", headers=alice.basic)
    assert (
        page.status_code == 200
        and "<option selected>parks</option>" in page.text
        and "secret" not in page.text
    )
    assert (await h.client.get("/dashboard/brands?project=secret", headers=alice.basic)).status_code == 400
    assert (await h.client.get("/dashboard/brands.json?by=weekday", headers=alice.basic)).status_code == 400
