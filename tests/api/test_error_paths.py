"""Every request path answers with the envelope and a documented code: no 422, no HTML, no traceback."""

import base64
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_responses.store.sqlite_database import sqlite_path
from llm_responses.wire.engines import CHAT_GPT
from llm_responses.wire.request import task_post_fields
from tests.api.seed import SEED_TASK
from tests.api.wire_check import TOP_KEYS, assert_top_error, assert_wire
from tests.conftest import LLM

ENDPOINTS = [
    ("POST", f"{LLM}/task_post"),
    ("POST", f"{LLM}/live"),
    ("GET", f"{LLM}/tasks_ready"),
    ("GET", f"{LLM}/task_get/00000000-0000-0000-0000-000000000000"),
    ("GET", f"{LLM}/models"),
    ("GET", "/v3/appendix/errors"),
    ("GET", "/v3/appendix/user_data"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic " + base64.b64encode(b"alice:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:x").decode(),
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer lr_wrong",
        "Bearer ",
        "Digest abc",
    ],
)
async def test_bad_credentials_are_401_with_the_envelope(harness, method, path, header):
    await harness.account()
    headers = {"Authorization": header} if header else {}
    r = await harness.client.request(
        method, path, headers=headers, json=[SEED_TASK] if method == "POST" else None
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic realm=")
    assert r.headers["content-type"] == "application/json"
    assert_top_error(r.json(), 40100)


async def test_body_errors(harness):
    alice = await harness.account()
    for path in (f"{LLM}/task_post", f"{LLM}/live"):
        for raw, code in (
            (b"", 40502),
            (b"   ", 40502),
            (b"[]", 40502),
            (b"{not json", 40503),
            (b"42", 40503),
            (b'"text"', 40503),
            (b"null", 40503),
            (b"\xff\xfe", 40503),
        ):
            r = await harness.client.post(
                path, content=raw, headers={**alice.basic, "Content-Type": "application/json"}
            )
            assert r.status_code == 200, (path, raw)
            assert_top_error(r.json(), code)


async def test_unknown_fields_are_40506(harness):
    alice = await harness.account()
    body = await harness.post(f"{LLM}/task_post", alice, [{**SEED_TASK, "limit": 10}])
    assert body["tasks"][0]["status_code"] == 40506
    assert body["tasks"][0]["status_message"] == "Unknown Fields in POST Data: limit"


async def test_unknown_paths_are_404_with_40400(harness):
    alice = await harness.account()
    for path in (
        "/v3/nope",
        "/v3/ai_optimization/chat_gpt/llm_responses/nope",
        f"{LLM}/task_get",
        "/v3/ai_optimization/llm_responses/task_post",
        "/v3/ai_optimization/unknown_se/llm_responses/models",
    ):
        r = await harness.client.get(path, headers=alice.basic)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/json"
        assert_top_error(r.json(), 40400, "Not Found.")


async def test_wrong_method_on_a_known_path_is_40402(harness):
    alice = await harness.account()
    for method, path in (("GET", f"{LLM}/task_post"), ("POST", f"{LLM}/models"), ("DELETE", f"{LLM}/live")):
        r = await harness.client.request(method, path, headers=alice.basic)
        assert r.status_code == 200
        assert_top_error(r.json(), 40402, "Invalid Path.")


async def test_rate_limit_is_40202(running_with):
    async with running_with(rate_limit_per_minute=3) as harness:
        alice = await harness.account()
        codes = [(await harness.get(f"{LLM}/models", alice))["status_code"] for _ in range(5)]
        assert codes == [20000, 20000, 20000, 40202, 40202]
        body = await harness.get(f"{LLM}/models", alice)
        assert_top_error(body, 40202, "The rate-limit per minute has been exceeded.")


async def test_internal_errors_are_500_with_50000(harness, settings):
    alice = await harness.account()
    # a real fault: the tasks table disappears under the running server
    with sqlite3.connect(sqlite_path(settings.database_url)) as conn:
        conn.execute("ALTER TABLE tasks RENAME TO tasks_gone")
    r = await harness.client.get(f"{LLM}/tasks_ready", headers=alice.basic)
    assert r.status_code == 500
    assert_top_error(r.json(), 50000, "Internal Error.")
    assert "no such table" not in r.text and "Traceback" not in r.text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(sorted(task_post_fields(CHAT_GPT)))  # every field task_post knows, in any mix
tasks = st.dictionaries(field_names, json_values, max_size=8) | json_values


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(tasks, max_size=3) | json_values)
async def test_fuzzed_bodies_never_break_the_envelope(idle_harness, body):
    h = idle_harness
    if not hasattr(h, "creds"):
        h.creds = await h.account(balance="1000")
    for path in (f"{LLM}/task_post", f"{LLM}/live"):
        r = await h.client.post(path, json=body, headers=h.creds.basic)
        assert r.status_code == 200, r.text
        payload = r.json()
        assert list(payload) == TOP_KEYS
        if payload["tasks"]:
            assert_wire(payload, "task_post" if path.endswith("task_post") else "live")
            assert all(
                t["status_code"] in (20000, 20100, 40006, 40209, 40210, 40501, 40503, 40506, 50301)
                for t in payload["tasks"]
            ), payload


async def test_a_client_that_hangs_up_mid_body_is_not_an_internal_error(harness, caplog):
    """Raw ASGI: the body never arrives, the connection closes. No 50000, no traceback in the log."""
    alice = await harness.account()
    sent: list[dict] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{LLM}/live",
        "raw_path": f"{LLM}/live".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", alice.basic["Authorization"].encode()), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    with caplog.at_level("INFO"):
        await harness.app(scope, receive, send)
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert "client disconnected" in caplog.text


async def test_every_request_leaves_an_access_log_line(harness, caplog):
    caplog.set_level("INFO", logger="llm_responses.access")
    alice = await harness.account()
    await harness.get(f"{LLM}/tasks_ready", alice)
    await harness.client.get(f"{LLM}/models")
    lines = [r.getMessage() for r in caplog.records if r.name == "llm_responses.access"]
    assert any(
        line.startswith(f"GET {LLM}/tasks_ready 200 ") and line.endswith("account=alice") for line in lines
    ), lines
    assert any(line.startswith(f"GET {LLM}/models 401 ") and line.endswith("account=-") for line in lines), (
        lines
    )


async def test_the_access_log_can_be_turned_off(running_with, caplog):
    caplog.set_level("INFO", logger="llm_responses.access")
    async with running_with(access_log=False) as harness:
        await harness.client.get(f"{LLM}/models")
    assert not [r for r in caplog.records if r.name == "llm_responses.access"]
