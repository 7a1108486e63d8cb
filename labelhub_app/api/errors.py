"""One error body for every failure of the REST API: ``{"error": {"code", "message"}}``.

Domain errors (``LabelHubError``) keep their message, which already tells a person what to do;
FastAPI's own errors (unknown route, wrong method, request validation) and anything unexpected
are turned into the same shape. A stack trace never reaches the client; it goes to the log.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelhub_app.errors import LabelHubError

log = logging.getLogger("labelhub.api")

STATUS_BY_CODE = {
    "not_found": 404,
    "forbidden": 403,
    "not_authenticated": 401,
    "conflict": 409,
    "invalid_input": 422,
    "unavailable": 503,
}
CODE_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="LabelHub"'}


class ApiError(Exception):
    """An HTTP-level refusal that is not a domain rule: 412, 428, 429, 413 and the like."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code or CODE_BY_STATUS.get(status_code, "error")
        self.message = message
        self.headers = dict(headers or {})


class RateLimited(ApiError):
    def __init__(self, message: str, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(429, message, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


def error_response(
    status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status_code,
        headers=dict(headers or {}),
    )


def domain_status(exc: LabelHubError) -> int:
    return STATUS_BY_CODE.get(exc.code, 400)


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        place, rest = parts[0], parts[1:]
        return f"{'.'.join(rest) or 'the request body'} ({place})"
    return ".".join(parts) or "the request"


def validation_message(errors: Sequence[Any]) -> str:
    """'price_cents (body): Input should be a valid integer; ...' for the first three errors."""
    shown = []
    for err in list(errors)[:3]:
        loc = err.get("loc", ()) if isinstance(err, Mapping) else ()
        msg = err.get("msg", "is not valid") if isinstance(err, Mapping) else str(err)
        shown.append(f"{_where(loc)}: {msg}")
    more = len(errors) - len(shown)
    text = "; ".join(shown) or "The request is not valid."
    if more > 0:
        text += f"; and {more} more problem{'s' if more > 1 else ''}"
    return f"The request is not valid: {text}. See /api/v1/docs for the expected fields."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LabelHubError)
    async def _domain(_request: Request, exc: LabelHubError) -> JSONResponse:
        status = domain_status(exc)
        return error_response(
            status, exc.code, exc.message, BEARER_CHALLENGE if status == 401 else None
        )

    @app.exception_handler(ApiError)
    async def _api(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_input", validation_message(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(exc.status_code, "error")
        if exc.status_code == 404:
            message = f"No API route {request.url.path}."
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}."
        elif isinstance(exc.detail, str) and exc.detail:
            message = exc.detail
        else:
            message = "The request could not be handled."
        return error_response(exc.status_code, code, message, exc.headers)

    @app.exception_handler(UnicodeError)
    async def _unicode(_request: Request, _exc: UnicodeError) -> JSONResponse:
        return error_response(
            422, "invalid_input", "The request holds text that is not valid Unicode (UTF-8)."
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(
            500,
            "internal_error",
            "Something went wrong on our side and it has been logged. Please try again; if it "
            "keeps happening, tell us what you sent.",
        )
