"""Payments: the provider's webhook, card top-ups, payment status, licences and payouts (#9).

``POST /api/v1/payments/webhook`` takes Stripe's events: the raw body is verified against the
``Stripe-Signature`` header with the endpoint's signing secret; a forged or altered event gets 400
and changes nothing; a redelivered event is acknowledged and ignored.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from labelhub_app.adapters.payments import Card, InvalidSignature
from labelhub_app.api.deps import CurrentUser, SessionDep
from labelhub_app.api.errors import ApiError
from labelhub_app.errors import InvalidInput
from labelhub_app.services import payments, payouts

router = APIRouter(tags=["payments"])
log = logging.getLogger(__name__)


class WebhookAck(BaseModel):
    received: bool
    outcome: str


@router.post("/payments/webhook", response_model=WebhookAck, include_in_schema=True)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck:
    """The payment provider's events (Stripe webhook). Needs a valid ``Stripe-Signature``."""
    payload = await request.body()
    if not stripe_signature:
        raise ApiError(400, "The Stripe-Signature header is missing.")
    try:
        outcome = await run_in_threadpool(
            payments.handle_webhook, session, payload=payload, signature=stripe_signature
        )
    except InvalidSignature:
        log.warning("refused a webhook with an invalid signature")
        raise ApiError(400, "The webhook signature does not verify.") from None
    return WebhookAck(received=True, outcome=outcome)


class CardTopupCreate(BaseModel):
    amount_cents: int = Field(gt=0)
    idempotency_key: str = Field(min_length=1, max_length=64)
    payment_method: str | None = Field(
        default=None, max_length=128, description="A Stripe PaymentMethod id (from Stripe.js)"
    )
    card_number: str | None = Field(
        default=None, max_length=23, description="Test mode only: a Stripe test card number"
    )


class PaymentPublic(BaseModel):
    id: str
    purpose: str
    amount_cents: int
    status: str = Field(description="created, requires_action, processing, succeeded, failed")
    message: str


def _public(view: payments.PaymentView) -> PaymentPublic:
    return PaymentPublic(
        id=view.public_id,
        purpose=view.purpose,
        amount_cents=view.amount_cents,
        status=view.status,
        message=view.message,
    )


@router.post("/payments/topup", response_model=PaymentPublic)
def card_topup(body: CardTopupCreate, user: CurrentUser, session: SessionDep) -> PaymentPublic:
    """Buy credits by card (LABELHUB_PAYMENTS=stripe); credited when Stripe confirms."""
    card = None
    if body.card_number:
        card = Card(body.card_number.replace(" ", ""), 12, 2034, "123")
    elif not body.payment_method:
        raise InvalidInput("Give payment_method (or card_number in test mode).")
    view = payments.start_topup(
        session,
        user=user,
        amount_cents=body.amount_cents,
        idempotency_key=body.idempotency_key,
        card=card,
        payment_method=body.payment_method,
    )
    return _public(view)


@router.get("/payments/{payment_id}", response_model=PaymentPublic)
def payment_status(payment_id: str, user: CurrentUser, session: SessionDep) -> PaymentPublic:
    return _public(payments.refresh_payment(session, user=user, payment_id=payment_id))


class IncomePublic(BaseModel):
    earned_cents: int
    pending_cents: int
    available_cents: int
    in_transfer_cents: int
    paid_out_cents: int
    refund_window_days: int


@router.get("/payouts/income", response_model=IncomePublic)
def income(user: CurrentUser, session: SessionDep) -> IncomePublic:
    s = payouts.income_summary(session, actor=user)
    return IncomePublic(**s.__dict__)


class PayoutCreate(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=64)
    amount_cents: int | None = Field(default=None, gt=0)


class PayoutPublic(BaseModel):
    id: str
    amount_cents: int
    status: str
    reference: str


@router.post("/payouts", response_model=PayoutPublic)
def request_payout(body: PayoutCreate, user: CurrentUser, session: SessionDep) -> PayoutPublic:
    p = payouts.request_payout(
        session, actor=user, idempotency_key=body.idempotency_key, amount_cents=body.amount_cents
    )
    return PayoutPublic(
        id=p.public_id, amount_cents=p.amount_cents, status=p.status, reference=p.reference
    )
