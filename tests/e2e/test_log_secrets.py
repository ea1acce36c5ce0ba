"""No password, token or key ever reaches the log: a real ``serve`` at DEBUG, in both log formats, driven
through successful and failed logins (Basic, Bearer, the dashboard form), /metrics with a right and a
wrong token, and live and queued tasks against an upstream that echoes the provider key it was sent;
everything the process writes is captured and searched."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import CLI, base_env, cli, close_pipes, free_port
from tests.fakes.openai_replies import error_reply

PROVIDER_KEY = (
    "gateway-2026-plum-orchard-7f3a"  # no known key shape: only the configured-secret rule finds it
)
SECRET_KEY = "hmac-key-for-credentials-0f9e8d7c6b5a"
METRICS_TOKEN = "scrape-token-5d4c3b2a19"
WRONG_PASSWORD = "Tr0ub4dor-not-the-password-9931"
WRONG_TOKEN = "lr_wrongwrongwrongwrongwrongwrong00"
LLM = "/v3/ai_optimization/chat_gpt/llm_responses"
TASK = {"model_name": "gpt-4.1-mini", "user_prompt": "hello"}


def echo_the_key() -> object:
    """What a careless upstream or proxy says back: the key it was sent, raw and in a header."""
    return error_reply(
        401, f"Incorrect API key provided: {PROVIDER_KEY}. Authorization: Bearer {PROVIDER_KEY}"
    )


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_no_secret_is_ever_logged(log_format, fake_openai, tmp_path):
    env = base_env(
        LLM_RESPONSES_DATABASE_URL=f"sqlite:///{tmp_path}/secrets.db",
        LLM_RESPONSES_SECRET_KEY=SECRET_KEY,
        LLM_RESPONSES_METRICS_TOKEN=METRICS_TOKEN,
        LLM_RESPONSES_LOG_LEVEL="DEBUG",
        LLM_RESPONSES_LOG_FORMAT=log_format,
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.1",
        LLM_RESPONSES_LOCAL_MODEL="off",
        OPENAI_API_KEY=PROVIDER_KEY,
        OPENAI_BASE_URL=fake_openai.base_url,
        LLM_RESPONSES_OPENAI_MAX_RETRIES="0",
    )
    creds = json.loads(cli(env, "accounts", "create", "alice", "--balance", "10", "--json"))
    password, token = creds["password"], creds["token"]
    log_file = tmp_path / "server.log"
    port = free_port()
    proc = start_serve(env, port, log_file)
    try:
        cookie = await drive(f"http://127.0.0.1:{port}", password, token, fake_openai)
    finally:
        proc.terminate()
        proc.wait(30)
        close_pipes(proc)
    logged = log_file.read_text()
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    wrong_basic = base64.b64encode(f"alice:{WRONG_PASSWORD}".encode()).decode()
    secrets = {
        "provider key": PROVIDER_KEY,
        "API password": password,
        "API token": token,
        "wrong password": WRONG_PASSWORD,
        "wrong token": WRONG_TOKEN,
        "Basic credentials": basic,
        "wrong Basic credentials": wrong_basic,
        "metrics token": METRICS_TOKEN,
        "credential key": SECRET_KEY,
        "dashboard session": cookie,
    }
    assert not {name for name, secret in secrets.items() if secret in logged}
    # and the log did see all of it: the access lines, and the upstream's echo (redacted)
    assert logged.count(f"{LLM}/live") >= 3 and "/metrics" in logged and "/dashboard/login" in logged
    assert "Incorrect API key provided: [redacted]" in logged
    if log_format == "json":
        lines = [json.loads(line) for line in logged.splitlines() if line.strip()]
        assert {line["account"] for line in lines if "account" in line} == {"alice"}
        assert any(line.get("task_id") for line in lines if line["logger"] == "llm_responses.tasks.runner")


def start_serve(env: dict[str, str], port: int, log_file: Path) -> subprocess.Popen:
    """``serve`` with everything it writes, stdout and stderr, going to ``log_file``."""
    with open(log_file, "wb") as out:
        proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log_file.read_text()[-2000:]
        time.sleep(0.1)


async def drive(url: str, password: str, token: str, fake_openai) -> str:
    """Every path that handles a credential or a key, right and wrong; the dashboard session it got."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        basic, wrong = ("alice", password), ("alice", WRONG_PASSWORD)
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await http.get(f"{LLM}/tasks_ready", auth=basic)).json()["status_code"] == 20000
        assert (await http.get(f"{LLM}/tasks_ready", auth=wrong)).json()["status_code"] == 40100
        assert (await http.get(f"{LLM}/tasks_ready", headers=bearer)).json()["status_code"] == 20000
        wrong_bearer = {"Authorization": f"Bearer {WRONG_TOKEN}"}
        assert (await http.get(f"{LLM}/tasks_ready", headers=wrong_bearer)).json()["status_code"] == 40100
        fake_openai.enqueue(echo_the_key())  # a live call: the upstream echoes the key
        assert (await http.post(f"{LLM}/live", json=[TASK], auth=basic)).json()["tasks"][0][
            "status_code"
        ] == 50301
        assert (await http.post(f"{LLM}/live", json=[TASK], auth=basic)).json()["tasks"][0][
            "status_code"
        ] == 20000
        await http.post(f"{LLM}/live", json=[TASK], auth=wrong)
        fake_openai.enqueue(echo_the_key())  # a queued task: the worker meets the echo
        posted = (await http.post(f"{LLM}/task_post", json=[TASK], headers=bearer)).json()
        task_id = posted["tasks"][0]["id"]
        deadline = time.monotonic() + 20
        while (await http.get(f"{LLM}/task_get/{task_id}", auth=basic)).json()["tasks"][0]["status_code"] in (
            40601,
            40602,
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        assert (await http.get("/metrics", headers={"Authorization": "Bearer nope-nope"})).status_code == 401
        metrics = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert metrics.status_code == 200
        failed = await http.post("/dashboard/login", data={"login": "alice", "password": WRONG_PASSWORD})
        assert failed.status_code == 401
        ok = await http.post("/dashboard/login", data={"login": "alice", "password": password})
        assert ok.status_code == 303
        return next(iter(ok.cookies.values()))
