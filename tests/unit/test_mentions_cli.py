"""``llm-responses mentions``: metrics over an account's stored answers, read from a real SQLite file."""

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
from llm_responses.store.records import NewTask, Outcome

BRANDS = """
[[brands]]
name = "Disneyland Paris"
aliases = ["Disneyland"]
domains = ["disneylandparis.com"]

[[brands]]
name = "Parc Astérix"
domains = ["parcasterix.fr"]
competitor = true
"""


def result(text: str, urls: list[str]) -> str:
    annotations = [{"title": u, "url": u} for u in urls]
    return json.dumps(
        {
            "model_name": "m",
            "items": [
                {"type": "message", "sections": [{"type": "text", "text": text, "annotations": annotations}]}
            ],
        }
    )


async def fill(url: str) -> None:
    store = make_store(Settings(database_url=url))
    await store.open()
    try:
        acc = await store.create_account("alice", "ph", "th", 10**12)
        answers = [
            ("claude", "Disneyland Paris first, Parc Astérix second.", ["https://www.disneylandparis.com/"]),
            ("claude", "Only Parc Astérix.", []),
            ("chat_gpt", "Disneyland!", ["https://parcasterix.fr/"]),
        ]
        tasks = [
            NewTask(
                f"00000000-0000-0000-0000-{i:012d}",
                se,
                "task_post",
                "{}",
                json.dumps({"model_name": "m"}),
                "w",
                None,
                None,
                1,
                1,
            )
            for i, (se, _, _) in enumerate(answers)
        ]
        await store.create_tasks(acc.id, tasks, time.time())
        claimed = {c.id: c for c in await store.claim_tasks("w", 10, time.time() + 60, time.time())}
        for task, (_, text, urls) in zip(tasks, answers, strict=True):
            outcome = Outcome(
                success=True, status_code=20000, status_message="Ok.", result_json=result(text, urls)
            )
            await store.finish_task(task.id, claimed[task.id].attempt, outcome, time.time())
    finally:
        await store.close()


def test_mentions_reports_the_metrics_per_engine(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    asyncio.run(fill(url))
    (tmp_path / "brands.toml").write_text(BRANDS, "utf-8")
    runner = CliRunner()
    env = {"LLM_RESPONSES_DATABASE_URL": url}
    out = runner.invoke(
        main, ["mentions", "alice", "--brands", str(tmp_path / "brands.toml"), "--by", "engine"], env=env
    )
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
    as_json = runner.invoke(
        main,
        [
            "mentions",
            "alice",
            "--brands",
            str(tmp_path / "brands.toml"),
            "--engine",
            "claude",
            "--format",
            "json",
        ],
        env=env,
    )
    assert {r["entity"]: r["share_of_voice"] for r in json.loads(as_json.output)} == {
        "Disneyland Paris": 0.3333,
        "Parc Astérix": 0.6667,
    }
    typo = tmp_path / "typo.toml"
    typo.write_text('[[brands]]\nname = "X"\ndomain = ["x.com"]\n', "utf-8")
    bad = runner.invoke(main, ["mentions", "alice", "--brands", str(typo)], env=env)
    assert bad.exit_code == 2 and "domain" in bad.output
