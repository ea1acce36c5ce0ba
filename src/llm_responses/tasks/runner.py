"""Running one validated task against its provider and turning what happened into an ``Outcome``.

Shared by the worker (queued tasks) and the live endpoint, so both price, render and classify errors
the same way. Upstream messages go to the operator's log (``error_detail``), never to the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from llm_responses.billing.money import to_usd
from llm_responses.billing.pricing import Tariff, batch_saving, money_spent
from llm_responses.catalog import Catalog, ModelEntry
from llm_responses.core import BatchClient, LlmRequest, LlmResult, Provider
from llm_responses.errors import ApiError, ErrorKind, ProviderError, StatusCode
from llm_responses.observability.context import add_upstream
from llm_responses.observability.metrics import Metrics
from llm_responses.redaction import Redactor
from llm_responses.store.records import Outcome
from llm_responses.wire.request import TaskRequest
from llm_responses.wire.result import render_result

if TYPE_CHECKING:
    from llm_responses.observability.tracing import Tracing

log = logging.getLogger(__name__)

# Upstream parameters that are the caller's fields: a 400 naming one is ``Invalid Field: '<name>'.``. A 400
# naming anything else (``reasoning.effort``, ``metadata``, ``store``, no param at all) is about what *we*
# sent: the operator's to fix, answered 50301 with a full refund.
_OUR_FIELDS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_output_tokens": "max_output_tokens",
    "max_tokens": "max_output_tokens",
    "max_completion_tokens": "max_output_tokens",
    "instructions": "system_message",
    "input": "user_prompt",  # e.g. llama.cpp: the prompt does not fit the context
    "messages": "user_prompt",
    "model": "model_name",
    "tools": "web_search",
    "tools[0].user_location": "web_search_country_iso_code",
    "tool_choice": "force_web_search",
    "thinking": "use_reasoning",  # Anthropic's and Google's refusal of thinking for a model
    "use_reasoning": "use_reasoning",
}


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    retryable: bool = False


class Runner:
    def __init__(
        self,
        catalog: Catalog,
        providers: Mapping[str, Provider],
        tariff: Tariff,
        *,
        reasoning_allowance: int,  # Settings.reasoning_token_allowance
        redact: Redactor | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.catalog = catalog
        self.metrics = metrics if metrics is not None else Metrics()  # upstream calls, tokens, spend
        self.tracing = tracing  # a span per upstream call, when tracing is on
        # an upstream may echo a key it was sent: its text is redacted before it is logged or stored
        self.redact = redact or Redactor()
        self.providers = providers
        self.tariff = tariff
        self.reasoning_allowance = reasoning_allowance

    def output_budget(self, request: TaskRequest, entry: ModelEntry | None) -> int:
        """The output budget sent upstream: the caller's ``max_output_tokens``, plus room for reasoning when
        the task reasons: the provider's own thinking budget where it has a fixed one (Claude, Gemini: the
        budget it asks for, no more), else ``reasoning_allowance`` (OpenAI counts reasoning tokens, whose
        number is not known in advance, in the budget)."""
        if not request.reasoning:
            return request.max_output_tokens
        provider = self.providers.get(entry.provider) if entry else None
        budget = getattr(provider, "thinking_budget", None)
        return request.max_output_tokens + (self.reasoning_allowance if budget is None else budget)

    async def run(self, task_id: str, request: TaskRequest) -> Attempt:
        entry = self.catalog.entry_of(request.model_name, request.model_id, request.se)
        provider = self.providers.get(entry.provider) if entry else None
        if entry is None or provider is None:
            err = ApiError.invalid_field("model_name")
            return Attempt(_failure(err.status, err.message, f"model {request.model_id} is no longer served"))
        call = self.llm_request(task_id, request, entry)
        tracing = self.tracing
        span = tracing.start_upstream(entry.provider, call, request.se) if tracing is not None else None
        started = time.perf_counter()
        outcome = "error"  # anything but a ProviderError or an answer is a bug of ours (logged by the caller)
        try:
            result = await provider.generate(call)
            outcome = "incomplete" if result.incomplete_reason else "ok"
        except ProviderError as exc:
            outcome = exc.kind.value
            return self.failed(task_id, provider.name, exc)
        except asyncio.CancelledError:
            outcome = "cancelled"  # a live call past its time limit, or one whose hold was lost
            raise
        finally:
            seconds = time.perf_counter() - started
            add_upstream(seconds)
            self.metrics.upstream_call(entry.provider, entry.name, outcome, seconds)
            if span is not None and tracing is not None:
                if outcome in ("ok", "incomplete"):
                    tracing.upstream_answered(span, result)
                else:
                    tracing.upstream_failed(span, outcome)
        return Attempt(self.outcome(task_id, request, entry, provider.name, result))

    def llm_request(self, task_id: str, request: TaskRequest, entry: ModelEntry) -> LlmRequest:
        return to_llm_request(task_id, request, max_output_tokens=self.output_budget(request, entry))

    def failed(self, task_id: str, provider_name: str, exc: ProviderError) -> Attempt:
        """An upstream's error, logged and kept redacted, as the task's outcome (``provider_failure``)."""
        message = self.redact(exc.message)
        log.warning("task %s: %s error from %s: %s", task_id, exc.kind.value, provider_name, message)
        return Attempt(provider_failure(exc, message), retryable=exc.retryable)

    def outcome(
        self, task_id: str, request: TaskRequest, entry: ModelEntry, provider_name: str, result: LlmResult
    ) -> Outcome:
        """An answer as the task's outcome: priced and rendered (a direct call's and a batch line's); the
        worker's indexer reads it into the mentions index after it settles."""
        detail = None
        if result.incomplete_reason:  # the text that came back is kept; the operator learns why it stopped
            detail = self.redact(f"incomplete: {result.incomplete_reason}")
            log.info(
                "task %s: answer from %s incomplete (%s)", task_id, provider_name, result.incomplete_reason
            )
        spent = money_spent(entry, result, self.tariff)
        self.metrics.usage(entry.provider, entry.name, result, spent)
        rendered = render_result(
            result,
            web_search_requested=request.web_search,
            money_spent_usd=to_usd(spent),
            finished_at=time.time(),
        )
        return Outcome(
            success=True,
            status_code=StatusCode.OK,
            status_message=StatusCode.OK.message,
            result_json=orjson.dumps(rendered).decode(),
            money_spent=spent,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            reasoning_tokens=result.reasoning_tokens,
            web_search_calls=result.web_search_calls,
            error_detail=detail,
            batch_saved=batch_saving(entry, result),
        )

    def batching(self, request: TaskRequest) -> tuple[str, BatchClient, LlmRequest] | None:
        """(provider name, its batch client, the request) when the task's vendor runs it in a batch; None
        when it goes the direct way (no batch API, or a request the vendor refuses in batches)."""
        entry = self.catalog.entry_of(request.model_name, request.model_id, request.se)
        if entry is None or not entry.batch_supported:
            return None
        provider = self.providers.get(entry.provider)
        client = getattr(provider, "batch", None)
        if provider is None or client is None:
            return None
        llm = self.llm_request("", request, entry)
        return (provider.name, client, llm) if client.accepts(llm) else None


