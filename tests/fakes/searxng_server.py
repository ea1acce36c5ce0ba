"""A fake SearXNG over HTTP: ``GET /search?q=…&format=json`` answered in SearXNG's JSON result shape.

Results are scripted per test (``results``); ``fail_with`` makes it answer an HTTP error instead (as an
instance without the json format enabled does: 403). Every query's parameters are recorded.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.loopback import LoopbackServer


class FakeSearxng:
    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self.queries: list[dict[str, str]] = []
        self._server: LoopbackServer | None = None

    def add(self, title: str, url: str, content: str) -> None:
        self.results.append(
            {
                "title": title,
                "url": url,
                "content": content,
                "engine": "fake",
                "engines": ["fake"],
                "score": 1.0,
                "category": "general",
                "parsed_url": ["https", url.split("/")[2], "", "", "", ""],
            }
        )

    async def _search(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.queries.append(params)
        if self.fail_with is not None:
            return PlainTextResponse("Forbidden", status_code=self.fail_with)
        if params.get("format") != "json":
            return PlainTextResponse("<html>results</html>", media_type="text/html")
        words = {w.lower() for w in params.get("q", "").split()}
        hits = [r for r in self.results if words & set((r["title"] + " " + r["content"]).lower().split())]
        return JSONResponse(
            {
                "query": params.get("q"),
                "number_of_results": len(hits),
                "results": hits,
                "answers": [],
                "corrections": [],
                "infoboxes": [],
                "suggestions": [],
                "unresponsive_engines": [],
            }
        )

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> FakeSearxng:
        self._server = LoopbackServer(Starlette(routes=[Route("/search", self._search, methods=["GET"])]))
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
