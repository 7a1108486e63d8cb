"""#9 payments in the REST API: licences when buying, payouts, card top-ups switched off."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from labelhub_app.models import LedgerEntry, LedgerTransaction, utcnow
from labelhub_app.services import licences
from tests.api.conftest import assert_error, user_with_token
from tests.factories import make_image, make_project


def test_buy_under_a_licence_and_request_a_payout(client, session, settings):
    producer, p_headers = user_with_token(session, "producer")
    consumer, c_headers = user_with_token(session, "consumer")
    image = make_image(session, producer, price_cents=200)
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=200, extended_cents=500
    )
    project = make_project(session, consumer)
    r = client.post(
        f"/api/v1/projects/{project.public_id}/buy",
        json={"image_ids": [image.public_id], "licence": "extended", "idempotency_key": "k1"},
        headers=c_headers,
    )
    assert r.status_code == 200, r.text
    [purchase] = r.json()["purchases"]
    assert (purchase["licence"], purchase["price_cents"]) == ("extended", 500)
    r = client.post(
        f"/api/v1/projects/{project.public_id}/buy",
        json={"image_ids": [image.public_id], "licence": "forever", "idempotency_key": "k2"},
        headers=c_headers,
    )
    assert r.status_code == 422

    r = client.get("/api/v1/payouts/income", headers=p_headers)
    assert r.json() == {
        "earned_cents": 400,
        "pending_cents": 400,
        "available_cents": 0,
        "in_transfer_cents": 0,
        "paid_out_cents": 0,
        "refund_window_days": settings.refund_window_days,
    }
    past = utcnow() - timedelta(days=settings.refund_window_days + 1)
    session.execute(update(LedgerEntry).values(created_at=past))
    session.execute(update(LedgerTransaction).values(created_at=past))
    session.commit()
    r = client.post("/api/v1/payouts", json={"idempotency_key": "p1"}, headers=p_headers)
    assert r.status_code == 200, r.text
    assert (r.json()["amount_cents"], r.json()["status"]) == (400, "paid")
    assert_error(client.get("/api/v1/payouts/income", headers=c_headers), 403)


def test_card_top_up_is_refused_while_cards_are_off(client, session):
    _, headers = user_with_token(session, "consumer")
    r = client.post(
        "/api/v1/payments/topup",
        json={"amount_cents": 500, "idempotency_key": "t", "card_number": "4242424242424242"},
        headers=headers,
    )
    assert "Card payments are switched off" in assert_error(r, 409)["message"]


def test_webhook_without_a_valid_signature_is_400(client):
    r = client.post("/api/v1/payments/webhook", content=b"{}")
    assert "Stripe-Signature" in assert_error(r, 400)["message"]
    r = client.post("/api/v1/payments/webhook", content=b"{}", headers={"Stripe-Signature": "x"})
    assert "does not verify" in assert_error(r, 400)["message"]
