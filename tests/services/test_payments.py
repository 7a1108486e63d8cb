"""Refunds, webhooks (signature, replay, out of order) and the ledger under concurrent purchases."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid

import pytest
from sqlmodel import select

from labelhub_app import db
from labelhub_app.adapters.payments import InvalidSignature
from labelhub_app.config import reset_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput
from labelhub_app.models import Image, LedgerTransaction, Purchase, User
from labelhub_app.models.licences import STATUS_RESERVED, STATUS_SOLD_EXCLUSIVE
from labelhub_app.models.payments import Payment, WebhookEvent
from labelhub_app.services import ledger, licences, market, payments
from tests.factories import make_image, make_project, make_user

SECRET = "whsec_labelhub_test"


def sign(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def event(kind: str, payment: Payment, event_id: str | None = None) -> bytes:
    obj = {
        "id": payment.provider_id or "pi_test",
        "object": "payment_intent",
        "amount": payment.amount_cents,
        "metadata": {"labelhub_payment": payment.public_id},
    }
    if kind == "payment_intent.payment_failed":
        obj["last_payment_error"] = {"message": "Your card was declined."}
    return json.dumps(
        {"id": event_id or f"evt_{uuid.uuid4().hex}", "type": kind, "data": {"object": obj}}
    ).encode()


@pytest.fixture
def stripe_mode(settings, monkeypatch):
    """Stripe settings; nothing here calls Stripe (webhooks are verified offline)."""
    monkeypatch.setenv("LABELHUB_PAYMENTS", "stripe")
    monkeypatch.setenv("LABELHUB_STRIPE_API_KEY", "sk_test_unused")
    monkeypatch.setenv("LABELHUB_STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("LABELHUB_STRIPE_API_BASE", "http://127.0.0.1:9")
    reset_settings()
    yield
    reset_settings()


def _topup_payment(session, user: User, cents: int = 1500) -> Payment:
    """A top-up as start_topup leaves it once Stripe answered "processing"."""
    payment = Payment(
        user_id=user.id,  # type: ignore[arg-type]
        purpose="topup",
        amount_cents=cents,
        provider="stripe",
        provider_id=f"pi_{uuid.uuid4().hex[:14]}",
        idempotency_key=uuid.uuid4().hex,
        status="processing",
    )
    session.add(payment)
    session.commit()
    return payment


def test_forged_webhooks_are_refused_and_change_nothing(session, stripe_mode):
    consumer = make_user(session, "consumer")
    payment = _topup_payment(session, consumer)
    before = ledger.balance(session, user=consumer)
    body = event("payment_intent.succeeded", payment)
    for signature in (
        sign(body, "whsec_wrong"),
        sign(body, at=int(time.time()) - 3600),  # replayed long after: outside the tolerance
        "t=1,v1=00",
        "",
    ):
        with pytest.raises(InvalidSignature):
            payments.handle_webhook(session, payload=body, signature=signature)
    tampered = body.replace(b'"amount": 1500', b'"amount": 999999')
    with pytest.raises(InvalidSignature):
        payments.handle_webhook(session, payload=tampered, signature=sign(body))
    session.refresh(payment)
    assert payment.status == "processing" and ledger.balance(session, user=consumer) == before
    assert session.exec(select(WebhookEvent)).all() == []


def test_a_replayed_webhook_credits_once(session, stripe_mode):
    consumer = make_user(session, "consumer")
    payment = _topup_payment(session, consumer)
    before = ledger.balance(session, user=consumer)
    body = event("payment_intent.succeeded", payment, "evt_once")
    assert payments.handle_webhook(session, payload=body, signature=sign(body)) == "credited"
    assert payments.handle_webhook(session, payload=body, signature=sign(body)) == "duplicate"
    # The same change under a new event id (Stripe retried with another id): stale, no credit.
    other = event("payment_intent.succeeded", payment, "evt_twice")
    assert payments.handle_webhook(session, payload=other, signature=sign(other)) == "stale"
    assert ledger.balance(session, user=consumer) == before + 1500
    session.refresh(payment)
    assert payment.status == "succeeded" and payment.ledger_txn_id is not None
    assert ledger.ledger_report(session).ok


def test_out_of_order_events_never_undo_a_success(session, stripe_mode):
    consumer = make_user(session, "consumer")
    payment = _topup_payment(session, consumer)
    before = ledger.balance(session, user=consumer)
    ok = event("payment_intent.succeeded", payment)
    late_action = event("payment_intent.requires_action", payment)
    late_failure = event("payment_intent.payment_failed", payment)
    assert payments.handle_webhook(session, payload=ok, signature=sign(ok)) == "credited"
    for body in (late_action, late_failure):
        assert payments.handle_webhook(session, payload=body, signature=sign(body)) == "stale"
    session.refresh(payment)
    assert payment.status == "succeeded"
    assert ledger.balance(session, user=consumer) == before + 1500


def test_concurrent_redeliveries_apply_once(session, stripe_mode):
    consumer = make_user(session, "consumer")
    payment = _topup_payment(session, consumer)
    before = ledger.balance(session, user=consumer)
    body = event("payment_intent.succeeded", payment, "evt_parallel")
    outcomes: list[str] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        with db.session_scope() as s:
            barrier.wait()
            outcomes.append(payments.handle_webhook(s, payload=body, signature=sign(body)))

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["credited"] + ["duplicate"] * 4
    assert ledger.balance(session, user=consumer) == before + 1500


def test_failed_card_purchase_releases_the_reserved_exclusive_image(session, stripe_mode):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    image = make_image(session, producer, price_cents=300)
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=300, exclusive_cents=900
    )
    project = make_project(session, consumer)
    # start_card_purchase calls Stripe, which is unreachable here: the payment fails at once
    # and the reservation made before the call is released.
    view = payments.start_card_purchase(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="buy-1",
        licence="exclusive",
        payment_method="pm_card_visa",
    )
    assert view.status == "failed" and "could not take the payment" in view.message
    session.refresh(image)
    assert image.status == "on_sale"
    # A reservation whose failure arrives by webhook is released the same way.
    payment = Payment(
        user_id=consumer.id,  # type: ignore[arg-type]
        purpose="purchase",
        amount_cents=900,
        provider="stripe",
        provider_id="pi_reserved",
        idempotency_key="reserved",
        status="processing",
        project_id=project.id,
        items_json=json.dumps([[image.public_id, "exclusive", 900]]),
    )
    image.status = STATUS_RESERVED
    session.add_all([payment, image])
    session.commit()
    body = event("payment_intent.payment_failed", payment)
    assert payments.handle_webhook(session, payload=body, signature=sign(body)).startswith(
        "failed, 1 image"
    )
    session.refresh(image)
    session.refresh(payment)
    assert image.status == "on_sale" and payment.failure_message == "Your card was declined."


def test_succeeded_card_purchase_completes_with_its_licence(session, stripe_mode):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    image = make_image(session, producer, price_cents=300)
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=300, exclusive_cents=900
    )
    project = make_project(session, consumer)
    payment = Payment(
        user_id=consumer.id,  # type: ignore[arg-type]
        purpose="purchase",
        amount_cents=900,
        provider="stripe",
        provider_id="pi_buy",
        idempotency_key="buy",
        status="requires_action",
        project_id=project.id,
        items_json=json.dumps([[image.public_id, "exclusive", 900]]),
    )
    image.status = STATUS_RESERVED
    session.add_all([payment, image])
    session.commit()
    before = ledger.balance(session, user=consumer)
    body = event("payment_intent.succeeded", payment)
    assert payments.handle_webhook(session, payload=body, signature=sign(body)) == (
        "purchase completed"
    )
    session.refresh(image)
    [purchase] = session.exec(select(Purchase).where(Purchase.buyer_id == consumer.id)).all()
    assert (purchase.licence_kind, purchase.licence_version, purchase.price_cents) == (
        "exclusive",
        1,
        900,
    )
    assert image.status == STATUS_SOLD_EXCLUSIVE
    assert ledger.balance(session, user=consumer) == before  # paid by card, not from credits
    assert ledger.income(session, user=producer) == 900 - ledger.commission_of(900)
    assert ledger.ledger_report(session).ok


def test_refund_reverses_the_sale_with_a_new_transaction(session):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    admin = make_user(session, "consumer")
    admin.is_admin = True
    session.add(admin)
    session.commit()
    image = make_image(session, producer, price_cents=700)
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=700, exclusive_cents=2000
    )
    project = make_project(session, consumer)
    before = ledger.balance(session, user=consumer)
    [purchase] = market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="r1",
        licence="exclusive",
    )
    txns_before = len(session.exec(select(LedgerTransaction)).all())
    with pytest.raises(Forbidden):
        payments.refund_purchase(session, actor=consumer, purchase_id=purchase.public_id)
    refund = payments.refund_purchase(
        session, actor=admin, purchase_id=purchase.public_id, reason="wrong image"
    )
    assert refund.amount_cents == 2000
    assert len(session.exec(select(LedgerTransaction)).all()) == txns_before + 1  # nothing deleted
    assert ledger.balance(session, user=consumer) == before
    assert ledger.income(session, user=producer) == 0
    session.refresh(purchase)
    session.refresh(image)
    assert purchase.refunded_at is not None
    assert image.status == "on_sale" and image.sales_count == 0  # Exclusive is back on the market
    with pytest.raises(Conflict, match="already refunded"):
        payments.refund_purchase(session, actor=admin, purchase_id=purchase.public_id)
    report = ledger.ledger_report(session)
    assert report.ok and report.refunds == 1 and report.gross_cents == 0


def test_twenty_concurrent_purchases_keep_the_ledger_balanced(session):
    producers = [make_user(session, "producer") for _ in range(2)]
    pics = [make_image(session, producers[i % 2], price_cents=333 + i) for i in range(20)]
    # Ten buyers, each with credits for exactly one of their two purchases: the ledger must
    # refuse the overspend, never go negative, and balance to the cent.
    buyers = [make_user(session, "consumer") for _ in range(10)]
    for b in buyers:
        spend = ledger.balance(session, user=b) - 400
        if spend > 0:
            burn = make_image(session, producers[0], price_cents=spend)
            market.buy_images(
                session,
                buyer=b,
                project_id=make_project(session, b).public_id,
                image_ids=[burn.public_id],
                idempotency_key="burn",
            )
    projects = [make_project(session, b) for b in buyers]
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def buy(i: int) -> None:
        with db.session_scope() as s:
            buyer = s.get(User, buyers[i % 10].id)
            s.commit()  # hand the connection back while waiting: 20 threads, a pool of 15
            barrier.wait()
            try:
                market.buy_images(
                    s,
                    buyer=buyer,
                    project_id=projects[i % 10].public_id,
                    image_ids=[pics[i].public_id],
                    idempotency_key=f"c{i}",
                )
                outcomes.append("bought")
            except InvalidInput:
                outcomes.append("no credits")

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("bought") == 10 and outcomes.count("no credits") == 10
    for b in buyers:
        assert 0 <= ledger.balance(session, user=b) < 400
    report = ledger.ledger_report(session)
    assert report.ok, report
    session.expire_all()
    sold = session.exec(select(Image).where(Image.sales_count > 0)).all()
    assert sum(i.income_cents for i in sold) == report.producers_share_cents


def test_free_top_ups_are_off_when_cards_take_the_money(session, stripe_mode):
    consumer = make_user(session, "consumer")
    with pytest.raises(Conflict, match="Wallet page"):
        ledger.top_up(session, user=consumer, amount_cents=500, idempotency_key="free")
