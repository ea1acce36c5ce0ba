"""Secrets stay out of what is kept: an upstream that echoes a key leaves no key in the log or the
database, and the files that hold secrets are the server user's only."""

from __future__ import annotations

import logging
import os
import stat

from llm_responses.cli.demo import demo_account
from llm_responses.redaction import RedactingFormatter, Redactor
from tests.api.seed import SEED_TASK
from tests.conftest import LLM
from tests.fakes.openai_replies import error_reply

KEY = "sk-proj-Zq8WnT3bLk5RmXc9VhJd2PfG7sYa"  # shaped like OpenAI's
ODD_KEY = "gateway-2026-plum-orchard"  # a self-hosted server's key: no known shape, found as configured


def test_key_shapes_and_configured_secrets_are_redacted():
    redact = Redactor([ODD_KEY])
    for leak in (
        f"Incorrect API key provided: {KEY}.",
        f"upstream said: Authorization: Bearer {ODD_KEY}",
        f"proxy error for key {ODD_KEY}",
        "GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA1234567890abcdefghijklmnopqrstu",
        '{"api_key": "hunter2hunter2", "model": "x"}',
        "Authorization: Basic YWxpY2U6c2VjcmV0",
        "pplx-0123456789abcdef0123456789abcdef rejected",
    ):
        out = redact(leak)
        assert "[redacted]" in out, leak
        for secret in (KEY, ODD_KEY, "AIzaSy", "hunter2", "YWxpY2U6", "pplx-0123"):
            assert secret not in out
    assert redact("a monkey=banana and a skeleton key") == "a monkey=banana and a skeleton key"


async def test_an_upstream_that_echoes_the_key_leaves_it_nowhere(running_with, fake_openai, caplog):
    async with running_with(openai_api_key=KEY) as h:
        alice = await h.account()
        fake_openai.enqueue(
            error_reply(401, f"Incorrect API key provided: {KEY}. You can find your API key at ...")
        )
        with caplog.at_level(logging.INFO):
            body = await h.post(f"{LLM}/live", alice, [SEED_TASK])
        assert body["tasks"][0]["status_code"] == 50301
        stored = await h.store.db.read(lambda c: c.fetch_composed("SELECT error_detail FROM tasks", [], 5.0))
        assert stored and all(KEY not in (row[0] or "") for row in stored)
        assert "[redacted]" in stored[0][0]
        assert caplog.records and all(KEY not in r.getMessage() for r in caplog.records)


def test_the_log_formatter_redacts_tracebacks_too():
    formatter = RedactingFormatter(Redactor([ODD_KEY]), "%(message)s")
    try:
        raise RuntimeError(f"connect failed with {ODD_KEY}")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", (ODD_KEY,), None)
        record.exc_info = __import__("sys").exc_info()
    line = formatter.format(record)
    assert ODD_KEY not in line and line.count("[redacted]") == 2


def _older_public_file(path: str) -> None:
    """An older version's demo file: readable by everyone, with a stale password."""
    with open(path, "w") as f:
        f.write('{"login": "demo", "password": "stale", "token": "stale"}')
    os.chmod(path, 0o644)


async def test_the_demo_credentials_file_is_made_private_even_when_it_existed(harness, settings):
    path = f"{settings.database_url[len('sqlite:///') :]}.demo.json"
    _older_public_file(path)
    await demo_account(harness.store, settings)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
