"""The Bayesian producer score: Beta posterior, ranked by its lower bound."""

import pytest
from scipy import stats

from labelhub_app.services import reputation
from labelhub_app.services.reputation import beta_cdf, beta_quantile, estimate


@pytest.mark.parametrize(
    ("a", "b"), [(3.0, 1.0), (6.0, 1.0), (303.0, 1.0), (2.5, 7.5), (50.0, 50.0), (1.0, 1.0)]
)
def test_beta_functions_agree_with_scipy(a, b):
    for x in (0.01, 0.2, 0.5, 0.8, 0.99):
        assert beta_cdf(x, a, b) == pytest.approx(stats.beta.cdf(x, a, b), abs=1e-9)
    for p in (0.05, 0.5, 0.95):
        assert beta_quantile(p, a, b) == pytest.approx(stats.beta.ppf(p, a, b), abs=1e-8)


def test_three_accepts_do_not_beat_three_hundred():
    few = estimate(3, 0)
    many = estimate(300, 0)
    mostly = estimate(285, 15)
    assert few.mean > 0.85  # a high mean ...
    assert few.lower < mostly.lower < many.lower  # ... but a wide interval ranks it lower
    assert few.score == 60 and many.score == 99
    assert few.upper - few.lower > many.upper - many.lower


def test_outcomes_move_the_estimate():
    prior = reputation.PRIOR
    assert (prior.reviews, prior.mean) == (0, 0.75)
    rejected = estimate(0, 5)
    fixed = estimate(0, 0, 5)
    accepted = estimate(5, 0)
    assert rejected.lower < fixed.lower < accepted.lower
    assert rejected.mean < prior.mean < accepted.mean
    assert 0.0 <= rejected.lower <= rejected.mean <= rejected.upper <= 1.0
