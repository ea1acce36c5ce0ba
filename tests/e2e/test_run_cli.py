"""``llm-responses run``: a prompt set against a real server process, through its public API only."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.e2e.test_official_client import Server

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "llm_responses.cli"]


@pytest.fixture
def served(tmp_path, fake_openai, fake_perplexity):
    srv = Server(
        tmp_path / "run.db",
        fake_openai.base_url,
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.1",
        PERPLEXITY_API_KEY="pplx-test",
        PERPLEXITY_BASE_URL=fake_perplexity.base_url,
    )
    creds = json.loads(srv.cli("accounts", "create", "runner", "--balance", "5", "--json"))
    srv.start()
    yield srv, creds
    srv.kill()


def run(srv, creds, *args, env=None):
    return subprocess.run(
        CLI + ["run", *args, "--url", srv.url, "--json"],
        env={
            **srv.env,
            "LLM_RESPONSES_LOGIN": creds["login"],
            "LLM_RESPONSES_PASSWORD": creds["password"],
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_prompt_set_runs_on_two_engines_and_resumes_without_posting_again(
    served, tmp_path, fake_openai, fake_perplexity
):
    srv, creds = served
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(
        "user_prompt,tag\nbest amusement parks in France,parks\n\nbest amusement parks in France,parks\nParc Astérix opening hours,\n",
        "utf-8",
    )
    out = tmp_path / "out"
    args = [str(prompts), "--engines", "chat_gpt,perplexity", "--models", "chat_gpt=gpt-4.1-mini,perplexity=sonar",
            "--countries", "FR", "--repeat", "2", "--tag", "run1", "--out", str(out)]  # fmt: skip

    dry = run(srv, creds, *args, "--dry-run")
    assert (
        dry.returncode == 0 and json.loads(dry.stdout)["tasks"] == 8
    )  # 2 prompts (a duplicate skipped) x 2 x 2
    assert (
        "duplicate of an earlier line" in dry.stderr and "blank" not in dry.stderr
    )  # a csv blank line is no row
    assert fake_openai.requests == [] and fake_perplexity.requests == []

    done = run(srv, creds, *args)
    summary = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert (summary["done"], summary["failed"], summary["task_post"], summary["live"]) == (8, 0, 4, 4)
    with (out / "results.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {r["status_code"] for r in rows} == {"20000"}
    assert {r["tag"] for r in rows} == {"parks", "run1"}
    assert all(r["text"] and r["cited_urls"] for r in rows)
    assert {r["engine"] for r in rows} == {"chat_gpt", "perplexity"}
    sent = [r for r in fake_openai.requests if r.get("tools")]
    assert len(sent) == 4 and all(r["tools"][0]["user_location"]["country"] == "FR" for r in sent)

    calls = len(fake_openai.requests) + len(fake_perplexity.requests)
    again = run(srv, creds, *args, "--resume")
    assert again.returncode == 0 and json.loads(again.stdout)["done"] == 8
    assert len(fake_openai.requests) + len(fake_perplexity.requests) == calls  # nothing posted twice

    refused = run(srv, creds, *args)  # the same --out without --resume
    assert refused.returncode == 2 and "--resume" in refused.stderr

    # the same answers, exported from the server's database: every finished task, oldest first
    exported = subprocess.run(
        CLI + ["export", creds["login"]], env=srv.env, capture_output=True, text=True, check=True
    )
    tasks = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(tasks) == 8 and "8 tasks exported" in exported.stderr
    assert {t["se"] for t in tasks} == {"chat_gpt", "perplexity"} and all(t["result"]["items"] for t in tasks)
    assert [t["finished_at"] for t in tasks] == sorted(t["finished_at"] for t in tasks)
    target = tmp_path / "parks.csv"
    subprocess.run(
        CLI + ["export", creds["login"], "--tag", "parks", "--engine", "chat_gpt", "--format", "csv", "--out", str(target)],
        env=srv.env, check=True, capture_output=True,
    )  # fmt: skip
    with target.open(encoding="utf-8") as f:
        parks = list(csv.DictReader(f))
    assert len(parks) == 2 and all(
        r["se"] == "chat_gpt" and r["tag"] == "parks" and r["cited_urls"] for r in parks
    )


def test_failures_declines_and_bad_credentials_have_their_exit_codes(served, tmp_path):
    srv, creds = served
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"user_prompt": "hello"}\n{"user_prompt": "hello", "temperature": 9}\nnot json\n', "utf-8"
    )
    partial = run(srv, creds, str(prompts), "--models", "gpt-4.1-mini", "--out", str(tmp_path / "a"))
    assert partial.returncode == 3 and "line 3: not JSON" in partial.stderr
    assert json.loads(partial.stdout)["failed"] == 1  # temperature 9: 40501 for that task only

    declined = run(
        srv, creds, str(prompts), "--models", "gpt-4.1-mini", "--repeat", "100", "--out", str(tmp_path / "b")
    )
    assert declined.returncode == 1 and "--confirm-over" in declined.stderr

    wrong = run(
        srv,
        {**creds, "password": "wrong"},
        str(prompts),
        "--models",
        "gpt-4.1-mini",
        "--out",
        str(tmp_path / "c"),
    )
    assert wrong.returncode == 5 and "refused" in wrong.stderr

    unknown = run(
        srv, creds, str(prompts), "--engines", "bing", "--models", "x", "--out", str(tmp_path / "d")
    )
    assert unknown.returncode == 2 and "unknown engine" in unknown.stderr
