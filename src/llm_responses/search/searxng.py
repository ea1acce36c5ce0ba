"""SearXNG (self-hosted metasearch) through its JSON API: ``GET /search?q=…&format=json``.

The instance must allow the ``json`` format (``search.formats`` in its settings.yml). The task's country
becomes SearXNG's ``language`` as a locale (``fr-FR``), which its engines use for region and language; a
city has no SearXNG equivalent and is not sent.
"""

from __future__ import annotations

from typing import Any

import httpx

from llm_responses.core import Locale, SearchHit
from llm_responses.errors import SearchError

SNIPPET_CHARS = 400

# The main language of a country, for SearXNG's locale. Countries not listed search in "all" languages.
PRIMARY_LANGUAGE = {
    "AR": "es",
    "AT": "de",
    "AU": "en",
    "BE": "nl",
    "BG": "bg",
    "BR": "pt",
    "CA": "en",
    "CH": "de",
    "CL": "es",
    "CN": "zh",
    "CO": "es",
    "CZ": "cs",
    "DE": "de",
    "DK": "da",
    "EE": "et",
    "EG": "ar",
    "ES": "es",
    "FI": "fi",
    "FR": "fr",
    "GB": "en",
    "GR": "el",
    "HK": "zh",
    "HR": "hr",
    "HU": "hu",
    "ID": "id",
    "IE": "en",
    "IL": "he",
    "IN": "en",
    "IT": "it",
    "JP": "ja",
    "KR": "ko",
    "LT": "lt",
    "LV": "lv",
    "MX": "es",
    "MY": "ms",
    "NL": "nl",
    "NO": "nb",
    "NZ": "en",
    "PE": "es",
    "PH": "en",
    "PK": "en",
    "PL": "pl",
    "PT": "pt",
    "RO": "ro",
    "RS": "sr",
    "RU": "ru",
    "SA": "ar",
    "SE": "sv",
    "SG": "en",
    "SI": "sl",
    "SK": "sk",
    "TH": "th",
    "TR": "tr",
    "TW": "zh",
    "UA": "uk",
    "US": "en",
    "VN": "vi",
    "ZA": "en",
}


def searxng_language(locale: Locale) -> str:
    if locale.country and locale.country.upper() in PRIMARY_LANGUAGE:
        country = locale.country.upper()
        return f"{PRIMARY_LANGUAGE[country]}-{country}"
    return "all"


class SearxngBackend:
    name = "searxng"

    def __init__(self, base_url: str, *, timeout: float, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout, headers={"Accept": "application/json"})

    async def search(self, query: str, *, limit: int, locale: Locale) -> list[SearchHit]:
        params: dict[str, str | int] = {
            "q": query,
            "format": "json",
            "language": searxng_language(locale),
            "pageno": 1,
        }
        try:
            response = await self._client.get(f"{self.base_url}/search", params=params)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SearchError(f"searxng {self.base_url}: {exc}") from exc
        return parse_results(body, limit)

    async def aclose(self) -> None:
        await self._client.aclose()


def parse_results(body: Any, limit: int) -> list[SearchHit]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise SearchError("searxng: reply has no results list")
    hits: list[SearchHit] = []
    seen: set[str] = set()
    for item in body["results"]:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or item["url"] in seen:
            continue
        seen.add(item["url"])
        snippet = " ".join(str(item.get("content") or "").split())
        hits.append(
            SearchHit(title=str(item.get("title") or ""), url=item["url"], snippet=snippet[:SNIPPET_CHARS])
        )
        if len(hits) >= limit:
            break
    return hits
