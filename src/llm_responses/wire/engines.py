"""DataForSEO's per-engine rules for ``/v3/ai_optimization/{se}/llm_responses``: which endpoints and request
fields each engine has, and the ranges and defaults that differ between them.

From the official client 2.1.10's request models (the field lists) and DataForSEO's per-engine docs pages
(docs.dataforseo.com/v3/ai_optimization/{se}/llm_responses/live/ and task_post/). Everything else (prompt and
chain limits, tag, webhooks) is common and lives in ``wire.request``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Location = Literal["country_and_city", "country", "none"]

TASK_FUNCTIONS = frozenset({"task_post", "tasks_ready", "task_get"})
LIVE_FUNCTIONS = frozenset({"models", "live"})

# Claude's web search takes only these countries (DataForSEO's claude live/task_post pages)
CLAUDE_COUNTRIES = frozenset(
    "AR AT AU BE BR CA CH CL CN DE DK ES FI FR GB HK ID IN IT JP KR MX MY NL NO NZ PH PL PT RU SA SE TR "
    "TW US ZA".split()
)


@dataclass(frozen=True, slots=True)
class Engine:
    se: str
    functions: frozenset[str]  # the endpoints it has: models, live, task_post, tasks_ready, task_get
    min_output_tokens: int  # max_output_tokens' floor (all engines: at most 4096, default 2048)
    min_output_tokens_reasoning: int  # the floor when the model reasons (or use_reasoning is set)
    temperature_max: float
    default_temperature: float | None  # applied when the caller sends none (None: do not send)
    default_top_p: float | None
    sampling_exclusive: bool  # temperature XOR top_p
    web_search_switch: bool  # False: the engine always searches (Perplexity's Sonar)
    force_web_search: bool
    location: Location
    countries: frozenset[str] | None = None  # None: any ISO 3166-1 alpha-2 code
    use_reasoning: bool = False  # the caller switches reasoning on (Claude, Gemini); else it is the model's
    alternating_chain: bool = False  # message_chain must go user, ai, user, ...

    @property
    def request_fields(self) -> frozenset[str]:
        """The live request's fields (task_post adds postback_url and pingback_url)."""
        fields = {
            "user_prompt",
            "model_name",
            "max_output_tokens",
            "temperature",
            "top_p",
            "system_message",
            "message_chain",
            "tag",
        }
        if self.web_search_switch:
            fields.add("web_search")
        if self.force_web_search:
            fields.add("force_web_search")
        if self.location != "none":
            fields.add("web_search_country_iso_code")
        if self.location == "country_and_city":
            fields.add("web_search_city")
        if self.use_reasoning:
            fields.add("use_reasoning")
        return frozenset(fields)


CHAT_GPT = Engine(
    se="chat_gpt",
    functions=LIVE_FUNCTIONS | TASK_FUNCTIONS,
    min_output_tokens=16,
    min_output_tokens_reasoning=1024,
    temperature_max=2.0,
    default_temperature=0.94,
    default_top_p=0.92,
    sampling_exclusive=False,
    web_search_switch=True,
    force_web_search=True,
    location="country_and_city",
)
CLAUDE = Engine(
    se="claude",
    functions=LIVE_FUNCTIONS | TASK_FUNCTIONS,
    min_output_tokens=1,
    min_output_tokens_reasoning=1025,
    temperature_max=1.0,
    default_temperature=0.7,
    default_top_p=None,
    sampling_exclusive=True,
    web_search_switch=True,
    force_web_search=True,
    location="country_and_city",
    countries=CLAUDE_COUNTRIES,
    use_reasoning=True,
)
GEMINI = Engine(
    se="gemini",
    functions=LIVE_FUNCTIONS | TASK_FUNCTIONS,
    min_output_tokens=1,
    min_output_tokens_reasoning=1024,
    temperature_max=2.0,
    default_temperature=1.3,
    default_top_p=0.9,
    sampling_exclusive=False,
    web_search_switch=True,
    force_web_search=False,
    location="none",
    use_reasoning=True,
)
PERPLEXITY = Engine(
    se="perplexity",
    functions=LIVE_FUNCTIONS,
    min_output_tokens=1,
    min_output_tokens_reasoning=1,
    temperature_max=1.9,
    default_temperature=0.77,
    default_top_p=0.9,
    sampling_exclusive=False,
    web_search_switch=False,
    force_web_search=False,
    location="country",
    alternating_chain=True,
)

ENGINES: dict[str, Engine] = {e.se: e for e in (CHAT_GPT, CLAUDE, GEMINI, PERPLEXITY)}
