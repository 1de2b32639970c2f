"""Map domain errors and FastAPI's own errors to CVAT's DRF-style bodies (spec 0.6)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from annotask.domain.errors import NO_SPACE_MESSAGE, DomainError, is_disk_full
from annotask.media.errors import MediaError
from annotask.security.errors import UnsafeInput

log = logging.getLogger(__name__)

_STATUS_DETAIL = {
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
}


def validation_body(errors: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Turn Pydantic/FastAPI error entries into ``{"field": ["message"]}``."""
    body: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        field = ".".join(loc) or "non_field_errors"
        message = error.get("msg", "Invalid value.")
        if error.get("type") == "extra_forbidden":
            message = "Unknown field, or a field that cannot be written."
        body.setdefault(field, []).append(message)
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(MediaError)
    @app.exception_handler(UnsafeInput)
    async def _media(_request: Request, exc: MediaError | UnsafeInput) -> JSONResponse:
        # Raised while preparing media on request (a corrupt source file met when its
        # chunk is first built): the message names the file, never a server path.
        return JSONResponse({"detail": exc.message}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(list(exc.errors())), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if not isinstance(detail, str) or detail in ("Not Found", "Method Not Allowed"):
            detail = _STATUS_DETAIL.get(exc.status_code, str(detail))
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # The last line of defence: a value the parsers let through but the database
        # refuses (a number beyond a 32-bit column, text too long for its column).
        # The request's transaction is rolled back; the connection stays usable.
        log.warning(
            "value refused by the database on %s %s: %s", request.method, request.url.path, exc
        )
        return JSONResponse(
            {"detail": "A value is out of range or too long for its field."}, status_code=400
        )

    @app.exception_handler(OSError)
    @app.exception_handler(SQLAlchemyError)
    async def _system(request: Request, exc: Exception) -> JSONResponse:
        # Handled here rather than in the catch-all below, which Starlette re-raises
        # to the server after answering: a full disk is an operator's matter, not a
        # crash, and is logged once, without a traceback.
        return _unexpected_response(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _unexpected_response(request, exc)


def _unexpected_response(request: Request, exc: Exception) -> JSONResponse:
    if is_disk_full(exc):
        # Not a bug: an operator must free space. 507 with the reason, and the
        # connection closed, since the request body may be only partly read.
        log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": NO_SPACE_MESSAGE}, status_code=507, headers={"Connection": "close"}
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error."}, status_code=500)
