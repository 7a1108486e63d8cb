"""Consumers rate images they bought: 1-5 stars and an optional comment, one rating per purchase.

Rating again updates the same rating (the page says so). Each rating goes to the operation log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from labelhub_app.errors import InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import Image, Operation, Purchase, Rating, User, utcnow

MAX_COMMENT = 1000


@dataclass(frozen=True)
class RatingSummary:
    average: float | None
    count: int


@dataclass(frozen=True)
class RatingResult:
    stars: int
    comment: str
    updated: bool  # True when an earlier rating of the same purchase was changed

    @property
    def message(self) -> str:
        return (
            f"Your rating was updated to {self.stars}/5 (one rating per purchase)."
            if self.updated
            else f"Thanks, you rated this image {self.stars}/5."
        )


@dataclass(frozen=True)
class MyRating:
    stars: int
    comment: str
    updated_at: datetime


def _image(session: Session, public_id: str) -> Image:
    image = session.exec(select(Image).where(Image.public_id == public_id)).first()
    if image is None:
        raise NotFound("This image does not exist.")
    return image


def rate_image(
    session: Session, *, buyer: User | None, image_id: str, stars: int, comment: str = ""
) -> RatingResult:
    """Rate a bought image; a second rating of the same purchase updates the first."""
    if buyer is None:
        raise NotAuthenticated("Sign in to rate images.")
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise InvalidInput("Give 1 to 5 stars.")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"Keep the comment under {MAX_COMMENT} characters.")
    image = _image(session, image_id)
    purchase = session.exec(
        select(Purchase).where(Purchase.buyer_id == buyer.id, Purchase.image_id == image.id)
    ).first()
    if purchase is None:
        raise InvalidInput("You can rate only images you bought; buy this image to rate it.")
    rating = session.exec(select(Rating).where(Rating.purchase_id == purchase.id)).first()
    updated = rating is not None
    if rating is None:
        rating = Rating(
            purchase_id=purchase.id,  # type: ignore[arg-type]
            image_id=image.id,  # type: ignore[arg-type]
            buyer_id=buyer.id,  # type: ignore[arg-type]
            stars=stars,
            comment=comment,
        )
    else:
        rating.stars, rating.comment, rating.updated_at = stars, comment, utcnow()
    session.add(rating)
    session.add(
        Operation(
            user_id=buyer.id,  # type: ignore[arg-type]
            image_id=image.id,  # type: ignore[arg-type]
            action="rate",
            revision=None,
            payload={"op": "rate", "stars": stars, "comment": comment[:200], "updated": updated},
        )
    )
    session.commit()
    return RatingResult(stars, comment, updated)


def rating_summary(session: Session, *, image_id: int) -> RatingSummary:
    average, count = session.exec(
        select(func.avg(Rating.stars), func.count()).where(Rating.image_id == image_id)
    ).one()
    return RatingSummary(float(average) if average is not None else None, int(count))


def rating_summaries(session: Session, image_ids: list[int]) -> dict[int, RatingSummary]:
    if not image_ids:
        return {}
    found = {
        image_id: RatingSummary(float(avg), int(n))
        for image_id, avg, n in session.exec(
            select(Rating.image_id, func.avg(Rating.stars), func.count())
            .where(col(Rating.image_id).in_(image_ids))
            .group_by(Rating.image_id)
        )
    }
    return {i: found.get(i, RatingSummary(None, 0)) for i in image_ids}


def my_rating(session: Session, *, buyer: User | None, image_id: str) -> MyRating | None:
    """The viewer's own rating of an image, if they rated it."""
    if buyer is None:
        return None
    image = _image(session, image_id)
    rating = session.exec(
        select(Rating).where(Rating.buyer_id == buyer.id, Rating.image_id == image.id)
    ).first()
    return MyRating(rating.stars, rating.comment, rating.updated_at) if rating else None


def my_ratings(session: Session, *, buyer: User, image_ids: list[str]) -> dict[str, int]:
    """The buyer's stars for each of these images (public ids) they rated."""
    if not image_ids:
        return {}
    return dict(
        session.exec(
            select(Image.public_id, Rating.stars)
            .join(Rating, col(Rating.image_id) == col(Image.id))
            .where(Rating.buyer_id == buyer.id, col(Image.public_id).in_(image_ids))
        ).all()
    )
