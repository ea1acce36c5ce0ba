"""What a vendor module declares: one ``Vendor`` per hosted API this server can call.

A vendor module (``vendors/<name>.py``) holds everything about one vendor: its settings (a settings class
whose environment names never change, joined into ``config.Settings``), its default base URL, its provider
(or the shared one it uses), whether its models search on the vendor's side, what its tools cost per call,
the hint an operator reads when a model of it is asked for and no key is set, and the engines its built-in
models are listed under. ``vendors/__init__.py`` lists the modules; ``composition`` builds what is
configured. A new vendor is a new module and a line in that list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from llm_responses.core import Provider


class VendorSettings(BaseSettings):
    """The base of every vendor's settings: the same prefix as ``config.Settings``."""

    model_config = SettingsConfigDict(env_prefix="LLM_RESPONSES_", extra="ignore", populate_by_name=True)


@dataclass(frozen=True, slots=True)
class Vendor:
    name: str  # the provider name its catalog models carry ("anthropic")
    label: str  # how people call it ("Anthropic")
    key_env: str  # the environment variable an operator sets ("ANTHROPIC_API_KEY"), for the hint
    default_base_url: str
    engines: frozenset[str]  # the engines (wire.engines.ENGINES) its built-in models are listed under
    searches: bool  # its models search on the vendor's side (no search backend of ours needed)
    # whether the settings configure it, and its provider built from them (``Any``: the joined Settings)
    configured: Callable[[Any], bool]
    build: Callable[[Any], Provider]
    # USD per call of each of its tools, by the tool's name (``LlmResult.tool_calls``); empty: the price
    # database's fee for the model, else OpenAI's published table (billing/web_search_fees.py)
    tool_fees: Mapping[str, Decimal] = field(default_factory=dict)
    key_label: str = ""  # what its key is called, when not by the vendor's name ("Gemini")
    # it bills a model's long-context rates when a prompt is past the threshold (False: Anthropic, whose
    # ">200k" rates need the 1M-context beta this server never asks for: every call is billed the base rates)
    long_context_tier: bool = True
    # what its batch API bills for tokens, as a share of the direct price (OpenAI, Anthropic, Google: half)
    batch_rate: Decimal = Decimal("0.5")
    # how OpenTelemetry's GenAI conventions name it (gen_ai.provider.name; empty: ``name``) and its call
    # (gen_ai.operation.name): traces only
    genai_provider: str = ""
    genai_operation: str = "chat"

    def hint(self, model: str) -> str:
        """Why ``model`` is not served, and what the operator can do about it."""
        key = self.key_label or self.label
        return (
            f"{model} is {_article(self.label)} {self.label} model and this server has no {key} key "
            f"({self.key_env}); or serve the name from another model with a [[models]] entry "
            "(docs/configuration.md)"
        )


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
