"""Card payments (Stripe PaymentIntents), processed webhook events, refunds and producer payouts.

A ``Payment`` is created before the provider is called and names the provider's intent once it
exists; only a verified webhook moves it to ``succeeded`` (services/payments.py). Statuses move
forward only (see ``PAYMENT_ORDER``), so a late or replayed event changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow

PURPOSE_TOPUP = "topup"
PURPOSE_PURCHASE = "purchase"

PAYMENT_CREATED = "created"  # our row exists; the provider has not answered yet
PAYMENT_REQUIRES_ACTION = "requires_action"  # 3-D Secure: the buyer must confirm with the bank
PAYMENT_PROCESSING = "processing"
PAYMENT_SUCCEEDED = "succeeded"
PAYMENT_FAILED = "failed"
PAYMENT_REFUNDED = "refunded"
# A status only moves to one of a higher rank, so a stale or replayed event changes nothing:
# a late "failed" never undoes "succeeded"; a success reported after a failure still counts
# (the money was taken), and only a succeeded payment becomes refunded.
PAYMENT_ORDER: dict[str, int] = {
    PAYMENT_CREATED: 0,
    PAYMENT_REQUIRES_ACTION: 1,
    PAYMENT_PROCESSING: 2,
    PAYMENT_FAILED: 3,
    PAYMENT_SUCCEEDED: 4,
    PAYMENT_REFUNDED: 5,
}

PAYOUT_TO_BE_TRANSFERRED = "to_be_transferred"
PAYOUT_PAID = "paid"


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    user_id: int = Field(foreign_key="users.id", index=True)
    purpose: str = Field(max_length=16)
    amount_cents: int = Field(gt=0)
    currency: str = Field(default="usd", max_length=3)
    provider: str = Field(max_length=16)
    provider_id: str | None = Field(default=None, unique=True, max_length=128)
    idempotency_key: str = Field(unique=True, max_length=128)
    status: str = Field(default=PAYMENT_CREATED, max_length=20, index=True)
    failure_message: str = Field(default="", max_length=300)
    # For a purchase: the project and [[image public id, licence kind, price cents], ...] (JSON).
    project_id: int | None = Field(default=None, foreign_key="projects.id")
    items_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    ledger_txn_id: int | None = Field(default=None, foreign_key="ledger_transactions.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookEvent(SQLModel, table=True):
    """Every provider event id we processed, so a redelivered event is applied once."""

    __tablename__ = "webhook_events"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=128)
    type: str = Field(max_length=64)
    object_id: str = Field(default="", max_length=128, index=True)
    outcome: str = Field(default="", max_length=64)  # applied, stale, unknown payment, ...
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Refund(SQLModel, table=True):
    __tablename__ = "refunds"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    payment_id: int | None = Field(default=None, foreign_key="payments.id", index=True)
    purchase_txn_id: int = Field(foreign_key="ledger_transactions.id", unique=True)
    amount_cents: int = Field(gt=0)
    provider: str = Field(max_length=16)
    provider_id: str | None = Field(default=None, max_length=128)
    reason: str = Field(default="", max_length=200)
    ledger_txn_id: int = Field(foreign_key="ledger_transactions.id")
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Payout(SQLModel, table=True):
    __tablename__ = "payouts"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    producer_id: int = Field(foreign_key="users.id", index=True)
    amount_cents: int = Field(gt=0)
    status: str = Field(default=PAYOUT_TO_BE_TRANSFERRED, max_length=20)
    provider: str = Field(max_length=16)
    provider_ref: str = Field(default="", max_length=128)
    idempotency_key: str = Field(unique=True, max_length=128)
    ledger_txn_id: int = Field(foreign_key="ledger_transactions.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    paid_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
