"""Image bytes: public thumbnails of images on sale, private thumbnails and originals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from labelhub_app.adapters.storage import get_store, presigned_url
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
    if (url := presigned_url(store, key, content_type="image/jpeg")) is not None:
        # S3: send the browser to the object itself; the redirect may be cached a little while
        return _redirect(url, "public, max-age=60")
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
    """Thumbnails of withdrawn images, for their owner and buyers (and campaign labellers)."""
    from labelhub_app.services.campaigns import labeller_may_view

    image = images.get_image(session, image_id)
    if not images.may_view_original(session, image=image, viewer=viewer) and not (
        viewer is not None and labeller_may_view(session, user_id=viewer.id, image_id=image.id)  # type: ignore[arg-type]
    ):
        raise Forbidden("Only the producer and buyers can see this image.")
    if size not in (images.THUMB_SMALL, images.THUMB_LARGE):
        raise NotFound(f"No such thumbnail size; use {images.THUMB_SMALL} or {images.THUMB_LARGE}.")
    key = images.thumbnail_key(image, size)
    store = get_store()
    if (url := presigned_url(store, key, content_type="image/jpeg")) is not None:
        # checked above; this browser may reuse the redirect a minute (the editor prefetches)
        return _redirect(url, "private, max-age=60")
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
) -> Response:
    """The stored original: for its producer and the people who bought it."""
    if viewer is None:
        raise NotAuthenticated("Sign in to download originals.")
    image = images.get_image(session, image_id)
    if not images.may_view_original(session, image=image, viewer=viewer):
        raise Forbidden("Buy this image to download the original.")
    key, name = image.object_key, image.file_name
    if (url := presigned_url(get_store(), key, download_name=name)) is not None:
        return _redirect(url, "private, no-store")  # permission checked above; short-lived link

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


def _redirect(url: str, cache_control: str) -> RedirectResponse:
    """307 to a presigned object-store URL (S3): the bytes do not pass through the app."""
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": cache_control})
