"""The search boundary: a query in, ranked hits out, ``SearchError`` when the backend fails.

A backend never sees DataForSEO's wire format or the model; ``grounding`` turns hits into numbered sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    snippet: str  # plain text, already shortened by the backend


@dataclass(frozen=True, slots=True)
class Locale:
    """Where the searcher is, as far as the task says (ISO 3166-1 alpha-2 country, free-text city)."""

    country: str | None = None
    city: str | None = None


class SearchError(Exception):
    """The backend could not answer (down, timed out, bad reply). The task answers without sources."""


class SearchBackend(Protocol):
    name: str

    async def search(self, query: str, *, limit: int, locale: Locale) -> list[SearchHit]: ...

    async def aclose(self) -> None: ...
