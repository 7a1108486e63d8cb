"""The payments port: what the services need from a payment provider.

Two implementations: ``internal.py`` (the embedded credits ledger: no card network, payouts are
completed at once) and ``stripe.py`` (Stripe PaymentIntents through the ``stripe`` library).
Statuses are translated to LabelHub's vocabulary (models/payments.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class PaymentProviderError(Exception):
    """The provider refused or could not be reached; ``message`` is safe to show."""

    def __init__(self, message: str, *, declined: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.declined = declined


class InvalidSignature(Exception):
    """A webhook whose signature does not verify (forged, altered or too old)."""


@dataclass(frozen=True)
class Card:
    """Card details, typed in test mode only (production passes a Stripe.js payment method)."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str


@dataclass(frozen=True)
class IntentResult:
    provider_id: str
    status: str  # requires_action, processing, succeeded, failed (models/payments.py)
    failure_message: str = ""
    next_step: str = ""  # what the buyer must do for requires_action


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event, reduced to what the services use."""

    id: str
    type: str
    object_id: str
    status: str  # our vocabulary, "" when the event is not about a payment's status
    failure_message: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    amount_cents: int = 0


@dataclass(frozen=True)
class PayoutResult:
    status: str  # paid (done) or to_be_transferred (recorded; the transfer happens elsewhere)
    reference: str


class PaymentProvider(Protocol):
    name: str

    def create_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
        description: str,
        card: Card | None = None,
        payment_method: str | None = None,
    ) -> IntentResult: ...

    def retrieve_intent(self, provider_id: str) -> IntentResult: ...

    def refund(self, *, provider_id: str, amount_cents: int, idempotency_key: str) -> str: ...

    def send_payout(
        self, *, payout_id: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> PayoutResult: ...

    def verify_event(self, payload: bytes, signature_header: str) -> ProviderEvent: ...
