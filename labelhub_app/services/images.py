"""Images: the upload batch, producers' own images (list, edit, withdraw) and the sweeper.

Each file of an upload batch is its own transaction: a bad file gets its own message and the
rest of the batch still lands. The stored object is written before the database row, under a
content-addressed key, so a crash in between leaves only an unreferenced file that
``sweep_unreferenced_objects`` removes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.adapters.storage import get_store
from labelhub_app.config import get_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput, LabelHubError, NotFound
from labelhub_app.models import (
    LICENCES,
    STATUS_ON_SALE,
    STATUS_WITHDRAWN,
    Image,
    ImageLabel,
    Label,
    Purchase,
    SearchOutbox,
    User,
    utcnow,
)
from labelhub_app.services import image_pipeline
from labelhub_app.services.accounts import may_sell, require_role, require_verified_email
from labelhub_app.services.annotations import record_tag_change
from labelhub_app.services.labels import resolve_labels

THUMB_SMALL = 256
THUMB_LARGE = 1024


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes
    labels: tuple[str, ...] = ()  # this file's own labels, added to the batch labels


@dataclass(frozen=True)
class IngestResult:
    file_name: str
    ok: bool
    message: str
    image_id: str | None = None  # public id of the new image
    duplicate_of: str | None = None  # public id of the existing image (exact duplicate)
    near_duplicate_of: str | None = None  # public id of a similar image (flagged, still stored)


def clean_file_name(name: str) -> str:
    """A display/download-safe base name: no folders, no control characters, at most 120 chars."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    name = re.sub(r"\s+", " ", name)
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else name[:120]
    return name or "image"


def original_key(sha256: str, fmt: str) -> str:
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "TIFF": "tif", "BMP": "bmp"}
    return f"originals/{sha256[:2]}/{sha256}.{ext.get(fmt, 'bin')}"


def thumbnail_key(image: Image, size: int) -> str:
    sha = image.object_key.rsplit("/", 1)[-1].split(".")[0]
    return f"thumbs/{size}/{sha[:2]}/{sha}.jpg"


def check_price(price_cents: int) -> int:
    if not isinstance(price_cents, int) or isinstance(price_cents, bool):
        raise InvalidInput("The price must be a whole number of cents.")
    if price_cents < 0:
        raise InvalidInput("The price cannot be negative.")
    if price_cents > get_settings().max_price_cents:
        raise InvalidInput(f"The price can be at most {get_settings().max_price_cents / 100:,.2f}.")
    return price_cents


def check_licence(licence: str) -> str:
    if licence not in LICENCES:
        raise InvalidInput(f"Unknown licence {licence!r}; choose one of {', '.join(LICENCES)}.")
    return licence


def _near_duplicate(session: Session, phash: str) -> Image | None:
    """The closest earlier image within NEAR_DUPLICATE_DISTANCE, if any.

    Exact scan over stored hashes: fine for tens of thousands of images; a BK-tree or
    multi-index hashing replaces it when catalogues grow past that.
    """
    best: tuple[int, int] | None = None
    for image_id, other in session.exec(select(Image.id, Image.phash)):
        d = image_pipeline.hamming_distance(phash, other)
        if d <= image_pipeline.NEAR_DUPLICATE_DISTANCE and (best is None or d < best[0]):
            best = (d, image_id)  # type: ignore[assignment]
    return session.get(Image, best[1]) if best else None


