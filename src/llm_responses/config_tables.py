"""The ``[[providers]]`` and ``[[models]]`` tables of the configuration, checked when the process starts.

``extra="forbid"``: a misspelt key (``base_ur``, ``input_prise``) stops the start with the key's name
instead of being ignored until a task fails.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llm_responses.wire.engines import ENGINES

# every upstream's defaults (each vendor's settings and a [[providers]] table's): seconds per attempt, under
# the live path's 120 s, and how many more attempts a failure worth another try gets
UPSTREAM_TIMEOUT = 110.0
UPSTREAM_RETRIES = 2

ProviderApi = Literal["responses", "chat_completions"]
QueryPlanner = Literal["model", "rule"]


class ProviderConfig(BaseModel):
    """An OpenAI-compatible server (vLLM, Ollama, llama.cpp, a gateway)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)  # referenced by [[models]].provider
    base_url: str = Field(min_length=1)  # everything before /chat/completions or /responses
    api: ProviderApi = "responses"
    api_key: str | None = None
    api_key_env: str | None = None  # the environment variable holding the key
    timeout: float = Field(default=UPSTREAM_TIMEOUT, gt=0)  # seconds per attempt
    max_retries: int = Field(default=UPSTREAM_RETRIES, ge=0)
    hosted_search: bool = False  # true only for a gateway to OpenAI itself
    # it also speaks OpenAI's Batch API (a gateway to OpenAI itself): queued tasks use it when
    # TASK_POST_BATCH is on, billed at batch_rate of the direct token price
    batch: bool = False
    batch_rate: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    query_planner: QueryPlanner = "model"  # who writes the search queries for grounded answers
    trust_reply_model: bool = True  # false: report our model id instead of the server's `model` field


class ModelConfig(BaseModel):
    """A catalog entry added or overridden (``catalog.toml`` has the same keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)  # the base name clients send
    versions: tuple[str, ...] = ()  # dated versions, newest last
    upstream: str | None = None  # the id the vendor takes, when it is not the name (nor a listed version)
    provider: str = "openai"
    se: str = "chat_gpt"  # the engine path it is listed under: any provider can serve any engine
    reasoning: bool = False
    can_reason: bool = True  # the model can be asked to reason (use_reasoning: Claude, Gemini)
    web_search: bool = False
    task_post: bool = True
    location: bool = True
    input_price: Decimal | None = None  # USD per million tokens; unset: the genai-prices database
    output_price: Decimal | None = None
    cached_input_price: Decimal | None = None

    @field_validator("se")
    @classmethod
    def _an_engine(cls, se: str) -> str:
        if se not in ENGINES:
            raise ValueError(f"not an engine: use one of {', '.join(ENGINES)}")
        return se

    def spec(self) -> dict[str, Any]:
        """The mapping ``Catalog.build`` reads (the same shape as a ``catalog.toml`` entry)."""
        return self.model_dump(exclude_none=True)


class BrandConfig(BaseModel):
    """A brand (or a competitor) tracked in stored answers: ``[[brands]]`` in the TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()  # other names it goes by ("Disneyland", "Disneyland Paris")
    domains: tuple[str, ...] = ()  # an answer citing these (or their subdomains) cites the brand
    competitor: bool = False
    category: str | None = Field(default=None, max_length=255)  # LLM Mentions' brand_entities.category
