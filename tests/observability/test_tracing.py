"""OpenTelemetry spans into the SDK's in-memory exporter: a SERVER span per request, a CLIENT span per
upstream call with the GenAI conventions' attributes, the trace id in the access log; and without the
setting nothing of the SDK is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import asynccontextmanager

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llm_responses.app import create_app
from llm_responses.composition import genai_names
from llm_responses.observability.bundle import Observability
from llm_responses.observability.tracing import Tracing
from tests.api.seed import SEED_TASK
from tests.conftest import LLM, Harness
from tests.fakes.openai_replies import error_reply

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@asynccontextmanager
async def traced(settings):
    """The app with tracing on, its spans kept in memory (the GenAI names composition declares)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = Tracing(provider, genai_names(settings))
    app = create_app(settings, observability=Observability(tracing=tracing))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(app, client), exporter


async def test_a_live_call_is_a_server_span_with_a_genai_client_span_inside(settings, fake_openai, caplog):
    async with traced(settings) as (h, exporter):
        alice = await h.account()
        caplog.set_level("INFO", logger="llm_responses.access")
        r = await h.client.post(
            f"{LLM}/live", json=[SEED_TASK], headers={**alice.basic, "traceparent": TRACEPARENT}
        )
        result = r.json()["tasks"][0]["result"][0]
    spans = {s.kind: s for s in exporter.get_finished_spans()}
    server, client = spans[SpanKind.SERVER], spans[SpanKind.CLIENT]
    assert server.name == "POST /v3/ai_optimization/{se}/llm_responses/live"
    assert server.attributes["http.route"] == "/v3/ai_optimization/{se}/llm_responses/live"
    assert server.attributes["http.response.status_code"] == 200
    # the caller's trace continues here (W3C traceparent), and the upstream call is a child of the request
    assert format(server.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert client.parent.span_id == server.context.span_id
    assert client.name == "chat gpt-4.1-mini-2025-04-14"
    attrs = client.attributes
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4.1-mini-2025-04-14"
    assert attrs["gen_ai.response.model"] == result["model_name"]
    assert attrs["gen_ai.usage.input_tokens"] == result["input_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == result["output_tokens"]
    assert attrs["gen_ai.request.max_tokens"] > 0
    assert "llm_responses.task_id" in attrs
    assert not [k for k in attrs if "prompt" in k or "messages" in k]  # no content is recorded
    line = next(r.getMessage() for r in caplog.records if r.name == "llm_responses.access")
    assert line.endswith("trace_id=4bf92f3577b34da6a3ce929d0e0e4736")


async def test_a_failed_upstream_call_is_an_error_span(settings, fake_openai):
    async with traced(settings) as (h, exporter):
        alice = await h.account()
        fake_openai.enqueue(error_reply(500, "boom"), error_reply(500, "boom"), error_reply(500, "boom"))
        await h.post(f"{LLM}/live", alice, [SEED_TASK])
    client = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT)
    assert client.status.status_code is StatusCode.ERROR
    assert client.attributes["error.type"] == "unavailable"


async def test_gemini_calls_are_generate_content_on_gcp_gemini(settings, fake_gemini):
    changed = settings.updated({"gemini_api_key": "gm-test", "gemini_base_url": fake_gemini.base_url})
    async with traced(changed) as (h, exporter):
        alice = await h.account()
        body = await h.post(
            "/v3/ai_optimization/gemini/llm_responses/live",
            alice,
            [{**SEED_TASK, "model_name": "gemini-2.5-flash"}],
        )
        assert body["tasks"][0]["status_code"] == 20000
    client = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT)
    assert client.attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert client.attributes["gen_ai.operation.name"] == "generate_content"
    assert client.name == f"generate_content {client.attributes['gen_ai.request.model']}"


@pytest.mark.slow
def test_without_tracing_nothing_of_the_sdk_is_imported(tmp_path):
    """Without tracing, nothing of the OpenTelemetry SDK is imported, ours included."""
    code = f"""
import sys, json
from llm_responses.app import create_app
from llm_responses.config import Settings
create_app(Settings(database_url="sqlite:///{tmp_path}/x.db", secret_key_file="{tmp_path}/x.key"))
ours = "llm_responses.observability.tracing"
print(json.dumps(sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk") or m == ours)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_tracing_without_the_extra_says_what_to_install():
    code = """
import sys

class NoSdk:  # as if the [otel] extra were not installed
    def find_spec(self, name, path, target=None):
        if name.startswith("opentelemetry.sdk"):
            raise ImportError(name)

sys.meta_path.insert(0, NoSdk())
from llm_responses.observability.bundle import Observability
try:
    Observability.create(tracing=True, genai={})
except Exception as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'llm-responses[otel]'" in out


def test_otel_sdk_disabled_turns_tracing_off(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert Observability.create(tracing=True, genai={}).tracing is None
