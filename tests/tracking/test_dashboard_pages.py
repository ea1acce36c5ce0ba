"""Every dashboard page on the demo project answered by the four vendors' fakes, read through the app as a
script reads it (the ``.json`` twins) and as a person does (the HTML): the numbers agree with each other and
with what the fakes answered."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest

from llm_responses.analysis.answer_index import prompt_hash
from llm_responses.cli.demo_data import DEMO_PROMPTS
from tests.conftest import running
from tests.dashboard_demo import DAYS, MODELS, PROJECT, TURN, seed_demo, vendor_settings

OWN = "Disneyland Paris"


@pytest.fixture
async def demo(settings, fake_openai, fake_anthropic, fake_gemini, fake_perplexity):
    async with running(vendor_settings(settings, fake_anthropic, fake_gemini, fake_perplexity)) as h:
        creds = await h.account("demo", balance="50")
        stored = await seed_demo(h, fake_openai, "demo")
        assert stored == DAYS * len(DEMO_PROMPTS) * len(MODELS)
        yield h, creds


async def get(h, creds, path: str, status: int = 200):
    r = await h.client.get(path, headers=creds.basic)
    assert r.status_code == status, (path, r.status_code, r.text[:300])
    return r


async def test_overview_shows_the_own_brand_rising_on_chat_gpt_against_the_week_before(demo):
    h, creds = demo
    # the last TURN days (chat_gpt names the own brand) against the TURN days before (it did not)
    days = "from=-&to=-"
    rows = (await get(h, creds, "/dashboard/overview.json?engine=chat_gpt&days=7")).json()
    own = next(r for r in rows if r["own"])
    assert own["entity"] == OWN
    assert own["mentions"] == (TURN - 0) * len(DEMO_PROMPTS) - len(DEMO_PROMPTS) * (TURN > 6)  # days 1..TURN
    assert own["visibility_change"] is not None and own["visibility_change"] > 0
    html = (await get(h, creds, "/dashboard?engine=chat_gpt&days=7")).text
    assert (
        'id="kpi-visibility"' in html and "+" in html.split('id="kpi-visibility"')[1].split("</div></div>")[0]
    )
    assert days  # the explicit range below is what a bookmark keeps
    page = (await get(h, creds, "/dashboard")).text
    assert PROJECT in page and "engine-chart" in page


async def test_matrix_cells_link_to_the_answers_behind_them(demo):
    h, creds = demo
    rows = (await get(h, creds, "/dashboard/matrix.json?days=7")).json()
    cell = next(r for r in rows if r["engine"] == "chat_gpt" and r["brand"] == OWN and r["mentions"])
    assert cell["prompt"] in {p for p, _ in DEMO_PROMPTS}
    link = urlparse(cell["answers_url"])
    assert parse_qs(link.query)["prompt"] == [prompt_hash(cell["prompt"])]
    answers = (await get(h, creds, f"{link.path}.json?{link.query}")).json()
    assert len(answers) == cell["mentions"]
    assert all(a["engine"] == "chat_gpt" and a["user_prompt"] == cell["prompt"] for a in answers)
    assert all(f"{OWN} #1" in a["brands"] for a in answers)
    # a row's winner is the brand named most on it
    for r in rows:
        if r["wins"]:
            same = [o for o in rows if o["prompt"] == r["prompt"] and o["engine"] == r["engine"]]
            assert r["mentions"] == max(o["mentions"] for o in same)


async def test_answer_page_highlights_brands_numbers_citations_and_shows_the_prompt_elsewhere(demo):
    h, creds = demo
    listed = (
        await get(h, creds, f"/dashboard/tasks.json?project={PROJECT}&engine=chat_gpt&brand={OWN}")
    ).json()
    task_id = listed[0]["id"]
    view = (await get(h, creds, f"/dashboard/answer/{task_id}.json")).json()
    assert [b["brand"] for b in view["brands"] if b["mentioned"]][:2] == [OWN, "Parc Astérix"]
    html = view["sections"][0]["html"]
    assert '<mark class="brand own"' in html and "<h4>Our pick</h4>" in html and "<script" not in html
    assert view["sections"][0]["sources"] and 'class="cite"' in html
    engines = {o["engine"] for o in view["elsewhere"]}
    assert {"claude", "gemini", "perplexity"} <= engines
    page = (await get(h, creds, f"/dashboard/answer/{task_id}?project={PROJECT}&engine=chat_gpt&days=7")).text
    assert 'id="elsewhere"' in page and "Sources" in page


async def test_sources_per_brand_and_the_gap(demo):
    h, creds = demo
    everything = (await get(h, creds, "/dashboard/sources.json")).json()
    assert everything and all(0 < r["share"] <= 1 for r in everything)
    gap = (await get(h, creds, "/dashboard/sources.json?view=gap")).json()
    for r in gap:
        assert r["answers_without_us"] > 0
    wiki = next((r for r in gap if r["domain"] == "fr.wikipedia.org"), None)
    assert wiki is not None  # cited where Parc Astérix alone is named
    naming = (await get(h, creds, f"/dashboard/sources.json?brand={OWN}")).json()
    assert {r["domain"] for r in naming} <= {r["domain"] for r in everything}


async def test_changes_start_at_the_first_answers_and_link_to_the_prompts(demo):
    h, creds = demo
    rows = (await get(h, creds, "/dashboard/changes.json?days=28")).json()
    weeks = sorted({r["week"] for r in rows})
    assert len(weeks) <= 3  # 8 days of answers: two or three weeks, no padding before them
    first = [r for r in rows if r["week"] == weeks[0]]
    assert all(r["new"] is None for r in first)  # the baseline, not "everything new"
    own = [r for r in rows if r["brand"] == OWN and r["new"]]
    if own:
        page = (await get(h, creds, f"/dashboard/changes?brand={OWN}&week={own[0]['week']}")).text
        assert 'id="new-prompts"' in page and "/dashboard/tasks?" in page


async def test_every_page_has_twins_and_refuses_bad_filters(demo):
    h, creds = demo
    for name in ("overview", "matrix", "tasks", "brands", "sources", "changes", "spend", "alerts"):
        html = await get(h, creds, f"/dashboard/{name}")
        assert html.headers["content-type"].startswith("text/html")
        rows = (await get(h, creds, f"/dashboard/{name}.json")).json()
        assert isinstance(rows, list)
        text = (await get(h, creds, f"/dashboard/{name}.csv")).text
        assert len(list(csv.reader(io.StringIO(text)))) == (len(rows) + 1 if rows else 0)
    spend = (await get(h, creds, "/dashboard/spend.json")).json()
    assert {r["engine"] for r in spend} == set(MODELS)
    for bad in (
        "engine=nope",
        "country=XX",
        "days=3",
        "from=2026-13-01",
        "project=nope",
        "from=2026-02-01&to=2026-01-01",
    ):
        r = await get(h, creds, f"/dashboard/brands?{bad}", 400)
        assert "<script" not in r.text
