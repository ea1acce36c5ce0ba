"""``/v3/ai_optimization/llm_mentions/<function>/live``: DataForSEO's LLM Mentions API over the caller's own
stored answers (the mentions index, read through ``tasks.mentions_service``). Free: every task costs 0. One
task per post, answered in HTTP 200 with the task's own status, as every DataForSEO live endpoint does."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.api import render
from llm_responses.api.routes import Routes, caller, context, json_array
from llm_responses.errors import ApiError, StatusCode
from llm_responses.wire import envelope, mentions_result
from llm_responses.wire.mentions_request import FUNCTIONS, parse_query
from llm_responses.wire.request import echo

MENTIONS = f"{envelope.PREFIX}/llm_mentions"

routes = Routes()


@routes.add(MENTIONS + "/locations_and_languages", "GET")
async def mentions_locations(request: Request) -> Response:
    """The locations and languages of the caller's answers (DataForSEO's list is of its own data)."""
    started = time.perf_counter()
    ctx = context(request)
    account = await caller(request)
    result = await ctx.mentions.locations(account.id)
    data = {"api": envelope.API, "function": "locations_and_languages", "se": "llm_mentions"}
    task = envelope.task(started=started, path=envelope.path_of(request.url.path), data=data, result=result)
    return render.ok([task], started)


@routes.add(MENTIONS + "/available_filters", "GET")
async def mentions_filters(request: Request) -> Response:
    """The fields each function's filters take, and their types."""
    started = time.perf_counter()
    await caller(request)
    data = {"api": envelope.API, "function": "available_filters", "se": "llm_mentions"}
    result = [mentions_result.filters_result()]
    task = envelope.task(started=started, path=envelope.path_of(request.url.path), data=data, result=result)
    return render.ok([task], started)


@routes.add(MENTIONS + "/{function}/live", "POST")
async def mentions_live(request: Request) -> Response:
    started = time.perf_counter()
    function = request.path_params["function"]
    if function not in FUNCTIONS:
        raise ApiError(StatusCode.NOT_FOUND)
    ctx = context(request)
    account = await caller(request)
    body = await json_array(request)
    if len(body) > 1:
        raise ApiError(StatusCode.ONE_TASK_ONLY)
    raw = body[0]
    path = envelope.path_of(request.url.path)
    data = {"api": envelope.API, "function": function, "se": "llm_mentions"}
    if isinstance(raw, dict):
        data |= echo(raw)
    try:
        query = parse_query(function, raw)
        async with ctx.heavy_reads.slot(account.id):
            result = await ctx.mentions.answer(account.id, query)
    except ApiError as exc:
        return render.ok([envelope.task(started=started, path=path, data=data, error=exc)], started)
    task = envelope.task(started=started, path=path, data=data, result=[result])
    return render.ok([task], started)
