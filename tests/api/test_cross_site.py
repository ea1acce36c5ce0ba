"""A browser's cross-site request carries the account's cached credentials, but never the caller's intent: it
is refused (40100, without a login prompt) before anything is read or spent. API clients send no browser
marks, so every DataForSEO example client keeps working, with or without a Content-Type."""

from __future__ import annotations

import pytest

from llm_responses.billing.money import to_nanos
from tests.api.seed import SEED_TASK
from tests.conftest import LLM

# what each of DataForSEO's own examples sends besides its credentials (docs pages: cURL, PHP RestClient,
# Python RestClient over http.client, Node's axios)
EXAMPLE_CLIENTS = {
    "curl": {"User-Agent": "curl/8.5.0", "Accept": "*/*", "Content-Type": "application/json"},
    "php": {"Accept": "*/*"},  # RestClient.php: curl with no Content-Type of its own
    "python": {"Accept-Encoding": "identity"},  # RestClient: http.client, no Content-Type
    "node": {
        "Accept": "application/json, text/plain, */*",
        "Content-Type": "application/json",
        "User-Agent": "axios/1.7.7",
    },
}
CROSS_SITE = {
    "sec-fetch-site cross-site": {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
    "sec-fetch-site same-site": {"Sec-Fetch-Site": "same-site"},
    "another origin": {"Origin": "http://evil.example"},
    "a sandboxed frame": {"Origin": "null"},
    "another port of this host": {"Origin": "http://testserver:8080"},
}


@pytest.mark.parametrize("client", list(EXAMPLE_CLIENTS))
async def test_the_example_clients_post_and_read(idle_harness, client):
    alice = await idle_harness.account()
    headers = {**alice.basic, **EXAMPLE_CLIENTS[client]}
    r = await idle_harness.client.post(f"{LLM}/task_post", json=[SEED_TASK], headers=headers)
    assert r.json()["tasks"][0]["status_code"] == 20100
    r = await idle_harness.client.get("/v3/appendix/user_data", headers=headers)
    assert r.json()["status_code"] == 20000


@pytest.mark.parametrize("marks", list(CROSS_SITE))
async def test_a_cross_site_browser_request_spends_rotates_and_reads_nothing(idle_harness, marks):
    alice = await idle_harness.account()
    before = await idle_harness.get("/v3/appendix/webhook_secret", alice)
    headers = {**alice.basic, **CROSS_SITE[marks], "Content-Type": "text/plain"}
    for method, path, body in (
        ("POST", f"{LLM}/task_post", [{**SEED_TASK, "postback_url": "https://evil.example/x"}]),
        ("POST", f"{LLM}/live", [SEED_TASK]),
        ("POST", "/v3/appendix/webhook_secret/rotate", None),
        ("GET", "/v3/appendix/webhook_secret", None),
        ("GET", "/v3/appendix/user_data", None),
        ("POST", "/v3/ai_optimization/llm_mentions/search_mentions/live", [{"target": [{"keyword": "x"}]}]),
    ):
        r = await idle_harness.client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (method, path)
        assert "www-authenticate" not in r.headers  # no login prompt on another site's page
        assert r.json()["status_code"] == 40100
        assert "from another site" in r.json()["status_message"]
    assert await idle_harness.balance(alice) == to_nanos("10")
    assert (await idle_harness.get("/v3/appendix/webhook_secret", alice))["tasks"][0]["result"] == before[
        "tasks"
    ][0]["result"]
    assert (await idle_harness.get(f"{LLM}/tasks_ready", alice))["tasks"][0]["result"] == []


@pytest.mark.parametrize(
    "marks",
    [{"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {"Origin": "http://testserver"}],
)
async def test_this_servers_own_pages_and_typed_urls_are_served(idle_harness, marks):
    alice = await idle_harness.account()
    r = await idle_harness.client.get("/v3/appendix/user_data", headers={**alice.basic, **marks})
    assert r.json()["status_code"] == 20000
