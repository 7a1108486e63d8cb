"""Licences: versioned licence texts and each image's offers (licence kind + price).

Every image on sale has a Standard offer at its price (``Image.price_cents``, the "from" price the
market shows). A producer may add an Extended and an Exclusive price; Exclusive is sold only while
nobody has bought any licence to the image, and the sale takes the image off the market.
Licence texts are never edited: ``publish_version`` adds version n+1, and each purchase keeps the
version it was sold under.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelhub_app.models import STATUS_ON_SALE, Image, SearchOutbox, User, utcnow
from labelhub_app.models.licences import (
    LICENCE_EXCLUSIVE,
    LICENCE_EXTENDED,
    LICENCE_KINDS,
    LICENCE_STANDARD,
    STATUS_RESERVED,
    STATUS_SOLD_EXCLUSIVE,
    ImageOffer,
    LicenceText,
)
from labelhub_app.services.images import check_price

KIND_NAMES = {
    LICENCE_STANDARD: "Standard",
    LICENCE_EXTENDED: "Extended",
    LICENCE_EXCLUSIVE: "Exclusive",
}


def check_kind(kind: str) -> str:
    if kind not in LICENCE_KINDS:
        raise InvalidInput(
            f"Unknown licence {kind!r}; choose one of {', '.join(KIND_NAMES.values())}."
        )
    return kind


def current_texts(session: Session) -> dict[str, LicenceText]:
    """The latest version of each licence kind's text."""
    latest = (
        select(LicenceText.kind, func.max(LicenceText.version).label("v"))
        .group_by(LicenceText.kind)
        .subquery()
    )
    rows = session.exec(
        select(LicenceText).join(
            latest,
            (col(LicenceText.kind) == latest.c.kind) & (col(LicenceText.version) == latest.c.v),
        )
    ).all()
    return {t.kind: t for t in rows}


def get_text(session: Session, *, kind: str, version: int) -> LicenceText:
    text = session.exec(
        select(LicenceText).where(LicenceText.kind == kind, LicenceText.version == version)
    ).first()
    if text is None:
        raise NotFound(
            f"There is no version {version} of the {KIND_NAMES.get(kind, kind)} licence."
        )
    return text


def publish_version(
    session: Session, *, actor: User, kind: str, title: str, allows: str, forbids: str, body: str
) -> LicenceText:
    """An administrator publishes a new version; earlier purchases keep theirs."""
    if not actor.is_admin:
        raise Forbidden("Only administrators publish licence texts.")
    check_kind(kind)
    if not body.strip() or not title.strip():
        raise InvalidInput("A licence version needs a title and a text.")
    last = session.exec(select(func.max(LicenceText.version)).where(LicenceText.kind == kind)).one()
    text = LicenceText(
        kind=kind,
        version=int(last or 0) + 1,
        title=title.strip()[:120],
        allows=allows.strip()[:500],
        forbids=forbids.strip()[:500],
        body=body.strip(),
    )
    session.add(text)
    session.commit()
    session.refresh(text)
    return text


def offer_prices(session: Session, images: list[Image]) -> dict[int, dict[str, int]]:
    """image id -> {kind: price cents} for every kind the image is offered under."""
    ids = [i.id for i in images]
    prices: dict[int, dict[str, int]] = {
        i.id: {LICENCE_STANDARD: i.price_cents}
        for i in images  # type: ignore[misc]
    }
    if ids:
        for offer in session.exec(select(ImageOffer).where(col(ImageOffer.image_id).in_(ids))):
            if offer.kind != LICENCE_STANDARD:
                prices[offer.image_id][offer.kind] = offer.price_cents
    return prices


def sale_blocker(image: Image) -> str | None:
    """Why no licence to the image can be bought now, or None."""
    if image.status == STATUS_SOLD_EXCLUSIVE:
        return "Sold under the Exclusive licence: no further licences are sold."
    if image.status == STATUS_RESERVED:
        return "Reserved for an Exclusive purchase being paid; try again in a few minutes."
    if image.status != STATUS_ON_SALE:
        return "This image is not on sale."
    return None


def exclusive_blocker(image: Image) -> str | None:
    """Why the Exclusive licence cannot be bought now, or None."""
    blocked = sale_blocker(image)
    if blocked:
        return blocked
    if image.sales_count > 0:
        return "Other buyers already license this image, so it cannot be sold exclusively."
    return None


