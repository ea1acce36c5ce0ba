"""How much a task holds from the balance while it runs: DataForSEO's $0.01, or the model's worst case.

DataForSEO prepays a flat $0.01 per task_post task whatever the model, and charges the overage when the
task finishes. With gpt-5 at $10 per million output tokens one task can cost ten times that, so a $1 account
could queue a hundred tasks and end hundreds of dollars in debt. The ``worst_case`` policy (the default)
holds, per task, the larger of the flat prepayment and an estimate of what the task can cost at most:

    input   the prompt, system message and chain at 1 token per 3 characters, plus 8,000 tokens of search
            content when web_search is on (what OpenAI bills per search for its mini models)
    output  the output budget sent upstream: max_output_tokens, plus room for reasoning when the task
            reasons (``Runner.output_budget``)
    search  one search at the fee of the tool the server sends (``web_search_fees``) or at the vendor's
            per-call fee (``ModelEntry.tool_fees``), for every model whose vendor searches (OpenAI, Claude,
            Gemini, Perplexity)

priced by the same functions that price the result. Settlement is unchanged: the unused part of the hold
is refunded, so a task costs what it used. The estimate is no hard ceiling (a model may search more), but
together with claiming nothing for accounts in debt (store/fair_claim.py) it bounds the overdraft to about
one task's overage per running task. ``flat`` reproduces DataForSEO's $0.01 exactly. Examples (default
2,048 output tokens): gpt-4.1-mini $0.01 (with web search ~$0.0165), gpt-5 ~$0.10, o1-pro ~$6.
"""

from __future__ import annotations

from llm_responses.billing.pricing import Tariff, money_spent
from llm_responses.catalog import ModelEntry
from llm_responses.core import LlmResult

SEARCH_CONTENT_TOKENS = 8000
WORST_CASE_SEARCHES = 1
CHARS_PER_TOKEN = 3


def task_hold(
    entry: ModelEntry,
    *,
    prompt_chars: int,
    output_tokens: int,
    web_search: bool,
    tariff: Tariff,
    policy: str = "worst_case",
    search_tool: str = "web_search",
) -> int:
    """Nano-dollars to hold for one task (never less than the tariff's flat prepayment)."""
    if policy == "flat":
        return tariff.task_post_prepayment
    hosted = web_search and entry.hosted_search
    estimate = LlmResult(
        model=entry.model_id,
        input_tokens=prompt_chars // CHARS_PER_TOKEN + 1 + (SEARCH_CONTENT_TOKENS if hosted else 0),
        output_tokens=output_tokens,
        web_search_calls=WORST_CASE_SEARCHES if hosted else 0,
        search_tool=search_tool if hosted else "",
        tool_calls=(("web_search", WORST_CASE_SEARCHES),) if hosted else (),
    )
    worst = money_spent(entry, estimate, tariff)
    return max(tariff.task_post_prepayment, worst)
