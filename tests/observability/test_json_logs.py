"""JSON-lines logs: one object per line with the request id, the account and the task id, redacted."""

from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager

from llm_responses.observability.logs import JsonFormatter
from llm_responses.redaction import Redactor
from tests.api.seed import SEED_TASK
from tests.conftest import LLM
from tests.fakes.openai_replies import error_reply

KEY = "gateway-2026-plum-orchard"


@contextmanager
def json_lines():
    """The package's log lines as the JSON handler formats them, at the moment they are emitted."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(Redactor([KEY])))
    logger = logging.getLogger("llm_responses")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        lines.extend(json.loads(line) for line in out.getvalue().splitlines())


async def test_a_live_call_logs_its_request_account_and_task(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(error_reply(401, f"Incorrect API key provided: {KEY}"))
    with json_lines() as lines:
        r = await harness.client.post(
            f"{LLM}/live", json=[SEED_TASK], headers={**alice.basic, "X-Request-Id": "req-42"}
        )
    task_id = r.json()["tasks"][0]["id"]
    warning = next(line for line in lines if line["logger"] == "llm_responses.tasks.runner")
    access = next(line for line in lines if line["logger"] == "llm_responses.access")
    for line in (warning, access):
        assert (line["request_id"], line["account"], line["task_id"]) == ("req-42", "alice", task_id)
    assert KEY not in json.dumps(lines) and "[redacted]" in warning["message"]
    assert access["method"] == "POST" and access["status"] == 200 and access["duration_ms"] > 0
    assert access["level"] == "INFO" and access["time"].endswith("+00:00")


async def test_requests_get_an_id_of_their_own_and_a_worker_s_lines_their_task(harness, fake_openai):
    alice = await harness.account()
    fake_openai.enqueue(error_reply(400, "bad thing", param="metadata"))
    with json_lines() as lines:
        posted = await harness.post(f"{LLM}/task_post", alice, [SEED_TASK])
        await harness.wait_finished(alice, posted["tasks"][0]["id"])
    post = next(line for line in lines if line.get("path", "").endswith("/task_post"))
    assert len(post["request_id"]) == 16 and post["account"] == "alice" and "task_id" not in post
    worker = next(line for line in lines if line["logger"] == "llm_responses.tasks.runner")
    assert worker["task_id"] == posted["tasks"][0]["id"] and "request_id" not in worker


def test_a_client_request_id_that_is_not_a_plain_token_is_replaced():
    from llm_responses.observability.context import RequestContext

    forged = RequestContext({"headers": [(b"x-request-id", b'x"\n{"level": "ERROR"}')]})
    assert len(forged.request_id) == 16 and '"' not in forged.request_id
    assert RequestContext({"headers": [(b"x-request-id", b"abc-123")]}).request_id == "abc-123"


def test_tracebacks_and_extras_are_redacted():
    formatter = JsonFormatter(Redactor([KEY]))
    try:
        raise RuntimeError(f"connect failed with {KEY}")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = __import__("sys").exc_info()
    record.upstream = f"said {KEY}"
    line = json.loads(formatter.format(record))
    assert KEY not in json.dumps(line)
    assert line["upstream"] == "said [redacted]" and "RuntimeError" in line["exception"]
