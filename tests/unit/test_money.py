"""Money arithmetic and DataForSEO's price rules, reproduced from the seeds' own numbers."""

from decimal import Decimal

from genai_prices import Usage, calc_price
from hypothesis import given
from hypothesis import strategies as st

from llm_responses.billing.money import to_nanos, to_usd
from llm_responses.billing.pricing import Tariff, linear_rates, money_spent
from llm_responses.catalog import Catalog
from llm_responses.config import Settings
from llm_responses.core import LlmResult

CATALOG = Catalog.build()


def prices(web_search_call: str | None = None) -> Tariff:
    """The server's default prices (``Settings.tariff``), with a flat fee per hosted search when given."""
    flat = None if web_search_call is None else Decimal(web_search_call)
    return Settings(price_web_search_call=flat).tariff()


def test_seed_003_live_cost_is_reproduced_exactly():
    # seed 003: gpt-4.1-mini, 8174 input + 483 output tokens, one web search → money_spent 0.0290424,
    # cost 0.0296424 (= $0.0006 base + money_spent)
    entry = CATALOG.resolve("gpt-4.1-mini")
    result = LlmResult(
        model="gpt-4.1-mini-2025-04-14",
        input_tokens=8174,
        output_tokens=483,
        reasoning_tokens=576,
        web_search_calls=1,
        search_tool="web_search",
    )
    tariff = prices(web_search_call="0.025")  # the flat fee DataForSEO charges (price_web_search_call)
    spent = money_spent(entry, result, tariff)
    assert to_usd(spent) == 0.0290424
    assert to_usd(tariff.live_base + spent) == 0.0296424


def test_configured_prices_override_the_database():
    catalog = Catalog.build(
        [
            {
                "name": "gpt-4.1-mini",
                "versions": ["gpt-4.1-mini-2025-04-14"],
                "web_search": True,
                "input_price": 1,
                "output_price": 2,
                "cached_input_price": "0.5",
            }
        ]
    )
    entry = catalog.resolve("gpt-4.1-mini")
    result = LlmResult(
        model="m", input_tokens=1_000_000, cached_input_tokens=500_000, output_tokens=1_000_000
    )
    assert money_spent(entry, result, prices(web_search_call="0")) == to_nanos("0.5") + to_nanos(
        "0.25"
    ) + to_nanos("2")


def test_unknown_model_prices_tokens_at_zero_but_still_charges_searches():
    catalog = Catalog.build([{"name": "my-local-model", "versions": [], "provider": "openai"}])
    result = LlmResult(
        model="m", input_tokens=1000, output_tokens=1000, web_search_calls=2, search_tool="web_search"
    )
    # not in the price database: OpenAI's published GA web_search fee, $10 per 1,000 calls
    assert money_spent(catalog.resolve("my-local-model"), result, prices()) == 2 * to_nanos("0.01")


def test_search_fee_depends_on_the_tool_and_the_model_family():
    gpt41, gpt5 = CATALOG.resolve("gpt-4.1-mini"), CATALOG.resolve("gpt-5")
    one = {"input_tokens": 0, "output_tokens": 0, "web_search_calls": 1}
    ga = LlmResult(model="m", search_tool="web_search", **one)
    preview = LlmResult(model="m", search_tool="web_search_preview", **one)
    assert money_spent(gpt41, ga, prices()) == to_nanos("0.01")  # genai-prices: $10/K web searches
    assert money_spent(gpt41, preview, prices()) == to_nanos("0.025")  # preview, non-reasoning: $25/K
    assert money_spent(gpt5, preview, prices()) == to_nanos("0.01")  # preview, reasoning: $10/K
    # searches our own search/ ran (no hosted tool) are not upstream calls
    assert money_spent(gpt41, LlmResult(model="m", **one), prices()) == 0
    # the operator's flat fee wins over every table
    assert money_spent(gpt5, preview, prices(web_search_call="0.03")) == to_nanos("0.03")


ENTRIES = [CATALOG.resolve(m["model_name"]) for m in CATALOG.listing()]
PRICED = sorted(
    {
        (e.model_id, e.provider)
        for e in ENTRIES
        if e.prices is None and linear_rates(e.model_id, e.provider, 0)
    }
)
counts = st.integers(min_value=0, max_value=3_000_000)


def test_the_fast_path_covers_the_openai_catalog():
    # the rates are read once an hour; every built-in OpenAI model is priced linearly by the database
    assert len(PRICED) >= 10, PRICED
    assert ("gpt-4.1-mini-2025-04-14", "openai") in PRICED


@given(st.sampled_from(PRICED), counts, counts, counts)
def test_cached_linear_rates_charge_exactly_what_calc_price_charges(model, input_tokens, cached, output):
    model_id, provider = model
    cached = min(cached, input_tokens)
    entry = CATALOG.resolve(model_id)
    result = LlmResult(
        model=model_id, input_tokens=input_tokens, cached_input_tokens=cached, output_tokens=output
    )
    usage = Usage(input_tokens=input_tokens, cache_read_tokens=cached, output_tokens=output)
    expected = calc_price(usage, model_ref=model_id, provider_id=provider).total_price
    assert money_spent(entry, result, prices(web_search_call="0")) == to_nanos(expected)


def test_tiered_prices_are_not_linearised():
    # gemini-2.5-pro costs more per token beyond 200k input tokens: each call goes through calc_price
    assert linear_rates("gemini-2.5-pro", "google", 0) is None
    catalog = Catalog.build([{"name": "gemini-2.5-pro", "versions": [], "provider": "google"}])
    small = LlmResult(model="m", input_tokens=100_000, output_tokens=0)
    large = LlmResult(model="m", input_tokens=300_000, output_tokens=0)
    entry = catalog.resolve("gemini-2.5-pro")
    assert money_spent(entry, large, prices()) > 3 * money_spent(entry, small, prices())


@given(st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=9))
def test_nanos_round_trip_is_exact(amount: Decimal):
    assert Decimal(to_nanos(amount)) / 10**9 == amount