def ingest_one(
    session: Session,
    *,
    actor: User,
    upload: UploadedFile,
    labels: tuple[str, ...] | list[str],
    price_cents: int,
    licence: str,
) -> IngestResult:
    """Check, clean, store and register one file; raises LabelHubError with a per-file message."""
    settings = get_settings()
    name = clean_file_name(upload.name)
    processed = image_pipeline.process_image(
        upload.data,
        name,
        max_pixels=settings.max_image_pixels,
        max_side=settings.max_image_side,
        max_bytes=settings.max_upload_bytes,
        thumbnail_sizes=settings.thumbnail_sizes,
    )
    existing = session.exec(
        select(Image).where(Image.upload_sha256 == processed.upload_sha256)
    ).first()
    if existing is not None:
        return IngestResult(
            name,
            False,
            f"{name} is an exact duplicate of an image already on LabelHub.",
            duplicate_of=existing.public_id,
        )
    key = original_key(processed.stored_sha256, processed.format)
    store = get_store()
    store.put_bytes(key, processed.stored_bytes, content_type=processed.mime)
    near = _near_duplicate(session, processed.phash)
    image = Image(
        owner_id=actor.id,  # type: ignore[arg-type]
        file_name=name,
        upload_sha256=processed.upload_sha256,
        object_key=key,
        phash=processed.phash,
        near_duplicate_of_id=near.id if near else None,
        width=processed.width,
        height=processed.height,
        format=processed.format,
        size_bytes=len(processed.stored_bytes),
        price_cents=price_cents,
        licence=licence,
        # an unverified producer's images wait, withdrawn, until the email is verified (#9)
        status=STATUS_ON_SALE if may_sell(actor) else STATUS_WITHDRAWN,
    )
    for size, data in processed.thumbnails.items():
        store.put_bytes(thumbnail_key(image, size), data, content_type=processed.thumbnail_mime)
    try:
        session.add(image)
        session.flush()
        tags = resolve_labels(session, names=labels, actor=actor, create=True)
        for label in tags:
            session.add(ImageLabel(image_id=image.id, label_id=label.id, added_by_id=actor.id))  # type: ignore[arg-type]
        record_tag_change(
            session,
            actor=actor,
            image=image,
            added=[t.name for t in tags],
            removed=[],
            kind="upload",
        )
        session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]
        session.commit()
    except IntegrityError:
        session.rollback()
        dup = session.exec(
            select(Image).where(Image.upload_sha256 == processed.upload_sha256)
        ).first()
        return IngestResult(
            name,
            False,
            f"{name} is an exact duplicate of an image already on LabelHub.",
            duplicate_of=dup.public_id if dup else None,
        )
    message = f"{name} uploaded."
    if not may_sell(actor):
        message = f"{name} uploaded; verify your email address to put it on sale."
    if near is not None:
        message = f"{name} uploaded; it looks very similar to an image already on LabelHub."
    return IngestResult(
        name,
        True,
        message,
        image_id=image.public_id,
        near_duplicate_of=near.public_id if near else None,
    )


def ingest_images(
    session: Session,
    *,
    actor: User,
    files: list[UploadedFile],
    labels: tuple[str, ...] | list[str] = (),
    price_cents: int,
    licence: str,
) -> list[IngestResult]:
    """Upload a batch. Batch-wide settings are checked first; then each file lands or fails alone."""
    require_role(actor, "producer")
    if not files:
        raise InvalidInput("Choose at least one image to upload.")
    check_price(price_cents)
    check_licence(licence)
    results: list[IngestResult] = []
    for upload in files:
        try:
            results.append(
                ingest_one(
                    session,
                    actor=actor,
                    upload=upload,
                    labels=[*labels, *upload.labels],
                    price_cents=price_cents,
                    licence=licence,
                )
            )
        except LabelHubError as exc:
            session.rollback()
            results.append(IngestResult(clean_file_name(upload.name), False, exc.message))
    # Auto-labelling (#6): one job for the batch's new images when a detector is active.
    from labelhub_app.services.detectors import autolabel_uploads

    autolabel_uploads(
        session, actor=actor, image_ids=[r.image_id for r in results if r.ok and r.image_id]
    )
    return results


# --- producers' own images ---------------------------------------------------------------------

OwnSort = Literal["newest", "oldest", "price_asc", "price_desc", "sales", "income", "name"]


@dataclass(frozen=True)
class OwnImageRow:
    public_id: str
    file_name: str
    created_at: datetime
    labels: list[str]
    price_cents: int
    licence: str
    status: str
    sales_count: int
    income_cents: int
    near_duplicate: bool
    width: int
    height: int


