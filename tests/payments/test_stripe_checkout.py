"""Card top-ups and purchases against localstripe with the real stripe library and webhooks."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlmodel import select

from labelhub_app.adapters.payments import get_payments
from labelhub_app.errors import Conflict
from labelhub_app.models import Purchase
from labelhub_app.models.payments import Payment
from labelhub_app.services import ledger, licences, payments
from tests.factories import make_image, make_project, make_user
from tests.payments.conftest import WEBHOOK_SECRET
from tests.payments.localstripe import authenticate_3ds

VISA = payments.Card("4242424242424242", 12, 2034, "123")
DECLINED = payments.Card("4000000000000341", 12, 2034, "123")
THREE_D_SECURE = payments.Card("4000002500003155", 12, 2034, "123")


def wait_for_status(session, public_id: str, status: str, within: float = 20.0) -> Payment:
    """Webhooks arrive asynchronously: poll the database (bounded) until the status lands."""
    deadline = time.monotonic() + within
    while True:
        session.expire_all()
        payment = session.exec(select(Payment).where(Payment.public_id == public_id)).one()
        if payment.status == status or time.monotonic() > deadline:
            return payment
        time.sleep(0.1)


def test_card_topup_is_credited_by_the_webhook(session, stripe_env):
    consumer = make_user(session, "consumer")
    before = ledger.balance(session, user=consumer)
    view = payments.start_topup(
        session, user=consumer, amount_cents=2500, idempotency_key="t1", card=VISA
    )
    # Stripe said "succeeded", but only the webhook credits the ledger.
    assert view.status in ("processing", "succeeded")
    payment = wait_for_status(session, view.public_id, "succeeded")
    assert payment.status == "succeeded" and payment.provider_id.startswith("pi_")
    assert ledger.balance(session, user=consumer) == before + 2500
    again = payments.start_topup(
        session, user=consumer, amount_cents=2500, idempotency_key="t1", card=VISA
    )
    assert again.public_id == view.public_id  # a retried request pays once
    assert ledger.balance(session, user=consumer) == before + 2500
    assert ledger.ledger_report(session).ok


def test_declined_card_shows_the_reason_and_credits_nothing(session, stripe_env):
    consumer = make_user(session, "consumer")
    before = ledger.balance(session, user=consumer)
    view = payments.start_topup(
        session, user=consumer, amount_cents=1000, idempotency_key="d1", card=DECLINED
    )
    assert view.status == "failed" and view.message == "Your card was declined."
    assert ledger.balance(session, user=consumer) == before


def test_three_d_secure_needs_the_buyers_confirmation(session, stripe_env):
    consumer = make_user(session, "consumer")
    before = ledger.balance(session, user=consumer)
    view = payments.start_topup(
        session, user=consumer, amount_cents=1200, idempotency_key="s1", card=THREE_D_SECURE
    )
    assert view.status == "requires_action" and "3-D Secure" in view.message
    payment = session.exec(select(Payment).where(Payment.public_id == view.public_id)).one()
    secret = get_payments().client_secret(payment.provider_id)  # type: ignore[attr-defined]
    authenticate_3ds(stripe_env, payment.provider_id, secret, success=True)  # the bank's page
    checked = payments.refresh_payment(session, user=consumer, payment_id=view.public_id)
    assert checked.status in ("processing", "succeeded")
    assert wait_for_status(session, view.public_id, "succeeded").status == "succeeded"
    assert ledger.balance(session, user=consumer) == before + 1200


def test_card_purchase_of_an_exclusive_licence_and_its_refund(session, stripe_env):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    admin = make_user(session, "consumer")
    admin.is_admin = True
    session.add(admin)
    session.commit()
    image = make_image(session, producer, price_cents=300)
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=300, exclusive_cents=4200
    )
    project = make_project(session, consumer)
    view = payments.start_card_purchase(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="p1",
        licence="exclusive",
        card=VISA,
    )
    assert wait_for_status(session, view.public_id, "succeeded").status == "succeeded"
    session.refresh(image)
    assert image.status == "sold_exclusive"
    [purchase] = session.exec(select(Purchase).where(Purchase.buyer_id == consumer.id)).all()
    assert (purchase.licence_kind, purchase.price_cents) == ("exclusive", 4200)
    refund = payments.refund_purchase(session, actor=admin, purchase_id=purchase.public_id)
    assert refund.provider == "stripe" and (refund.provider_id or "").startswith("re_")
    session.refresh(image)
    assert image.status == "on_sale"
    assert ledger.ledger_report(session).ok


def test_forged_webhook_over_http_is_refused(session, stripe_env, webhook_server):
    body = b'{"id": "evt_forged", "type": "payment_intent.succeeded", "data": {"object": {}}}'
    r = httpx.post(webhook_server, content=body, headers={"Stripe-Signature": "t=1,v1=bad"})
    assert r.status_code == 400 and "signature" in r.json()["error"]["message"]
    r = httpx.post(webhook_server, content=body)
    assert r.status_code == 400
    assert WEBHOOK_SECRET  # the real secret was never used above


def test_unspent_card_top_up_is_refunded_by_a_reversal(session, stripe_env):
    consumer = make_user(session, "consumer")
    admin = make_user(session, "consumer")
    admin.is_admin = True
    session.add(admin)
    session.commit()
    before = ledger.balance(session, user=consumer)
    view = payments.start_topup(
        session, user=consumer, amount_cents=700, idempotency_key="r1", card=VISA
    )
    assert wait_for_status(session, view.public_id, "succeeded").status == "succeeded"
    refund = payments.refund_topup(session, actor=admin, payment_id=view.public_id)
    assert (refund.provider_id or "").startswith("re_") and refund.amount_cents == 700
    assert ledger.balance(session, user=consumer) == before
    assert wait_for_status(session, view.public_id, "refunded").status == "refunded"
    with pytest.raises(Conflict, match="not yet refunded"):
        payments.refund_topup(session, actor=admin, payment_id=view.public_id)
    assert ledger.ledger_report(session).ok
