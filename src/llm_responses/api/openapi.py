"""``/openapi.json`` and ``/docs`` for the app's endpoints, which are plain Starlette routes.

No framework derives the document from handler signatures here: a request body is read raw and checked per
task (``routes.py``), so the operations are built from the routes themselves: each with its handler's
docstring, its path parameters, its query parameters, a JSON-array request body for POSTs (DataForSEO's
task arrays), the two authentication schemes, and a JSON envelope for every answer. The result is a valid
OpenAPI 3.1 document that an OpenAPI fuzzer (schemathesis, in the tests) can exercise operation by
operation. ``/docs`` is Swagger UI reading it (its script and style from the jsDelivr CDN).
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
PUBLIC = frozenset({"/healthz", "/readyz"})  # no credentials
QUERY: dict[str, list[dict[str, Any]]] = {  # query parameters by route name
    "webhook_deliveries": [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
    ],
}
ENVELOPE = {
    "type": "object",
    "properties": {
        "status_code": {"type": "integer"},
        "status_message": {"type": "string"},
        "tasks": {"type": ["array", "null"]},
    },
    "required": ["status_code", "status_message"],
}
HEALTH = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}
TASKS_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}, "maxItems": 100}}
    },
}
SECURITY_SCHEMES = {
    "basic": {"type": "http", "scheme": "basic", "description": "login and API password"},
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token (`accounts create` prints one)",
    },
}


def paths(routes: Iterable[Route]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for route in routes:
        doc = inspect.getdoc(route.endpoint) or route.name.replace("_", " ")
        summary, _, description = doc.partition("\n")
        base_name = route.name.removesuffix("_ai")
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(route.path)
        ] + QUERY.get(base_name, [])
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation: dict[str, Any] = {
                "summary": summary.strip(),
                "description": description.strip(),
                "operationId": f"{route.name}_{method.lower()}"
                if len(route.methods or ()) > 2
                else route.name,
                "responses": {
                    "default": {
                        "description": "Health"
                        if route.path in PUBLIC
                        else "A DataForSEO envelope (errors too, per task or at the top)",
                        "content": {
                            "application/json": {"schema": HEALTH if route.path in PUBLIC else ENVELOPE}
                        },
                    }
                },
            }
            if parameters:
                operation["parameters"] = parameters
            if method == "POST" and base_name not in ("webhook_secret_rotate",):
                operation["requestBody"] = TASKS_BODY
            operation["security"] = [] if route.path in PUBLIC else [{"basic": []}, {"bearer": []}]
            out.setdefault(_PARAM.sub(r"{\1}", route.path), {})[method.lower()] = operation
    return out


def document(*, title: str, version: str, description: str, routes: Iterable[Route]) -> dict[str, Any]:
    """The whole OpenAPI document for ``routes``."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "description": description, "version": version},
        "paths": paths(routes),
        "components": {"securitySchemes": SECURITY_SCHEMES},
    }


SWAGGER_UI = """<!DOCTYPE html>
<html>
<head>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
<title>{title} - Swagger UI</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>
const ui = SwaggerUIBundle({{
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}})
</script>
</body>
</html>
"""


def doc_routes(schema: dict[str, Any]) -> list[Route]:
    """``/openapi.json`` (the document, built once) and ``/docs``; neither needs credentials."""
    page = SWAGGER_UI.format(title=html.escape(str(schema["info"]["title"])))

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(schema)

    async def swagger_ui(request: Request) -> Response:
        return HTMLResponse(page)

    return [
        Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
        Route("/docs", swagger_ui, methods=["GET"], include_in_schema=False),
    ]
