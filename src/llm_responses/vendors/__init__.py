"""The vendors this server can call, one module each (``vendors/vendor.py`` says what a module declares),
and the OpenAI-compatible servers and embedded model that need no vendor key.

``VENDORS`` is the list ``composition`` builds providers from and the catalog's hints come from;
``AllVendorSettings`` joins their settings into ``config.Settings`` (environment names unchanged).
"""

from __future__ import annotations

from llm_responses.vendors import anthropic, google, openai, perplexity
from llm_responses.vendors.local import LocalSettings
from llm_responses.vendors.vendor import Vendor

VENDORS: tuple[Vendor, ...] = (openai.VENDOR, anthropic.VENDOR, google.VENDOR, perplexity.VENDOR)


class AllVendorSettings(
    openai.OpenAISettings,
    anthropic.AnthropicSettings,
    google.GoogleSettings,
    perplexity.PerplexitySettings,
    LocalSettings,
):
    """Every vendor's own settings."""
