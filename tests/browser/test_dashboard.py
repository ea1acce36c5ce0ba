"""The dashboard in a real browser, against a real ``serve`` process with answers from the fake OpenAI."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


async def test_tasks_filter_answer_with_highlighted_citations_and_brands(served, browser_page, screenshot):
    srv, _ = served
    page = browser_page
    await page.goto(f"{srv.url}/dashboard/tasks")
    assert await page.locator("#tasks li").count() == 3
    await screenshot(page, "tasks")
    await page.fill("input[name=tag]", "parks")
    await page.click("form[method=get] button[type=submit]")
    await page.wait_for_url("**tag=parks**")
    assert await page.locator("#tasks li").count() == 2

    await page.click("#tasks a.prompt >> nth=0")
    citations = page.locator("#answer sup.cite a")
    await citations.first.wait_for()
    numbers = {await c.inner_text() for c in await citations.all()}
    assert await page.locator("#sources li").count() == len(numbers) >= 1  # one number per source
    # the fake's answer names no brand; Parc Astérix's domain (wikipedia.org) is cited
    assert await page.locator("#brands-found").inner_text() == "Parc Astérix (cited only)"
    assert await page.locator("#fan-out li").count() >= 1
    await screenshot(page, "answer")

    await page.click("#nav >> text=Brands")
    assert "Parc Astérix" in await page.locator("#brands").inner_text()
    await page.wait_for_selector("#visibility-chart canvas")  # Chart.js drew, from the bundled script
    await page.wait_for_selector("#sov-chart canvas")
    await screenshot(page, "brands")

    await page.click("#nav >> text=Sources")
    domains = await page.locator("#sources").inner_text()
    assert "wikipedia.org" in domains  # the fake cites fr.wikipedia.org in both web-search answers
    await page.click("#source-views >> text=Pages")
    await page.wait_for_url("**kind=pages**")
    assert await page.locator("#sources a[href^='https://']").count() >= 1
    await screenshot(page, "sources")

    await page.click("#nav >> text=New & lost")
    assert "Parc Astérix" in await page.locator("#changes").inner_text()
    await screenshot(page, "changes")

    await page.click("#nav >> text=Spend")
    await page.wait_for_selector("#spend-chart canvas")
    assert "chat_gpt" in await page.locator("#spend").inner_text()
    await screenshot(page, "spend")


def brands_by_engine(srv, auth):
    """No project: the account's answers read for the server's brands, by engine (the default)."""
    rows = httpx.get(f"{srv.url}/dashboard/brands.json", auth=auth).json()
    assert [(r["engine"], r["entity"], r["answers"]) for r in rows] == [("chat_gpt", "Parc Astérix", 3)]
    return rows


def test_every_page_has_json_and_csv_twins_and_needs_the_login(served):
    srv, creds = served
    auth = (creds["login"], creds["password"])
    tasks = httpx.get(f"{srv.url}/dashboard/tasks.json?tag=parks", auth=auth).json()
    assert len(tasks) == 2 and {t["tag"] for t in tasks} == {"parks"}
    csv_text = httpx.get(f"{srv.url}/dashboard/tasks.csv", auth=auth).text
    assert csv_text.splitlines()[0].startswith("id,engine") and len(csv_text.splitlines()) == 4
    answer = httpx.get(f"{srv.url}/dashboard/answer/{tasks[0]['id']}.json", auth=auth).json()
    for section in answer["sections"]:
        for a in section["annotations"]:
            assert section["text"][a["start_index"] : a["end_index"]] == a["text"]
    brands = httpx.get(f"{srv.url}/dashboard/brands.json?by=tag", auth=auth).json()
    asterix = {r["tag"]: r for r in brands if r["entity"] == "Parc Astérix"}
    # the plain answer neither names nor cites it (no web search): no row for it there
    assert asterix["parks"]["citation_share"] == 1.0 and "plain" not in asterix
    assert httpx.get(f"{srv.url}/dashboard/brands.json?project=", auth=auth).json() == brands_by_engine(
        srv, auth
    )
    assert httpx.get(f"{srv.url}/dashboard/brands.json?project=nope", auth=auth).status_code == 400
    assert httpx.get(f"{srv.url}/dashboard/brands.csv", auth=auth).text.startswith("engine,entity")
    domains = httpx.get(f"{srv.url}/dashboard/sources.json", auth=auth).json()
    wiki = next(r for r in domains if r["domain"].endswith("wikipedia.org"))
    assert wiki["answers"] == 2 and wiki["share"] == round(2 / 3, 4)  # 2 of the 3 answers cite it
    assert httpx.get(f"{srv.url}/dashboard/sources.csv?kind=pages", auth=auth).text.startswith("page,answers")
    changes = httpx.get(f"{srv.url}/dashboard/changes.json", auth=auth).json()
    this_week = [r for r in changes if r["brand"] == "Disneyland"][0]
    assert this_week["new"] is None and this_week["prompts_naming"] == 0  # the first week: the baseline
    spent = httpx.get(f"{srv.url}/dashboard/spend.json", auth=auth).json()
    assert [(r["engine"], r["tasks"], r["answered"]) for r in spent] == [("chat_gpt", 3, 3)]
    assert httpx.get(f"{srv.url}/dashboard/sources?kind=everything", auth=auth).status_code == 400
    assert httpx.get(f"{srv.url}/dashboard/tasks?after=not-a-cursor", auth=auth).status_code == 400
    assert httpx.get(f"{srv.url}/dashboard/brands?by=weekday", auth=auth).status_code == 400
    anonymous = httpx.get(f"{srv.url}/dashboard")  # the login form, never a Basic prompt
    assert (
        anonymous.status_code == 303 and anonymous.headers["location"] == "/dashboard/login?next=/dashboard"
    )
    assert "www-authenticate" not in anonymous.headers
    assert httpx.get(f"{srv.url}/dashboard/tasks.json").status_code == 401
    other = httpx.get(f"{srv.url}/dashboard/answer/{tasks[0]['id']}.json", auth=("nobody", "x"))
    assert other.status_code == 401 and "www-authenticate" not in other.headers
