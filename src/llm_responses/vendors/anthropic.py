"""Anthropic: Claude through the Messages API (``POST /v1/messages``) with the official ``anthropic`` SDK.
Serves ``claude``.

Translation (docs.anthropic.com, "Messages", "Extended thinking", "Web search tool"): DataForSEO's
``use_reasoning`` becomes
extended thinking (a 1,024-token budget, or adaptive thinking with summaries on models that only have
that), web search the server-side ``web_search_20250305`` tool with the caller's country and city,
``force_web_search`` a forced ``tool_choice``. The answer's text runs are joined into one text, with a
paragraph break where a search split them; each citation gets the code-point span of the run that cites
it (Anthropic's citations carry no offsets). ``server_tool_use`` queries are the fan-out queries;
``usage.server_tool_use.web_search_requests`` is what is billed for search, never a count of blocks.

The version header is pinned to ``2023-06-01``: on the SDK's default version every sampling parameter is
a 400, and DataForSEO's Claude endpoint takes ``temperature`` (default 0.7) and ``top_p``. Models that
deprecated sampling (Opus 4.7+, Sonnet 5, ...) are sent none. Retries are ours (``post_json``'s rules:
429, 529 overloaded and 5xx, waiting what ``retry-after`` asks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx2
import orjson
from pydantic import AliasChoices, Field

from llm_responses.core import Citation, LlmRequest, LlmResult, Provider, TextPart
from llm_responses.errors import ErrorKind, ProviderError
from llm_responses.providers.checks import require_answer, status_kind
from llm_responses.providers.retrying import retry_after, retrying
from llm_responses.vendors.vendor import Vendor, VendorSettings

if TYPE_CHECKING:
    import anthropic

BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
THINKING_BUDGET = 1024  # DataForSEO's rule "use_reasoning needs max_output_tokens >= 1025" is this budget
WEB_SEARCH_TOOL = "web_search_20250305"  # every web-search model has it; only the blocks mapped here
MAX_SEARCHES = 5
MAX_CONTINUATIONS = 5  # "pause_turn": the server's tool loop paused; resume at most this often
# models that reject temperature/top_p ("deprecated for this model") and budgeted thinking
NO_SAMPLING = ("claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-opus-5", "claude-fable")
INCOMPLETE = {"max_tokens": "max_output_tokens", "refusal": "content_filter"}
# a 400's message names the parameter it refused: ours, when it is one the caller set
PARAMS = ("temperature", "top_p", "max_tokens", "thinking", "messages", "system")


class AnthropicProvider:
    hosted_search = True
    thinking_budget = (
        THINKING_BUDGET  # what a reasoning task adds to the output budget (Runner.output_budget)
    )

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float = 110.0,
        max_retries: int = 2,
        name: str = "anthropic",
    ) -> None:
        import anthropic  # here, not at the top: the SDK's import is 0.8 s every CLI command would pay

        self.name = name
        self._retries = max_retries
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key or "not-needed",
            base_url=base_url or BASE_URL,
            timeout=timeout,
            max_retries=0,
            default_headers={"anthropic-version": API_VERSION},
            http_client=anthropic.DefaultAioHttpClient(timeout=timeout),
        )

    async def generate(self, request: LlmRequest) -> LlmResult:
        body = build_params(request)
        responses = [await self._post(body)]
        while responses[-1].get("stop_reason") == "pause_turn" and len(responses) <= MAX_CONTINUATIONS:
            # the documented resume: the same messages plus the paused turn as the assistant's
            body = {
                **body,
                "messages": [*body["messages"], {"role": "assistant", "content": _content(responses)}],
            }
            responses.append(await self._post(body))
        result = parse_messages(responses, web_search=request.web_search, fallback_model=request.model)
        require_answer(result, self.name)
        return result

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        return await retrying(lambda: self._post_once(body), self._retries)

    async def _post_once(self, body: dict[str, Any]) -> dict[str, Any]:
        import anthropic

        try:
            raw = await self._client.post("/v1/messages", content=orjson.dumps(body), cast_to=httpx2.Response)
            parsed = orjson.loads(raw.content)
        except orjson.JSONDecodeError as exc:
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: non-JSON response body") from exc
        except anthropic.APIStatusError as exc:
            raise map_status_error(exc, self.name) from exc
        except anthropic.APITimeoutError as exc:
            raise ProviderError(ErrorKind.TIMEOUT, f"{self.name}: request timed out") from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: connection error: {exc}") from exc
        if not isinstance(parsed, dict) or not isinstance(parsed.get("content"), list):
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{self.name}: the body is not a Message")
        return parsed

    async def aclose(self) -> None:
        await self._client.close()


def build_params(r: LlmRequest) -> dict[str, Any]:
    """The Messages request for one task."""
    messages = [{"role": role, "content": text} for role, text in r.history]
    messages.append({"role": "user", "content": r.user_prompt})
    body: dict[str, Any] = {"model": r.model, "max_tokens": r.max_output_tokens, "messages": messages}
    if r.system_message:
        body["system"] = r.system_message
    adaptive_only = r.model.startswith(NO_SAMPLING)
    if r.reasoning:
        body["thinking"] = (
            {"type": "adaptive", "display": "summarized"}
            if adaptive_only
            else {"type": "enabled", "budget_tokens": min(THINKING_BUDGET, max(r.max_output_tokens - 1, 1))}
        )
    elif not adaptive_only:
        if r.temperature is not None:
            body["temperature"] = r.temperature
        if r.top_p is not None:
            body["top_p"] = r.top_p
    if r.web_search:
        tool: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": "web_search", "max_uses": MAX_SEARCHES}
        if r.country:
            tool["user_location"] = {"type": "approximate", "country": r.country}
            if r.city:
                tool["user_location"]["city"] = r.city
        body["tools"] = [tool]
        if r.force_web_search:
            body["tool_choice"] = {"type": "tool", "name": "web_search"}
    return body


def parse_messages(responses: list[dict[str, Any]], *, web_search: bool, fallback_model: str) -> LlmResult:
    """One ``LlmResult`` from a Message (and its ``pause_turn`` continuations, usage summed)."""
    text = ""
    citations: list[Citation] = []
    summaries: list[str] = []
    queries: list[str] = []
    after_tool = False
    for block in _content(responses):
        kind = block.get("type")
        if kind == "thinking" and block.get("thinking"):  # empty when display is "omitted"
            summaries.append(str(block["thinking"]))
        elif kind == "server_tool_use" and block.get("name") == "web_search":
            query = (block.get("input") or {}).get("query")
            if isinstance(query, str) and query and query not in queries:
                queries.append(query)
        if kind in ("server_tool_use", "web_search_tool_result"):
            after_tool = True
        elif kind == "text" and isinstance(block.get("text"), str):
            if after_tool and text and not text[-1].isspace():
                text += "\n\n"  # runs split by a search would otherwise run together
            after_tool = False
            start = len(text)
            text += block["text"]
            for c in block.get("citations") or ():
                if c.get("type") == "web_search_result_location" and c.get("url"):
                    citations.append(
                        Citation(str(c["url"]), str(c.get("title") or c["url"]), start, len(text))
                    )
    usage = _summed_usage(responses)
    searches = usage["web_search_requests"]
    last = responses[-1]
    return LlmResult(
        model=str(last.get("model") or fallback_model),
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        reasoning_tokens=usage["thinking_tokens"],
        cached_input_tokens=usage["cache_read_input_tokens"],
        cache_write_tokens=usage["cache_creation_input_tokens"],  # billed at 1.25x input (5-minute cache)
        web_search_calls=searches,
        reasoning_summaries=tuple(summaries),
        parts=(TextPart(text, tuple(citations) if web_search else ()),) if text else (),
        fan_out_queries=tuple(queries),
        incomplete_reason=INCOMPLETE.get(str(last.get("stop_reason"))),
        search_tool="web_search" if searches else "",
    )


def _content(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for r in responses for b in r.get("content") or () if isinstance(b, dict)]


def _summed_usage(responses: list[dict[str, Any]]) -> dict[str, int]:
    total = dict.fromkeys(
        (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "web_search_requests",
            "thinking_tokens",
        ),
        0,
    )
    for r in responses:
        u = r.get("usage") or {}
        # "total input tokens is the sum of input_tokens, cache_creation_input_tokens and cache_read_input_tokens"
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            total["input_tokens"] += _int(u.get(key))
        total["cache_read_input_tokens"] += _int(u.get("cache_read_input_tokens"))
        total["cache_creation_input_tokens"] += _int(u.get("cache_creation_input_tokens"))
        total["output_tokens"] += _int(u.get("output_tokens"))
        total["web_search_requests"] += _int((u.get("server_tool_use") or {}).get("web_search_requests"))
        total["thinking_tokens"] += _int((u.get("output_tokens_details") or {}).get("thinking_tokens"))
    return total


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def map_status_error(exc: anthropic.APIStatusError, name: str) -> ProviderError:
    """Anthropic's HTTP errors, classified like OpenAI's: whose fault, and whether to retry."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    kind_name = error.get("type") if isinstance(error, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    message = f"HTTP {exc.status_code}: {text or exc.message}"
    code = kind_name if isinstance(kind_name, str) else None
    kind = status_kind(exc.status_code)
    if kind is ErrorKind.FATAL:
        return ProviderError(kind, message, code=code)
    if kind is ErrorKind.UNAVAILABLE:  # 429, 529 "overloaded_error", 5xx
        return ProviderError(
            ErrorKind.UNAVAILABLE, message, code=code, retry_after=retry_after(exc.response.headers)
        )
    param = next((p for p in PARAMS if isinstance(text, str) and f"`{p}`" in text), None)
    return ProviderError(ErrorKind.INVALID_REQUEST, message, param=param, code=code)


class AnthropicSettings(VendorSettings):
    anthropic_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY", "anthropic_api_key"
        ),
    )
    anthropic_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LLM_RESPONSES_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL", "anthropic_base_url"
        ),
    )
    anthropic_timeout: float = 110.0
    anthropic_max_retries: int = 2


def build(s: AnthropicSettings) -> Provider:
    return AnthropicProvider(
        api_key=s.anthropic_api_key,
        base_url=s.anthropic_base_url,
        timeout=s.anthropic_timeout,
        max_retries=s.anthropic_max_retries,
    )


VENDOR = Vendor(
    name="anthropic",
    label="Anthropic",
    key_env="ANTHROPIC_API_KEY",
    default_base_url=BASE_URL,
    engines=frozenset({"claude"}),
    searches=True,
    configured=lambda s: bool(s.anthropic_api_key or s.anthropic_base_url),
    build=build,
    long_context_tier=False,
)
