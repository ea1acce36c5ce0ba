"""``/v3/ai_optimization/llm_mentions/<function>/live``: DataForSEO's LLM Mentions API over the caller's own
stored answers (the mentions index, ``store.mention_queries``). Free: every task costs 0. One task per
post, answered in HTTP 200 with the task's own status, as every DataForSEO live endpoint does."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from llm_responses.api import render
from llm_responses.api.routes import Routes, caller, context, json_array
from llm_responses.errors import ApiError, Busy, QueryTimeout, StatusCode
from llm_responses.store import mention_queries
from llm_responses.store.records import Account
from llm_responses.store.store import Store
from llm_responses.wire import envelope, mentions_result
from llm_responses.wire.mentions_request import (
    FUNCTIONS,
    ITEM_KEYS,
    MentionsQuery,
    parse_query,
    search_after_token,
)
from llm_responses.wire.request import echo

MENTIONS = f"{envelope.PREFIX}/llm_mentions"

routes = Routes()


@routes.add(MENTIONS + "/locations_and_languages", "GET")
async def mentions_locations(request: Request) -> Response:
    """The locations and languages of the caller's answers (DataForSEO's list is of its own data)."""
    started = time.perf_counter()
    ctx = context(request)
    account = await caller(request)
    result = mentions_result.locations_result(await ctx.store.mention_locations(account.id))
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
            result = await answer(ctx.store, account, query)
    except ApiError as exc:
        return render.ok([envelope.task(started=started, path=path, data=data, error=exc)], started)
    task = envelope.task(started=started, path=path, data=data, result=[result])
    return render.ok([task], started)


async def answer(store: Store, account: Account, q: MentionsQuery) -> dict[str, Any]:
    """The result object of one validated query (50401 when the database gives up on it, 40209 when no
    connection for heavy reads comes free in time)."""
    try:
        return await _answer(store, account, q)
    except QueryTimeout:
        raise ApiError(StatusCode.TIMEOUT) from None
    except Busy:
        raise ApiError(StatusCode.TOO_MANY_SIMULTANEOUS) from None


async def _answer(store: Store, account: Account, q: MentionsQuery) -> dict[str, Any]:
    f = q.function
    if f == "search_mentions":
        total, found = await store.mention_query(lambda c, d: mention_queries.search(c, d, account.id, q))
        items = [
            mentions_result.search_item(
                platform=a.platform,
                model_name=a.model_name,
                location_code=a.location_code,
                language_code=a.language_code,
                question=a.question,
                asked_at=a.asked_at,
                web_search=a.web_search,
                result=a.result,
                fan_out=a.fan_out,
                brands=a.brands,
            )  # fmt: skip
            for a in found
        ]
        more = (
            found and (q.search_after is not None or q.offset + len(found) < total) and len(found) == q.limit
        )
        token = (
            search_after_token(found[-1].asked_at, found[-1].answer_id) if more and not q.order_by else None
        )
        return {
            "total_count": total,
            "offset": q.offset,
            "search_after_token": token,
            "items_count": len(items),
            "items": items,
        }
    if q.lite:
        total, flat = await store.mention_query(lambda c, d: mention_queries.lite(c, d, account.id, q))
        return mentions_result.lite_result(ITEM_KEYS.get(f), total, q.offset, flat)
    if f in ("target_metrics", *ITEM_KEYS):
        ranked = await store.mention_query(lambda c, d: mention_queries.ranked(c, d, account.id, q))
        if f == "target_metrics":
            if not ranked.items:
                return mentions_result.aggregated_result(0, {})
            _, only = ranked.items[0]
            return mentions_result.aggregated_result(only.mentions, only.by)
        keyed = [(key, b.mentions, b.by) for key, b in ranked.items]
        return mentions_result.ranked_result(ITEM_KEYS[f], ranked.total_count, q.offset, keyed)
    today = datetime.now(UTC).date().isoformat()
    date_to = q.date_to or today
    if f == "historical":
        counts = await store.mention_query(lambda c, d: mention_queries.per_day(c, d, account.id, q))
        return mentions_result.historical_result(counts, q.date_from, date_to)
    assert q.date_from is not None
    # one period earlier than asked: the first period's delta (or new/lost) is against the one before it
    first = mentions_result.period_of(q.date_from, q.group_range)
    wider = replace(q, date_from=mentions_result.previous_period(first, q.group_range))
    if f == "timeseries_delta":
        counts = await store.mention_query(lambda c, d: mention_queries.per_day(c, d, account.id, wider))
        return mentions_result.delta_result(counts, q.date_from, date_to, q.group_range)
    rows = await store.mention_query(lambda c, d: mention_queries.questions_per_day(c, d, account.id, wider))
    return mentions_result.new_lost_result(rows, q.date_from, date_to, q.group_range)
