"""A GEO analyst's morning on the demo project, in a real browser against a real ``serve`` process: the
overview's KPI change, a filter kept in the URL from page to page, a matrix cell opening the answers behind
it, an answer with the own brand highlighted and its citations numbered, sources and their gap, new and
lost, spend; then every page again on a phone. A screenshot of each page on both is kept in
test-artifacts/screenshots."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.async_api import Browser, Page

from llm_responses.analysis.answer_index import prompt_hash
from tests.browser.conftest import log_in
from tests.conftest import running
from tests.dashboard_demo import MODELS, PROJECT, seed_demo, vendor_env, vendor_settings
from tests.e2e.test_official_client import Server

pytestmark = pytest.mark.e2e
OWN = "Disneyland Paris"
PAGES = ("overview", "matrix", "tasks", "brands", "sources", "changes", "spend", "alerts")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def demo_server(settings, fake_openai, fake_anthropic, fake_gemini, fake_perplexity):
    """The demo project's history made in-process on a SQLite file, then a ``serve`` process on that file."""
    vendors = vendor_settings(settings, fake_anthropic, fake_gemini, fake_perplexity)
    async with running(vendors) as h:
        creds = await h.account("demo", balance="50")
        await seed_demo(h, fake_openai, "demo")
    db = settings.database_url.removeprefix("sqlite:///")
    srv = Server(
        db,
        fake_openai.base_url,
        LLM_RESPONSES_SECRET_KEY_FILE=str(vendors.secret_key_file),
        **vendor_env(vendors),
    )
    srv.start()
    yield srv, creds
    srv.kill()


async def logged_in(browser: Browser, srv, creds, **context) -> Page:
    page = await (await browser.new_context(**context)).new_page()
    page.set_default_timeout(15_000)
    await log_in(page, srv.url, creds.login, creds.password)
    return page


async def apply(page: Page, **fields: str) -> None:
    """Set the filter bar's fields as a person does, and apply them."""
    for name, value in fields.items():
        element = page.locator(f"#filters [name={name}]")
        if await element.evaluate("e => e.tagName") == "SELECT":
            await element.select_option(value)
        else:
            await element.fill(value)
    await page.click("#filters button[type=submit]")
    await page.wait_for_load_state()