def to_llm_request(task_id: str, r: TaskRequest, *, max_output_tokens: int | None = None) -> LlmRequest:
    """The provider's request, with the output budget ``Runner.output_budget`` gave it (the caller's
    ``max_output_tokens`` when none)."""
    return LlmRequest(
        model=r.model_id,
        user_prompt=r.user_prompt,
        max_output_tokens=r.max_output_tokens if max_output_tokens is None else max_output_tokens,
        temperature=r.temperature,
        top_p=r.top_p,
        system_message=r.system_message,
        history=tuple(("assistant" if t.role == "ai" else "user", t.message) for t in r.message_chain),
        web_search=r.web_search,
        force_web_search=r.force_web_search,
        country=r.country,
        city=r.city,
        reasoning=r.reasoning,
        task_id=task_id,
    )


def provider_failure(exc: ProviderError, detail: str | None = None) -> Outcome:
    """The failed outcome for an upstream error: whose fault it is decides the code and the refund.
    ``detail``: the upstream's message as the operator may see it (redacted), by default as it came."""
    detail = exc.message if detail is None else detail
    if exc.kind is ErrorKind.TIMEOUT:
        return _failure(StatusCode.TIMEOUT, StatusCode.TIMEOUT.message, detail)
    name = _OUR_FIELDS.get(exc.param or "") if exc.kind is ErrorKind.INVALID_REQUEST else None
    if name:
        return _failure(StatusCode.INVALID_FIELD, f"Invalid Field: '{name}'.", detail)
    if exc.kind is ErrorKind.NO_OUTPUT:
        return _failure(
            StatusCode.TASK_EXECUTION_FAILED,
            StatusCode.TASK_EXECUTION_FAILED.message,
            detail,
            refund_base=True,
        )
    # the operator's problem (credentials, quota, unknown model, a parameter we sent) or the upstream's
    # outage: nothing the caller did, so nothing the caller pays
    refund_base = exc.kind in (ErrorKind.FATAL, ErrorKind.INVALID_REQUEST)
    return _failure(
        StatusCode.THIRD_PARTY_UNAVAILABLE,
        StatusCode.THIRD_PARTY_UNAVAILABLE.message,
        detail,
        refund_base=refund_base,
    )


def _failure(status: StatusCode, message: str, detail: str, *, refund_base: bool = False) -> Outcome:
    return Outcome(
        success=False,
        status_code=int(status),
        status_message=message,
        error_detail=detail,
        refund_base=refund_base,
    )
