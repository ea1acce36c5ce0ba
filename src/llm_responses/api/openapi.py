"""``/docs`` for endpoints that are plain Starlette routes.

FastAPI documents only its own routes; ours skip its parameter machinery (routes.py), so the paths are
listed here from the routes themselves, each with its handler's docstring. Bodies are DataForSEO's JSON
arrays and answers its envelope, as README's endpoint table and DataForSEO's own docs describe them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from starlette.routing import Route


def paths(routes: Iterable[Route]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for route in routes:
        doc = inspect.getdoc(route.endpoint) or route.name.replace("_", " ")
        summary, _, description = doc.partition("\n")
        operation = {
            "summary": summary.strip(),
            "description": description.strip(),
            "operationId": route.name,
            "responses": {"200": {"description": "A DataForSEO envelope (errors too, per task or at the top)"}},
        }
        for method in sorted((route.methods or set()) - {"HEAD"}):
            out.setdefault(route.path, {})[method.lower()] = operation
    return out
