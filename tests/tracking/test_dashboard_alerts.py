"""The dashboard's alerts page (and its .json/.csv twins): the account's alerts newest first, one
project's with ``?project=``, and what an alert says escaped like everything else rendered."""

from __future__ import annotations

from llm_responses.store.tracking import NewAlert
from tests.tracking.conftest import spec

T = "/v3/tracking"


async def test_alerts_are_listed_newest_first_and_filtered_by_project(idle_harness):
    h = idle_harness
    alice, bob = await h.account("alice"), await h.account("bob")
    for name in ("parks", "zoos"):
        await h.post(f"{T}/projects", alice, [spec(name=name)])
    await h.post(f"{T}/projects", bob, [spec(name="secret")])
    tracking = h.store.tracking
    parks = await tracking.project(alice.account_id, "parks")
    zoos = await tracking.project(alice.account_id, "zoos")
    secret = await tracking.project(bob.account_id, "secret")
    await tracking.record_alerts(
        alice.account_id, parks.id, None, [NewAlert("new_domain", "<b>x.com</b> is cited", "d:x")], 1.0
    )
    await tracking.record_alerts(
        alice.account_id, zoos.id, None, [NewAlert("run_failed", "zoo run failed", "r:1")], 2.0
    )
    await tracking.record_alerts(
        bob.account_id, secret.id, None, [NewAlert("run_failed", "bob's", "r:1")], 3.0
    )
    rows = (await h.client.get("/dashboard/alerts.json", headers=alice.basic)).json()
    assert [(r["project"], r["kind"]) for r in rows] == [("zoos", "run_failed"), ("parks", "new_domain")]
    rows = (await h.client.get("/dashboard/alerts.json?project=parks", headers=alice.basic)).json()
    assert [r["message"] for r in rows] == ["<b>x.com</b> is cited"]
    page = await h.client.get("/dashboard/alerts", headers=alice.basic)
    assert (
        page.status_code == 200
        and "&lt;b&gt;x.com&lt;/b&gt; is cited" in page.text
        and "<b>x.com" not in page.text
    )
    assert "bob&#39;s" not in page.text and "secret" not in page.text
    assert (await h.client.get("/dashboard/alerts?project=secret", headers=alice.basic)).status_code == 400
    csv = await h.client.get("/dashboard/alerts.csv", headers=alice.basic)
    assert csv.text.splitlines()[0] == "id,datetime,project,kind,brand,subject,message,run_id"
