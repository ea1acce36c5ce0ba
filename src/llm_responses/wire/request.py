"""Validating one posted task, field by field, into a normalized ``TaskRequest``.

DataForSEO reports problems per task (``40501 Invalid Field: '<name>'.``) inside HTTP 200, so a task is a
plain JSON object checked here by hand rather than by a pydantic model whose errors would have to be
translated back. ``null`` means "not provided" (the official client sends every unset field as null).
The rules come from DataForSEO's task_post and live pages (their field tables); what differs between engines
(``chat_gpt``, ``claude``, ``gemini``, ``perplexity``) is in ``wire.engines``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
from iso3166 import countries_by_alpha2

from llm_responses.errors import ApiError, StatusCode
from llm_responses.wire.engines import CHAT_GPT, ENGINES, Engine
from llm_responses.wire.envelope import base_data

MAX_PROMPT_CHARS = 500
MAX_CHAIN_ITEMS = 10
MAX_TAG_CHARS = 255
MAX_CITY_CHARS = 100
MAX_URL_CHARS = 2048
MAX_OUTPUT_TOKENS = 4096
DEFAULT_OUTPUT_TOKENS = 2048
WEBHOOK_FIELDS = frozenset({"postback_url", "pingback_url"})


# computed once: validation asks for them for every task of every post
_LIVE = {se: e.request_fields for se, e in ENGINES.items()}
_TASK_POST = {se: fields | WEBHOOK_FIELDS for se, fields in _LIVE.items()}


def task_post_fields(engine: Engine) -> frozenset[str]:
    return _TASK_POST[engine.se]


def live_fields(engine: Engine) -> frozenset[str]:
    return _LIVE[engine.se]


class ModelInfo(Protocol):
    """What validation needs to know about a model (the catalog entry, a frozen dataclass, satisfies it)."""

    @property
    def model_id(self) -> str: ...  # resolved dated version
    @property
    def reasoning(self) -> bool: ...
    @property
    def can_reason(self) -> bool: ...  # use_reasoning is taken
    @property
    def web_search_supported(self) -> bool: ...
    @property
    def task_post_supported(self) -> bool: ...
    @property
    def location_supported(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: str  # "user" | "ai"
    message: str


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """A validated task with defaults applied; what the worker and the provider read."""

    user_prompt: str
    model_name: str  # as posted (echoed in data)
    model_id: str  # resolved dated version
    reasoning: bool  # the model reasons by itself (chat_gpt's o-series, Gemini Pro) or use_reasoning asked
    max_output_tokens: int
    temperature: float | None  # None: not sent (reasoning models, Claude with top_p or use_reasoning)
    top_p: float | None
    web_search: bool = False
    force_web_search: bool = False
    country: str | None = None
    city: str | None = None
    system_message: str | None = None
    message_chain: tuple[ChatTurn, ...] = field(default_factory=tuple)
    tag: str | None = None
    postback_url: str | None = None
    pingback_url: str | None = None
    se: str = "chat_gpt"
    use_reasoning: bool = False  # as posted (Claude, Gemini)

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["message_chain"] = [{"role": t.role, "message": t.message} for t in self.message_chain]
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TaskRequest:
        chain = tuple(ChatTurn(t["role"], t["message"]) for t in raw.get("message_chain") or ())
        return cls(**{**raw, "message_chain": chain})


# ``data`` echoes what was posted; a value larger than any valid one is left out, so a 10 MB prompt is
# answered with a few hundred bytes, not with itself (every valid field fits: 10 turns x 500 characters)
MAX_ECHO_CHARS = 8192
MAX_ECHO_FIELDS = 32


def echo(task: dict[str, Any], allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """The posted parameters as ``data`` shows them: posted order, nulls dropped, and nothing oversized:
    only ``allowed`` names (when given), values no larger than the largest valid one."""
    out: dict[str, Any] = {}
    for key, value in task.items():
        if len(out) >= MAX_ECHO_FIELDS:
            break
        if value is None or (allowed is not None and key not in allowed) or _oversized(value):
            continue
        out[key] = value
    return out


def _oversized(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > MAX_ECHO_CHARS
    if isinstance(value, list | dict):
        return len(value) > MAX_CHAIN_ITEMS * 2 or len(orjson.dumps(value)) > MAX_ECHO_CHARS * 4
    return False


def validate_task(
    task: Any,
    *,
    allowed: frozenset[str],
    resolve_model: Callable[[str], ModelInfo | None],
    for_task_post: bool,
    engine: Engine = CHAT_GPT,
) -> TaskRequest:
    """Check one task against ``engine``'s rules; raise ``ApiError`` naming the first offending field."""
    if not isinstance(task, dict):
        raise ApiError(StatusCode.POST_DATA_INVALID)
    unknown = [k for k in task if k not in allowed]
    if unknown:
        names = [k if len(k) <= 64 else k[:64] + "…" for k in unknown[:10]]
        raise ApiError.unknown_fields(names + (["…"] if len(unknown) > 10 else []))

    def get(name: str) -> Any:
        return task.get(name)

    user_prompt = _text(get("user_prompt"), "user_prompt", MAX_PROMPT_CHARS, required=True)
    model_name = _text(get("model_name"), "model_name", 200, required=True)
    model = resolve_model(model_name)
    if model is None or (for_task_post and not model.task_post_supported):
        raise ApiError.invalid_field("model_name")
    use_reasoning = _flag(get("use_reasoning"), "use_reasoning")
    if use_reasoning and not (model.reasoning or model.can_reason):  # e.g. gemini-2.0-flash cannot think
        raise ApiError.invalid_field("use_reasoning")
    reasoning = model.reasoning or use_reasoning

    max_tokens = get("max_output_tokens")
    if max_tokens is None:
        max_tokens = DEFAULT_OUTPUT_TOKENS
    else:
        floor = engine.min_output_tokens_reasoning if reasoning else engine.min_output_tokens
        if not _is_int(max_tokens) or not floor <= max_tokens <= MAX_OUTPUT_TOKENS:
            raise ApiError.invalid_field("max_output_tokens")

    temperature, top_p = _sampling(get("temperature"), get("top_p"), engine, reasoning)

    web_search = _flag(get("web_search"), "web_search") if engine.web_search_switch else True
    if web_search and not model.web_search_supported and engine.web_search_switch:
        raise ApiError.invalid_field("web_search")
    force = _flag(get("force_web_search"), "force_web_search")
    if force and (not web_search or reasoning):
        raise ApiError.invalid_field("force_web_search")

    country = get("web_search_country_iso_code")
    if country is not None:
        known = engine.countries if engine.countries is not None else countries_by_alpha2
        if (
            not isinstance(country, str)
            or not web_search
            or not model.location_supported
            or country.upper() not in known
        ):
            raise ApiError.invalid_field("web_search_country_iso_code")
        country = country.upper()
    city = get("web_search_city")
    if city is not None:
        city = _text(city, "web_search_city", MAX_CITY_CHARS, required=True)
        if country is None or not model.location_supported:
            raise ApiError.invalid_field("web_search_city")

    system_message = _text(get("system_message"), "system_message", MAX_PROMPT_CHARS)
    chain = _message_chain(get("message_chain"), alternating=engine.alternating_chain)
    tag = _text(get("tag"), "tag", MAX_TAG_CHARS, allow_empty=True)
    postback = _url(get("postback_url"), "postback_url") if for_task_post else None
    pingback = _url(get("pingback_url"), "pingback_url") if for_task_post else None

    return TaskRequest(
        user_prompt=user_prompt,
        model_name=model_name,
        model_id=model.model_id,
        reasoning=reasoning,
        max_output_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        web_search=web_search,
        force_web_search=force,
        country=country,
        city=city,
        system_message=system_message,
        message_chain=chain,
        tag=tag,
        postback_url=postback,
        pingback_url=pingback,
        se=engine.se,
        use_reasoning=use_reasoning,
    )


