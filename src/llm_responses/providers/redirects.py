"""Where a search engine's redirect link leads: Gemini cites ``vertexaisearch.cloud.google.com/
grounding-api-redirect/...`` URLs that expire within weeks, and DataForSEO's ``direct_url`` is the page
behind one.

Only links on the configured redirect hosts are followed, and only one hop: a ``HEAD`` (a ``GET`` whose
body is never read, when ``HEAD`` is refused) and its ``Location``. Bounded everywhere: a per-request
timeout, a cap on concurrent lookups and on the whole batch, an LRU cache of answers. A lookup that fails
leaves ``direct_url`` out; it never fails the task.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import httpx

CACHE_SIZE = 4096
MAX_URL_CHARS = 2048


class RedirectResolver:
    def __init__(
        self, hosts: Iterable[str], *, timeout: float = 2.0, batch_timeout: float = 3.0, concurrency: int = 8
    ) -> None:
        self.hosts = frozenset(h.strip().lower() for h in hosts if h.strip())
        self.batch_timeout = batch_timeout
        self._limit = asyncio.Semaphore(concurrency)
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._client = httpx.AsyncClient(
            follow_redirects=False, timeout=timeout, headers={"User-Agent": "llm-responses"}
        )

    def applies(self, url: str) -> bool:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            return False
        return host in self.hosts

    async def resolve(self, urls: Iterable[str]) -> dict[str, str]:
        """Each redirect link's target, for those that answered with one in time."""
        wanted = list(dict.fromkeys(u for u in urls if self.applies(u)))
        if not wanted:
            return {}
        try:
            async with asyncio.timeout(self.batch_timeout):
                found = await asyncio.gather(*(self._one(u) for u in wanted))
        except TimeoutError:
            found = [self._cache.get(u) for u in wanted]
        return {u: target for u, target in zip(wanted, found, strict=True) if target}

    async def _one(self, url: str) -> str | None:
        if url in self._cache:
            self._cache.move_to_end(url)
            return self._cache[url]
        async with self._limit:
            target = await self._lookup(url)
        self._cache[url] = target
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return target

    async def _lookup(self, url: str) -> str | None:
        try:
            response = await self._client.head(url)
            if response.status_code in (405, 501):  # HEAD refused: the headers of a GET, its body unread
                async with self._client.stream("GET", url) as streamed:
                    response = streamed
            location = response.headers.get("location") if response.is_redirect else None
        except (httpx.HTTPError, OSError, ValueError):
            return None
        if not location:
            return None
        target = urljoin(url, location)
        return target if target.startswith(("http://", "https://")) and len(target) <= MAX_URL_CHARS else None

    async def aclose(self) -> None:
        await self._client.aclose()
