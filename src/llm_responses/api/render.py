"""JSON responses in DataForSEO's envelope: every ``/v3`` answer, the health checks and every error the app
answers with are serialized here. Elsewhere, on purpose: the refusals the HTTP server writes before the app
sees a request (``api/http_server.py``, the same envelope), ``/openapi.json`` and ``/docs``
(``api/openapi.py``), ``/metrics``' text format (``api/ops_routes.py``), the dashboard's pages and JSON, and
the MCP endpoint's messages (its SDK)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.responses import Response

from llm_responses.errors import ApiError
from llm_responses.wire import envelope

WWW_AUTHENTICATE = 'Basic realm="DataForSEO REST API"'


def json_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def ok(tasks: list[dict[str, Any]], started: float) -> Response:
    return json_response(envelope.response(tasks, started=started))


def error(exc: ApiError, started: float | None = None) -> Response:
    """A request-level error: the status at the top, no tasks."""
    body = envelope.response([], started=time.perf_counter() if started is None else started, error=exc)
    status = exc.status.http_status
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == 401 and exc.challenge else None
    return json_response(body, status, headers)
