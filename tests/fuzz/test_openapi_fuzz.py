"""The service's own ``/openapi.json`` is valid and every operation in it survives an OpenAPI fuzzer.

schemathesis reads the schema from the running server (a real uvicorn on loopback, lifespan and worker
on, the fake OpenAI upstream) and sends generated requests to each operation, with credentials, checking
that no answer is a server error and that every answer is the JSON the schema promises. Examples are
bounded (``MAX_EXAMPLES`` per operation, derandomized) so the run takes seconds and repeats exactly.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from llm_responses.accounts.credentials import new_password, new_token
from llm_responses.app import create_app
from llm_responses.billing.money import to_nanos
from llm_responses.composition import make_hasher, make_store
from llm_responses.config import Settings

MAX_EXAMPLES = 15


async def _account(config: Settings) -> tuple[str, str]:
    store = make_store(config)
    await store.open()
    try:
        hasher = await make_hasher(store, config)
        password = new_password()
        await store.create_account(
            "fuzz", hasher.digest(password), hasher.digest(new_token()), to_nanos("100")
        )
        return "fuzz", password
    finally:
        await store.close()


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory, fake_openai_server):
    root = tmp_path_factory.mktemp("fuzz")
    config = Settings(
        database_url=f"sqlite:///{root}/fuzz.db",
        openai_api_key="sk-test",
        openai_base_url=fake_openai_server.base_url,
        openai_max_retries=0,
        local_model="off",
        search_index_path=f"{root}/index.db",
        sqlite_synchronous="NORMAL",
        access_log=False,
        rate_limit_per_minute=100_000,
        auth_failures_per_login=100_000,
        auth_failures_per_address=100_000,
    )
    login, password = asyncio.run(_account(config))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    auth = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
    yield url, {"Authorization": auth}
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="session")
def api_schema(fuzz_server):
    url, _ = fuzz_server
    raw = httpx.get(f"{url}/openapi.json").json()
    return schemathesis.openapi.from_dict(raw)


def test_the_schema_declares_every_path_parameter_and_body(fuzz_server):
    url, _ = fuzz_server
    raw = httpx.get(f"{url}/openapi.json").json()
    for path, operations in raw["paths"].items():
        for method, op in operations.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(__import__("re").findall(r"{([^}]+)}", path)), (method, path)
            if method == "post" and not path.endswith(("rotate", "rotate.ai")):
                assert "requestBody" in op, path


def test_every_operation_survives_the_fuzzer(fuzz_server, api_schema):
    url, auth = fuzz_server
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            case.call_and_validate(base_url=url, headers=auth)

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collected: every operation is tried, all failures shown
            failures[operation.label] = str(exc)[:600]
    assert not failures, "\n\n".join(f"{label}: {why}" for label, why in failures.items())
