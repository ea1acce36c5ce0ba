"""What a task costs: the LLM's charge (``money_spent``) and DataForSEO's fixed prices around it.

Rules (DataForSEO's help center and its task_post and live pages): live costs base $0.0006 + money_spent; task_post charges $0.0002 base
plus a $0.01 prepayment, and settles the prepayment against money_spent when the task finishes.
money_spent = tokens × the model's prices + billable web searches × the per-call fee of the tool that ran
(``web_search_fees``). A flat $0.025 fee (``price_web_search_call``) reproduces the live page's example exactly: 8174 in +
483 out on gpt-4.1-mini = $0.0040424, + one search = $0.0290424.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price
from genai_prices.types import TieredPrices

from llm_responses.billing.money import to_nanos
from llm_responses.billing.web_search_fees import search_fee
from llm_responses.catalog import ModelEntry
from llm_responses.core import LlmResult

log = logging.getLogger(__name__)
MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Tariff:
    """The service's own prices, in nano-dollars, from ``Settings.tariff()`` (the defaults live there)."""

    task_post_base: int
    task_post_prepayment: int
    live_base: int
    web_search_call: int | None  # a flat fee per hosted search; None: by tool and model (web_search_fees)


def money_spent(entry: ModelEntry, result: LlmResult, tariff: Tariff) -> int:
    """The LLM's charge for one result, in nano-dollars; reproducible from stored usage. An operator's
    prices for the model win; then what the upstream itself reported; then the vendor's list prices
    (catalog.toml, the price database) for the tokens and its fees for the tools that ran."""
    if result.reported_cost is not None and (entry.prices is None or entry.prices.listed):
        return to_nanos(result.reported_cost)
    tokens = _token_cost(entry, result)
    if result.batched:  # the vendor's batch rates (tool fees are billed in full)
        tokens *= entry.batch_rate
    return to_nanos(tokens) + tool_fees(entry, result, tariff)


def batch_saving(entry: ModelEntry, result: LlmResult) -> int:
    """Nano-dollars a batched answer cost less than the same answer direct (0 when the vendor reported the
    cost itself: what it would have been direct is not known)."""
    if not result.batched or result.reported_cost is not None:
        return 0
    tokens = _token_cost(entry, result)
    return to_nanos(tokens) - to_nanos(tokens * entry.batch_rate)


def tool_fees(entry: ModelEntry, result: LlmResult, tariff: Tariff) -> int:
    """Nano-dollars for the tool calls: each at its vendor's per-call fee (``ModelEntry.tool_fees``), or
    every hosted search at the fee of the tool that ran (``web_search_fees``)."""
    if entry.tool_fees and result.tool_calls:
        fees = dict(entry.tool_fees)
        unpriced = [tool for tool, _ in result.tool_calls if tool not in fees]
        if unpriced:
            log.warning("no fee known for %s tool calls (provider %s): charged 0", unpriced, entry.provider)
        return sum(to_nanos(fees.get(tool, Decimal(0))) * n for tool, n in result.tool_calls)
    if not result.web_search_calls:
        return 0
    fee = search_fee(
        tool=result.search_tool,
        model_id=entry.model_id,
        provider=entry.provider,
        reasoning=entry.reasoning,
        override=tariff.web_search_call,
    )
    return result.web_search_calls * fee


def _token_cost(entry: ModelEntry, result: LlmResult) -> Decimal:
    cached = min(result.cached_input_tokens, result.input_tokens)
    written = min(result.cache_write_tokens, result.input_tokens - cached)
    if entry.prices is not None:
        p = entry.prices
        cached_price = p.cached_input if p.cached_input is not None else p.input
        return (
            (result.input_tokens - cached) * p.input + cached * cached_price + result.output_tokens * p.output
        ) / MILLION
    rates = linear_rates(entry.model_id, entry.provider, _hour(), base_tier=not entry.long_context_tier)
    if rates is not None:  # the same numbers as calc_price (tests/unit/test_money.py), ~100x cheaper
        uncached_rate, cached_rate, written_rate, output_rate = rates
        return (
            (result.input_tokens - cached - written) * uncached_rate
            + cached * cached_rate
            + written * written_rate
            + result.output_tokens * output_rate
        ) / MILLION
    usage = Usage(
        input_tokens=result.input_tokens,
        cache_read_tokens=cached,
        cache_write_tokens=written,
        output_tokens=result.output_tokens,
    )
    # the catalog's model; else the model the upstream says answered ("openai/gpt-5.6-luna": a preset's)
    refs = [(entry.model_id, entry.provider)]
    if "/" in result.model:
        vendor, _, model = result.model.partition("/")
        refs.append((model, vendor))
    for model_ref, provider in refs:
        try:
            return calc_price(usage, model_ref=model_ref, provider_id=provider).total_price
        except LookupError:
            continue
    log.warning(
        "no price known for model %s (provider %s): charging 0 for tokens", entry.model_id, entry.provider
    )
    return Decimal(0)


def _hour() -> int:
    """Cache key part: a price database entry can change at a given date, so rates are re-read hourly."""
    return int(time.time() // 3600)


@lru_cache(maxsize=1024)
def linear_rates(
    model_id: str, provider: str, hour: int, *, base_tier: bool = False
) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """USD per million uncached input, cache-read, cache-write and output tokens, when the price is linear
    in them.

    genai-prices' ``calc_price`` walks its whole unit registry on every call (~160 µs, a tenth of a live
    call's server time). For a model without tiered prices or a per-request fee the price is a linear
    function of the counts, so a few calls at a million tokens give its coefficients once an hour.
    ``base_tier``: the vendor never bills the model's long-context tier (Anthropic bills its ">200k" rates
    only with the 1M-context beta, which is never asked for), so the rates are read below every threshold.
    ``None`` (tiered and billed so, a fixed fee, an unknown model): every call goes through ``calc_price``.
    """
    del hour  # only part of the cache key

    def price(unit: int, scale: int, **counts: int) -> Decimal:
        usage = Usage(**{k: v * unit for k, v in counts.items()})
        return calc_price(usage, model_ref=model_id, provider_id=provider).total_price * scale

    try:
        calculation = calc_price(
            Usage(input_tokens=0, output_tokens=0), model_ref=model_id, provider_id=provider
        )
    except LookupError:
        return None
    tiered = any(isinstance(v, TieredPrices) for v in vars(calculation.model_price).values())
    if calculation.total_price != 0 or (tiered and not base_tier):
        return None
    million = int(MILLION)
    unit, scale = (1000, million // 1000) if tiered else (million, 1)  # below any tier's threshold
    return (
        price(unit, scale, input_tokens=1),
        price(unit, scale, input_tokens=1, cache_read_tokens=1),
        price(unit, scale, input_tokens=1, cache_write_tokens=1),
        price(unit, scale, output_tokens=1),
    )
