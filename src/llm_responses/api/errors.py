"""Exception handlers: every failure leaves as a DataForSEO envelope, never as HTML, 422 or a traceback."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from llm_responses.api import render
from llm_responses.errors import ApiError, Busy, StatusCode

log = logging.getLogger(__name__)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return render.error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return render.error(ApiError(StatusCode.NOT_FOUND))
    if exc.status_code == 405:  # a known path asked with the wrong method
        return render.error(ApiError(StatusCode.INVALID_PATH))
    return render.error(ApiError(StatusCode.POST_DATA_INVALID))


async def _busy(request: Request, exc: Exception) -> Response:
    """Every database connection stayed taken past its wait bound: the caller may try again shortly."""
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return render.error(ApiError(StatusCode.TOO_MANY_SIMULTANEOUS))


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up before its body arrived: nothing was accepted, nobody is listening, not an error."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=499)  # nginx's "client closed request"; never read by anyone


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return render.error(ApiError(StatusCode.INTERNAL_ERROR))


def install(app: Starlette) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(Exception, _unexpected)
