"""The HTTP routes beside the Reflex app: image bytes, project downloads, label autocomplete.

Mounted on Reflex's backend (``rx.App(api_transformer=api)``); they call the same services as
the pages. The browser's session cookie (or an ``Authorization: Bearer`` session token)
identifies the user. The full public REST API grows here (see the API issue).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from labelhub_app.adapters.storage import get_store
from labelhub_app.config import SESSION_COOKIE
from labelhub_app.db import session_scope
from labelhub_app.errors import Forbidden, LabelHubError, NotAuthenticated, NotFound
from labelhub_app.models import STATUS_ON_SALE, User
from labelhub_app.services import accounts, exports, images, labels

api = FastAPI(
    title="LabelHub API",
    version="1",
    openapi_url="/api/v1/openapi.json",
    docs_url=None,
    redoc_url=None,
)
v1 = APIRouter(prefix="/api/v1")

_STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "not_authenticated": 401,
    "conflict": 409,
    "invalid_input": 422,
}


@api.exception_handler(LabelHubError)
async def _domain_error(_request: Request, exc: LabelHubError) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}},
        status_code=_STATUS.get(exc.code, 400),
    )


def _token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(SESSION_COOKIE, "")


def _viewer(session, request: Request) -> User | None:  # type: ignore[no-untyped-def]
    return accounts.user_for_token(session, _token(request))


@v1.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@v1.get("/images/{image_id}/thumb/{size}")
def thumbnail(image_id: str, size: int) -> Response:
    """Thumbnails are public (the market shows them), but only of images on sale."""
    with session_scope() as session:
        image = images.get_image(session, image_id)
        if image.status != STATUS_ON_SALE:
            raise NotFound("This image is no longer offered in the market.")
        key = images.thumbnail_key(image, size)
    store = get_store()
    if size not in (images.THUMB_SMALL, images.THUMB_LARGE) or not store.exists(key):
        raise NotFound("No such thumbnail size.")
    with store.open(key) as fh:
        data = fh.read()
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400, immutable"}
    )


@v1.get("/images/{image_id}/private-thumb/{size}")
def private_thumbnail(image_id: str, size: int, request: Request) -> Response:
    """Thumbnails of withdrawn images, for their owner and buyers."""
    with session_scope() as session:
        image = images.get_image(session, image_id)
        if not images.may_view_original(session, image=image, viewer=_viewer(session, request)):
            raise Forbidden("Only the producer and buyers can see this image.")
        key = images.thumbnail_key(image, size)
    with get_store().open(key) as fh:
        return Response(fh.read(), media_type="image/jpeg", headers={"Cache-Control": "private"})


@v1.get("/images/{image_id}/original")
def original(image_id: str, request: Request) -> StreamingResponse:
    """The stored original: for its producer and the people who bought it."""
    with session_scope() as session:
        viewer = _viewer(session, request)
        if viewer is None:
            raise NotAuthenticated("Sign in to download originals.")
        image = images.get_image(session, image_id)
        if not images.may_view_original(session, image=image, viewer=viewer):
            raise Forbidden("Buy this image to download the original.")
        key, name = image.object_key, image.file_name

    def chunks() -> Iterator[bytes]:
        with get_store().open(key) as fh:
            while block := fh.read(1 << 20):
                yield block

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private",
        },
    )


@v1.get("/projects/{project_id}/download")
def download_project(project_id: str, request: Request) -> StreamingResponse:
    """The project's bought images as a dataset zip, streamed as it is written."""
    session_cm = session_scope()
    session = session_cm.__enter__()
    try:
        viewer = _viewer(session, request)
        if viewer is None:
            raise NotAuthenticated("Sign in to download your projects.")
        name = exports.project_export_name(session, actor=viewer, project_id=project_id)
        stream = exports.iter_project_zip(session, actor=viewer, project_id=project_id)
        first = next(stream)  # surfaces "nothing to download" before the response starts
    except BaseException:
        session_cm.__exit__(None, None, None)
        raise

    def body() -> Iterator[bytes]:
        try:
            yield first
            yield from stream
        finally:
            session_cm.__exit__(None, None, None)

    return StreamingResponse(
        body(),
        media_type="application/zip",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@v1.get("/labels/suggest")
def suggest(q: str = "", limit: int = 8) -> dict[str, list[str]]:
    with session_scope() as session:
        return {"labels": labels.suggest_labels(session, prefix=q, limit=max(1, min(limit, 50)))}


@v1.api_route(
    "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
def not_found(rest: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "not_found", "message": f"No API route /api/v1/{rest}."}},
        status_code=404,
    )


api.include_router(v1)
