"""OpenTelemetry traces: a span per HTTP request and one per upstream model call (the ``[otel]`` extra).

Imported only when ``LLM_RESPONSES_TRACING`` is on (``composition``), so a server without the extra, or
with it off, loads nothing of the OpenTelemetry SDK. Configured by the standard environment: the exporter
(``OTEL_TRACES_EXPORTER``: ``otlp``, the default, over HTTP/protobuf, ``console`` or ``none``), its
endpoint and headers (``OTEL_EXPORTER_OTLP_*``), the sampler (``OTEL_TRACES_SAMPLER``), the resource
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``), batching (``OTEL_BSP_*``), propagation of an incoming
``traceparent`` (``OTEL_PROPAGATORS``), ``OTEL_SDK_DISABLED``. The provider is ours, not the global one:
nothing else's spans are configured behind the operator's back.

Upstream spans follow the GenAI semantic conventions (open-telemetry/semantic-conventions-genai,
client-inference): kind CLIENT, name ``{gen_ai.operation.name} {gen_ai.request.model}``, the provider as
``gen_ai.provider.name`` (``openai``, ``anthropic``, ``gcp.gemini``, ``perplexity``, or a configured
server's own name), the request's model and parameters, the response model, and ``gen_ai.usage.*``. No
prompt or answer text is recorded (the conventions make content opt-in).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from llm_responses import __version__
from llm_responses.core import LlmRequest, LlmResult
from llm_responses.errors import ConfigError
from llm_responses.observability.context import RequestContext


class Tracing:
    def __init__(self, provider: TracerProvider, genai: Mapping[str, tuple[str, str]]) -> None:
        """``genai``: per provider name of ours, its (``gen_ai.provider.name``, ``gen_ai.operation.name``)."""
        self.provider = provider
        self.tracer = provider.get_tracer("llm_responses", __version__)
        self.genai = dict(genai)

    @classmethod
    def from_environment(cls, genai: Mapping[str, tuple[str, str]]) -> Tracing:
        provider = TracerProvider(resource=_resource())
        for processor in _processors():
            provider.add_span_processor(processor)
        return cls(provider, genai)

    def shutdown(self) -> None:
        self.provider.shutdown()  # flushes what the batch processor holds

    # -- requests --------------------------------------------------------------------------------

    def start_request(self, scope: dict[str, Any], ctx: RequestContext) -> tuple[Span, object]:
        """The request's SERVER span, current until ``end_request``; its parent from ``traceparent``."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        span = self.tracer.start_span(
            scope["method"],
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
        )
        ctx.trace_id = format(span.get_span_context().trace_id, "032x")
        return span, otel_context.attach(trace.set_span_in_context(span))

    def end_request(self, span: Span, token: object, method: str, route: str | None, status: int) -> None:
        """Named ``{method} {route}`` once the router has matched (HTTP conventions); ``{method}`` when none did."""
        if route is not None:
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", str(status))
        otel_context.detach(token)  # type: ignore[arg-type]
        span.end()

    # -- upstream calls --------------------------------------------------------------------------

    def start_upstream(self, provider: str, request: LlmRequest, engine: str) -> Span:
        system, operation = self.genai.get(provider, (provider, "chat"))
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": system,
            "gen_ai.request.model": request.model,
            "gen_ai.request.max_tokens": request.max_output_tokens,
            "llm_responses.task_id": request.task_id,
            "llm_responses.engine": engine,
        }
        if request.temperature is not None:
            attributes["gen_ai.request.temperature"] = request.temperature
        if request.top_p is not None:
            attributes["gen_ai.request.top_p"] = request.top_p
        return self.tracer.start_span(
            f"{operation} {request.model}", kind=SpanKind.CLIENT, attributes=attributes
        )

    @staticmethod
    def upstream_answered(span: Span, result: LlmResult) -> None:
        span.set_attribute("gen_ai.response.model", result.model)
        span.set_attribute("gen_ai.usage.input_tokens", result.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", result.output_tokens)
        if result.reasoning_tokens:
            span.set_attribute("gen_ai.usage.reasoning.output_tokens", result.reasoning_tokens)
        if result.cached_input_tokens:
            span.set_attribute("gen_ai.usage.cache_read.input_tokens", result.cached_input_tokens)
        if result.cache_write_tokens:
            span.set_attribute("gen_ai.usage.cache_write.input_tokens", result.cache_write_tokens)
        if result.incomplete_reason:
            span.set_attribute("gen_ai.response.finish_reasons", [result.incomplete_reason])
        span.end()

    @staticmethod
    def upstream_failed(span: Span, error_type: str) -> None:
        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()


def _resource() -> Resource:
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "llm-responses"}))
    return resource


def _processors() -> list[SpanProcessor]:
    names = [n.strip() for n in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()]
    out: list[SpanProcessor] = []
    for name in names:
        if name == "none":
            continue
        exporter: SpanExporter
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            exporter = _otlp()
        else:
            raise ConfigError(f"OTEL_TRACES_EXPORTER={name!r}: this server knows otlp, console and none")
        out.append(BatchSpanProcessor(exporter))
    return out


def _otlp() -> SpanExporter:
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    )
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
        except ImportError as exc:
            raise ConfigError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc installed"
            ) from exc
        grpc: SpanExporter = Grpc()  # an optional package mypy does not see (pyproject's overrides)
        return grpc
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()
