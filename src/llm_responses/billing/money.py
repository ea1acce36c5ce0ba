"""Money is integer nano-dollars (1e-9 USD) everywhere it is stored or moved.

DataForSEO's amounts have up to 7 decimals (``0.0290424``) and per-token prices go down to fractions of a
micro-dollar, so micro-dollars would round real charges; nano-dollars hold every amount seen exactly and
a 64-bit integer still holds nine billion dollars. Floats appear only when rendering JSON.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NANOS_PER_USD = 1_000_000_000


def to_nanos(usd: Decimal | str | int | float) -> int:
    """Exact conversion from a decimal amount (floats go through ``str`` to avoid binary noise)."""
    value = usd if isinstance(usd, Decimal) else Decimal(str(usd))
    return int((value * NANOS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_usd(nanos: int) -> float:
    """For the wire only: DataForSEO's ``cost`` and ``money_spent`` are JSON numbers."""
    return float(Decimal(nanos) / NANOS_PER_USD)


def to_decimal(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_USD
