"""A protocol-faithful fake of Perplexity's Agent API (``POST /v1/agent``, alias ``POST /v1/responses``) on loopback.

Built from Perplexity's public material:

* API reference and guides: https://docs.perplexity.ai/api-reference/agent-post,
  https://docs.perplexity.ai/docs/agent-api/quickstart (its captured responses give the body layout used here:
  ``resp_<uuid>`` ids, ``search_results`` / ``fetch_url_results`` / ``message`` items, ``output_text`` parts with
  ``annotations: []`` and ``logprobs: []``, costs rounded to 1e-5 USD, ``tool_calls_details.search_web``),
  https://docs.perplexity.ai/docs/agent-api/presets, https://docs.perplexity.ai/docs/agent-api/effort,
  https://docs.perplexity.ai/docs/agent-api/models, https://docs.perplexity.ai/docs/getting-started/pricing,
  https://docs.perplexity.ai/docs/resources/changelog.
* Perplexity's migration skill, https://github.com/perplexityai/api-platform-developers (skills/
  migrate-sonar-to-agent-api/references): the strict decoder (any unknown field, top-level or nested, is a 400
  naming it), web search only when the ``web_search`` tool is offered and often not called unless forced with
  ``tool_choice``, failed and cancelled runs as HTTP 200, ``instructions`` replacing a preset's prompt, no
  reasoning items outside streaming.
* The ``perplexityai`` 0.46.1 SDK (``perplexity/generated/api.py``: ``ResponsesRequestInput``,
  ``WebSearchToolInput``, ``ResponsesResponseOutput``, ``ResponsesUsageOutput``, ``ModelListOutput``).

Tests script replies with ``enqueue``; otherwise the reply is built from the request. Every request body and its
headers are recorded (``requests``, ``headers``), and each run the fake answered is summarised in ``runs``: the
model it resolved to, the preset, ``instructions`` and system/developer input items, and each search it made with
its queries, search type and ``user_location``. What is not documented anywhere (exact error wording for unknown
models and presets, rate-limit header names, annotation offsets) is marked "unverified" where it is built.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.openai_replies import Reply, word_tokens
from tests.fakes.scripted import ScriptedFake

# -- Prices -------------------------------------------------------------------------------------------------
# USD per 1M tokens: input, output, cache read. perplexity/sonar and openai/gpt-5.1 from
# https://docs.perplexity.ai/docs/agent-api/models (gpt-5.1 reproduces the quickstart's captured cost exactly);
# the GPT-5.6 family, Claude 5, Gemini 3.7 Flash and GLM 5.3 from the changelog
# (https://docs.perplexity.ai/docs/resources/changelog, July-August 2026), https://docs.perplexity.ai/docs/gateway/models
# and the pricing page's PRICING object. (GPT-5.6's higher rates above 272k input tokens are left out.)
MODEL_RATES: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "perplexity/sonar": (Decimal("0.25"), Decimal("2.50"), Decimal("0.0625")),
    "perplexity/glm-5.3": (Decimal("1.40"), Decimal("4.40"), Decimal("0.26")),
    "openai/gpt-5.1": (Decimal("1.25"), Decimal("10"), Decimal("0.125")),
    "openai/gpt-5.4-mini": (Decimal("0.75"), Decimal("4.50"), Decimal("0.075")),
    "openai/gpt-5.6-luna": (Decimal("0.20"), Decimal("1.20"), Decimal("0.02")),
    "openai/gpt-5.6-terra": (Decimal("2"), Decimal("12"), Decimal("0.20")),
    "openai/gpt-5.6-sol": (Decimal("5"), Decimal("30"), Decimal("0.50")),
    "anthropic/claude-haiku-4-5": (Decimal("1"), Decimal("5"), Decimal("0.10")),
    "anthropic/claude-sonnet-5": (Decimal("2"), Decimal("10"), Decimal("0.20")),
    "anthropic/claude-opus-5": (Decimal("5"), Decimal("25"), Decimal("0.50")),
    "google/gemini-3.5-flash": (Decimal("1.50"), Decimal("9"), Decimal("0.15")),
    "google/gemini-3.7-flash": (Decimal("0.375"), Decimal("1.875"), Decimal("0.0375")),
}
# USD per invocation (https://docs.perplexity.ai/docs/getting-started/pricing): web_search $0.0025, or $0.001
# with search_type "fast" (Fast Search); fetch_url $0.0005. Billed per tool call, not per query: one call can
# carry several queries. (Older docs and the quickstart's captured costs used $0.005 per web_search.)
SEARCH_FEES = {"web": Decimal("0.0025"), "fast": Decimal("0.001")}
FETCH_URL_FEE = Decimal("0.0005")
PRIORITY_MULTIPLIER = 2  # service_tier "priority" bills 2x the model's token prices (changelog, August 2026)
COST_QUANTUM = Decimal("0.00001")  # the API reports each cost rounded to 1e-5 USD (quickstart samples)


@dataclass(frozen=True)
class Preset:
    """An effort level (a.k.a. preset): the model and setup it resolves to. Perplexity changes these over time;
    these are the changelog's values as of August 2026 (``fast`` and ``low`` on GPT-5.6 Luna, ``fast`` with
    priority processing), ``high``/``xhigh`` on GPT-5.6 Sol per the pricing page."""

    model: str
    effort: str  # reasoning.effort it sets
    citation: str  # "[n]" for fast, "[web:n]" for the research presets (changelog, July 2026)
    search_type: str
    searches: int  # search_results items a run produces
    service_tier: str = "default"
    max_output_tokens: int = 8192
    tools: tuple[str, ...] = ("web_search",)  # the research presets add fetch_url (presets page)


RESEARCH_TOOLS = ("web_search", "fetch_url")
PRESETS = {
    "fast": Preset("openai/gpt-5.6-luna", "minimal", "[n]", "fast", 1, service_tier="priority"),
    "low": Preset("openai/gpt-5.6-luna", "minimal", "[web:n]", "web", 2, max_output_tokens=32768),
    "medium": Preset(
        "openai/gpt-5.6-luna", "medium", "[web:n]", "web", 2, max_output_tokens=64000, tools=RESEARCH_TOOLS
    ),
    "high": Preset(
        "openai/gpt-5.6-sol", "medium", "[web:n]", "web", 2, max_output_tokens=64000, tools=RESEARCH_TOOLS
    ),
    "xhigh": Preset(
        "openai/gpt-5.6-sol", "high", "[web:n]", "web", 3, max_output_tokens=128000, tools=RESEARCH_TOOLS
    ),
}
PRESET_ALIASES = {
    "fast-search": "fast",
    "pro-search": "low",
    "deep-research": "medium",
    "advanced-deep-research": "high",
}
# Echoed in the response's `effort` and `preset` as "<name>@<version>" (perplexityai's ResponsesResponseOutput:
# "contains the same configuration and version"; the exact format is unverified).
PRESET_VERSION = "2026-11-04.0"
PRESET_PROMPT = (
    "## Role\n<role>\nYou are Perplexity, a search assistant built by Perplexity AI. Answer from the search "
    "results and cite every claim drawn from them.\n</role>"
)
REASONING_TOKENS = {"none": 0, "minimal": 0, "low": 24, "medium": 96, "high": 192, "xhigh": 384, "max": 512}

# -- The strict request decoder ---------------------------------------------------------------------------------
# Fields the Agent API accepts: perplexityai 0.46.1's ResponsesRequestInput plus the fields the migration skill
# documents (max_tool_calls, parallel_tool_calls, metadata, truncation, stream_options). Nested objects are as
# strict: the decoder is Go's, so it names the leaf ("reasoning.summary" -> "summary", "text.format" ->
# "format"). Tools and input items other than these are not checked here. Not accepted: Sonar's top-level
# fields (messages, max_tokens, web_search_options, search_mode, return_images, return_related_questions, ...),
# OpenAI's user_location.type/timezone, and search_language_filter (absent from the SDK's WebSearchFiltersInput).
_ANY = None
USER_LOCATION = dict.fromkeys(["city", "country", "latitude", "longitude", "region"])
FILTERS = dict.fromkeys(
    [
        "search_domain_filter",
        "search_recency_filter",
        "search_after_date_filter",
        "search_before_date_filter",
        "last_updated_after_filter",
        "last_updated_before_filter",
    ]
)
WEB_SEARCH_TOOL = {
    **dict.fromkeys(
        ["type", "max_results", "max_tokens", "max_tokens_per_page", "search_context_size", "search_type"]
    ),
    "filters": FILTERS,
    "user_location": USER_LOCATION,
}
TOOLS = {
    "web_search": WEB_SEARCH_TOOL,
    "fetch_url": dict.fromkeys(["type", "max_urls", "total_budget_tokens"]),
}
MESSAGE_ITEM = dict.fromkeys(["type", "role", "content"])
REQUEST = {
    **dict.fromkeys(
        [
            "background",
            "effort",
            "instructions",
            "language_preference",
            "max_output_tokens",
            "max_steps",
            "max_tool_calls",
            "metadata",
            "model",
            "models",
            "parallel_tool_calls",
            "preset",
            "previous_response_id",
            "profile",
            "prompt_cache_key",
            "response_format",
            "service_tier",
            "skills",
            "step_budget_reminder",
            "store",
            "stream",
            "temperature",
            "tool_choice",
            "top_p",
            "truncation",
        ]
    ),
    "input": lambda item: MESSAGE_ITEM if item.get("type", "message") == "message" else _ANY,
    "tools": lambda tool: TOOLS.get(tool.get("type")),
    "reasoning": {"effort": _ANY},
    "stream_options": {"include_usage": _ANY},
    "text": {},  # accepted, but OpenAI's text.format is not: top-level response_format instead
}


def unknown_field(value: Any, schema: Any = REQUEST) -> str | None:
    """The first field the strict decoder rejects, in document order, or None."""
    if isinstance(value, list):
        return next((f for f in (unknown_field(v, schema) for v in value) if f), None)
    if not isinstance(value, dict):
        return None
    if callable(schema):
        schema = schema(value)
    if schema is None:
        return None
    for key, sub in value.items():
        if key not in schema:
            return key
        if found := unknown_field(sub, schema[key]):
            return found
    return None


# -- Error replies ----------------------------------------------------------------------------------------------
# The envelope: {"error": {"message", "type", "code": <int, = HTTP status>, "param"?}} (migration skill).


def pplx_error(
    status: int, message: str, type_: str, *, param: str | None = None, headers: dict[str, str] | None = None
) -> Reply:
    error: dict[str, Any] = {"message": message, "type": type_, "code": status}
    if param is not None:
        error["param"] = param
    return Reply(body={"error": error}, status=status, headers=headers or {})


def unauthorized() -> Reply:
    """Missing or wrong key: the body observed live on /v1/agent, /v1/responses and /v1/models."""
    return pplx_error(
        401, "Invalid API key provided. Ensure your API key is correct and active.", "invalid_api_key"
    )


def unknown_field_error(name: str) -> Reply:
    """Verbatim from Perplexity's migration skill (request-mapping.md)."""
    return pplx_error(
        400, f'invalid request body: json: unknown field "{name}"', "invalid_request", param=name
    )


