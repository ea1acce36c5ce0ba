"""``llm-responses mentions``: brand metrics from an account's mentions index, read from a real SQLite file."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time

from click.testing import CliRunner

from llm_responses.cli import main
from llm_responses.composition import make_store
from llm_responses.config import Settings
from llm_responses.tracking.spec import ProjectSpec, Prompt
from tests.analysis.rollup_rows import Found, Row, insert


async def fill(url: str) -> tuple[int, int]:
    """alice: three answers read for the server's brands; carol: only a project's (two)."""
    store = make_store(Settings(database_url=url))
    await store.open()
    try:
        alice = await store.create_account("alice", "ph", "th", 10**12)
        carol = await store.create_account("carol", "ph2", "th2", 10**12)
        spec = ProjectSpec(
            name="parks", prompts=(Prompt(text="best parks", tags=("top",)),), engines=("claude",),
            models={"claude": ("claude-sonnet-4-5",)},
        )  # fmt: skip
        project, _ = await store.tracking.save_project(carol.id, "parks", spec.to_json(), None, time.time())
    finally:
        await store.close()
    disney, asterix = "Disneyland Paris", "Parc Astérix"
    await insert(
        url,
        [
            # "Disneyland Paris first, Parc Astérix second." citing disneylandparis.com
            Row(alice.id, engine="claude", cited_any=True,
                found=(Found(disney, cited=True, position=1), Found(asterix, True, position=2))),
            Row(alice.id, engine="claude", found=(Found(asterix, True, position=1),)),  # "Only Parc Astérix."
            # "Disneyland!" citing parcasterix.fr
            Row(alice.id, engine="chat_gpt", cited_any=True,
                found=(Found(disney, position=1), Found(asterix, True, mentioned=False, cited=True))),
            Row(carol.id, project.id, engine="claude", question="best parks", found=(Found(disney, position=1),)),
            Row(carol.id, project.id, engine="claude", question="best parks"),
        ],
    )  # fmt: skip
    return alice.id, carol.id


def test_mentions_reports_the_metrics_per_engine(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    asyncio.run(fill(url))
    runner = CliRunner()
    env = {"LLM_RESPONSES_DATABASE_URL": url}
    out = runner.invoke(main, ["mentions", "alice", "--by", "engine"], env=env)
    assert out.exit_code == 0, out.output
    rows = {(r["engine"], r["entity"]): r for r in csv.DictReader(io.StringIO(out.output))}
    assert (
        rows["claude", "Disneyland Paris"]["visibility"] == "0.5"
        and rows["claude", "Parc Astérix"]["visibility"] == "1.0"
    )
    assert (
        rows["claude", "Disneyland Paris"]["citation_share"] == "1.0"
    )  # the one claude answer citing anything
    assert (
        rows["chat_gpt", "Parc Astérix"]["citations"] == "1"
        and rows["chat_gpt", "Parc Astérix"]["mentions"] == "0"
    )
    as_json = runner.invoke(main, ["mentions", "alice", "--engine", "claude", "--format", "json"], env=env)
    assert {r["entity"]: r["share_of_voice"] for r in json.loads(as_json.output)} == {
        "Disneyland Paris": 0.3333,
        "Parc Astérix": 0.6667,
    }
    bad = runner.invoke(main, ["mentions", "alice", "--by", "weekday"], env=env)
    assert bad.exit_code == 2 and "weekday" in bad.output
    bad = runner.invoke(main, ["mentions", "alice", "--country", "XX"], env=env)
    assert bad.exit_code == 2 and "ISO 3166" in bad.output


def test_without_answers_for_the_servers_brands_the_first_project_is_read(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    asyncio.run(fill(url))
    runner = CliRunner()
    env = {"LLM_RESPONSES_DATABASE_URL": url}
    out = runner.invoke(main, ["mentions", "carol", "--by", "tag,engine", "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    assert "project 'parks'" in out.stderr
    assert [
        (r["tag"], r["engine"], r["entity"], r["answers"], r["visibility"]) for r in json.loads(out.stdout)
    ] == [("top", "claude", "Disneyland Paris", 2, 0.5)]
    named = runner.invoke(main, ["mentions", "carol", "--project", "parks"], env=env)
    assert (
        named.exit_code == 0 and "project 'parks'" not in named.stderr and "Disneyland Paris" in named.stdout
    )
    missing = runner.invoke(main, ["mentions", "carol", "--project", "nope"], env=env)
    assert missing.exit_code == 1 and "no project 'nope'" in missing.stderr
    # alice has answers for the server's brands: her (absent) projects are never looked at
    assert "project" not in runner.invoke(main, ["mentions", "alice"], env=env).stderr