@dataclass(frozen=True, slots=True)
class PostedTask:
    """One posted task, read once, as the service needs it: the ``data`` its answer echoes, and either the
    validated request (with the form it is stored in) or the error naming the offending field."""

    data: dict[str, Any]
    request: TaskRequest | None
    error: ApiError | None

    @property
    def request_json(self) -> str:
        """The stored form a worker reads back (``TaskRequest.from_json``)."""
        assert self.request is not None, "a refused task is never stored"
        return orjson.dumps(self.request.to_json()).decode()


def read_task(
    raw: Any, engine: Engine, *, resolve_model: Callable[[str], ModelInfo | None], for_task_post: bool
) -> PostedTask:
    """A posted task's echo and its validation (``validate_task`` against the endpoint's fields) in one
    call: an invalid task still has its ``data``."""
    data = base_data(engine.se)
    if isinstance(raw, dict):
        data.update(echo(raw, task_post_fields(engine)))
    try:
        request = validate_task(
            raw,
            allowed=task_post_fields(engine) if for_task_post else live_fields(engine),
            resolve_model=resolve_model,
            for_task_post=for_task_post,
            engine=engine,
        )
    except ApiError as exc:
        return PostedTask(data, None, exc)
    return PostedTask(data, request, None)


def _sampling(
    temperature: Any, top_p: Any, engine: Engine, reasoning: bool
) -> tuple[float | None, float | None]:
    """temperature and top_p as sent upstream: refused when the model reasons, defaults otherwise; where
    the engine takes only one of them (Claude), both is an error on ``top_p`` and either one alone wins."""
    t = _unit_number(temperature, "temperature", engine.temperature_max, reasoning)
    p = _unit_number(top_p, "top_p", 1.0, reasoning)
    if reasoning:
        return None, None
    if engine.sampling_exclusive:
        if t is not None and p is not None:
            raise ApiError.invalid_field("top_p")
        if p is not None:
            return None, p
        return (engine.default_temperature if t is None else t), None
    return (
        engine.default_temperature if t is None else t,
        engine.default_top_p if p is None else p,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, name: str, limit: int, *, required: bool = False, allow_empty: bool = False) -> Any:
    if value is None:
        if required:
            raise ApiError.invalid_field(name)
        return None
    if not isinstance(value, str) or len(value) > limit or (not allow_empty and not value.strip()):
        raise ApiError.invalid_field(name)
    return value