def invalid_model(model: str) -> Reply:
    """Type from the skill's error table; the changelog calls it a "model not supported" error (wording unverified)."""
    return pplx_error(400, f"model not supported: {model}", "invalid_model")


def invalid_request(message: str) -> Reply:
    return pplx_error(400, message, "invalid_request")


def rate_limited(retry_after: str = "2") -> Reply:
    """429 with ``request_rate_limit_exceeded`` (skill); the header names beyond retry-after are unverified."""
    headers = {
        "retry-after": retry_after,
        "x-ratelimit-limit-requests": "50",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": f"{retry_after}s",
    }
    return pplx_error(
        429, "Rate limit exceeded, please try again later.", "request_rate_limit_exceeded", headers=headers
    )


def server_error() -> Reply:
    return pplx_error(500, "internal error", "internal_error")


# -- Search results ---------------------------------------------------------------------------------------------
# Non-ASCII on purpose. Shaped like the quickstart's captured results: some snippets are "", one result has no
# "source", last_updated is a datetime with or without microseconds, date may be null.
SOURCES = [
    (
        "Parc Astérix – Wikipédia",
        "https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix",
        "Le Parc Astérix est un parc à thème situé à Plailly…",
        "2026-03-02",
    ),
    (
        "Disneyland Paris : chiffres clés",
        "https://www.disneylandparis-news.com/chiffres-cles",
        "",
        "2026-01-15",
    ),
    (
        "Europe's theme parks: 2025 attendance",
        "https://www.themeparks-europe.example/attendance-2025",
        "Europe's top 20 parks welcomed 68 million guests…",
        "2026-02-10",
    ),
    (
        "Les parcs d’attractions battent des records",
        "https://www.lesechos.fr/tourisme/parcs-records-2025",
        "Portée par les grands parcs, la fréquentation…",
        "2025-12-18",
    ),
    ("Futuroscope : bilan de la saison", "https://www.futuroscope.com/fr/presse/bilan-saison", "", None),
    (
        "Amusement parks in France – statistics",
        "https://www.statista.com/topics/parcs-france/",
        "Revenue of amusement parks in France…",
        "2025-11-30",
    ),
]
FETCHED = [
    (
        "Parc Astérix – Wikipédia",
        "https://fr.wikipedia.org/wiki/Parc_Ast%C3%A9rix",
        "Le Parc Astérix a accueilli 2,8 millions de visiteurs en 2025…",
    ),
]
SEARCH_TOKENS = {"low": 1200, "medium": 2400, "high": 4800}  # result text the model reads, billed as input


