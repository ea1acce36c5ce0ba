"""What one hosted web search costs: by the tool that ran and the model's family, not one flat number.

Sources, in order: an operator's flat override (``price_web_search_call``; $0.025 reproduces DataForSEO's
live-page example exactly); genai-prices' ``web_searches`` price for the model, which carries OpenAI's GA
``web_search`` tool fee; OpenAI's published table for what the price database does not carry
(platform.openai.com/docs/pricing, "Built-in tools", as read in 2026-03):

    web_search           every model              $10 / 1,000 calls (search content tokens at model rates)
    web_search_preview   reasoning models         $10 / 1,000 calls
    web_search_preview   non-reasoning models     $25 / 1,000 calls (search content tokens free)

Searches our own ``search/`` runs for models without hosted search are not upstream calls and cost nothing.
"""

from __future__ import annotations

import time
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price

from llm_responses.billing.money import to_nanos

THOUSAND = 1000
PUBLISHED_PER_THOUSAND = {
    ("web_search", True): Decimal(10),
    ("web_search", False): Decimal(10),
    ("web_search_preview", True): Decimal(10),
    ("web_search_preview", False): Decimal(25),
}


def search_fee(*, tool: str, model_id: str, provider: str, reasoning: bool, override: int | None) -> int:
    """Nano-dollars for one search call of ``tool`` made by ``model_id``."""
    if not tool:
        return 0
    if override is not None:
        return override
    if tool == "web_search":
        known = database_fee(model_id, provider, int(time.time() // 3600))
        if known is not None:
            return known
    per_thousand = PUBLISHED_PER_THOUSAND.get(
        (tool, reasoning), PUBLISHED_PER_THOUSAND[("web_search", reasoning)]
    )
    return to_nanos(per_thousand / THOUSAND)


@lru_cache(maxsize=1024)
def database_fee(model_id: str, provider: str, hour: int) -> int | None:
    """The price database's fee for one web search by this model, re-read hourly; ``None`` if it has none."""
    del hour  # only part of the cache key: a price entry can change at a date
    try:
        price = calc_price(
            Usage(input_tokens=0, output_tokens=0, web_searches=THOUSAND),
            model_ref=model_id,
            provider_id=provider,
        )
    except LookupError:
        return None
    total = Decimal(price.total_price)
    return to_nanos(total / THOUSAND) if total > 0 else None
