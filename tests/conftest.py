"""Shared fixtures: a fake OpenAI over HTTP, a real SQLite file per test, the app in-process."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings

from llm_responses.accounts.credentials import new_password, new_token
from llm_responses.app import create_app
from llm_responses.billing.money import to_nanos
from llm_responses.config import Settings
from llm_responses.store.migrate import upgrade
from tests import pg
from tests.ci import UNDER_CI
from tests.fakes.anthropic_batch import FakeAnthropicBatch
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.gemini_batch import FakeGeminiBatch
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_batch import FakeOpenAIBatch
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.perplexity_agent_server import FakePerplexityAgent
from tests.fakes.perplexity_batch import FakePerplexityAgentBatch
from tests.pg import Databases

# Randomness in tests is seeded: a failure repeats with the seed the header prints.
TEST_SEED = int(os.environ.get("LLM_RESPONSES_TEST_SEED", "20261203"))
# Under CI, property tests draw the same examples every run (locally they explore).
hypothesis_settings.register_profile("ci", derandomize=True)
if UNDER_CI:
    hypothesis_settings.load_profile("ci")


def pytest_report_header() -> str:
    return f"random seed: {TEST_SEED} (set LLM_RESPONSES_TEST_SEED to repeat another run)"


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A random generator seeded per test from ``TEST_SEED``: the same choices on every run."""
    return random.Random(f"{TEST_SEED}:{request.node.nodeid}")


LLM = "/v3/ai_optimization/chat_gpt/llm_responses"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is ``e2e``; the fuzzer is ``slow``."""
    for item in items:
        parts = item.path.parts
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if "fuzz" in parts:
            item.add_marker(pytest.mark.slow)


def vendor_fake(cls: type[Any], name: str):
    """Two fixtures for a vendor's fake: ``<name>_server``, one per session, and ``<name>``, the same
    server reset (script, records, latency) before and after each test."""

    @pytest.fixture(scope="session", name=f"{name}_server")
    def server() -> Iterator[Any]:
        fake = cls().start()
        yield fake
        fake.stop()

    @pytest.fixture(name=name)
    def fresh(request: pytest.FixtureRequest) -> Iterator[Any]:
        fake = request.getfixturevalue(f"{name}_server")
        fake.reset()
        yield fake
        fake.reset()

    return server, fresh


fake_openai_server, fake_openai = vendor_fake(FakeOpenAI, "fake_openai")
fake_anthropic_server, fake_anthropic = vendor_fake(FakeAnthropic, "fake_anthropic")
fake_gemini_server, fake_gemini = vendor_fake(FakeGemini, "fake_gemini")
fake_perplexity_server, fake_perplexity = vendor_fake(FakePerplexityAgent, "fake_perplexity")
# the same fakes with their vendor's batch API (tests/fakes/*_batch.py; ``.batches`` is the engine tests drive)
fake_openai_batch_server, fake_openai_batch = vendor_fake(FakeOpenAIBatch, "fake_openai_batch")
fake_anthropic_batch_server, fake_anthropic_batch = vendor_fake(FakeAnthropicBatch, "fake_anthropic_batch")
fake_gemini_batch_server, fake_gemini_batch = vendor_fake(FakeGeminiBatch, "fake_gemini_batch")
fake_perplexity_batch_server, fake_perplexity_batch = vendor_fake(
    FakePerplexityAgentBatch, "fake_perplexity_batch"
)


@pytest_asyncio.fixture(scope="session")
async def pg_databases() -> AsyncIterator[Databases]:
    dbs = Databases()
    yield dbs
    if dbs.created or dbs.template_ready:
        await dbs.drop_all()


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path, pg_databases: Databases, sqlite_template) -> str:
    """A fresh, migrated database of each kind: the store contract holds on both."""
    if request.param == "sqlite":
        shutil.copyfile(sqlite_template, tmp_path / "store.db")
        return f"sqlite:///{tmp_path}/store.db"
    await pg.require()
    return await pg_databases.new()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated per session; each test's database is a copy (0.1 ms, not 40 ms of alembic)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path, fake_openai: FakeOpenAI, sqlite_template) -> Settings:
    shutil.copyfile(sqlite_template, tmp_path / "test.db")  # migrated already: opening it checks, no more
    return Settings(
        database_url=f"sqlite:///{tmp_path}/test.db",
        openai_api_key="sk-test",
        openai_base_url=fake_openai.base_url,
        openai_max_retries=0,
        openai_timeout=10,
        worker_poll_seconds=0.05,
        task_retry_delay_seconds=0.05,
        sqlite_synchronous="NORMAL",
        search_index_path=f"{tmp_path}/index.db",
        secret_key_file=f"{tmp_path}/test.key",  # beside the database, whichever it is (never in the checkout)
    )


@dataclass
class Creds:
    login: str
    password: str
    token: str
    account_id: int

    @property
    def basic(self) -> dict[str, str]:
        raw = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Harness:
    """The app running in-process, with helpers to make accounts and call it."""

    def __init__(self, app, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def api(self):
        return self.app.state.api

    @property
    def store(self):
        return self.api.store

    async def indexed(self) -> None:
        """Wait until every settled answer is in the mentions index (the worker's indexer runs behind)."""
        while (await self.store.index_backlog())[0]:
            await self.app.state.indexer.drain()
            await asyncio.sleep(0.01)  # a batch another indexer holds: its transaction commits meanwhile

    async def account(self, login: str = "alice", balance: str = "10") -> Creds:
        hasher = self.api.auth.hasher
        password, token = new_password(), new_token()
        acc = await self.store.create_account(
            login, hasher.digest(password), hasher.digest(token), to_nanos(balance)
        )
        return Creds(login, password, token, acc.id)

    async def post(self, path: str, creds: Creds, body: Any) -> dict[str, Any]:
        r = await self.client.post(path, json=body, headers=creds.basic)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json")
        return r.json()

    async def get(self, path: str, creds: Creds) -> dict[str, Any]:
        r = await self.client.get(path, headers=creds.basic)
        assert r.status_code == 200, r.text
        return r.json()

    async def balance(self, creds: Creds) -> int:
        return (await self.store.account_by_login(creds.login)).balance

    async def wait_done(self, creds: Creds, task_id: str, within: float = 10.0) -> dict[str, Any]:
        """Poll task_get until the task is no longer queued or handed."""
        deadline = time.monotonic() + within
        while True:
            body = await self.get(f"{LLM}/task_get/{task_id}", creds)
            if body["tasks"][0]["status_code"] not in (40601, 40602):
                return body
            assert time.monotonic() < deadline, f"task {task_id} still pending"
            await asyncio.sleep(0.02)

    async def wait_finished(self, creds: Creds, task_id: str, within: float = 10.0) -> None:
        """Wait until the worker has finished the task (read from the store, so task_get stays uncollected)."""
        deadline = time.monotonic() + within
        while (record := await self.store.get_task(creds.account_id, task_id)).status in (
            "queued",
            "running",
            "batched",
        ):
            assert time.monotonic() < deadline, f"task {task_id} still {record.status}"
            await asyncio.sleep(0.02)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Harness]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(app, client)


@pytest_asyncio.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with running(settings) as h:
        yield h


@pytest.fixture
def running_with(settings: Settings):
    """``async with running_with(setting=value) as harness``: the app on the test settings with changes."""

    def start(**changes: Any):
        return running(settings.updated(changes))

    return start


@pytest_asyncio.fixture
async def idle_harness(settings: Settings) -> AsyncIterator[Harness]:
    """The API without a worker: posted tasks stay queued."""
    async with running(settings.updated({"worker_enabled": False})) as h:
        yield h
