"""Producer reputation: a Bayesian estimate of how often a producer's labels pass review.

Each producer's reviews are Bernoulli trials: an accepted review counts as a success, a rejected
one as a failure and a fixed one as half of each (the labels were usable after a correction).
With a Beta(PRIOR_ALPHA, PRIOR_BETA) prior the posterior is Beta(a0 + s, b0 + f); its mean is the
expected pass rate and its 5th and 95th percentiles a 90% credible interval. Producers are scored
and ranked by the **lower bound**: three accepted reviews give 0.61, three hundred give 0.99, so a
short lucky streak never outranks a long record. Gold checks of reviewers never count.

The counts and the posterior are cached per producer in ``producer_reputation``, recomputed in the
transaction of every review, which also appends search outbox rows for the producer's on-sale
images so the market index (which filters and sorts by the score) follows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, literal
from sqlmodel import Session, col, func, select

from labelhub_app.errors import NotFound
from labelhub_app.models import (
    STATUS_ON_SALE,
    Image,
    ProducerReputation,
    Review,
    SearchOutbox,
    User,
    utcnow,
)
from labelhub_app.models._base import UTCDateTime
from labelhub_app.models.reviews import OUTCOME_ACCEPTED, OUTCOME_FIXED, OUTCOME_REJECTED

PRIOR_ALPHA = 3.0  # a new producer is presumed mostly careful (prior mean 0.75) ...
PRIOR_BETA = 1.0  # ... with the weight of four reviews
CREDIBLE = 0.90  # the interval shown; its lower end is the score
# The search index gets the producer's images again only when the score has moved this much since
# it last did (one point of 0-100): a review of a producer with 10,000 images then costs the next
# search a reload of 10,000 documents only now and then, and the index is never a point off.
INDEX_STEP = 0.01


# ------------------------------------------------------------------------------ Beta quantiles
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the regularised incomplete beta (Numerical Recipes, Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-12:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """P(X <= x) for X ~ Beta(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def beta_quantile(p: float, a: float, b: float) -> float:
    """The x with P(X <= x) = p for X ~ Beta(a, b) (bisection; exact to about 1e-10)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if beta_cdf(mid, a, b) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# ------------------------------------------------------------------------------ estimates
@dataclass(frozen=True)
class Estimate:
    reviews: int
    accepted: int
    rejected: int
    fixed: int
    mean: float
    lower: float
    upper: float

    @property
    def score(self) -> int:
        """The score shown to people: the lower bound as 0-100."""
        return math.floor(self.lower * 100 + 1e-9)


def estimate(accepted: int, rejected: int, fixed: int = 0) -> Estimate:
    """The Beta posterior after these review outcomes."""
    a = PRIOR_ALPHA + accepted + 0.5 * fixed
    b = PRIOR_BETA + rejected + 0.5 * fixed
    tail = (1.0 - CREDIBLE) / 2
    return Estimate(
        reviews=accepted + rejected + fixed,
        accepted=accepted,
        rejected=rejected,
        fixed=fixed,
        mean=a / (a + b),
        lower=beta_quantile(tail, a, b),
        upper=beta_quantile(1.0 - tail, a, b),
    )


PRIOR = estimate(0, 0, 0)


def _from_row(row: ProducerReputation) -> Estimate:
    return Estimate(
        row.reviews, row.accepted, row.rejected, row.fixed, row.mean, row.lower, row.upper
    )


def update_reputation(session: Session, *, producer_id: int) -> Estimate:
    """Recount the producer's reviews, store the posterior and, when the score moved by
    ``INDEX_STEP`` or more since the index last saw it, queue the producer's on-sale images for the
    search index (no commit: part of the review's transaction)."""
    counts = dict(
        session.exec(
            select(Review.outcome, func.count())
            .where(Review.producer_id == producer_id, col(Review.gold).is_(False))
            .group_by(Review.outcome)
        ).all()
    )
    result = estimate(
        int(counts.get(OUTCOME_ACCEPTED, 0)),
        int(counts.get(OUTCOME_REJECTED, 0)),
        int(counts.get(OUTCOME_FIXED, 0)),
    )
    row = session.get(ProducerReputation, producer_id) or ProducerReputation(
        user_id=producer_id, indexed_lower=PRIOR.lower
    )
    row.accepted, row.rejected, row.fixed = result.accepted, result.rejected, result.fixed
    row.reviews, row.mean, row.lower, row.upper = (
        result.reviews,
        result.mean,
        result.lower,
        result.upper,
    )
    row.updated_at = utcnow()
    reindex = abs(result.lower - row.indexed_lower) >= INDEX_STEP - 1e-12
    if reindex:
        row.indexed_lower = result.lower
    session.add(row)
    session.flush()
    if not reindex:
        return result
    session.execute(
        insert(SearchOutbox).from_select(
            ["image_id", "created_at"],
            select(col(Image.id), literal(utcnow(), UTCDateTime())).where(
                Image.owner_id == producer_id, Image.status == STATUS_ON_SALE
            ),
        )
    )
    return result


def reputations(session: Session, user_ids: Iterable[int]) -> dict[int, Estimate]:
    """Each producer's estimate (the prior's for one never reviewed)."""
    ids = list(dict.fromkeys(user_ids))
    found = {
        row.user_id: _from_row(row)
        for row in session.exec(
            select(ProducerReputation).where(col(ProducerReputation.user_id).in_(ids))
        )
    }
    return {i: found.get(i, PRIOR) for i in ids}


def reputation_of(session: Session, *, user_id: int) -> Estimate:
    return reputations(session, [user_id])[user_id]


def reputation_by_pseudonym(session: Session, *, pseudonym: str) -> Estimate:
    user_id = session.exec(select(User.id).where(User.pseudonym == pseudonym)).first()
    if user_id is None:
        raise NotFound(f"No producer is called {pseudonym!r}.")
    return reputation_of(session, user_id=user_id)


def quality_of_owners(session: Session, image_ids: list[int]) -> dict[int, float]:
    """The owner's score (lower bound, 0..1) for each image: what the search index stores."""
    if not image_ids:
        return {}
    rows = session.exec(
        select(Image.id, ProducerReputation.lower)
        .join(
            ProducerReputation,
            col(ProducerReputation.user_id) == col(Image.owner_id),
            isouter=True,
        )
        .where(col(Image.id).in_(image_ids))
    ).all()
    return {
        image_id: (lower if lower is not None else PRIOR.lower)
        for image_id, lower in rows
        if image_id is not None
    }
