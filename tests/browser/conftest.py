"""Real-browser tests: Playwright driving Debian's ``chromium-headless-shell`` (installed by ``.ci/run``
with apt; no browser download). Where it is missing the tests skip, except under CI.

Playwright's async API, not pytest-playwright's sync fixtures: the sync API keeps an event loop running in
the test process for the rest of the session, and every asyncio test after it then fails ("cannot be
called from a running event loop").
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright

CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium") if Path(p).exists()), None
)
SCREENSHOTS = Path(os.environ.get("LLM_RESPONSES_SCREENSHOTS", "test-artifacts/screenshots"))


def require_browser() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI needs chromium-headless-shell (apt): .ci/run installs it")
        pytest.skip("no chromium-headless-shell (apt install chromium-headless-shell)")
    return CHROMIUM


@pytest_asyncio.fixture
async def browser_page(request, credentials) -> AsyncIterator[Page]:
    """A page in a fresh browser context that logs in with ``credentials`` (HTTP Basic)."""
    executable = require_browser()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, headless=True)
        context = await browser.new_context(http_credentials=credentials)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            await browser.close()


@pytest.fixture
def screenshot(browser_page, request):
    """``await screenshot("name")``: a full-page PNG kept as a test artefact."""

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(name: str) -> Path:
        target = SCREENSHOTS / f"{request.node.name}-{name}.png"
        await browser_page.screenshot(path=str(target), full_page=True)
        return target

    return take