def marker(style: str, n: int) -> str:
    return style.replace("n", str(n))


def citations(text: str) -> list[tuple[int, int, int]]:
    """(result id, start, end) of every [n] / [web:n] marker in text."""
    return [(int(m.group(1)), m.start(), m.end()) for m in re.finditer(r"\[(?:web:)?(\d+)\]", text)]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(str(p.get("text", "")) for p in content or [] if isinstance(p, dict))


def _round(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def _rid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4()}"


class FakePerplexityAgent(ScriptedFake):
    """``base_url`` is the root the ``perplexityai`` SDK takes; the ``openai`` SDK takes ``openai_base_url``."""

    def __init__(self) -> None:
        super().__init__()
        self._defaults()

    def _defaults(self) -> None:
        self.api_key: str | None = None  # None: any Bearer token is accepted
        self.search_when_offered = False  # an offered, unforced web_search tool: the model does not search
        self.models_require_auth = True  # the docs say GET /v1/models needs no key; live it has answered 401
        self.runs: list[dict[str, Any]] = []  # what each default reply resolved to and searched
        self._last_run: dict[str, Any] = {}
        self.paths: list[str] = []  # /v1/agent or /v1/responses, per request

    def reset(self) -> None:
        super().reset()
        self._defaults()

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def routes(self) -> list[Route]:
        return [
            Route("/v1/agent", self._create, methods=["POST"]),
            Route("/v1/responses", self._create, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ]

    # -- HTTP ---------------------------------------------------------------------------------------------------

    async def _create(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            return JSONResponse(invalid_request(f"invalid request body: {exc}").body, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse(
                invalid_request("invalid request body: not a JSON object").body, status_code=400
            )
        self.paths.append(request.url.path)
        return await self.answer(request, self.default_reply)

    async def _models(self, request: Request) -> Response:
        if self.models_require_auth and not self._authorized(dict(request.headers.items())):
            reply = unauthorized()
            return JSONResponse(reply.body, status_code=reply.status)
        data = [
            {"id": slug, "object": "model", "created": 1767225600, "owned_by": slug.split("/")[0]}
            for slug in sorted(MODEL_RATES)
        ]
        return JSONResponse({"object": "list", "data": data})

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and bool(token) and self.api_key in (None, token)

    # -- The checks, in the order the API applies them, then an answer ---------------------------------------

    def default_reply(self, req: dict[str, Any], headers: dict[str, str]) -> Reply:
        if not self._authorized(headers):
            return unauthorized()
        if field := unknown_field(req):
            return unknown_field_error(field)
        if req.get("stream") or req.get("background"):
            return invalid_request("stream and background runs are not supported by this fake")
        inputs = req.get("input")
        if inputs is None:
            return invalid_request("validation failed: input is required")
        if inputs in ([], ""):
            return invalid_request("validation failed: input array cannot be empty")
        for tool in req.get("tools") or []:
            for key, allowed in (("search_type", SEARCH_FEES), ("search_context_size", SEARCH_TOKENS)):
                if tool.get("type") == "web_search" and tool.get(key, next(iter(allowed))) not in allowed:
                    return pplx_error(400, f"invalid {key}: {tool[key]!r}", "invalid_parameter", param=key)
        resolved = self.resolve(req)
        if isinstance(resolved, Reply):
            return resolved
        model, name = resolved
        if model.startswith("anthropic/") and name is None and req.get("max_output_tokens") is None:
            return invalid_request("max_output_tokens is required when using Anthropic models")
        body = self.build_response(req)
        self.runs.append(self._last_run)
        return Reply(body=body)

    @staticmethod
    def resolve(req: dict[str, Any]) -> tuple[str, str | None] | Reply:
        """(the model that serves the run, the canonical preset name) or the refusal. ``effort`` wins over the
        deprecated ``preset``; ``models`` (a fallback chain of at most 5) over ``model``; either over the preset's
        model. A pinned effort ``fast@<version>`` resolves like ``fast``."""
        preset = req.get("effort") or req.get("preset")
        name = None
        if preset is not None:
            name = PRESET_ALIASES.get(str(preset).split("@")[0], str(preset).split("@")[0])
            if name not in PRESETS:
                return invalid_request(f"invalid preset: {preset}")  # wording unverified
        chain = req.get("models")
        if chain is not None:
            if not isinstance(chain, list) or not 1 <= len(chain) <= 5:
                return invalid_request("validation failed: models must list 1 to 5 models")
            served = next((m for m in chain if m in MODEL_RATES), None)
            return (served, name) if served else invalid_model(str(chain[-1]))
        model = req.get("model")
        if model is None:
            if name is None:
                return invalid_request(
                    "validation failed: model is required when neither models nor preset is set"
                )
            return PRESETS[name].model, name
        return (model, name) if model in MODEL_RATES else invalid_model(str(model))

    # -- Bodies ---------------------------------------------------------------------------------------------------

    def build_response(
        self,
        req: dict[str, Any],
        *,
        text: str | None = None,
        search: bool | None = None,
        searches: int | None = None,
        fetch: bool | None = None,
        citation: str | None = None,
        cached_tokens: int = 0,
    ) -> dict[str, Any]:
        """A complete ``completed`` response. When the run searches: ``searches`` ``search_results`` items (ids
        continue across them), an optional ``fetch_url_results`` item, then the message citing ids with
        ``citation`` markers ("[n]" or "[web:n]"). ``annotations`` stay empty, as they usually are. ``search``
        forces (True) or suppresses (False) the search, which needs a web_search tool (offered or a preset's);
        ``fetch`` likewise adds the fetch_url_results item."""
        resolved = self.resolve(req)
        if isinstance(resolved, Reply):
            raise ValueError(f"not a valid request: {resolved.body}")
        model, name = resolved
        preset = PRESETS.get(name) if name else None
        tools = self._tools(req, preset)
        web = next((t for t in tools if t.get("type") == "web_search"), None)
        searched = self._searches(req, preset, web) if search is None else search and web is not None
        instructions = req.get("instructions", PRESET_PROMPT if preset else None)
        items = (
            req["input"] if isinstance(req["input"], list) else [{"role": "user", "content": req["input"]}]
        )
        messages = [i for i in items if isinstance(i, dict) and i.get("type", "message") == "message"]
        prompt = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        run: dict[str, Any] = {
            "model": model,
            "preset": name,
            "instructions": req.get("instructions"),
            "system": [_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")],
            "searches": [],
        }
        self._last_run = run

        output: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        input_tokens = sum(word_tokens(_text(m.get("content"))) for m in messages)
        input_tokens += word_tokens(instructions or "") + 8
        search_types: list[str] = []
        if searched and web is not None:
            search_type = web.get("search_type") or (preset.search_type if preset else "web")
            for n in range(searches or (preset.searches if preset else 1)):
                queries = [prompt[:60]] if n == 0 else [f"{prompt[:40]} chiffres {2025 + n}"]
                batch = [self._result(len(results) + k, (n * 3 + k) % len(SOURCES)) for k in range(3)]
                results += batch
                output.append({"queries": queries, "results": batch, "type": "search_results"})
                run["searches"].append(
                    {
                        "queries": queries,
                        "search_type": search_type,
                        "user_location": web.get("user_location"),
                        "search_context_size": web.get("search_context_size"),
                        "filters": web.get("filters"),
                    }
                )
                input_tokens += SEARCH_TOKENS[web.get("search_context_size") or "medium"]
                search_types.append(search_type)
        if fetch is None:  # fetched when forced: tool_choice {"type": "fetch_url"} with the tool offered
            choice = req.get("tool_choice")
            forced = isinstance(choice, dict) and choice.get("type") == "fetch_url"
            offered = any(t.get("type") == "fetch_url" for t in tools)
            fetch = forced and offered and req.get("max_tool_calls") != 0
        fetches = 1 if fetch else 0
        if fetch:
            output.append(
                {
                    "contents": [{"snippet": s, "title": t, "url": u} for t, u, s in FETCHED],
                    "type": "fetch_url_results",
                }
            )
            input_tokens += 1500
        style = citation or (preset.citation if preset else "[n]")
        body_text = text if text is not None else self._answer(prompt, results, style)

        reasoning = req.get("reasoning") or ({"effort": preset.effort} if preset else None)
        reasoning_tokens = REASONING_TOKENS.get((reasoning or {}).get("effort", "none"), 0)
        limit = req.get("max_output_tokens")
        limit = max(16, limit) if limit is not None else (preset.max_output_tokens if preset else None)
        incomplete = None
        if limit is not None and reasoning_tokens + word_tokens(body_text) > limit:
            incomplete = {"reason": "max_output_tokens"}
            reasoning_tokens = min(reasoning_tokens, limit)
            body_text = " ".join(body_text.split()[: max(0, limit - reasoning_tokens)])
        if body_text or incomplete is None:
            output.append(
                {
                    "content": [
                        {"annotations": [], "logprobs": [], "text": body_text, "type": "output_text"}
                    ],
                    "id": _rid("msg"),
                    "role": "assistant",
                    "status": "incomplete" if incomplete else "completed",
                    "type": "message",
                }
            )
        output_tokens = (word_tokens(body_text) if body_text else 0) + reasoning_tokens
        service_tier = req.get("service_tier") or (preset.service_tier if preset else "default")
        usage = self._usage(
            model,
            service_tier,
            input_tokens,
            output_tokens,
            reasoning_tokens,
            cached_tokens,
            search_types,
            fetches,
        )
        now = int(time.time())
        body: dict[str, Any] = {
            "background": False,
            "completed_at": None if incomplete else now,
            "created_at": now,
            "error": None,
            "frequency_penalty": 0,
            "id": _rid("resp"),
            "incomplete_details": incomplete,
            "instructions": instructions,
            "max_output_tokens": limit,
            "max_tool_calls": req.get("max_tool_calls"),
            "metadata": req.get("metadata") or {},
            "model": model,
            "object": "response",
            "output": output,
            "parallel_tool_calls": req.get("parallel_tool_calls", True),
            "presence_penalty": 0,
            "previous_response_id": req.get("previous_response_id"),
            "prompt_cache_key": req.get("prompt_cache_key"),
            "reasoning": reasoning,
            "safety_identifier": None,
            "service_tier": service_tier,
            "status": "incomplete" if incomplete else "completed",
            "store": req.get("store", True),
            "temperature": req.get("temperature", 1),
            "text": {"format": {"type": "text"}},
            "tool_choice": req.get("tool_choice", "auto"),
            "tools": tools,
            "top_logprobs": 0,
            "top_p": req.get("top_p", 1),
            "truncation": req.get("truncation", "disabled"),
            "usage": usage,
            "user": None,
        }
        if name:
            body["effort"] = body["preset"] = f"{name}@{PRESET_VERSION}"
        return body

    @staticmethod
    def _tools(req: dict[str, Any], preset: Preset | None) -> list[dict[str, Any]]:
        """The request's tools merged per tool type into the preset's (a listed tool overrides the preset's tool
        of that type only; a preset's tools cannot be removed)."""
        tools = [dict(t) for t in req.get("tools") or []]
        listed = {t.get("type") for t in tools}
        return [{"type": t} for t in (preset.tools if preset else ()) if t not in listed] + tools

    def _searches(self, req: dict[str, Any], preset: Preset | None, web: dict[str, Any] | None) -> bool:
        if web is None or req.get("max_tool_calls") == 0:
            return False
        choice = req.get("tool_choice", "auto")
        if choice == "none":
            return False
        if choice == "required" or (
            isinstance(choice, dict) and choice.get("type") in ("web_search", "required")
        ):
            return True
        return preset is not None or self.search_when_offered  # presets' prompts make the model search

    @staticmethod
    def _result(index: int, source: int) -> dict[str, Any]:
        title, url, snippet, date = SOURCES[source]
        result: dict[str, Any] = {
            "date": date,
            "id": index + 1,
            "last_updated": f"{date or '2026-11-20'}T08:15:02" + (".651546" if index % 2 else ""),
            "snippet": snippet,
            "source": "web",
            "title": title,
            "url": url,
        }
        if index % 5 == 4:
            del result["source"]  # as in the quickstart's captured results
        return result

    @staticmethod
    def _answer(prompt: str, results: list[dict[str, Any]], style: str) -> str:
        if not results:
            return f"Sur « {prompt[:60]} » : la fréquentation des parcs français a progressé en 2025."
        first, second, last = results[0]["id"], results[1]["id"], results[-1]["id"]
        cross = results[3]["id"] if len(results) > 3 else second  # a result of the second search_results item
        return (
            f"Sur « {prompt[:60]} », la fréquentation des parcs a atteint un record en 2025"
            f"{marker(style, first)}{marker(style, cross)}. Disneyland Paris reste le premier site payant "
            f"d’Europe{marker(style, second)}. Le Parc Astérix investit dans de nouvelles attractions"
            f"{marker(style, last)}."
        )

    @staticmethod
    def _usage(
        model: str,
        service_tier: str,
        input_tokens: int,
        output_tokens: int,
        reasoning_tokens: int,
        cached_tokens: int,
        search_types: list[str],
        fetches: int,
    ) -> dict[str, Any]:
        """Tokens and ``cost``: ``input_cost`` prices the uncached input, ``cache_read_cost`` the cached part,
        ``tool_calls_cost`` the tool invocations (cache and tool costs only when non-zero); ``total_cost`` is their
        sum. Each part is rounded to 1e-5 USD, as the API reports them."""
        rate_in, rate_out, rate_cache = MODEL_RATES[model]
        scale = Decimal(PRIORITY_MULTIPLIER if service_tier == "priority" else 1) / Decimal(1_000_000)
        parts = {
            "input_cost": _round((input_tokens - cached_tokens) * rate_in * scale),
            "cache_read_cost": _round(cached_tokens * rate_cache * scale),
            "output_cost": _round(output_tokens * rate_out * scale),
            "tool_calls_cost": sum((SEARCH_FEES[t] for t in search_types), Decimal(0))
            + fetches * FETCH_URL_FEE,
        }
        cost: dict[str, Any] = {"currency": "USD"}
        cost.update({k: float(v) for k, v in parts.items() if v or k in ("input_cost", "output_cost")})
        cost["total_cost"] = float(sum(parts.values()))  # the sum of the rounded parts
        details: dict[str, Any] = {}
        if search_types:  # billed as "search_web" whatever the search type: billing names are not tool types
            details["search_web"] = {"invocation": len(search_types)}
        if fetches:
            details["fetch_url"] = {"invocation": fetches}
        usage: dict[str, Any] = {
            "cost": cost,
            "input_tokens": input_tokens,
            "input_tokens_details": {
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cached_tokens,
                "cached_tokens": cached_tokens,
            },
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        }
        if details:
            usage["tool_calls_details"] = details
        return usage

    # -- The ugly cases ---------------------------------------------------------------------------------------------

    def failed_response(
        self,
        req: dict[str, Any],
        *,
        status: str = "failed",
        code: str = "upstream_error",
        message: str = "The model provider returned an error.",
    ) -> dict[str, Any]:
        """HTTP 200 with ``status`` "failed" (or "cancelled") and ``error`` {code, message, type}: no output,
        nothing billed. The skill documents the shape; the code and message here are unverified examples."""
        body = self.build_response(req, search=False)
        usage = self._usage(body["model"], "default", 0, 0, 0, 0, [], 0)
        body.update(
            status=status,
            completed_at=None,
            output=[],
            error={"code": code, "message": message, "type": "server_error"},
            usage=usage,
        )
        return body

    def incomplete_response(
        self, req: dict[str, Any], *, reason: str = "max_output_tokens", text: str = "La fréquentation"
    ) -> dict[str, Any]:
        """``status: incomplete`` with ``incomplete_details.reason`` and what was written before the stop."""
        body = self.build_response(req, text=text)
        body.update(status="incomplete", completed_at=None, incomplete_details={"reason": reason})
        for item in body["output"]:
            if item["type"] == "message":
                item["status"] = "incomplete"
        return body

    @staticmethod
    def without_cost(body: dict[str, Any]) -> dict[str, Any]:
        """The answer as older API versions and gateways send it: ``usage`` without ``cost``."""
        body["usage"].pop("cost", None)
        return body

    @staticmethod
    def with_annotations(body: dict[str, Any]) -> dict[str, Any]:
        """Fill ``annotations`` with ``url_citation`` entries for each citation marker (usually they are empty).
        Offsets are code points spanning the marker (unverified: the docs only say url/title/start/end)."""
        by_id = {
            r["id"]: r for item in body["output"] if item["type"] == "search_results" for r in item["results"]
        }
        parts = [p for item in body["output"] if item["type"] == "message" for p in item["content"]]
        for part in parts:
            part["annotations"] = [
                {
                    "end_index": end,
                    "start_index": start,
                    "title": by_id[n]["title"],
                    "type": "url_citation",
                    "url": by_id[n]["url"],
                }
                for n, start, end in citations(part["text"])
                if n in by_id
            ]
        return body
