"""Each vendor's batch client (``core.BatchClient``) against its batch fake, over loopback HTTP through the
vendor's official SDK: lines answer exactly as the direct call answers (``batched`` aside), a line's error
is the error the direct call raises for the same answer, lines that never ran go direct, a refused batch
polls ``failed``, a batch is found again after a crash, and results are read in bounded memory."""

from __future__ import annotations

import time
import tracemalloc
import uuid
from dataclasses import replace

import orjson
import pytest
import pytest_asyncio

from llm_responses.core import BatchHandle, BatchPoll, LineResult, LlmRequest
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.batch_io import SKEW
from llm_responses.vendors import anthropic as anthropic_vendor
from llm_responses.vendors import google as google_vendor
from llm_responses.vendors import openai as openai_vendor
from llm_responses.vendors import perplexity as perplexity_vendor
from tests.fakes import anthropic_server, openai_replies, perplexity_agent_server
from tests.fakes.batch_engine import cancelled, error, expired, succeed
from tests.fakes.gemini_batch import rpc_status
from tests.fakes.gemini_server import google_error
from tests.fakes.openai_replies import Reply

MB = 1_000_000


# -- helpers -----------------------------------------------------------------------------------------------


def tasks(model: str, *prompts: str, **fields) -> dict[str, LlmRequest]:
    """One request per prompt, keyed by its task id (a UUID, as the service's are)."""
    budget = fields.pop("max_output_tokens", 400)
    out = {}
    for prompt in prompts:
        task_id = str(uuid.uuid4())
        out[task_id] = LlmRequest(
            model=model, user_prompt=prompt, max_output_tokens=budget, task_id=task_id, **fields
        )
    return out


async def submit(client, requests: dict[str, LlmRequest], key: str | None = None) -> BatchHandle:
    return await client.submit(
        key or f"b-{uuid.uuid4().hex[:12]}", [client.encode(t, r) for t, r in requests.items()]
    )


async def until_ended(client, handle: BatchHandle, polls: int = 10) -> BatchPoll:
    for _ in range(polls):
        poll = await client.poll(handle)
        if poll.ended:
            return poll
    raise AssertionError(f"{handle} still running after {polls} polls")


async def results(client, handle: BatchHandle) -> dict[str, LineResult]:
    out: dict[str, LineResult] = {}
    async for line in client.results(handle):
        assert line.custom_id not in out, f"{line.custom_id} twice"
        out[line.custom_id] = line
    return out


async def direct_error(provider, request: LlmRequest) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        await provider.generate(request)
    return raised.value


def same_error(batch: LineResult, direct: ProviderError) -> None:
    """The line's error is the direct call's (``retry_after`` aside: a batch line has no headers)."""
    assert batch.error is not None and not batch.direct and batch.result is None, batch
    got, want = batch.error, direct
    assert (got.kind, got.code, got.param, got.message) == (want.kind, want.code, want.param, want.message)


def answered_as_directly(line: LineResult, direct) -> None:
    assert line.error is None and not line.direct and line.result is not None, line
    assert line.result.batched
    assert replace(line.result, batched=False) == direct


async def peak_while_reading(client, handle: BatchHandle) -> tuple[int, int]:
    """(lines answered, peak bytes Python allocated while every line was read and dropped)."""
    answered = 0
    tracemalloc.start()
    try:
        async for line in client.results(handle):
            answered += line.result is not None and line.result.batched
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return answered, peak


# -- OpenAI ------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def openai(fake_openai_batch):
    settings = openai_vendor.OpenAISettings(
        openai_api_key="sk-test",
        openai_base_url=fake_openai_batch.base_url,
        openai_max_retries=0,
        openai_timeout=30,
    )
    provider = openai_vendor.build(settings)
    yield provider
    await provider.aclose()


