"""Web search for a provider that has none: search first, then answer from numbered sources.

Wraps any provider. When a task asks for ``web_search``: plan 1–3 queries (a deterministic rule, or the
model itself), run them on the search backend concurrently, give the top distinct hits to the model as
numbered sources, and turn its ``[n]`` markers into annotations. The queries that ran become
``fan_out_queries``. If the backend fails, the task still answers, without sources and without claiming
a search (``web_search: false``), and the operator log says why: never a fake citation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from llm_responses.core import (
    BatchClient,
    BatchHandle,
    BatchPoll,
    LineResult,
    LlmRequest,
    LlmResult,
    Locale,
    Provider,
    SearchBackend,
    SearchHit,
)
from llm_responses.errors import SearchError
from llm_responses.search.grounding import apply_citations, grounded_prompt
from llm_responses.search.planner import parse_model_queries, planning_prompt, rule_queries

log = logging.getLogger(__name__)

PLANNING_MAX_TOKENS = 64


class SearchGroundedProvider:
    hosted_search = False

    def __init__(
        self,
        inner: Provider,
        backend: SearchBackend,
        *,
        sources: int,
        planner: str,
        search_timeout: float,
    ) -> None:
        if planner not in ("rule", "model"):
            raise ValueError(f"query planner must be 'rule' or 'model', not {planner!r}")
        self.inner = inner
        self.name = inner.name
        # the inner provider's batch API, for the tasks that need no search of ours (they do theirs first)
        inner_batch: BatchClient | None = getattr(inner, "batch", None)
        self.batch = NoSearchBatch(inner_batch) if inner_batch is not None else None
        self.backend = backend
        self.sources = sources
        self.planner = planner
        self.search_timeout = search_timeout

    async def generate(self, request: LlmRequest) -> LlmResult:
        if not request.web_search:
            return await self.inner.generate(request)
        queries, planning = await self._plan(request)
        locale = Locale(country=request.country, city=request.city)
        try:
            async with asyncio.timeout(self.search_timeout):
                hits = await self._search(queries, locale)
        except (SearchError, TimeoutError) as exc:
            log.warning(
                "task %s: %s search failed, answering without sources: %s",
                request.task_id,
                self.backend.name,
                str(exc) or "timed out",
            )
            result = await self.inner.generate(_without_search(request, request.user_prompt))
            return _add_usage(result, planning)
        prompt = grounded_prompt(request.user_prompt, hits) if hits else request.user_prompt
        result = await self.inner.generate(_without_search(request, prompt))
        parts = tuple(apply_citations(part.text, hits) for part in result.parts)
        return _add_usage(replace(result, parts=parts, fan_out_queries=tuple(queries)), planning)

    async def _plan(self, request: LlmRequest) -> tuple[list[str], LlmResult | None]:
        if self.planner == "model":
            ask = LlmRequest(
                model=request.model,
                user_prompt=planning_prompt(request.user_prompt),
                max_output_tokens=PLANNING_MAX_TOKENS,
                temperature=0.0 if request.temperature is not None else None,
                task_id=request.task_id,
            )
            planning = await self.inner.generate(ask)
            queries = parse_model_queries("\n".join(p.text for p in planning.parts))
            if queries:
                return queries, planning
            return rule_queries(request.user_prompt), planning
        return rule_queries(request.user_prompt), None

    async def _search(self, queries: list[str], locale: Locale) -> list[SearchHit]:
        """Every query at once; hits interleaved by rank (1st of each query, then 2nd, …), distinct by URL."""
        ranked = await asyncio.gather(
            *(self.backend.search(q, limit=self.sources, locale=locale) for q in queries)
        )
        hits: list[SearchHit] = []
        seen: set[str] = set()
        for rank in range(max((len(r) for r in ranked), default=0)):
            for result in ranked:
                if rank < len(result) and result[rank].url not in seen:
                    seen.add(result[rank].url)
                    hits.append(result[rank])
        return hits[: self.sources]

    async def aclose(self) -> None:
        await self.inner.aclose()


def _without_search(request: LlmRequest, prompt: str) -> LlmRequest:
    return replace(
        request, user_prompt=prompt, web_search=False, force_web_search=False, country=None, city=None
    )


def _add_usage(result: LlmResult, planning: LlmResult | None) -> LlmResult:
    """The planning call's tokens are part of what the task cost."""
    if planning is None:
        return result
    return replace(
        result,
        input_tokens=result.input_tokens + planning.input_tokens,
        output_tokens=result.output_tokens + planning.output_tokens,
        reasoning_tokens=result.reasoning_tokens + planning.reasoning_tokens,
    )


class NoSearchBatch:
    """A batch client that takes only the requests needing no search of ours (the search runs here, before
    the model is asked, which a batch line cannot wait for); the rest go the direct way."""

    def __init__(self, inner: BatchClient) -> None:
        self.inner = inner
        self.max_requests = inner.max_requests
        self.max_bytes = inner.max_bytes

    def accepts(self, request: LlmRequest) -> bool:
        return not request.web_search and self.inner.accepts(request)

    def group(self, request: LlmRequest) -> str:
        return self.inner.group(request)

    def encode(self, custom_id: str, request: LlmRequest) -> bytes:
        return self.inner.encode(custom_id, request)

    async def submit(self, key: str, lines: Sequence[bytes]) -> BatchHandle:
        return await self.inner.submit(key, lines)

    async def find(self, key: str, since: float, count: int | None = None) -> BatchHandle | None:
        return await self.inner.find(key, since, count)

    async def poll(self, handle: BatchHandle) -> BatchPoll:
        return await self.inner.poll(handle)

    def results(self, handle: BatchHandle) -> AsyncIterator[LineResult]:
        return self.inner.results(handle)

    async def cancel(self, handle: BatchHandle) -> None:
        await self.inner.cancel(handle)
