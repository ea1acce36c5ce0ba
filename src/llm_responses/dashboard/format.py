"""How the pages write numbers, one way everywhere: a share as ``12.5%``, a change of a share in points
(``+3.2 pp``), money with four decimals, counts with thousands separators, and links only to http(s)."""

from __future__ import annotations

import re
from typing import Any


def pct(value: Any) -> str:
    """A 0..1 share as a percentage with one decimal; '—' when there is none."""
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def points(value: Any) -> str:
    """A change of a share (0..1 scale) in percentage points, signed; '—' when there is nothing to compare."""
    if value is None:
        return "—"
    v = round(float(value) * 100, 1)
    return "±0.0 pp" if v == 0 else f"{v:+.1f} pp"


def signed(value: Any, digits: int = 1) -> str:
    """A signed change of a plain number (an average position); '—' when there is nothing to compare."""
    if value is None:
        return "—"
    v = round(float(value), digits)
    return f"±{0:.{digits}f}" if v == 0 else f"{v:+.{digits}f}"


def number(value: Any) -> str:
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else f"{float(value):,.2f}"


def usd(value: Any) -> str:
    return f"${float(value or 0):,.4f}"


_BLOCK = re.compile(r"(?m)^\s*(?:#{1,6}|[-*+]|>|\d+\.)\s+")  # headings, bullets, quotes
_INLINE = re.compile(r"\*\*|__|`+|\[\d+\]|[\[\]]")  # emphasis, [n] markers, link brackets


def plain(markdown: str) -> str:
    """An answer's start as a line of plain text for a list: headings, bullets, emphasis, empty links and
    citation markers dropped."""
    return " ".join(_INLINE.sub("", _BLOCK.sub(" ", markdown)).split()).replace(" )", ")")


def safe_url(url: Any) -> str:
    """Only http(s) links are rendered: an upstream's annotation could carry ``javascript:``."""
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else "#"


FILTERS = {"pct": pct, "points": points, "signed": signed, "number": number, "usd": usd, "safe_url": safe_url}
