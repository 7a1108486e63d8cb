import pytest

from labelhub_app.errors import Forbidden, InvalidInput
from labelhub_app.services import ledger
from tests.factories import make_user


def test_top_up_is_idempotent(session, settings):
    user = make_user(session, "consumer")
    start = ledger.balance(session, user=user)
    assert start == settings.demo_credits_cents
    assert ledger.top_up(session, user=user, amount_cents=500, idempotency_key="k1") == start + 500
    assert ledger.top_up(session, user=user, amount_cents=500, idempotency_key="k1") == start + 500
    assert ledger.top_up(session, user=user, amount_cents=500, idempotency_key="k2") == start + 1000
    assert ledger.check_ledger(session).ok


@pytest.mark.parametrize("amount", [0, -5, 10**9])
def test_top_up_refuses_bad_amounts(session, amount):
    user = make_user(session, "consumer")
    with pytest.raises(InvalidInput):
        ledger.top_up(session, user=user, amount_cents=amount, idempotency_key="x")


def test_top_up_needs_consumer(session):
    with pytest.raises(Forbidden):
        ledger.top_up(
            session, user=make_user(session, "producer"), amount_cents=5, idempotency_key="x"
        )


def test_unbalanced_or_float_postings_are_refused(session):
    user = make_user(session, "consumer")
    acc = ledger.account_id(session, kind="balance", user_id=user.id)
    with pytest.raises(ValueError, match="unbalanced"):
        ledger.post_transaction(session, kind="x", postings=[ledger.Posting(acc, 5)], actor_id=None)
    with pytest.raises(TypeError):
        ledger.post_transaction(
            session, kind="x", postings=[ledger.Posting(acc, 0.5)], actor_id=None
        )


@pytest.mark.parametrize(
    ("text", "cents"), [("2.50", 250), ("0.29", 29), ("", None), (" 1,000 ", 100000), ("0", 0)]
)
def test_parse_credits(text, cents):
    assert ledger.parse_credits(text, "price") == cents


@pytest.mark.parametrize("text", ["abc", "-1", "1.005", "nan", "inf"])
def test_parse_credits_refuses(text):
    with pytest.raises(InvalidInput):
        ledger.parse_credits(text, "price")