@dataclass(frozen=True)
class OwnImagesPage:
    items: list[OwnImageRow]
    total: int
    page: int
    per_page: int


def labels_by_image(session: Session, image_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if not image_ids:
        return out
    rows = session.exec(
        select(ImageLabel.image_id, Label.name)
        .join(Label, col(Label.id) == ImageLabel.label_id)
        .where(col(ImageLabel.image_id).in_(image_ids))
        .order_by(Label.name)
    )
    for image_id, name in rows:
        out[image_id].append(name)
    return out


def list_own_images(
    session: Session,
    *,
    actor: User,
    sort: OwnSort = "newest",
    label: str | None = None,
    status: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> OwnImagesPage:
    require_role(actor, "producer")
    if page < 1 or not 1 <= per_page <= 200:
        raise InvalidInput("Page out of range.")
    query = select(Image).where(Image.owner_id == actor.id)
    if status:
        query = query.where(Image.status == status)
    if text:
        query = query.where(col(Image.file_name).contains(text.strip()))
    if label:
        from labelhub_app.services.labels import normalise_label

        query = query.where(
            col(Image.id).in_(
                select(ImageLabel.image_id)
                .join(Label, col(Label.id) == ImageLabel.label_id)
                .where(Label.name == normalise_label(label))
            )
        )
    order = {
        "newest": [col(Image.created_at).desc(), col(Image.id).desc()],
        "oldest": [col(Image.created_at), col(Image.id)],
        "price_asc": [col(Image.price_cents), col(Image.id)],
        "price_desc": [col(Image.price_cents).desc(), col(Image.id).desc()],
        "sales": [col(Image.sales_count).desc(), col(Image.id).desc()],
        "income": [col(Image.income_cents).desc(), col(Image.id).desc()],
        "name": [col(Image.file_name), col(Image.id)],
    }.get(sort)
    if order is None:
        raise InvalidInput(f"Unknown sort {sort!r}.")
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    images = session.exec(
        query.order_by(*order).offset((page - 1) * per_page).limit(per_page)
    ).all()
    names = labels_by_image(session, [i.id for i in images])  # type: ignore[misc]
    items = [
        OwnImageRow(
            i.public_id,
            i.file_name,
            i.created_at,
            names.get(i.id, []),  # type: ignore[arg-type]
            i.price_cents,
            i.licence,
            i.status,
            i.sales_count,
            i.income_cents,
            i.near_duplicate_of_id is not None,
            i.width,
            i.height,
        )
        for i in images
    ]
    return OwnImagesPage(items, int(total), page, per_page)


def get_image(session: Session, public_id: str) -> Image:
    image = session.exec(select(Image).where(Image.public_id == public_id)).first()
    if image is None:
        raise NotFound("This image does not exist (it may have been mistyped).")
    return image


def _own_image(session: Session, actor: User, public_id: str) -> Image:
    require_role(actor, "producer")
    image = get_image(session, public_id)
    if image.owner_id != actor.id and not actor.is_admin:
        raise Forbidden("You can only change your own images.")
    return image


def update_image(
    session: Session,
    *,
    actor: User,
    public_id: str,
    labels: list[str] | None = None,
    price_cents: int | None = None,
    licence: str | None = None,
) -> Image:
    """Change an image's labels, price or licence (one transaction, indexed through the outbox)."""
    image = _own_image(session, actor, public_id)
    if price_cents is not None:
        image.price_cents = check_price(price_cents)
    if licence is not None:
        image.licence = check_licence(licence)
    if labels is not None:
        wanted = resolve_labels(session, names=labels, actor=actor, create=True)
        wanted_ids = {lb.id for lb in wanted}
        current = session.exec(select(ImageLabel).where(ImageLabel.image_id == image.id)).all()
        removed = [row for row in current if row.label_id not in wanted_ids]
        for row in removed:
            session.delete(row)
        have = {row.label_id for row in current}
        added = [lb for lb in wanted if lb.id not in have]
        for lb in added:
            session.add(ImageLabel(image_id=image.id, label_id=lb.id, added_by_id=actor.id))  # type: ignore[arg-type]
        removed_names = [session.get(Label, row.label_id).name for row in removed]  # type: ignore[union-attr]
        record_tag_change(
            session,
            actor=actor,
            image=image,
            added=[lb.name for lb in added],
            removed=removed_names,
        )
    image.updated_at = utcnow()
    session.add(image)
    session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]
    session.commit()
    session.refresh(image)
    return image


def set_image_on_sale(session: Session, *, actor: User, public_id: str, on_sale: bool) -> Image:
    """Withdraw an image from sale or offer it again. Images are never deleted once sold."""
    image = _own_image(session, actor, public_id)
    if on_sale:
        require_verified_email(actor)
    if image.status in ("sold_exclusive", "reserved"):  # #9 licences (models/licences.py)
        raise Conflict(
            "This image is sold under an Exclusive licence (or reserved for one being paid), so "
            "it stays off the market."
        )
    image.status = STATUS_ON_SALE if on_sale else STATUS_WITHDRAWN
    image.updated_at = utcnow()
    session.add(image)
    session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]
    session.commit()
    return image


