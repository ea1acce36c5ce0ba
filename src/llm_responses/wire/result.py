"""The one place an ``LlmResult`` becomes a DataForSEO ``result`` object (the live page's field list, docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/live/).

``annotations`` are ``null`` when the task did not ask for web search (documented), otherwise a list —
possibly empty. Each annotation carries the cited span's offsets and its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_responses.core import LlmResult
from llm_responses.wire.envelope import format_datetime


def render_result(
    result: LlmResult, *, web_search_requested: bool, money_spent_usd: float, finished_at: float
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    if result.reasoning_summaries:
        items.append(
            {
                "type": "reasoning",
                "sections": [{"type": "summary_text", "text": text} for text in result.reasoning_summaries],
            }
        )
    sections = [
        {
            "type": "text",
            "text": part.text,
            "annotations": [
                {
                    "title": c.title,
                    "url": c.url,
                    "start_index": c.start_index,
                    "end_index": c.end_index,
                    "text": part.text[c.start_index : c.end_index],
                    **({"direct_url": c.direct_url} if c.direct_url else {}),
                }
                for c in part.citations
            ]
            if web_search_requested
            else None,
        }
        for part in result.parts
    ]
    if sections:
        items.append({"type": "message", "sections": sections})
    searched = web_search_requested and (result.web_search_calls > 0 or bool(result.fan_out_queries))
    return {
        "model_name": result.model,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "reasoning_tokens": result.reasoning_tokens,
        "web_search": searched,
        "money_spent": money_spent_usd,
        "datetime": format_datetime(finished_at),
        "items": items,
        "fan_out_queries": list(result.fan_out_queries) if web_search_requested else None,
    }


@dataclass(frozen=True, slots=True)
class ResultReading:
    """A stored DataForSEO result read back: the message sections (text and annotations) and the
    reasoning summaries. What exports, metrics, the dashboard and the MCP tools all start from."""

    sections: tuple[tuple[str, tuple[dict[str, Any], ...]], ...]
    reasoning: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(text for text, _ in self.sections)

    @property
    def annotations(self) -> list[dict[str, Any]]:
        return [a for _, annotations in self.sections for a in annotations]

    @property
    def cited_urls(self) -> list[str]:
        return [a["url"] for a in self.annotations if isinstance(a.get("url"), str) and a["url"]]


def read_result(result: dict[str, Any] | None) -> ResultReading:
    sections: list[tuple[str, tuple[dict[str, Any], ...]]] = []
    reasoning: list[str] = []
    for item in (result or {}).get("items") or []:
        for section in item.get("sections") or []:
            text = section.get("text") or ""
            if item.get("type") == "reasoning":
                reasoning.append(text)
            elif item.get("type") == "message":
                sections.append(
                    (text, tuple(a for a in section.get("annotations") or [] if isinstance(a, dict)))
                )
    return ResultReading(tuple(sections), tuple(reasoning))