async def test_openai_lines_answer_as_the_direct_call_does(openai, fake_openai_batch):
    batch = openai.batch
    requests = tasks("gpt-4.1-mini", "parcs d'attractions en France", "and in Spain?", system_message="short")
    long = " ".join(["word"] * 20)
    requests |= tasks("gpt-4.1-mini", long, max_output_tokens=16)  # answered cut short: kept, incomplete
    first = next(iter(requests.values()))
    assert batch.accepts(first)
    assert not batch.accepts(replace(first, web_search=True))  # web_search in batches: unconfirmed
    assert {batch.group(r) for r in requests.values()} == {"gpt-4.1-mini"}  # one model per input file
    fake_openai_batch.batches.polls_to_finish = 2
    fake_openai_batch.batches.finalizing_polls = 1
    key = "batch-0001"

    handle = await submit(batch, requests, key)

    running = BatchPoll(ended=False)
    assert [await batch.poll(handle) for _ in range(2)] == [running, running]  # in_progress, finalizing
    assert await batch.poll(handle) == BatchPoll(ended=True)
    sent = fake_openai_batch.batches.get(handle.vendor_id)
    assert sent.meta["metadata"] == {"llmr_batch": key}
    assert sent.meta["endpoint"] == "/v1/responses" and sent.meta["completion_window"] == "24h"
    uploaded = fake_openai_batch.batch_api.files.get(handle.input_file)
    assert uploaded.filename == f"{key}.jsonl" and uploaded.purpose == "batch"
    assert uploaded.content() == b"".join(batch.encode(t, r) + b"\n" for t, r in requests.items())
    lines = await results(batch, handle)
    assert lines.keys() == requests.keys()
    for task_id, request in requests.items():
        answered_as_directly(lines[task_id], await openai.generate(request))
    cut = lines[list(requests)[-1]].result
    assert cut.incomplete_reason == "max_output_tokens" and cut.parts[0].text


async def test_openai_parses_citations_and_reads_lines_split_only_at_line_breaks(openai, fake_openai_batch):
    """A body with url_citation annotations (as a searched answer has), and text holding characters
    ``str.splitlines`` breaks at (U+2028, U+0085, U+001E), which JSON writes raw."""
    requests = tasks("gpt-4.1-mini", "cited", "odd characters")
    cited, odd = requests
    body = openai.build(requests[cited])
    fake_openai_batch.batches.script_line(
        cited, succeed(fake_openai_batch.build_response({**body, "tools": [{"type": "web_search"}]}))
    )
    text = "first\u2028second\x85third\x1efourth"
    fake_openai_batch.batches.script_line(odd, succeed(fake_openai_batch.build_response(body, text=text)))

    handle = await submit(openai.batch, requests)
    await until_ended(openai.batch, handle)
    lines = await results(openai.batch, handle)

    result = lines[cited].result
    assert [c.url for c in result.parts[0].citations] == [
        f"{url}?utm_source=openai" for _, url in openai_replies.SOURCES
    ]
    assert result.web_search_calls == 1 and result.search_tool == "web_search"
    assert lines[odd].result.parts[0].text == text


async def test_openai_line_errors_are_the_direct_calls_errors(openai, fake_openai_batch):
    requests = tasks("gpt-4.1-mini", "rate limited", "unknown model", "server error", "failed run", "no text")
    requests |= tasks("gpt-4.1-mini", "tiny budget", max_output_tokens=5)  # the API refuses it itself
    limited, unknown, server, failed, empty, tiny = requests
    body = openai.build(requests[failed])
    replies = {
        limited: openai_replies.rate_limited(retry_after="3"),
        unknown: openai_replies.model_not_found("gpt-4.1-mini"),
        server: openai_replies.error_reply(500, "The server had an error", type_="server_error"),
        failed: Reply(body=fake_openai_batch.failed_response(body, code="invalid_prompt", message="refused")),
        empty: Reply(body=fake_openai_batch.build_response(openai.build(requests[empty]), text="")),
    }
    for task_id, reply in replies.items():
        outcome = succeed(reply.body) if reply.status == 200 else error(reply.status, reply.body)
        fake_openai_batch.batches.script_line(task_id, outcome)

    handle = await submit(openai.batch, requests)
    await until_ended(openai.batch, handle)
    lines = await results(openai.batch, handle)

    for task_id, reply in replies.items():
        fake_openai_batch.enqueue(reply)
        same_error(lines[task_id], await direct_error(openai, requests[task_id]))
    same_error(lines[tiny], await direct_error(openai, requests[tiny]))
    kinds = {t: lines[t].error.kind for t in requests}
    assert kinds == {
        limited: ErrorKind.UNAVAILABLE,
        unknown: ErrorKind.FATAL,
        server: ErrorKind.UNAVAILABLE,
        failed: ErrorKind.INVALID_REQUEST,
        empty: ErrorKind.NO_OUTPUT,
        tiny: ErrorKind.INVALID_REQUEST,
    }
    assert lines[tiny].error.param == "max_output_tokens"
    assert lines[limited].error.retry_after is None


