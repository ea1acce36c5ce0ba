"""The dashboard's task list: newest first, the status filter applied before the page is cut, and the
Older link keeping every filter (a filtered list used to show a short page and lose its filter on Next)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from llm_responses.dashboard.answers import PAGE
from tests.fakes.openai_replies import error_reply

LIVE = "/v3/ai_optimization/chat_gpt/llm_responses/live"


async def test_a_filtered_list_pages_newest_first_and_keeps_its_filters(harness, fake_openai):
    h = harness
    alice = await h.account(balance="20")
    n_done, n_failed = PAGE + 5, 20
    fake_openai.enqueue(*(error_reply(400, "Invalid prompt", param="input") for _ in range(n_failed)))
    for i in range(n_failed + n_done):  # the failures come first (oldest), then the answers
        await h.post(LIVE, alice, [{"user_prompt": f"prompt {i}", "model_name": "gpt-4.1-mini", "tag": "t"}])
    rows = (await h.client.get("/dashboard/tasks.json?status=done&tag=t", headers=alice.basic)).json()
    assert len(rows) == PAGE and {r["status_code"] for r in rows} == {20000}  # a full page of answers
    assert [r["user_prompt"] for r in rows[:2]] == [
        f"prompt {n_failed + n_done - 1}",
        f"prompt {n_failed + n_done - 2}",
    ]
    page = await h.client.get("/dashboard/tasks?status=done&tag=t", headers=alice.basic)
    assert page.status_code == 200 and "newest first" in page.text and 'class="snippet"' in page.text
    link = page.text.split('id="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert query["status"] == ["done"] and query["tag"] == ["t"] and query["after"]
    older = (await h.client.get(f"/dashboard/tasks.json{link}", headers=alice.basic)).json()
    assert [r["user_prompt"] for r in older] == [
        f"prompt {n_failed + i}" for i in reversed(range(n_done - PAGE))
    ]
    failed = (await h.client.get("/dashboard/tasks.json?status=failed", headers=alice.basic)).json()
    assert len(failed) == n_failed and all(r["status_code"] != 20000 for r in failed)
    bad = await h.client.get("/dashboard/tasks?status=<b>", headers=alice.basic)
    assert bad.status_code == 400 and "<b>" not in bad.text
