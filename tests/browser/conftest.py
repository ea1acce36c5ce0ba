"""Real-browser tests: Playwright driving Debian's ``chromium-headless-shell`` (installed by ``.ci/run``
with apt; no browser download). Where it is missing the tests skip, except under CI.

Playwright's async API, not pytest-playwright's sync fixtures: the sync API keeps an event loop running in
the test process for the rest of the session, and every asyncio test after it then fails ("cannot be
called from a running event loop").
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.ci import missing
from tests.e2e.test_official_client import Server

CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium") if Path(p).exists()), None
)
SCREENSHOTS = Path(os.environ.get("LLM_RESPONSES_SCREENSHOTS", "test-artifacts/screenshots"))


def require_browser() -> str:
    if CHROMIUM is None:
        missing(
            "chromium-headless-shell (apt; .ci/run installs it)",
            "no chromium-headless-shell (apt install chromium-headless-shell)",
        )
    return CHROMIUM


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = require_browser()
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(page: Page, base_url: str, login: str, password: str) -> None:
    """The dashboard's own login form, as a user fills it in."""
    await page.goto(f"{base_url}/dashboard")
    await page.wait_for_url("**/dashboard/login**")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector("nav")


@pytest_asyncio.fixture
async def browser_page(browser: Browser, credentials, base_url) -> AsyncIterator[Page]:
    """A page in a fresh browser context, logged in to the dashboard through its form."""
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(15_000)
    await log_in(page, base_url, credentials["username"], credentials["password"])
    yield page
    await context.close()


@pytest.fixture
def screenshot(request):
    """``await screenshot(page, "name")``: a full-page PNG kept as a test artefact."""

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> Path:
        target = SCREENSHOTS / f"{request.node.name}-{name}.png"
        await page.screenshot(path=str(target), full_page=True)
        return target

    return take


BRANDS = (
    '[{"name": "Parc Astérix", "domains": ["wikipedia.org"]}, {"name": "Disneyland", "competitor": true}]'
)


def indexed(path: Path, seconds: float = 20.0) -> None:
    """Wait until the server's indexer has taken every settled answer into the mentions index."""
    deadline = time.monotonic() + seconds
    while True:
        with sqlite3.connect(path) as db:
            if not db.execute("SELECT COUNT(*) FROM mention_outbox").fetchone()[0]:
                return
        assert time.monotonic() < deadline, "the answers were not indexed in time"
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path, fake_openai):
    srv = Server(tmp_path / "dash.db", fake_openai.base_url, LLM_RESPONSES_BRANDS=BRANDS)
    creds = json.loads(srv.cli("accounts", "create", "dash", "--balance", "5", "--json"))
    srv.start()
    auth = (creds["login"], creds["password"])
    for tag, search in (("parks", True), ("parks", True), ("plain", False)):
        r = httpx.post(
            f"{srv.url}/v3/ai_optimization/chat_gpt/llm_responses/live",
            json=[
                {
                    "user_prompt": "amusement parks in France",
                    "model_name": "gpt-4.1-mini",
                    "web_search": search,
                    "tag": tag,
                }
            ],
            auth=auth,
            timeout=30,
        )
        assert r.json()["tasks"][0]["status_code"] == 20000
    indexed(tmp_path / "dash.db")
    yield srv, creds
    srv.kill()


@pytest.fixture
def credentials(served):
    _, creds = served
    return {"username": creds["login"], "password": creds["password"]}


@pytest.fixture
def base_url(served):
    return served[0].url