async def test_openai_a_refused_reasoning_summary_goes_direct_and_later_lines_ask_without(
    openai, fake_openai_batch
):
    fake_openai_batch.verified_org = False  # reasoning.summary refused, as for an unverified organization
    first = tasks("o4-mini", "think", reasoning=True)

    handle = await submit(openai.batch, first)
    await until_ended(openai.batch, handle)

    assert list((await results(openai.batch, handle)).values()) == [
        LineResult(next(iter(first)), direct=True)
    ]
    assert not openai.summaries_allowed  # learnt, as the direct provider learns it
    second = tasks("o4-mini", "think again", reasoning=True)
    [line] = [orjson.loads(openai.batch.encode(t, r)) for t, r in second.items()]
    assert "reasoning" not in line["body"]


async def test_openai_expired_and_cancelled_lines_go_direct(openai, fake_openai_batch):
    engine = fake_openai_batch.batches
    engine.polls_to_finish = None  # only the test moves the batches on
    requests = tasks("gpt-4.1-mini", "one", "two", "three")
    handle = await submit(openai.batch, requests)
    assert await openai.batch.poll(handle) == BatchPoll(ended=False)
    engine.process(handle.vendor_id, 1)  # one line answered, then the 24 h window closes
    engine.clock.advance(24 * 3600)

    assert await openai.batch.poll(handle) == BatchPoll(ended=True)
    lines = await results(openai.batch, handle)
    assert sorted((line.result is not None, line.direct) for line in lines.values()) == [
        (False, True),
        (False, True),
        (True, False),
    ]

    engine.clock.set(time.time())
    engine.cancel_completes = 1  # a request already running when the cancel came still completes
    handle = await submit(openai.batch, requests)
    await openai.batch.cancel(handle)
    assert await openai.batch.poll(handle) == BatchPoll(ended=True)
    await openai.batch.cancel(handle)  # an ended batch: nothing to do
    lines = await results(openai.batch, handle)
    assert sum(line.direct for line in lines.values()) == 2
    assert sum(line.result is not None for line in lines.values()) == 1


async def test_openai_a_batch_refused_at_validation_polls_failed(openai, fake_openai_batch):
    fake_openai_batch.batch_api.enqueued_token_limit = 1
    handle = await submit(openai.batch, tasks("gpt-4.1-mini", "too many tokens queued"))

    poll = await openai.batch.poll(handle)

    assert poll.ended and "token_limit_exceeded: Enqueued token limit reached for gpt-4.1-mini" in poll.failed


async def test_openai_find_returns_the_batch_a_crashed_submit_created(openai, fake_openai_batch):
    since = time.time()
    handle = await submit(openai.batch, tasks("gpt-4.1-mini", "a"), key="crashed")
    await submit(openai.batch, tasks("gpt-4.1-mini", "b"), key="another")

    assert await openai.batch.find("crashed", since) == handle
    assert await openai.batch.find("never-submitted", since) is None
    assert await openai.batch.find("crashed", since + 2 * SKEW) is None  # created before the window


