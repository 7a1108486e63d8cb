"""Producers' images: upload a batch, list one's own, read one, change labels, price and sale."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile

from labelhub_app.api.deps import CurrentUser, OptionalUser, SessionDep
from labelhub_app.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, fingerprint, paged
from labelhub_app.api.schemas import (
    ImagePublic,
    ImageUpdate,
    OwnImagePublic,
    OwnImagesPublic,
    UploadPublic,
    UploadResultPublic,
)
from labelhub_app.config import get_settings
from labelhub_app.errors import InvalidInput
from labelhub_app.services import images
from labelhub_app.services.accounts import require_role
from labelhub_app.services.labels import split_labels

router = APIRouter(tags=["images"])

MAX_FILES_PER_UPLOAD = 200


def image_public(view: images.ImageView) -> ImagePublic:
    return ImagePublic(
        id=view.public_id,
        file_name=view.file_name,
        width=view.width,
        height=view.height,
        format=view.format,
        size_bytes=view.size_bytes,
        price_cents=view.price_cents,
        licence=view.licence,
        licence_text=view.licence_text,
        labels=view.labels,
        producer=view.producer_pseudonym,
        created_at=view.created_at,
        on_sale=view.on_sale,
        owned=view.owned,
        is_own=view.is_own,
        sales_count=view.sales_count,
    )


def _read_upload(upload: UploadFile, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` (not read further)."""
    data = upload.file.read(limit + 1)
    return None if len(data) > limit else data


@router.post("/images", response_model=UploadPublic)
def upload_images(
    user: CurrentUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="The images (JPEG, PNG, WebP, ...)")],
    price_cents: Annotated[int, Form(ge=0, le=2**53)],
    licence: Annotated[str, Form(max_length=32)] = "standard",
    labels: Annotated[str, Form(max_length=4000, description="Comma-separated labels")] = "",
) -> UploadPublic:
    """Upload images with labels, price and licence. Each file lands or fails on its own.

    The response lists every file with its outcome (duplicates and unreadable files are reported,
    the rest of the batch still lands).
    """
    require_role(user, "producer")
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise InvalidInput(f"Upload at most {MAX_FILES_PER_UPLOAD} files per request.")
    limit = get_settings().max_upload_bytes
    uploads: list[images.UploadedFile] = []
    too_large: list[UploadResultPublic] = []
    for f in files:
        data = _read_upload(f, limit)
        name = f.filename or "image"
        if data is None:
            too_large.append(
                UploadResultPublic(
                    file_name=images.clean_file_name(name),
                    ok=False,
                    message=f"{images.clean_file_name(name)} is larger than "
                    f"{limit // (1024 * 1024)} MB; it was not uploaded.",
                )
            )
            continue
        uploads.append(images.UploadedFile(name, data))
    results = [
        UploadResultPublic(**asdict(r))
        for r in (
            images.ingest_images(
                session,
                actor=user,
                files=uploads,
                labels=split_labels(labels),
                price_cents=price_cents,
                licence=licence,
            )
            if uploads
            else []
        )
    ]
    if not uploads and not too_large:
        raise InvalidInput("Choose at least one image to upload.")
    results += too_large
    ok = sum(r.ok for r in results)
    return UploadPublic(uploaded=ok, failed=len(results) - ok, results=results)


@router.get("/images", response_model=OwnImagesPublic)
def list_own_images(
    user: CurrentUser,
    session: SessionDep,
    sort: images.OwnSort = "newest",
    label: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["on_sale", "withdrawn"] | None = None,
    q: Annotated[str | None, Query(max_length=120, description="Part of the file name")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> OwnImagesPublic:
    """Your own images (producers), newest first by default."""

    def fetch(page: int, per_page: int) -> tuple[list[images.OwnImageRow], int]:
        result = images.list_own_images(
            session,
            actor=user,
            sort=sort,
            label=label,
            status=status,
            text=q,
            page=page,
            per_page=per_page,
        )
        return result.items, result.total

    rows, total, next_cursor = paged(
        fetch,
        cursor=cursor,
        limit=limit,
        list_id=fingerprint("images", sort=sort, label=label, status=status, q=q),
    )
    items = [
        OwnImagePublic(
            id=r.public_id,
            file_name=r.file_name,
            created_at=r.created_at,
            labels=r.labels,
            price_cents=r.price_cents,
            licence=r.licence,
            status=r.status,
            sales_count=r.sales_count,
            income_cents=r.income_cents,
            near_duplicate=r.near_duplicate,
            width=r.width,
            height=r.height,
        )
        for r in rows
    ]
    return OwnImagesPublic(items=items, total=total, next_cursor=next_cursor)


@router.get("/images/{image_id}", response_model=ImagePublic)
def get_image(image_id: str, viewer: OptionalUser, session: SessionDep) -> ImagePublic:
    """An image as its detail page shows it: anyone while on sale; owner and buyers after."""
    return image_public(images.view_image(session, public_id=image_id, viewer=viewer))


@router.patch("/images/{image_id}", response_model=ImagePublic)
def update_image(
    image_id: str, body: ImageUpdate, user: CurrentUser, session: SessionDep
) -> ImagePublic:
    """Change your image's labels (replacing them), price, licence, or take it off sale."""
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    if not fields:
        raise InvalidInput("Send at least one of labels, price_cents, licence or on_sale.")
    if {"labels", "price_cents", "licence"} & fields.keys():
        images.update_image(
            session,
            actor=user,
            public_id=image_id,
            labels=body.labels,
            price_cents=body.price_cents,
            licence=body.licence,
        )
    if body.on_sale is not None:
        images.set_image_on_sale(session, actor=user, public_id=image_id, on_sale=body.on_sale)
    return image_public(images.view_image(session, public_id=image_id, viewer=user))
