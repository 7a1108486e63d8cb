"""Image bytes: public thumbnails of images on sale, private thumbnails and originals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import Response, StreamingResponse

from labelhub_app.adapters.storage import get_store
from labelhub_app.api.deps import OptionalUser, SessionDep
from labelhub_app.errors import Forbidden, NotAuthenticated, NotFound
from labelhub_app.models import STATUS_ON_SALE
from labelhub_app.services import images

router = APIRouter(tags=["images"])

_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file"}
}
_JPEG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "A JPEG thumbnail"}
}


@router.get("/images/{image_id}/thumb/{size}", response_class=Response, responses=_JPEG)
def thumbnail(image_id: str, size: int, session: SessionDep) -> Response:
    """Thumbnails are public (the market shows them), but only of images on sale."""
    image = images.get_image(session, image_id)
    if image.status != STATUS_ON_SALE:
        raise NotFound("This image is no longer offered in the market.")
    if size not in (images.THUMB_SMALL, images.THUMB_LARGE):
        raise NotFound(f"No such thumbnail size; use {images.THUMB_SMALL} or {images.THUMB_LARGE}.")
    key = images.thumbnail_key(image, size)
    store = get_store()
    if not store.exists(key):
        raise NotFound("No such thumbnail size.")
    with store.open(key) as fh:
        data = fh.read()
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400, immutable"}
    )


@router.get("/images/{image_id}/private-thumb/{size}", response_class=Response, responses=_JPEG)
def private_thumbnail(
    image_id: str, size: int, viewer: OptionalUser, session: SessionDep
) -> Response:
    """Thumbnails of withdrawn images, for their owner and buyers."""
    image = images.get_image(session, image_id)
    if not images.may_view_original(session, image=image, viewer=viewer):
        raise Forbidden("Only the producer and buyers can see this image.")
    if size not in (images.THUMB_SMALL, images.THUMB_LARGE):
        raise NotFound(f"No such thumbnail size; use {images.THUMB_SMALL} or {images.THUMB_LARGE}.")
    key = images.thumbnail_key(image, size)
    store = get_store()
    if not store.exists(key):
        raise NotFound("No such thumbnail size.")
    with store.open(key) as fh:
        return Response(fh.read(), media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.get(
    "/images/{image_id}/original",
    name="original",
    response_class=StreamingResponse,
    responses=_FILE,
)
def original(
    viewer: OptionalUser, session: SessionDep, image_id: str = Path(max_length=64)
) -> StreamingResponse:
    """The stored original: for its producer and the people who bought it."""
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