@pytest.mark.slow
async def test_openai_fifty_thousand_lines_are_read_in_bounded_memory(openai, fake_openai_batch):
    requests = tasks("gpt-4.1-mini", *(f"question {i}" for i in range(50_000)))
    handle = await submit(openai.batch, requests)
    await until_ended(openai.batch, handle)
    output = fake_openai_batch.batch_api.files.get(
        fake_openai_batch.batches.get(handle.vendor_id).outputs["output_file_id"]
    )
    assert output.size > 50 * MB

    answered, peak = await peak_while_reading(openai.batch, handle)

    assert answered == 50_000
    # a quarter of the file: holding it whole (or its lines) would not fit; measured: about 1 MB of 74 MB
    assert peak < min(200 * MB, output.size // 4), f"peak {peak / MB:.1f} MB"


# -- Perplexity --------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def perplexity(fake_perplexity_batch):
    settings = perplexity_vendor.PerplexitySettings(
        perplexity_api_key="pplx-test",
        perplexity_base_url=fake_perplexity_batch.base_url,
        perplexity_max_retries=0,
    )
    provider = perplexity_vendor.build(settings)
    yield provider
    await provider.aclose()


async def test_perplexity_lines_answer_as_the_direct_call_does_with_search_and_citations(
    perplexity, fake_perplexity_batch
):
    batch = perplexity.batch
    requests = tasks("perplexity/sonar", "parcs d'attractions en France", country="FR")
    requests |= tasks("low", "the same, with a preset")  # models and presets mixed in one batch
    assert all(batch.accepts(r) for r in requests.values()) and {
        batch.group(r) for r in requests.values()
    } == {""}

    handle = await submit(batch, requests, key="pplx-0001")
    await until_ended(batch, handle)
    lines = await results(batch, handle)

    assert fake_perplexity_batch.batch.idempotency == {"pplx-0001": handle.vendor_id}
    for task_id, request in requests.items():
        answered_as_directly(lines[task_id], await perplexity.generate(request))
        result = lines[task_id].result
        assert result.parts[0].citations and result.web_search_calls and result.reported_cost


async def test_perplexity_submit_is_idempotent_and_find_leaves_it_to_submit(
    perplexity, fake_perplexity_batch
):
    requests = tasks("perplexity/sonar", "once", "only")

    first = await submit(perplexity.batch, requests, key="same-key")
    again = await submit(perplexity.batch, requests, key="same-key")  # after a crash: submitted again

    assert again == first and len(fake_perplexity_batch.batches.batches) == 1
    assert [f.id for f in fake_perplexity_batch.batch.files.all()] == [
        first.input_file
    ]  # the repeat's file deleted
    assert await perplexity.batch.find("same-key", time.time() - 60) is None


async def test_perplexity_line_errors_are_the_direct_calls_errors(perplexity, fake_perplexity_batch):
    requests = tasks("perplexity/sonar", "unknown field", "rate limited", "failed run")
    unknown, limited, failed = requests
    replies = {
        unknown: perplexity_agent_server.unknown_field_error("search_mode"),
        limited: perplexity_agent_server.rate_limited(),
        failed: Reply(body=fake_perplexity_batch.failed_response(perplexity.build(requests[failed]))),
    }
    for task_id, reply in replies.items():
        outcome = succeed(reply.body) if reply.status == 200 else error(reply.status, reply.body)
        fake_perplexity_batch.batches.script_line(task_id, outcome)

    handle = await submit(perplexity.batch, requests)
    await until_ended(perplexity.batch, handle)
    lines = await results(perplexity.batch, handle)

    for task_id, reply in replies.items():
        fake_perplexity_batch.enqueue(reply)
        same_error(lines[task_id], await direct_error(perplexity, requests[task_id]))
    assert lines[unknown].error.param is None  # a field we sent: ours, not the caller's
    assert lines[limited].error.kind is ErrorKind.UNAVAILABLE


async def test_perplexity_expired_cancelled_and_failed(perplexity, fake_perplexity_batch):
    engine = fake_perplexity_batch.batches
    requests = tasks("perplexity/sonar", "one", "two", "three")
    one, two, three = requests
    engine.script_line(two, expired())
    engine.script_line(three, cancelled())
    handle = await submit(perplexity.batch, requests)
    await until_ended(perplexity.batch, handle)
    lines = await results(perplexity.batch, handle)
    assert lines[one].result is not None and lines[two].direct and lines[three].direct

    engine.script.clear()
    engine.polls_to_finish = None
    handle = await submit(perplexity.batch, requests)
    engine.fail(
        handle.vendor_id,
        [{"code": "invalid_request", "message": "the input file is unreadable", "line": None}],
    )
    poll = await perplexity.batch.poll(handle)
    assert poll.ended and "invalid_request: the input file is unreadable" in poll.failed

    fake_perplexity_batch.batch.max_requests = 2  # every line is checked at upload: refused there
    with pytest.raises(ProviderError) as refused:
        await submit(perplexity.batch, requests)
    assert refused.value.kind is ErrorKind.INVALID_REQUEST and "more than 2 lines" in refused.value.message


# -- Anthropic ---------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def anthropic(fake_anthropic_batch):
    settings = anthropic_vendor.AnthropicSettings(
        anthropic_api_key="sk-ant-test",
        anthropic_base_url=fake_anthropic_batch.base_url,
        anthropic_max_retries=0,
    )
    provider = anthropic_vendor.build(settings)
    yield provider
    await provider.aclose()


async def test_anthropic_lines_answer_as_the_direct_call_does(anthropic, fake_anthropic_batch):
    batch = anthropic.batch
    requests = tasks("claude-haiku-4-5", "parcs d'attractions", temperature=0.7)
    requests |= tasks("claude-haiku-4-5", "with search", web_search=True, country="FR", city="Paris")
    requests |= tasks("claude-sonnet-4-5", "with thinking", reasoning=True, max_output_tokens=2048)
    assert all(batch.accepts(r) for r in requests.values()) and {
        batch.group(r) for r in requests.values()
    } == {""}
    fake_anthropic_batch.batches.polls_to_finish = 2

    handle = await submit(batch, requests)

    assert await batch.poll(handle) == BatchPoll(ended=False)
    assert await batch.poll(handle) == BatchPoll(ended=True)
    sent = fake_anthropic_batch.batches.get(handle.vendor_id)
    assert {line.custom_id: line.body for line in sent.lines} == {
        t: anthropic_vendor.build_params(r) for t, r in requests.items()
    }
    lines = await results(batch, handle)
    for task_id, request in requests.items():
        answered_as_directly(lines[task_id], await anthropic.generate(request))
    searched = lines[list(requests)[1]].result
    assert [c.url for c in searched.parts[0].citations] == [u for _, u in anthropic_server.SOURCES]
    assert searched.web_search_calls == 1


async def test_anthropic_line_errors_are_the_direct_calls_errors_and_a_paused_turn_goes_direct(
    anthropic, fake_anthropic_batch
):
    requests = tasks("claude-haiku-4-5", "overloaded", "unauthorized", "no text", "paused")
    requests |= tasks("claude-haiku-4-5", "thinking on a tiny budget", reasoning=True, max_output_tokens=100)
    overloaded, unauthorized, empty, paused, tiny = requests
    message = fake_anthropic_batch.build_message(anthropic_vendor.build_params(requests[empty]))
    replies = {
        overloaded: anthropic_server.overloaded(),
        unauthorized: anthropic_server.anthropic_error(401, "authentication_error", "invalid x-api-key"),
        empty: Reply(body={**message, "content": []}),
    }
    for task_id, reply in replies.items():
        outcome = succeed(reply.body) if reply.status == 200 else error(reply.status, reply.body)
        fake_anthropic_batch.batches.script_line(task_id, outcome)
    pause = fake_anthropic_batch.build_message(anthropic_vendor.build_params(requests[paused]))
    fake_anthropic_batch.batches.script_line(paused, succeed({**pause, "stop_reason": "pause_turn"}))

    handle = await submit(anthropic.batch, requests)
    await until_ended(anthropic.batch, handle)
    lines = await results(anthropic.batch, handle)

    for task_id, reply in replies.items():
        fake_anthropic_batch.enqueue(reply)
        same_error(lines[task_id], await direct_error(anthropic, requests[task_id]))
    same_error(lines[tiny], await direct_error(anthropic, requests[tiny]))  # refused by the API itself
    assert [lines[t].error.kind for t in (overloaded, unauthorized, empty, tiny)] == [
        ErrorKind.UNAVAILABLE,
        ErrorKind.FATAL,
        ErrorKind.NO_OUTPUT,
        ErrorKind.INVALID_REQUEST,
    ]
    assert lines[paused] == LineResult(paused, direct=True)


async def test_anthropic_expired_and_canceled_lines_go_direct(anthropic, fake_anthropic_batch):
    engine = fake_anthropic_batch.batches
    engine.polls_to_finish = None
    requests = tasks("claude-haiku-4-5", "one", "two", "three")
    handle = await submit(anthropic.batch, requests)
    engine.process(handle.vendor_id, 1)
    engine.clock.advance(24 * 3600)
    assert await anthropic.batch.poll(handle) == BatchPoll(ended=True)
    lines = await results(anthropic.batch, handle)
    assert (
        sum(line.direct for line in lines.values()) == 2
        and sum(bool(line.result) for line in lines.values()) == 1
    )

    engine.clock.set(time.time())
    engine.cancel_completes = 1
    handle = await submit(anthropic.batch, requests)
    await anthropic.batch.cancel(handle)
    assert await anthropic.batch.poll(handle) == BatchPoll(ended=True)
    await anthropic.batch.cancel(handle)  # ended: Anthropic refuses the cancel, nothing to do
    lines = await results(anthropic.batch, handle)
    assert (
        sum(line.direct for line in lines.values()) == 2
        and sum(bool(line.result) for line in lines.values()) == 1
    )


async def test_anthropic_a_refused_batch_is_an_error_of_submit(anthropic, fake_anthropic_batch):
    fake_anthropic_batch.max_bytes = 100
    with pytest.raises(ProviderError) as refused:
        await submit(anthropic.batch, tasks("claude-haiku-4-5", "too large"))
    assert refused.value.kind is ErrorKind.INVALID_REQUEST and refused.value.code == "request_too_large"


async def test_anthropic_find_recognises_the_batch_by_time_and_count(anthropic, fake_anthropic_batch):
    since = time.time()
    three = await submit(anthropic.batch, tasks("claude-haiku-4-5", "a", "b", "c"), key="three")
    two = await submit(anthropic.batch, tasks("claude-haiku-4-5", "d", "e"), key="two")

    assert await anthropic.batch.find("three", since, count=3) == three
    assert await anthropic.batch.find("two", since, count=2) == two
    assert await anthropic.batch.find("five", since, count=5) is None
    assert await anthropic.batch.find("three", since) is None  # two candidates and no count: none is sure
    assert await anthropic.batch.find("three", since + 2 * SKEW, count=3) is None


# -- Gemini ------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def gemini(fake_gemini_batch):
    fake_gemini_batch.redirect_base = fake_gemini_batch.base_url  # grounding links this fake answers
    settings = google_vendor.GoogleSettings(
        gemini_api_key="AIza-test",
        gemini_base_url=fake_gemini_batch.base_url,
        gemini_max_retries=0,
        gemini_redirect_hosts="127.0.0.1",
    )
    provider = google_vendor.build(settings)
    yield provider
    await provider.aclose()


async def test_gemini_small_batches_go_inline_and_answer_as_the_direct_call_does(gemini, fake_gemini_batch):
    batch = gemini.batch
    requests = tasks("gemini-2.5-flash", "parcs d'attractions en France", web_search=True)
    requests |= tasks("gemini-2.5-flash", "thinking", reasoning=True, max_output_tokens=2048)
    requests |= tasks("gemini-2.5-flash", "plain", system_message="bref", temperature=0.2)
    assert all(batch.accepts(r) for r in requests.values())
    assert {batch.group(r) for r in requests.values()} == {"gemini-2.5-flash"}  # the model is in the path
    fake_gemini_batch.batches.polls_to_finish = 2

    handle = await submit(batch, requests, key="gemini-0001")

    assert await batch.poll(handle) == BatchPoll(ended=False)
    assert await batch.poll(handle) == BatchPoll(ended=True)
    sent = fake_gemini_batch.batches.get(handle.vendor_id.removeprefix("batches/"))
    assert sent.meta["source"] == "inline" and sent.meta["display_name"] == "gemini-0001"
    assert handle.input_file is None
    lines = await results(batch, handle)
    for task_id, request in requests.items():
        answered_as_directly(lines[task_id], await gemini.generate(request))
    grounded = lines[list(requests)[0]].result
    assert grounded.parts[0].citations and all(c.direct_url for c in grounded.parts[0].citations)


async def test_gemini_larger_batches_go_as_a_file_whose_answers_are_streamed(gemini, fake_gemini_batch):
    requests = tasks("gemini-2.5-flash", *(f"question {i}" for i in range(google_vendor.INLINE_LINES + 1)))
    refused = list(requests)[7]
    fake_gemini_batch.batches.script_line(refused, error(429))

    handle = await submit(gemini.batch, requests, key="gemini-file")
    await until_ended(gemini.batch, handle)
    lines = await results(gemini.batch, handle)

    assert handle.input_file and fake_gemini_batch.files.get(handle.input_file.removeprefix("files/"))
    assert fake_gemini_batch.batches.get(handle.vendor_id.removeprefix("batches/")).meta["source"] == "file"
    assert lines.keys() == requests.keys()
    assert sum(bool(line.result and line.result.batched) for line in lines.values()) == len(requests) - 1
    fake_gemini_batch.enqueue(
        google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
    )
    same_error(lines[refused], await direct_error(gemini, requests[refused]))


async def test_gemini_line_errors_are_the_direct_calls_errors(gemini, fake_gemini_batch):
    requests = tasks("gemini-2.5-flash", "server error", "never ran")
    requests |= tasks("gemini-2.5-flash", "too hot", temperature=5.0)  # the API refuses it itself
    server, never, hot = requests
    fake_gemini_batch.batches.script_line(server, error(500))
    fake_gemini_batch.batches.script_line(
        never, error(400, rpc_status("CANCELLED", "cancelled before it ran"))
    )

    handle = await submit(gemini.batch, requests)
    await until_ended(gemini.batch, handle)
    lines = await results(gemini.batch, handle)

    fake_gemini_batch.enqueue(
        google_error(
            500,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        )
    )
    same_error(lines[server], await direct_error(gemini, requests[server]))
    same_error(lines[hot], await direct_error(gemini, requests[hot]))
    assert lines[hot].error.param == "temperature" and lines[server].error.kind is ErrorKind.UNAVAILABLE
    assert lines[never] == LineResult(never, direct=True)


async def test_gemini_expired_cancelled_and_failed_batches_poll_failed(gemini, fake_gemini_batch):
    engine = fake_gemini_batch.batches
    engine.polls_to_finish = None
    requests = tasks("gemini-2.5-flash", "one", "two")

    expiring = await submit(gemini.batch, requests)
    engine.clock.advance(48 * 3600)  # Google expires a job pending or running for 48 hours
    poll = await gemini.batch.poll(expiring)
    assert poll.ended and poll.failed.startswith("google: batch expired")
    assert await results(gemini.batch, expiring) == {}  # nothing to read: every line goes direct

    engine.clock.set(time.time())
    cancelling = await submit(gemini.batch, requests)
    await gemini.batch.cancel(cancelling)
    poll = await gemini.batch.poll(cancelling)
    assert poll.ended and poll.failed.startswith("google: batch cancelled")
    await gemini.batch.cancel(cancelling)  # ended: refused by Google, nothing to do

    failing = await submit(gemini.batch, requests)
    engine.fail(failing.vendor_id.removeprefix("batches/"), [rpc_status("INVALID_ARGUMENT", "bad requests")])
    assert await gemini.batch.poll(failing) == BatchPoll(
        ended=True, failed="google: batch failed: bad requests"
    )


async def test_gemini_find_matches_the_display_name(gemini, fake_gemini_batch):
    since = time.time()
    handle = await submit(gemini.batch, tasks("gemini-2.5-flash", "a"), key="crashed")
    await submit(gemini.batch, tasks("gemini-2.5-flash", "b"), key="another")

    assert await gemini.batch.find("crashed", since) == handle
    assert await gemini.batch.find("never-submitted", since) is None
    assert await gemini.batch.find("crashed", since + 2 * SKEW) is None


# google-genai uploads a file in 8 MiB chunks of bytes, which aiohttp warns may block the loop (theirs to fix)
@pytest.mark.filterwarnings("ignore:Sending a large body directly with raw bytes:ResourceWarning")
@pytest.mark.slow
async def test_gemini_fifty_thousand_answers_are_read_in_bounded_memory(gemini, fake_gemini_batch):
    requests = tasks("gemini-2.5-flash", *(f"question {i}" for i in range(50_000)))
    handle = await submit(gemini.batch, requests)
    await until_ended(gemini.batch, handle)
    output = fake_gemini_batch.files.get(f"batch-{handle.vendor_id.removeprefix('batches/')}")
    assert output.size > 30 * MB

    answered, peak = await peak_while_reading(gemini.batch, handle)

    assert answered == 50_000
    # a quarter of the file: holding it whole (or its lines) would not fit; measured: about 2 MB of 31 MB
    assert peak < min(200 * MB, output.size // 4), f"peak {peak / MB:.1f} MB"
