"""Perplexity's Sonar models through their OpenAI-compatible Chat Completions, with the official ``openai``
SDK (``shared/reference/other_vendors.md`` §3).

Sonar always searches: ``web_search_options`` carries the search context size and the caller's country.
The answer cites with ``[n]`` markers, 1-based into ``search_results`` (or the bare ``citations`` URLs):
each marker becomes an annotation whose span is the sentence it closes (from the previous sentence end or
marker to the marker), so ``text[start_index:end_index]`` is always the cited claim. ``<think>`` blocks of
the reasoning models become reasoning items. What it costs is Perplexity's own ``usage.cost.total_cost``
(request fees depend on the context size, which the price database cannot know).
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from llm_responses.core import Citation, LlmRequest, LlmResult, TextPart
from llm_responses.providers.openai_chat import OpenAIChatProvider, build_chat_params, parse_chat_response

SEARCH_CONTEXT = "low"  # DataForSEO has no such field; the cheapest request fee
_MARKERS = re.compile(r"(?:\[\d{1,3}\])+")  # a group of adjacent markers: "[2][1]"
_NUMBER = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?\n]\s+")


class PerplexityProvider(OpenAIChatProvider):
    hosted_search = True

    def __init__(self, *, name: str = "perplexity", **client: Any) -> None:
        super().__init__(name=name, **client)

    def build(self, request: LlmRequest) -> dict[str, Any]:
        params = build_chat_params(request)
        options: dict[str, Any] = {"search_context_size": SEARCH_CONTEXT}
        if request.country:
            options["user_location"] = {"country": request.country}
        params["web_search_options"] = options
        return params

    def parse(self, body: dict[str, Any], *, fallback_model: str) -> LlmResult:
        result = parse_chat_response(body, fallback_model=fallback_model)
        sources = _sources(body)
        parts = tuple(TextPart(p.text, cited_spans(p.text, sources)) for p in result.parts)
        return replace(
            result,
            parts=parts,
            web_search_calls=1 if sources else 0,
            reported_cost=_total_cost(body),
            search_tool="sonar" if sources else "",
        )


def _sources(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(url, title) in citation order: ``search_results`` when sent, else the bare ``citations`` URLs."""
    results = body.get("search_results")
    if isinstance(results, list) and results:
        return [
            (str(r["url"]), str(r.get("title") or r["url"]))
            for r in results
            if isinstance(r, dict) and isinstance(r.get("url"), str)
        ]
    citations = body.get("citations")
    return [(u, u) for u in citations if isinstance(u, str)] if isinstance(citations, list) else []


def cited_spans(text: str, sources: list[tuple[str, str]]) -> tuple[Citation, ...]:
    """One citation per ``[n]`` marker naming a known source; a group of markers ("[2][1]") cites the
    claim it closes: from the previous sentence end (or marker group) to the group."""
    out: list[Citation] = []
    after_previous = 0
    for group in _MARKERS.finditer(text):
        start = after_previous
        for boundary in _SENTENCE_END.finditer(text, after_previous, group.start()):
            start = boundary.end()
        end = group.start()
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and (text[start].isspace() or text[start] in ".,;:"):
            start += 1
        after_previous = group.end()
        if end <= start:
            continue
        for number in _NUMBER.findall(group.group()):
            n = int(number)
            if 1 <= n <= len(sources):
                url, title = sources[n - 1]
                out.append(Citation(url, title, start, end))
    return tuple(out)


def _total_cost(body: dict[str, Any]) -> Decimal | None:
    usage = body.get("usage")
    cost = usage.get("cost") if isinstance(usage, dict) else None
    total = cost.get("total_cost") if isinstance(cost, dict) else None
    if isinstance(total, int | float) and not isinstance(total, bool) and total >= 0:
        try:
            return Decimal(str(total))
        except InvalidOperation:
            return None
    return None
