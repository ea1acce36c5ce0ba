"""End to end: the real ``llm-responses`` CLI as subprocesses, driven by the official ``dataforseo-client``."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from dataforseo_client import ApiClient, Configuration
from dataforseo_client.api.ai_optimization_api import AiOptimizationApi
from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_live_request_info import (
    AiOptimizationChatGptLlmResponsesLiveRequestInfo,
)
from dataforseo_client.models.ai_optimization_chat_gpt_llm_responses_task_post_request_info import (
    AiOptimizationChatGptLlmResponsesTaskPostRequestInfo,
)
from dataforseo_client.models.llm_message_chain_item import LlmMessageChainItem

from llm_responses.billing.holds import task_hold
from llm_responses.billing.money import to_nanos, to_usd
from llm_responses.catalog import Catalog
from llm_responses.config import Settings
from tests.ci import needs_embedded_model
from tests.e2e.processes import close_pipes

CLI = [sys.executable, "-m", "llm_responses.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db: Path, fake_base_url: str, **env: str) -> None:
        self.db_url = f"sqlite:///{db}"
        self.port = free_port()
        self.env = {
            **os.environ,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": fake_base_url,
            "LLM_RESPONSES_DATABASE_URL": self.db_url,
            "LLM_RESPONSES_OPENAI_MAX_RETRIES": "0",
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        return subprocess.run(
            CLI + list(args), env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            CLI + ["serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(
                    f"server did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                )
            time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        close_pipes(self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def server(tmp_path, fake_openai):
    srv = Server(tmp_path / "e2e.db", fake_openai.base_url, LLM_RESPONSES_WORKER_POLL_SECONDS="0.1")
    yield srv
    if srv.proc and srv.proc.poll() is None:
        srv.kill(signal.SIGTERM)


def client_for(server: Server, login: str, password: str) -> ApiClient:
    return ApiClient(Configuration(host=server.url, username=login, password=password))


def test_official_client_round_trip(server):
    creds = json.loads(server.cli("accounts", "create", "e2e", "--balance", "5", "--json"))
    assert set(creds) >= {"login", "password", "token"}
    server.start()
    with client_for(server, creds["login"], creds["password"]) as api_client:
        api = AiOptimizationApi(api_client)
        models = api.chat_gpt_llm_responses_models()
        assert models.status_code == 20000
        assert "gpt-4.1-mini" in [m.model_name for m in models.tasks[0].result]

        posted = api.chat_gpt_llm_responses_task_post(
            [
                AiOptimizationChatGptLlmResponsesTaskPostRequestInfo(
                    user_prompt="provide information on how relevant the amusement park business is in France now",
                    model_name="gpt-4.1-mini",
                    system_message="communicate as if we are in a business meeting",
                    message_chain=[
                        LlmMessageChainItem(role="user", message="Hello, what's up?"),
                        LlmMessageChainItem(role="ai", message="Hello! How can I assist you today?"),
                    ],
                    web_search=True,
                    web_search_country_iso_code="FR",
                    tag="e2e",
                )
            ]
        )
        assert posted.tasks[0].status_code == 20100, posted
        task_id = posted.tasks[0].id
        # base + the hold: DataForSEO's $0.01, or more where the model's worst case is more (web search)
        entry = Catalog.build(hosted={"openai"}).resolve("gpt-4.1-mini")  # OpenAI searches itself
        texts = (
            "provide information on how relevant the amusement park business is in France now",
            "communicate as if we are in a business meeting",
            "Hello, what's up?",
            "Hello! How can I assist you today?",
        )
        hold = task_hold(
            entry,
            prompt_chars=sum(map(len, texts)),
            output_tokens=2048,
            web_search=True,
            tariff=Settings().tariff(),
        )
        assert posted.cost == to_usd(to_nanos("0.0002") + hold), posted.cost

        deadline = time.time() + 20
        while True:
            ready = api.chat_gpt_llm_responses_tasks_ready()
            if ready.tasks[0].result:
                break
            assert time.time() < deadline
            time.sleep(0.1)
        assert ready.tasks[0].result[0].id == task_id and ready.tasks[0].result[0].tag == "e2e"

        got = api.chat_gpt_llm_responses_task_get(id=task_id)
        assert got.tasks[0].status_code == 20000
        result = got.tasks[0].result[0]
        assert result.model_name == "gpt-4.1-mini-2025-04-14" and result.web_search is True
        assert result.items[0].sections[0].annotations
        assert api.chat_gpt_llm_responses_tasks_ready().tasks[0].result == []

        live = api.chat_gpt_llm_responses_live(
            [AiOptimizationChatGptLlmResponsesLiveRequestInfo(user_prompt="hello", model_name="o4-mini")]
        )
        assert live.tasks[0].status_code == 20000
        assert live.tasks[0].result[0].items[0].type == "reasoning"

    shown = json.loads(server.cli("accounts", "show", "e2e", "--json"))
    assert shown["balance"] == shown["ledger_sum"]


def test_bearer_token_and_curl_style_requests(server):
    creds = json.loads(server.cli("accounts", "create", "bear", "--balance", "1", "--json"))
    server.start()
    r = httpx.get(
        f"{server.url}/v3/ai_optimization/chat_gpt/llm_responses/models",
        headers={"Authorization": f"Bearer {creds['token']}"},
    )
    assert r.status_code == 200 and r.json()["status_code"] == 20000
    r = httpx.get(f"{server.url}/v3/ai_optimization/chat_gpt/llm_responses/models")
    assert r.status_code == 401 and r.json()["status_code"] == 40100


def test_accepted_tasks_survive_kill_9_and_are_charged_once(tmp_path, fake_openai):
    fake_openai.latency = 0.5
    srv = Server(
        tmp_path / "crash.db",
        fake_openai.base_url,
        LLM_RESPONSES_WORKER_LEASE_SECONDS="1",
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.1",
        LLM_RESPONSES_MAINTENANCE_INTERVAL_SECONDS="0.5",
        LLM_RESPONSES_WORKER_CONCURRENCY="4",
    )
    creds = json.loads(srv.cli("accounts", "create", "crash", "--balance", "5", "--json"))
    srv.start()
    body = [{"user_prompt": f"question {i}", "model_name": "gpt-4.1-mini"} for i in range(20)]
    r = httpx.post(
        f"{srv.url}/v3/ai_optimization/chat_gpt/llm_responses/task_post",
        json=body,
        auth=(creds["login"], creds["password"]),
        timeout=10,
    )
    ids = [t["id"] for t in r.json()["tasks"]]
    assert len(ids) == 20
    with sqlite3.connect(tmp_path / "crash.db") as db:  # kill it with some tasks done, some in flight
        deadline = time.time() + 30
        while db.execute(
            "SELECT SUM(status = 'done') > 0 AND SUM(status = 'running') > 0 FROM tasks"
        ).fetchone() != (1,):
            assert time.time() < deadline, "the worker never got going"
            time.sleep(0.05)
    srv.kill(signal.SIGKILL)
    srv.start()
    deadline = time.time() + 60
    with sqlite3.connect(tmp_path / "crash.db") as db:
        while db.execute("SELECT COUNT(*) FROM tasks WHERE status = 'done'").fetchone()[0] < 20:
            assert time.time() < deadline, "tasks lost after the crash"
            time.sleep(0.2)
        per_task = db.execute(
            "SELECT task_id, SUM(kind = 'base'), SUM(kind = 'prepay'), SUM(kind IN ('refund', 'overage')) "
            "FROM ledger WHERE task_id IS NOT NULL GROUP BY task_id"
        ).fetchall()
        assert len(per_task) == 20 and all(row[1:] == (1, 1, 1) for row in per_task)
        balance, ledger = db.execute(
            "SELECT balance, (SELECT SUM(amount) FROM ledger WHERE account_id = accounts.id) FROM accounts"
        ).fetchone()
        assert balance == ledger
    srv.kill(signal.SIGTERM)


@needs_embedded_model
def test_no_key_demo_curl_and_official_client_run_on_the_embedded_model(tmp_path):
    """README's first command, without any key: the printed curl gets a generated answer with token counts,
    and the official client does a task_post → task_get round trip with web search from the local index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_RESPONSES_"))}
    port = free_port()
    index = tmp_path / "index.db"
    env.update(
        LLM_RESPONSES_DATABASE_URL=f"sqlite:///{tmp_path}/demo.db",
        LLM_RESPONSES_SEARCH_INDEX_PATH=str(index),
        LLM_RESPONSES_WORKER_POLL_SECONDS="0.1",
        # the seed's curl asks for no limit: 512 tokens on two cores is ~10 s of the suite for no more proof
        LLM_RESPONSES_LOCAL_MODEL_MAX_OUTPUT_TOKENS="96",
    )
    (tmp_path / "kb.md").write_text(
        "# Parks\n\nDisneyland Paris receives about 10 million visitors a year.\n", "utf-8"
    )
    subprocess.run(
        CLI + ["index", "add", str(tmp_path / "kb.md"), "--base-url", "https://kb.example"],
        env=env,
        check=True,
    )
    proc = subprocess.Popen(
        CLI + ["serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        printed = []
        for line in proc.stdout:
            printed.append(line)
            if line.startswith("Models:"):
                break
        text = "".join(printed)
        curl = text[text.index("curl -s -u") : text.index("\n\nModels:")].replace("\\\n", " ")
        assert '"model_name": "smollm2-135m-instruct"' in curl
        deadline = time.time() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.time() < deadline
                time.sleep(0.1)
        body = json.loads(
            subprocess.run(
                ["bash", "-c", curl], check=True, capture_output=True, text=True, timeout=180
            ).stdout
        )
        task = body["tasks"][0]
        assert task["status_code"] == 20000, task
        result = task["result"][0]
        assert result["model_name"] == "smollm2-135m-instruct"
        assert result["input_tokens"] > 10 and result["output_tokens"] > 0
        assert result["items"][0]["sections"][0]["text"].strip()

        login, password = re.search(r"login (\S+)\s+password (\S+)", text).groups()
        api_client = ApiClient(
            Configuration(host=f"http://127.0.0.1:{port}", username=login, password=password)
        )
        with api_client:
            api = AiOptimizationApi(api_client)
            posted = api.chat_gpt_llm_responses_task_post(
                [
                    AiOptimizationChatGptLlmResponsesTaskPostRequestInfo(
                        user_prompt="How many visitors does Disneyland Paris get?",
                        model_name="smollm2-135m-instruct",
                        max_output_tokens=64,
                        web_search=True,
                        web_search_country_iso_code="FR",
                    )
                ]
            )
            task_id = posted.tasks[0].id
            deadline = time.time() + 180
            while (got := api.chat_gpt_llm_responses_task_get(id=task_id)).tasks[0].status_code in (
                40601,
                40602,
            ):
                assert time.time() < deadline
                time.sleep(0.2)
            assert got.tasks[0].status_code == 20000
            result = got.tasks[0].result[0]
            assert result.web_search is True
            assert result.fan_out_queries == ["many visitors Disneyland Paris"]
            assert result.items[0].sections[0].annotations is not None  # a list: the search ran
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        close_pipes(proc)


def test_a_client_still_sending_a_body_over_the_cap_reads_the_40503(server):
    """urllib (and urllib3, the official client's transport) sends the whole body before reading: the
    server answers early, then reads and drops the rest instead of resetting the connection."""
    import base64
    import urllib.request

    server.start()
    creds = json.loads(server.cli("accounts", "create", "big", "--json"))
    auth = base64.b64encode(f"{creds['login']}:{creds['password']}".encode()).decode()
    body = b"[" + b" " * (40 << 20) + b"]"  # 40 MB, far past the 1 MiB cap and the socket buffers
    request = urllib.request.Request(
        f"{server.url}/v3/ai_optimization/chat_gpt/llm_responses/task_post",
        data=body,
        headers={"Authorization": f"Basic {auth}"},
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        answer = json.loads(r.read())
    assert answer["status_code"] == 40503 and "larger than 1048576 bytes" in answer["status_message"]


def test_official_client_with_batching_on(tmp_path, fake_openai_batch):
    """TASK_POST_BATCH on: the official client posts, waits on tasks_ready and reads task_get as always; the
    task went through the vendor's batch API and cost half the tokens."""
    srv = Server(
        tmp_path / "batch.db",
        fake_openai_batch.base_url,
        LLM_RESPONSES_TASK_POST_BATCH="on",
        LLM_RESPONSES_BATCH_MAX_AGE_SECONDS="0.3",
        LLM_RESPONSES_BATCH_POLL_SECONDS="0.1",
    )
    creds = json.loads(srv.cli("accounts", "create", "batch", "--balance", "5", "--json"))
    srv.start()
    try:
        with client_for(srv, creds["login"], creds["password"]) as api_client:
            api = AiOptimizationApi(api_client)
            models = api.chat_gpt_llm_responses_models()
            listed = {m.model_name: m for m in models.tasks[0].result}
            assert listed["gpt-4.1-mini"].additional_properties["batch_supported"] is True
            posted = api.chat_gpt_llm_responses_task_post(
                [
                    AiOptimizationChatGptLlmResponsesTaskPostRequestInfo(
                        user_prompt=f"amusement parks in France, part {i}", model_name="gpt-4.1-mini", tag="b"
                    )
                    for i in range(3)
                ]
            )
            ids = {t.id for t in posted.tasks}
            deadline = time.time() + 30
            ready: set[str] = set()
            while ready != ids:
                assert time.time() < deadline
                time.sleep(0.2)
                ready = {r.id for r in api.chat_gpt_llm_responses_tasks_ready().tasks[0].result}
            for task_id in ids:
                got = api.chat_gpt_llm_responses_task_get(id=task_id)
                assert got.tasks[0].status_code == 20000 and got.tasks[0].result[0].items
        assert len(fake_openai_batch.batches.batches) == 1
        with sqlite3.connect(tmp_path / "batch.db") as db:
            saved = db.execute("SELECT COUNT(*) FROM tasks WHERE batch_saved > 0").fetchone()[0]
        assert saved == 3
        shown = json.loads(srv.cli("accounts", "show", "batch", "--json"))
        assert shown["balance"] == shown["ledger_sum"]
    finally:
        srv.kill(signal.SIGTERM)