async def test_an_analysts_morning_on_the_demo_project(demo_server, browser, screenshot):
    srv, creds = demo_server
    page = await logged_in(browser, srv, creds, viewport={"width": 1280, "height": 900})
    assert PROJECT in await page.locator("h1").inner_text()  # the first project opens by itself
    await apply(page, engine="chat_gpt", days="7")
    assert "engine=chat_gpt" in page.url and "days=7" in page.url
    card = page.locator("#kpi-visibility")
    change = await card.locator(".change").inner_text()
    assert change.startswith("+") and change.endswith("pp")  # the own brand rose on chat_gpt this week
    assert await card.locator(".change.up").count() == 1
    await page.wait_for_selector("#engine-chart canvas")
    assert await page.locator("#movers").get_by_text(OWN).count() == 1
    await screenshot(page, "overview")

    await page.click("#nav >> text=Matrix")
    assert "engine=chat_gpt" in page.url  # the filters ride along
    cell = page.locator("#matrix td.cell.own:not(.none) a").first
    href = await cell.get_attribute("href")
    title = await cell.get_attribute("title")
    await screenshot(page, "matrix")
    await cell.click()
    await page.wait_for_url("**/dashboard/tasks?**")
    query = parse_qs(urlparse(page.url).query)
    assert query["brand"] == [OWN] and query["engine"] == ["chat_gpt"] and query["prompt"]
    listed = page.locator("#tasks li")
    shown = await listed.count()
    assert title and title.startswith(f"{shown} of")  # the cell's count is the answers it opens
    prompts = {await p.inner_text() for p in await page.locator("#tasks a.prompt").all()}
    assert len(prompts) == 1 and prompt_hash(prompts.pop()) == query["prompt"][0]
    assert await page.locator("#tasks .chip.own").count() == shown  # each names the own brand
    assert href
    await screenshot(page, "answers")

    await page.click("#tasks a.prompt >> nth=0")
    own = page.locator("#answer mark.brand.own").first
    assert await own.inner_text() == OWN and "position 1" in (await own.get_attribute("title") or "")
    assert await page.locator("#answer mark.brand.competitor").count() >= 1
    assert await page.locator("#answer sup.cite a").count() >= 1
    assert await page.locator("#answer h4").count() == 1  # the answer's Markdown heading, rendered
    assert "##" not in await page.locator("#answer").inner_text()
    assert await page.locator("#brands-found .chip.own").inner_text() == f"#1 {OWN}"
    others = page.locator("#elsewhere a.card")
    assert await others.count() >= 3  # the same prompt on the other engines and earlier runs
    await screenshot(page, "answer")

    await page.click("#nav >> text=Sources")
    assert await page.locator("#sources tr").count() > 1
    await page.click("#gap-link")
    assert "fr.wikipedia.org" in await page.locator("#gap").inner_text()
    await screenshot(page, "sources-gap")
    await page.click("#source-views >> text=Domains")
    await page.click(f"#source-brands >> text={OWN}")
    assert f"brand={OWN.replace(' ', '+')}" in page.url
    await page.wait_for_selector("#sources-chart canvas")
    await screenshot(page, "sources")

    await page.click("#nav >> text=Brands")
    await page.wait_for_selector("#visibility-chart canvas")
    assert await page.locator("#brands tr.own-row").count() >= 1
    await page.click("#group-by >> text=prompt")
    assert "by=prompt" in page.url and "engine=chat_gpt" in page.url
    await screenshot(page, "brands")

    await page.click("#nav >> text=New & lost")
    await apply(page, engine="", days="28")
    assert await page.locator("#changes").get_by_text("baseline").count() >= 1
    rising = page.locator("#changes a.up")
    if await rising.count():
        await rising.first.click()
        await page.wait_for_selector("#change-detail")
        assert await page.locator("#new-prompts a").count() >= 1
    await screenshot(page, "changes")

    await page.click("#nav >> text=Spend")
    await page.wait_for_selector("#spend-chart canvas")
    assert {"chat_gpt", "claude", "gemini", "perplexity"} <= set(
        (await page.locator("#spend").inner_text()).split()
    )
    await screenshot(page, "spend")
    await page.click("#nav >> text=Alerts")
    await screenshot(page, "alerts")

    # the rest of the filter bar, on the matrix: a tag, a model, dates, a country
    await page.click("#nav >> text=Matrix")
    await apply(page, tag="comparison")
    assert await page.locator("#matrix th.prompt").count() == 3  # the demo's three comparison prompts
    await apply(page, tag="", model="gpt-4.1-mini-2025-04-14")  # as the vendor names what answered
    assert set((await page.locator("#matrix tbody").inner_text()).split()) & set(MODELS) == {"chat_gpt"}
    await page.click("#filters >> text=pick dates")
    await apply(page, **{"model": "", "from": "2026-01-01"})
    assert "from=2026-01-01" in page.url and "to=" in page.url
    assert await page.locator("#matrix th.prompt").count() == 5
    await apply(page, country="FR")
    assert (
        "No answers in this period." in await page.locator("#matrix").inner_text()
    )  # the demo has no country
    await screenshot(page, "matrix-filtered")


async def test_every_page_fits_a_phone(demo_server, browser, screenshot):
    srv, creds = demo_server
    page = await logged_in(browser, srv, creds, viewport=PHONE, is_mobile=True, has_touch=True)
    first = await page.goto(f"{srv.url}/dashboard/tasks.json")
    assert first is not None
    task_id = (await first.json())[0]["id"]
    for name in (*PAGES, f"answer/{task_id}"):
        await page.goto(f"{srv.url}/dashboard/{name}")
        await page.wait_for_load_state("networkidle")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} is {width} px wide on a {PHONE['width']} px phone"
        await screenshot(page, f"phone-{name.split('/')[0]}")
