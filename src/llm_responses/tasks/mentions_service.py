"""The mentions index's reads, independent of HTTP: LLM Mentions' results (``api/mentions_routes.py``), the
brand metrics (the MCP tools, the dashboard), single answers, citations and new/lost (the dashboard), and
the typed reads under them that pages compose.

The one way in to ``store.mention_queries`` and ``analysis.brand_metrics`` for the layers above: each read
runs on a heavy-read connection (``Store.mention_query``: ``Busy`` when none comes free in time). Holding
one of the account's heavy-read slots (``heavy_reads``) is the caller's, so a page of several reads takes
one slot for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from llm_responses.analysis.brand_metrics import BrandQuery, BrandScope, brand_metrics
from llm_responses.errors import ApiError, Busy, QueryTimeout, StatusCode
from llm_responses.store import Store, answer_reads, mention_queries
from llm_responses.store.answer_reads import AnswerFacts, AnswerRow, Kind, Presence
from llm_responses.store.brand_counts import CountFilter
from llm_responses.store.mention_queries import FoundAnswer, Ranked
from llm_responses.wire import mentions_result
from llm_responses.wire.mentions_request import ITEM_KEYS, MentionsQuery, search_after_token


class MentionsService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- LLM Mentions: each function's result object -----------------------------------------------

    async def locations(self, account_id: int) -> list[dict[str, Any]]:
        """locations_and_languages' result: the locations and languages of the account's answers."""
        return mentions_result.locations_result(await self.store.mention_locations(account_id))

    async def answer(self, account_id: int, q: MentionsQuery) -> dict[str, Any]:
        """The result object of one validated query (50401 when the database gives up on it, 40209 when no
        connection for heavy reads comes free in time)."""
        try:
            return await self._answer(account_id, q)
        except QueryTimeout:
            raise ApiError(StatusCode.TIMEOUT) from None
        except Busy:
            raise ApiError(StatusCode.TOO_MANY_SIMULTANEOUS) from None

    async def _answer(self, account_id: int, q: MentionsQuery) -> dict[str, Any]:
        f = q.function
        if f == "search_mentions":
            return await self._search_result(account_id, q)
        if q.lite:
            total, flat = await self.lite(account_id, q)
            return mentions_result.lite_result(ITEM_KEYS.get(f), total, q.offset, flat)
        if f in ("target_metrics", *ITEM_KEYS):
            ranked = await self.ranked(account_id, q)
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
            return mentions_result.historical_result(await self.per_day(account_id, q), q.date_from, date_to)
        assert q.date_from is not None
        # one period earlier than asked: the first period's delta (or new/lost) is against the one before it
        first = mentions_result.period_of(q.date_from, q.group_range)
        wider = replace(q, date_from=mentions_result.previous_period(first, q.group_range))
        if f == "timeseries_delta":
            counts = await self.per_day(account_id, wider)
            return mentions_result.delta_result(counts, q.date_from, date_to, q.group_range)
        rows = await self.questions_per_day(account_id, wider)
        return mentions_result.new_lost_result(rows, q.date_from, date_to, q.group_range)

    async def _search_result(self, account_id: int, q: MentionsQuery) -> dict[str, Any]:
        total, found = await self.search(account_id, q)
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

    # -- the reads ----------------------------------------------------------------------------------

    async def search(self, account_id: int, q: MentionsQuery) -> tuple[int, list[FoundAnswer]]:
        """(total matched, one page of the matched answers)."""
        return await self.store.mention_query(lambda c, d: mention_queries.search(c, d, account_id, q))

    async def lite(
        self, account_id: int, q: MentionsQuery
    ) -> tuple[int, list[tuple[str, int | None, str | None, str, int]]]:
        """(total rows, a page of (key, location, language, platform, mentions))."""
        return await self.store.mention_query(lambda c, d: mention_queries.lite(c, d, account_id, q))

    async def ranked(self, account_id: int, q: MentionsQuery) -> Ranked:
        """A page of keys (domains, pages, brands, target groups, or the one target set) with breakdowns."""
        return await self.store.mention_query(lambda c, d: mention_queries.ranked(c, d, account_id, q))

    async def per_day(self, account_id: int, q: MentionsQuery) -> list[tuple[str, int]]:
        """(day, matched answers) for each day with any, oldest first."""
        return await self.store.mention_query(lambda c, d: mention_queries.per_day(c, d, account_id, q))

    async def questions_per_day(self, account_id: int, q: MentionsQuery) -> list[tuple[str, str, str]]:
        """(day, platform, question) of every matched answer, once each."""
        return await self.store.mention_query(
            lambda c, d: mention_queries.questions_per_day(c, d, account_id, q)
        )

    async def brand_metrics(self, account_id: int, q: BrandQuery, scope: BrandScope) -> list[dict[str, Any]]:
        """The tracked brands' metrics (``analysis.brand_metrics``; ``scope``: a project's prompt tags, empty
        for the server's brands). ValueError for an unknown group or country, ``QueryTimeout``/``Busy`` when
        the database gives up or is busy."""
        return await brand_metrics(self.store, account_id, q, scope)

    # -- single answers, for the dashboard (``store/answer_reads.py``) ---------------------------------

    async def answer_list(
        self,
        account_id: int,
        f: CountFilter,
        *,
        brand: str | None = None,
        prompt_hash: str | None = None,
        before: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[AnswerRow]:
        """A page of indexed answers newest first (naming ``brand``, of one prompt), before a cursor."""
        return await self.store.mention_query(
            lambda c, d: answer_reads.answer_list(
                c, d, account_id, f, brand=brand, prompt_hash=prompt_hash, before=before, limit=limit
            )
        )

    async def answer_of(self, account_id: int, task_id: str) -> AnswerRow | None:
        return await self.store.mention_query(lambda c, d: answer_reads.answer_of(c, d, account_id, task_id))

    async def answer_facts(self, account_id: int, task_ids: Sequence[str]) -> dict[str, AnswerFacts]:
        """Per indexed task: country, citations, snippet, the brands named or cited."""
        return await self.store.mention_query(
            lambda c, d: answer_reads.answer_facts(c, d, account_id, task_ids)
        )

    async def incomplete_reason(self, account_id: int, task_id: str) -> str | None:
        return await self.store.mention_query(
            lambda c, d: answer_reads.incomplete_reason(c, d, account_id, task_id)
        )

    async def cited(
        self, account_id: int, f: CountFilter, kind: Kind, *, brand: str | None = None, limit: int = 50
    ) -> tuple[int, list[tuple[str, int]]]:
        """(answers matching, the most cited domains or pages with how many answers cite each)."""
        return await self.store.mention_query(
            lambda c, d: answer_reads.cited(c, d, account_id, f, kind, brand=brand, limit=limit)
        )

    async def cited_by_day(
        self, account_id: int, f: CountFilter, kind: Kind, keys: Sequence[str], *, brand: str | None = None
    ) -> list[tuple[str, str, int]]:
        return await self.store.mention_query(
            lambda c, d: answer_reads.cited_by_day(c, d, account_id, f, kind, keys, brand=brand)
        )

    async def gap(
        self, account_id: int, f: CountFilter, own: str, *, limit: int = 50
    ) -> list[tuple[str, int, int]]:
        """Domains cited where competitors are named and ``own`` is not."""
        return await self.store.mention_query(
            lambda c, d: answer_reads.gap(c, d, account_id, f, own, limit=limit)
        )

    async def presence(
        self, account_id: int, f: CountFilter, hashes: Sequence[str] | None = None
    ) -> list[Presence]:
        return await self.store.mention_query(lambda c, d: answer_reads.presence(c, d, account_id, f, hashes))

    async def prompt_texts(self, account_id: int, project_id: int, hashes: Sequence[str]) -> dict[str, str]:
        return await self.store.mention_query(
            lambda c, d: answer_reads.prompt_texts(c, d, account_id, project_id, hashes)
        )

    async def models(self, account_id: int, project_id: int) -> list[str]:
        return await self.store.mention_query(lambda c, d: answer_reads.models(c, d, account_id, project_id))


__all__ = ["AnswerFacts", "AnswerRow", "CountFilter", "Kind", "MentionsService", "Presence"]
