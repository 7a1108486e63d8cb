"""The REST API under /api/v1, mounted on Reflex's backend (``rx.App(api_transformer=api)``).

Every route calls the same services as the pages, so the rules (who may do what) are written once.
Callers authenticate with ``Authorization: Bearer`` (an access token or a session token from
``POST /auth/login``) or the browser's session cookie; see ``deps.py``. Every error, including
unknown routes, wrong methods and invalid requests, has the body
``{"error": {"code", "message"}}`` (``errors.py``).

OpenAPI: /api/v1/openapi.json; interactive docs that work offline: /api/v1/docs.
"""

from __future__ import annotations

import functools
import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from labelhub_app.api import docs
from labelhub_app.api.errors import ApiError, install_error_handlers
from labelhub_app.api.routes import annotations as annotation_routes
from labelhub_app.api.routes import (
    auth,
    files,
    images,
    imports,
    labels,
    operations,
    projects,
    search,
    wallet,
    web_auth,
)
from labelhub_app.api.routes import models as model_routes  # #6 detector versions
from labelhub_app.api.routes import payments as payment_routes  # #9 payments
from labelhub_app.api.schemas import ErrorBody

API_PREFIX = "/api/v1"

api = FastAPI(
    title="LabelHub API",
    version="1",
    summary="Label, sell and buy images; download datasets.",
    description=(
        "Send `Authorization: Bearer <token>` with an access token from your profile page "
        "(or a session token from `POST /api/v1/auth/login`). Lists take `limit` and an opaque "
        "`cursor`: pass back `next_cursor` until it is null. Every error has the body "
        '`{"error": {"code": ..., "message": ...}}`. Money is integer cents; box coordinates '
        "are original-image pixels, origin top left."
    ),
    openapi_url=docs.OPENAPI_PATH,
    docs_url=None,
    redoc_url=None,
)
install_error_handlers(api)

# The error responses any route may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "Not signed in, or the token is unknown, expired or revoked"),
        (403, "Signed in but not allowed"),
        (404, "No such object (or not yours)"),
        (422, "The request is not valid"),
        (429, "Too many requests; see Retry-After"),
    )
}

v1 = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)


@v1.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}


for module in (
    auth,
    labels,
    files,
    images,
    annotation_routes,
    search,
    projects,
    imports,
    operations,
    wallet,
    payment_routes,
    model_routes,
):
    v1.include_router(module.router)

_CATCH_ALL = "/{rest:path}"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@functools.cache
def _route_table() -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path as a pattern, with its methods (from the OpenAPI document)."""
    table = []
    for path, path_item in api.openapi()["paths"].items():
        parts = re.split(r"(\{[^}]+\})", path)
        pattern = "".join(
            ("[^/]+" if ":" not in p else ".*") if p.startswith("{") else re.escape(p)
            for p in parts
        )
        methods = frozenset(m.upper() for m in path_item if m in _METHODS)
        table.append((re.compile(f"^{pattern}$"), methods))
    return table


@v1.api_route(
    _CATCH_ALL,
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
def no_such_route(rest: str, request: Request) -> JSONResponse:
    """A JSON 404 (or 405 when the path exists with other methods), never Reflex's HTML page."""
    allowed: set[str] = set()
    for pattern, methods in _route_table():
        if pattern.match(request.url.path):
            allowed |= methods
    if allowed:
        raise ApiError(
            405,
            f"{request.method} is not allowed on {request.url.path}; use "
            f"{', '.join(sorted(allowed))}.",
            headers={"Allow": ", ".join(sorted(allowed))},
        )
    raise ApiError(404, f"No API route {API_PREFIX}/{rest}. See {docs.DOCS_PATH} for the routes.")


api.include_router(docs.router)
api.include_router(web_auth.router)  # /auth/* browser sign-in (HttpOnly session cookie), #9
api.include_router(v1)
