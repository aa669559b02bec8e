"""RFC 9457 problem details: every error the API sends has this one shape."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.errors import (
    BadRequest,
    Conflict,
    FiberSyncError,
    InvalidInput,
    NotFound,
    UpstreamUnavailable,
)

logger = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"

DOMAIN_STATUS: dict[type[FiberSyncError], int] = {
    BadRequest: 400,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    UpstreamUnavailable: 503,
}


def problem(status: int, detail: str, *, title: str | None = None,
            errors: list[dict[str, Any]] | None = None, instance: str | None = None,
            headers: dict[str, str] | None = None,
            extensions: dict[str, Any] | None = None) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"urn:fibersync:problem:{phrase.lower().replace(' ', '-')}",
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def _status_of(error: FiberSyncError) -> int:
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 500


async def _domain(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, FiberSyncError)
    return problem(_status_of(error), error.detail, errors=error.errors,
                   instance=request.url.path, extensions=error.extensions)


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return problem(error.status_code, str(error.detail), instance=request.url.path,
                   headers=getattr(error, "headers", None))


async def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [{"location": list(e.get("loc", ())), "message": e.get("msg", ""),
               "type": e.get("type", "")} for e in error.errors()]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(400, "The request body is not valid JSON.", errors=errors,
                       instance=request.url.path)
    return problem(422, "The request is not valid; see errors.", errors=errors,
                   instance=request.url.path)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "An unexpected error occurred; it has been logged.",
                   instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FiberSyncError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