def sweep_unreferenced_objects(
    session: Session, *, dry_run: bool = False, min_age_s: float = 3600.0
) -> list[str]:
    """Remove stored files no image row refers to (left by a crash mid-upload). Returns their keys.

    Files younger than ``min_age_s`` are kept: an upload in progress stores its file before its
    row commits.
    """
    images = session.exec(select(Image)).all()
    keep: set[str] = set()
    for image in images:
        keep.add(image.object_key)
        for size in get_settings().thumbnail_sizes:
            keep.add(thumbnail_key(image, size))
    store = get_store()
    removed = []
    for prefix in ("originals/", "thumbs/"):
        for key in list(store.iter_keys(prefix)):
            if key not in keep and store.age_seconds(key) >= min_age_s:
                removed.append(key)
                if not dry_run:
                    store.delete(key)
    return sorted(removed)


@dataclass(frozen=True)
class ImageView:
    """What anyone may see about an image on its detail page (the producer only as a pseudonym)."""

    public_id: str
    file_name: str
    width: int
    height: int
    format: str
    size_bytes: int
    price_cents: int
    licence: str
    licence_text: str
    labels: list[str]
    producer_pseudonym: str
    created_at: datetime
    on_sale: bool
    owned: bool
    is_own: bool
    sales_count: int = 0
    label_paths: list[list[str]] = field(default_factory=list)


def view_image(session: Session, *, public_id: str, viewer: User | None) -> ImageView:
    image = get_image(session, public_id)
    is_own = viewer is not None and viewer.id == image.owner_id
    owned = (
        viewer is not None
        and session.exec(
            select(Purchase.id).where(Purchase.buyer_id == viewer.id, Purchase.image_id == image.id)
        ).first()
        is not None
    )
    if image.status != STATUS_ON_SALE and not (is_own or owned or (viewer and viewer.is_admin)):
        raise NotFound("This image is no longer offered in the market.")
    owner = session.get(User, image.owner_id)
    labels = labels_by_image(session, [image.id])[image.id]  # type: ignore[index]
    return ImageView(
        image.public_id,
        image.file_name,
        image.width,
        image.height,
        image.format,
        image.size_bytes,
        image.price_cents,
        image.licence,
        LICENCES[image.licence],
        labels,
        owner.pseudonym if owner else "unknown",
        image.created_at,
        image.status == STATUS_ON_SALE,
        owned,
        is_own,
        image.sales_count,
    )


def may_view_original(session: Session, *, image: Image, viewer: User | None) -> bool:
    """Originals are private: the owner, buyers, reviewers (who check labels) and admins."""
    if viewer is None:
        return False
    if viewer.is_admin or viewer.is_reviewer or viewer.id == image.owner_id:
        return True
    return (
        session.exec(
            select(Purchase.id).where(Purchase.buyer_id == viewer.id, Purchase.image_id == image.id)
        ).first()
        is not None
    )
