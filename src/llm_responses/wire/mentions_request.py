"""Validating an LLM Mentions request (``/v3/ai_optimization/llm_mentions/<function>/live``) into a
``MentionsQuery``: targets, scope, filters, ordering and paging, with DataForSEO's limits (dataforseo-client
2.1.10's request models; docs.dataforseo.com/v3/ai_optimization/llm_mentions/).

Where we differ, on purpose: ``platform`` also takes our engines (``claude``, ``gemini``, ``perplexity``),
and leaving out ``location_*``/``language_*`` means every location and language, since our answers are not
US/English only (DataForSEO's default is 2840/``en``). Several targets match an answer that matches any
``include`` target and no ``exclude`` one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote_plus

from iso3166 import countries_by_name

from llm_responses.errors import ApiError, StatusCode
from llm_responses.wire.domains import normalize_domain
from llm_responses.wire.engines import ENGINES

PLATFORMS = (*ENGINES, "google")  # google: DataForSEO's AI Overviews, which we never hold
MAX_TARGETS = 10
MAX_KEYWORD_CHARS = 2000
MIN_PARTIAL_CHARS = 3  # the substring indexes (FTS5 trigram, pg_trgm) look up three characters at a time
MAX_ANSWER_ID = 2**31 - 1  # the index's ids are 32-bit integers on PostgreSQL
MAX_GROUP_KEY_CHARS = 250
MAX_FILTERS = 8
MAX_ORDER_BY = 3
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_LIST_ITEMS = 1000  # include_domains and the like
EARLIEST = "2025-08-01"
OPERATORS = frozenset(
    {
        "=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "in",
        "not_in",
        "like",
        "not_like",
        "ilike",
        "not_ilike",
        "match",
        "not_match",
    }
)

DOMAIN_SCOPES = ("any", "sources", "search_results")
KEYWORD_SCOPES = ("any", "question", "answer", "brand_entities", "fan_out_queries")

# the answer-row fields filters may name (search_mentions' filters, every initial_dataset_filters)
ROW_FIELDS = frozenset(
    {"platform", "model_name", "location_code", "language_code", "question", "answer", "ai_search_volume",
     "first_response_at", "last_response_at", "is_web_search_based"}
)  # fmt: skip
ROW_FIELD_TYPES = {
    "platform": str, "model_name": str, "location_code": int, "language_code": str, "question": str,
    "answer": str, "ai_search_volume": int, "first_response_at": "datetime", "last_response_at": "datetime",
    "is_web_search_based": bool,
}  # fmt: skip
METRIC_FIELDS = frozenset({"mentions", "total.mentions", "ai_search_volume", "total.ai_search_volume"})

_COMMON = frozenset(
    {"target", "platform", "location_name", "location_code", "language_name", "language_code", "tag"}
)
_AGGREGATE = _COMMON | {"initial_dataset_filters", "internal_list_limit"}
_TOP = _AGGREGATE | {"filters", "order_by", "limit", "offset"}
_SERIES = _COMMON | {"date_from", "date_to", "initial_dataset_filters"}
FUNCTIONS: dict[str, frozenset[str]] = {
    "search_mentions": _COMMON | {"filters", "order_by", "offset", "search_after_token", "limit"},
    "target_metrics": _AGGREGATE,
    "multi_target_metrics": (_TOP - {"target"}) | {"targets"},
    "top_mentioned_domains": _TOP | {"links_scope", "include_domains", "exclude_domains"},
    "top_mentioned_pages": _TOP | {"links_scope", "include_pages", "exclude_pages"},
    "top_mentioned_brands": _TOP | {"include_brands", "exclude_brands"},
    "top_mentioned_brand_categories": _TOP | {"include_brand_categories", "exclude_brand_categories"},
    "historical": _SERIES,
    "timeseries_delta": _SERIES | {"group_range"},
    "timeseries_new_lost": _SERIES | {"group_range"},
}
# what each top_* item is keyed by, and the field naming it in filters/order_by
ITEM_KEYS = {
    "multi_target_metrics": "key",
    "top_mentioned_domains": "domain",
    "top_mentioned_pages": "page",
    "top_mentioned_brands": "brand",
    "top_mentioned_brand_categories": "brand_category",
}
# the Lite versions: the same data as flat rows (key, location, language, platform, metrics)
LITE = {
    "target_metrics_lite": (_AGGREGATE - {"internal_list_limit"}) | {"limit", "order_by", "offset"},
    **{f"{f}_lite": FUNCTIONS[f] for f in ITEM_KEYS if f != "multi_target_metrics"},
}
FUNCTIONS |= LITE
_INCLUDE_LISTS = {
    "top_mentioned_domains": ("include_domains", "exclude_domains"),
    "top_mentioned_pages": ("include_pages", "exclude_pages"),
    "top_mentioned_brands": ("include_brands", "exclude_brands"),
    "top_mentioned_brand_categories": ("include_brand_categories", "exclude_brand_categories"),
}
_LANGUAGES = {
    "english": "en", "spanish": "es", "french": "fr", "german": "de", "italian": "it", "portuguese": "pt",
    "dutch": "nl", "polish": "pl", "swedish": "sv", "danish": "da", "norwegian": "no", "finnish": "fi",
    "czech": "cs", "turkish": "tr", "russian": "ru", "ukrainian": "uk", "japanese": "ja", "korean": "ko",
    "chinese": "zh", "arabic": "ar", "hebrew": "he", "hindi": "hi", "indonesian": "id", "greek": "el",
}  # fmt: skip
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Target:
    domain: str | None  # one of domain / keyword
    keyword: str | None
    include_subdomains: bool = False
    partial: bool = False  # match_type partial_match: a substring, even inside a word
    exclude: bool = False  # search_filter exclude
    scopes: tuple[str, ...] = ()  # empty: any


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and" | "or"
    parts: tuple[Condition | Logic, ...]


Filter = Condition | Logic


@dataclass(frozen=True, slots=True)
class MentionsQuery:
    function: str
    targets: tuple[Target, ...] = ()
    groups: tuple[tuple[str, tuple[Target, ...]], ...] = ()  # multi_target_metrics' (key, targets)
    platform: str | None = None
    location_code: int | None = None
    language_code: str | None = None
    initial_filters: Filter | None = None
    filters: Filter | None = None
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int = 100
    offset: int = 0
    internal_list_limit: int = 5
    search_after: tuple[float, int] | None = None
    links_scope: str = "s"  # "s" sources | "r" search_results
    include_keys: tuple[str, ...] = ()
    exclude_keys: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    group_range: str = "month"
    tag: str | None = None
    lite: bool = False  # a ``_lite`` endpoint: flat rows instead of breakdowns


def parse_query(function: str, raw: Any) -> MentionsQuery:
    """One posted task → the query; ``ApiError`` (40501 naming the field, 40503, 40506) otherwise."""
    allowed = FUNCTIONS[function]
    if not isinstance(raw, dict):
        raise ApiError(StatusCode.POST_DATA_INVALID)
    given = {k: v for k, v in raw.items() if v is not None}  # the official client sends unset fields as null
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ApiError.unknown_fields(unknown)
    q: dict[str, Any] = {"function": function}
    if function in LITE:
        function = q["function"] = function.removesuffix("_lite")
        q["lite"] = True
    if function == "multi_target_metrics":
        q["groups"] = _groups(given.get("targets"))
    else:
        q["targets"] = _targets(given.get("target"), "target")
    platform = given.get("platform")
    if platform is not None:
        if platform not in PLATFORMS:
            raise ApiError.invalid_field("platform")
        q["platform"] = platform
    q["location_code"] = _location(given)
    q["language_code"] = _language(given)
    if "initial_dataset_filters" in given:
        q["initial_filters"] = parse_filter(
            given["initial_dataset_filters"], "initial_dataset_filters", ROW_FIELDS
        )
    key = ITEM_KEYS.get(function, "key")
    if "filters" in given:
        fields = ROW_FIELDS if function == "search_mentions" else METRIC_FIELDS | {key}
        q["filters"] = parse_filter(given["filters"], "filters", fields)
    if "order_by" in given:
        fields = ROW_FIELDS if function == "search_mentions" else METRIC_FIELDS | {key}
        q["order_by"] = _order_by(given["order_by"], fields)
    q["limit"] = _int(given, "limit", 100, 1, MAX_LIMIT)
    q["offset"] = _int(given, "offset", 0, 0, MAX_OFFSET)
    q["internal_list_limit"] = _int(given, "internal_list_limit", 5, 1, 10)
    if "search_after_token" in given:
        q["search_after"] = parse_search_after(given["search_after_token"])
    if "links_scope" in given:
        scope = given["links_scope"]
        if scope not in ("sources", "search_results"):
            raise ApiError.invalid_field("links_scope")
        q["links_scope"] = "s" if scope == "sources" else "r"
    if function in _INCLUDE_LISTS:
        include, exclude = _INCLUDE_LISTS[function]
        q["include_keys"] = _strings(given, include)
        q["exclude_keys"] = _strings(given, exclude)
    if function in ("historical", "timeseries_delta", "timeseries_new_lost"):
        required = function != "historical"
        q["date_from"] = _day(given, "date_from", required)
        q["date_to"] = _day(given, "date_to", required)
        if q["date_from"] and q["date_to"] and q["date_from"] > q["date_to"]:
            raise ApiError.invalid_field("date_from")
        if required:
            group = given.get("group_range")
            if group not in ("day", "week", "month", "year"):
                raise ApiError.invalid_field("group_range")
            q["group_range"] = group
    if "tag" in given:
        if not isinstance(given["tag"], str) or len(given["tag"]) > 255 or not _text_ok(given["tag"]):
            raise ApiError.invalid_field("tag")
        q["tag"] = given["tag"]
    return MentionsQuery(**q)


def _targets(raw: Any, name: str) -> tuple[Target, ...]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_TARGETS:
        raise ApiError.invalid_field(name)
    return tuple(_target(t, name) for t in raw)


def _target(raw: Any, name: str) -> Target:
    if not isinstance(raw, dict):
        raise ApiError.invalid_field(name)
    t = {k: v for k, v in raw.items() if v is not None}
    domain, keyword = t.get("domain"), t.get("keyword")
    if (domain is None) == (keyword is None):  # exactly one of them
        raise ApiError.invalid_field(f"{name}.domain" if domain is None else f"{name}.keyword")
    search_filter = t.get("search_filter", "include")
    if search_filter not in ("include", "exclude"):
        raise ApiError.invalid_field(f"{name}.search_filter")
    if domain is not None:
        extra = set(t) - {"domain", "include_subdomains", "search_filter", "search_scope"}
        if extra:
            raise ApiError.unknown_fields(sorted(f"{name}.{k}" for k in extra))
        normalized = normalize_domain(domain)
        if normalized is None:
            raise ApiError.invalid_field(f"{name}.domain")
        subdomains = t.get("include_subdomains", False)
        if not isinstance(subdomains, bool):
            raise ApiError.invalid_field(f"{name}.include_subdomains")
        return Target(
            normalized,
            None,
            include_subdomains=subdomains,
            exclude=search_filter == "exclude",
            scopes=_scopes(t.get("search_scope"), DOMAIN_SCOPES, f"{name}.search_scope"),
        )
    extra = set(t) - {"keyword", "match_type", "search_filter", "search_scope"}
    if extra:
        raise ApiError.unknown_fields(sorted(f"{name}.{k}" for k in extra))
    if not isinstance(keyword, str) or len(keyword) > MAX_KEYWORD_CHARS:
        raise ApiError.invalid_field(f"{name}.keyword")
    decoded = unquote_plus(keyword).strip()  # DataForSEO decodes %## and '+' in keywords
    if not decoded or not _text_ok(decoded):
        raise ApiError.invalid_field(f"{name}.keyword")
    match_type = t.get("match_type", "word_match")
    if match_type not in ("word_match", "partial_match"):
        raise ApiError.invalid_field(f"{name}.match_type")
    if match_type == "partial_match" and len(decoded) < MIN_PARTIAL_CHARS:
        # a substring index has nothing to look up below three characters: it would be a scan of every text
        raise ApiError(
            StatusCode.INVALID_FIELD,
            f"Invalid Field: '{name}.keyword'. A partial_match keyword needs at least {MIN_PARTIAL_CHARS} "
            "characters.",
        )
    return Target(
        None,
        decoded,
        partial=match_type == "partial_match",
        exclude=search_filter == "exclude",
        scopes=_scopes(t.get("search_scope"), KEYWORD_SCOPES, f"{name}.search_scope"),
    )


def _scopes(raw: Any, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or not all(v in allowed for v in values):
        raise ApiError.invalid_field(name)
    return () if "any" in values else tuple(dict.fromkeys(values))


def _groups(raw: Any) -> tuple[tuple[str, tuple[Target, ...]], ...]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_TARGETS:
        raise ApiError.invalid_field("targets")
    out: list[tuple[str, tuple[Target, ...]]] = []
    for group in raw:
        if not isinstance(group, dict):
            raise ApiError.invalid_field("targets")
        key = group.get("key")
        if not isinstance(key, str) or not key or len(key) > MAX_GROUP_KEY_CHARS or not _text_ok(key):
            raise ApiError.invalid_field("targets.key")
        extra = {k for k, v in group.items() if v is not None} - {"key", "target"}
        if extra:
            raise ApiError.unknown_fields(sorted(f"targets.{k}" for k in extra))
        out.append((key, _targets(group.get("target"), "targets.target")))
    if len({k for k, _ in out}) != len(out):
        raise ApiError.invalid_field("targets.key")
    return tuple(out)


def _location(given: dict[str, Any]) -> int | None:
    code = given.get("location_code")
    if code is not None:
        if not isinstance(code, int) or isinstance(code, bool) or not 0 < code < 10_000_000:
            raise ApiError.invalid_field("location_code")
        return code
    name = given.get("location_name")
    if name is None:
        return None
    entry = countries_by_name.get(name.upper()) if isinstance(name, str) else None
    if entry is None:
        raise ApiError.invalid_field("location_name")
    return 2000 + int(entry.numeric)


def _language(given: dict[str, Any]) -> str | None:
    code = given.get("language_code")
    if code is not None:
        if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?", code):
            raise ApiError.invalid_field("language_code")
        return code.lower()
    name = given.get("language_name")
    if name is None:
        return None
    found = _LANGUAGES.get(name.lower()) if isinstance(name, str) else None
    if found is None:
        raise ApiError.invalid_field("language_name")
    return found


def _int(given: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = given.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ApiError.invalid_field(name)
    return value


def _strings(given: dict[str, Any], name: str) -> tuple[str, ...]:
    value = given.get(name)
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or len(value) > MAX_LIST_ITEMS
        or not all(isinstance(v, str) and _text_ok(v) for v in value)
    ):
        raise ApiError.invalid_field(name)
    if name.endswith("domains"):
        domains = [normalize_domain(v) for v in value]
        if None in domains:
            raise ApiError.invalid_field(name)
        return tuple(d for d in domains if d)
    return tuple(value)


def _day(given: dict[str, Any], name: str, required: bool) -> str | None:
    value = given.get(name)
    if value is None:
        if required:
            raise ApiError.invalid_field(name)
        return None
    if not isinstance(value, str) or not _DAY.match(value):
        raise ApiError.invalid_field(name)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ApiError.invalid_field(name) from None
    if value < EARLIEST:
        raise ApiError.invalid_field(name)
    return value


def parse_filter(raw: Any, name: str, fields: frozenset[str], depth: int = 0) -> Filter:
    """DataForSEO's filter arrays: ``["field", "op", value]``, or such (and nested arrays) joined by
    ``"and"``/``"or"``: ``[["platform", "=", "gemini"], "and", [["answer", "like", "%x%"], "or", ...]]``.
    At most ``MAX_FILTERS`` conditions in all."""
    node = _filter(raw, name, fields, depth)
    if _count(node) > MAX_FILTERS:
        raise ApiError.invalid_field(name)
    return node


def _filter(raw: Any, name: str, fields: frozenset[str], depth: int) -> Filter:
    if not isinstance(raw, list) or not raw or depth > MAX_FILTERS:
        raise ApiError.invalid_field(name)
    if len(raw) == 3 and isinstance(raw[0], str) and isinstance(raw[1], str) and raw[1] not in ("and", "or"):
        field, op, value = raw
        if field not in fields or op not in OPERATORS:
            raise ApiError.invalid_field(name)
        _check_value(op, value, name)
        _check_type(field, op, value, name)
        return Condition(field, op, value)
    if len(raw) == 1:
        return _filter(raw[0], name, fields, depth + 1)
    if len(raw) % 2 == 0:
        raise ApiError.invalid_field(name)
    parts = [_filter(raw[0], name, fields, depth + 1)]
    joins = set()
    for join, part in zip(raw[1::2], raw[2::2], strict=True):
        if join not in ("and", "or"):
            raise ApiError.invalid_field(name)
        joins.add(join)
        parts.append(_filter(part, name, fields, depth + 1))
    if len(joins) > 1:  # "a and b or c": say which binds first with a nested array
        raise ApiError.invalid_field(name)
    return Logic(joins.pop(), tuple(parts))


def _check_value(op: str, value: Any, name: str) -> None:
    if op in ("in", "not_in"):
        ok = isinstance(value, list) and 0 < len(value) <= MAX_LIST_ITEMS and all(_scalar(v) for v in value)
    elif op in ("like", "not_like", "ilike", "not_ilike"):
        ok = isinstance(value, str) and len(value) <= MAX_KEYWORD_CHARS and _pattern_ok(value)
    elif op in ("match", "not_match"):
        ok = isinstance(value, str) and len(value) <= MAX_KEYWORD_CHARS and _text_ok(value)
    else:
        ok = _scalar(value)
    if not ok:
        raise ApiError.invalid_field(name)


def _check_type(field: str, op: str, value: Any, name: str) -> None:
    """The value fits the field (a string compared with an integer column is a 40501, not a 500)."""
    wanted = ROW_FIELD_TYPES.get(field, int if "mentions" in field or "volume" in field else str)
    if op in ("like", "not_like", "ilike", "not_ilike", "match", "not_match"):
        if wanted in (bool, "datetime"):  # a pattern matches text (and numbers as text), not these
            raise ApiError.invalid_field(name)
        return  # patterns are text (already checked), matched against the field as text
    for v in value if isinstance(value, list) else [value]:
        if wanted == "datetime":
            ok = epoch_of(v) is not None
        elif (
            wanted is int
        ):  # whole numbers (a float would not bind to an integer column) of the column's size
            high = 2**31 if field == "location_code" else 2**62
            ok = isinstance(v, int) and not isinstance(v, bool) and -high < v < high
        elif wanted is bool:
            ok = isinstance(v, bool)
        else:
            ok = isinstance(v, str)
        if not ok:
            raise ApiError.invalid_field(name)


def _scalar(v: Any) -> bool:
    if isinstance(v, str):
        return len(v) <= MAX_KEYWORD_CHARS and _text_ok(v)
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, int | bool)


def _text_ok(text: str) -> bool:
    """No NUL (no database stores one in text) and no lone surrogate (not encodable as UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pattern_ok(pattern: str) -> bool:
    """A LIKE pattern (``ESCAPE '\\'``) that does not end in a lone escape character, which both databases
    refuse, and is valid text."""
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return trailing % 2 == 0 and _text_ok(pattern)


def _count(node: Filter) -> int:
    return 1 if isinstance(node, Condition) else sum(_count(p) for p in node.parts)


def _order_by(raw: Any, fields: frozenset[str]) -> tuple[tuple[str, bool], ...]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ORDER_BY:
        raise ApiError.invalid_field("order_by")
    out = []
    for rule in raw:
        field, _, direction = rule.partition(",") if isinstance(rule, str) else ("", "", "")
        field, direction = field.strip(), (direction.strip().lower() or "asc")
        if field not in fields or direction not in ("asc", "desc"):
            raise ApiError.invalid_field("order_by")
        out.append((field, direction == "desc"))
    return tuple(out)


def search_after_token(asked_at: float, answer_id: int) -> str:
    return f"{asked_at!r}_{answer_id}"


def parse_search_after(raw: Any) -> tuple[float, int]:
    try:
        asked, _, answer_id = raw.partition("_")
        at, after = float(asked), int(answer_id)
    except (AttributeError, ValueError):
        raise ApiError.invalid_field("search_after_token") from None
    if not math.isfinite(at) or not 0 <= after <= MAX_ANSWER_ID:
        raise ApiError.invalid_field("search_after_token")
    return at, after


def epoch_of(value: Any) -> float | None:
    """A filter value for ``first_response_at``: ``2026-11-03`` or ``2026-11-03 10:00:00 +00:00``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" +", "+").replace(" ", "T", 1))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