@dataclass(frozen=True)
class LicenceChoice:
    kind: str
    name: str  # Standard, Extended, Exclusive
    title: str
    version: int
    allows: list[str]
    forbids: list[str]
    price_cents: int | None  # None: not offered for this image
    available: bool
    note: str  # why it cannot be bought, or ""


def licence_choices(session: Session, *, image: Image) -> list[LicenceChoice]:
    """What each licence allows and costs for one image: the buy dialog's comparison."""
    texts = current_texts(session)
    prices = offer_prices(session, [image])[image.id]  # type: ignore[index]
    choices = []
    for kind in LICENCE_KINDS:
        text = texts.get(kind)
        if text is None:
            continue
        price = prices.get(kind)
        note = ""
        if price is None:
            note = "The producer does not offer this licence for this image."
        elif kind == LICENCE_EXCLUSIVE:
            note = exclusive_blocker(image) or ""
        else:
            note = sale_blocker(image) or ""
        choices.append(
            LicenceChoice(
                kind,
                KIND_NAMES[kind],
                text.title,
                text.version,
                [line for line in text.allows.split("\n") if line.strip()],
                [line for line in text.forbids.split("\n") if line.strip()],
                price,
                price is not None and not note,
                note,
            )
        )
    return choices


def check_offer_prices(
    standard_cents: int, extended_cents: int | None, exclusive_cents: int | None
) -> tuple[int | None, int | None]:
    """Validate a set of licence prices (None: not offered); returns (extended, exclusive)."""
    check_price(standard_cents)
    for kind, cents in ((LICENCE_EXTENDED, extended_cents), (LICENCE_EXCLUSIVE, exclusive_cents)):
        if cents is not None:
            check_price(cents)
            if cents < standard_cents:
                raise InvalidInput(
                    f"The {KIND_NAMES[kind]} price must be at least the Standard price, since it "
                    "allows more."
                )
    if (
        exclusive_cents is not None
        and extended_cents is not None
        and exclusive_cents < extended_cents
    ):
        raise InvalidInput("The Exclusive price must be at least the Extended price.")
    return extended_cents, exclusive_cents


def own_offers(session: Session, *, actor: User, image_id: str) -> dict[str, int]:
    """The producer's prices per licence for one of their images (kinds not offered: absent)."""
    image = session.exec(select(Image).where(Image.public_id == image_id)).first()
    if image is None or (image.owner_id != actor.id and not actor.is_admin):
        raise NotFound("No such image among yours.")
    return offer_prices(session, [image])[image.id]  # type: ignore[index]


def set_offers(
    session: Session,
    *,
    actor: User,
    image_id: str,
    standard_cents: int,
    extended_cents: int | None = None,
    exclusive_cents: int | None = None,
) -> dict[str, int]:
    """The producer sets the image's prices per licence (None: not offered). Returns them."""
    image = session.exec(select(Image).where(Image.public_id == image_id)).first()
    if image is None or (image.owner_id != actor.id and not actor.is_admin):
        raise NotFound("No such image among yours.")
    extended_cents, exclusive_cents = check_offer_prices(
        standard_cents, extended_cents, exclusive_cents
    )
    wanted = {LICENCE_EXTENDED: extended_cents, LICENCE_EXCLUSIVE: exclusive_cents}
    if exclusive_cents is not None and image.sales_count > 0:
        raise Conflict("This image already has buyers, so it cannot be offered exclusively.")
    existing = {
        o.kind: o for o in session.exec(select(ImageOffer).where(ImageOffer.image_id == image.id))
    }
    for kind, cents in wanted.items():
        offer = existing.get(kind)
        if cents is None:
            if offer is not None:
                session.delete(offer)
        elif offer is None:
            session.add(ImageOffer(image_id=image.id, kind=kind, price_cents=cents))  # type: ignore[arg-type]
        else:
            offer.price_cents = cents
            offer.updated_at = utcnow()
            session.add(offer)
    if image.price_cents != standard_cents:
        image.price_cents = standard_cents
        image.updated_at = utcnow()
        session.add(image)
        session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]
    session.commit()
    return {k: v for k, v in {LICENCE_STANDARD: standard_cents, **wanted}.items() if v is not None}