def _unit_number(value: Any, name: str, upper: float, reasoning: bool) -> float | None:
    if value is None:
        return None
    if reasoning or isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError.invalid_field(name)
    if not 0 <= value <= upper:
        raise ApiError.invalid_field(name)
    return float(value)


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError.invalid_field(name)
    return value


def _message_chain(value: Any, *, alternating: bool = False) -> tuple[ChatTurn, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_CHAIN_ITEMS:
        raise ApiError.invalid_field("message_chain")
    turns = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"role", "message"}:
            raise ApiError.invalid_field("message_chain")
        role, message = item.get("role"), item.get("message")
        if role not in ("user", "ai") or not isinstance(message, str):
            raise ApiError.invalid_field("message_chain")
        if not message.strip() or len(message) > MAX_PROMPT_CHARS:
            raise ApiError.invalid_field("message_chain")
        turns.append(ChatTurn(role, message))
    if alternating:  # user, ai, user, ai ...: and then user_prompt, a user turn again
        expected = ["user" if i % 2 == 0 else "ai" for i in range(len(turns))]
        if [t.role for t in turns] != expected or len(turns) % 2:
            raise ApiError.invalid_field("message_chain")
    return tuple(turns)


def _url(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise ApiError.invalid_field(name)
    try:  # urlsplit raises on a bad IPv6 literal ("http://[::1"), a stray "]", NFKC-unsafe hosts ("℀.com")
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError:
        ok = False
    if not ok:
        raise ApiError.invalid_field(name)
    return value
